"""Speed of the `transformers` engine with random weights of the real Nemotron Nano VL 8B sizes.

Builds a Llama-3.1-8B language model + ViT-H/16 encoder (512 px tiles, 2x2 pixel shuffle: 256 tokens a tile) on
the GPU in bf16, wraps it in the real `TransformersEngine` (scheduler, vision cache, static KV cache + compile),
and prints:
  1. batch-1 decode tokens/s (target >= 100; the memory-bandwidth ceiling is ~200 on an H100),
  2. the latency ratio of a second question on the same page without vs with the vision cache (target >= 1.3),
  3. aggregate pages/s for 512-token transcriptions of 13-tile pages at the best batch size (target >= 4).
With `--device cpu --tiny` the same code runs on the tiny model (CI exercises it; the figures mean nothing there).

    PYTHONPATH=. python tools/bench_gpu.py                      # H100
    PYTHONPATH=. python tools/bench_gpu.py --device cpu --tiny  # smoke test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw

from mcp_docvl.config import Settings
from mcp_docvl.engines.random_model import NEMOTRON_NANO_VL_8B, TINY, build_model, build_processor
from mcp_docvl.engines.transformers_engine import TRANSCRIBE_PROMPT, TransformersEngine


def page(shape, seed: int) -> Image.Image:
    """A portrait page of 3:4 so that it cuts into 3x4 = 12 tiles + a thumbnail (13) at the real sizes."""
    width, height = shape.longest_edge * 3 // 4, shape.longest_edge
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for row in range(40):
        draw.text((20, 20 + row * height // 42), f"Line {row} of page {seed}: lorem ipsum dolor sit amet", fill="black")
    return image


def sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def timed(fn, device: str) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="the tiny model (CPU smoke test)")
    parser.add_argument("--tokens", type=int, default=512, help="tokens a page transcription generates")
    parser.add_argument("--batch-sizes", default="16,32,64", help="batch sizes tried for pages/s")
    parser.add_argument("--no-compile", action="store_true", help="plain generate (dynamic KV cache, eager)")
    parser.add_argument("--generate", action="store_true",
                        help="transformers' generate over a compiled static cache instead of the engine's own loop")
    parser.add_argument("--skip-batches", action="store_true", help="batch-1 decode and the cache ratio only")
    args = parser.parse_args(argv)

    import torch

    shape = TINY if args.tiny else NEMOTRON_NANO_VL_8B
    dtype = torch.float32 if args.device == "cpu" else torch.bfloat16
    started = time.perf_counter()
    processor = build_processor(shape)
    model = build_model(shape, processor, dtype=dtype, device=args.device)
    # Random weights rarely emit EOS, but make sure: every request decodes exactly its token budget.
    model.generation_config.eos_token_id = None
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    settings = Settings.from_env(vlm_max_batch=max(sizes), vlm_queue_size=4 * max(sizes), vlm_timeout=3600,
                                 vlm_context_tokens=shape.max_positions, vlm_compile=not args.no_compile)
    engine = TransformersEngine(settings, model=model, processor=processor, model_id=f"random-{shape.hidden}")
    params = sum(p.numel() for p in model.parameters()) / 1e9
    built = time.perf_counter() - started
    engine._load()
    if args.generate:
        engine._greedy = None
    loop = "engine loop" + (" + CUDA graphs" if engine._greedy.use_graphs else "") if engine._greedy else "generate"
    print(f"model: {params:.2f} B parameters on {args.device} ({dtype}), built in {built:.1f} s; "
          f"compile={engine.compile}; decoding: {loop}", flush=True)
    if engine._greedy is not None:
        agree_with_generate(engine, shape, model)

    # 1. Batch-1 decode speed: time two lengths on a cached page and take the difference, so prefill cancels out.
    probe = page(shape, 0)
    engine.encode_images([probe])
    tiles = engine.cache.get(next(iter(engine.cache._entries))).tiles
    short, long = 16, 16 + args.tokens
    for n in (short, long):  # warm-up: compiles both cache sizes
        engine.generate("Describe.", [probe], max_new_tokens=n)
    t_short = statistics.median(timed(lambda: engine.generate("Describe.", [probe], max_new_tokens=short), args.device)
                                for _ in range(3))
    t_long = statistics.median(timed(lambda: engine.generate("Describe.", [probe], max_new_tokens=long), args.device)
                               for _ in range(3))
    decode_tps = (long - short) / (t_long - t_short)
    print(f"page: {tiles} tiles; batch-1 request of {long} tokens: {t_long * 1000:.0f} ms", flush=True)
    print(f"batch-1 decode: {decode_tps:.1f} tok/s (target >= 100)", flush=True)
    if args.skip_batches:
        engine.close()
        return

    # 2. Second question on the same page: vision cache on vs off (before the batch sweep, which may run out of
    # memory at its largest size).
    question = "What is the total amount on this page?"
    for answer_tokens in (16, 1):
        ratio_of_second_question(engine, shape, question, answer_tokens, args.device)

    # 3. Aggregate pages/s: B distinct pages (cold cache: encoder included) submitted at once, B per forward pass.
    import concurrent.futures as cf

    best = (0.0, 0)
    for batch in sizes:
        pages = [page(shape, 1000 * batch + i) for i in range(batch)]
        # All `batch` requests go into one forward pass: the window closes as soon as they are queued.
        engine._scheduler.max_batch = batch
        engine._scheduler.batch_window = 5.0
        warm_pages = [page(shape, 5000 * batch + i) for i in range(batch)]

        def run(pages, batch=batch):
            with cf.ThreadPoolExecutor(batch) as pool:
                list(pool.map(lambda p: engine.generate(TRANSCRIBE_PROMPT, [p], max_new_tokens=args.tokens), pages))

        try:
            run(warm_pages)  # warm-up at this batch size: compiles its graph
            before = dict(engine.timings)
            seconds = timed(lambda pages=pages: run(pages), args.device)
        except Exception as exc:  # out of memory at a large batch: report and keep the best so far
            print(f"batch {batch}: failed ({type(exc).__name__}: {str(exc)[:200]})", flush=True)
            break
        rate = batch / seconds
        spent = {k: engine.timings[k] - before[k] for k in before}
        print(f"batch {batch}: {batch} pages x {args.tokens} tokens in {seconds:.2f} s = {rate:.2f} pages/s "
              f"({batch * args.tokens / seconds:.0f} tok/s; encoder {spent['encode_s']:.2f} s, "
              f"generate {spent['generate_s']:.2f} s of which prefill {spent['prefill_s']:.2f} s)", flush=True)
        if args.device.startswith("cuda"):
            print(f"  peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB", flush=True)
        best = max(best, (rate, batch))
    print(f"aggregate: {best[0]:.2f} pages/s at batch {best[1]} (target >= 4)", flush=True)

    engine.close()


def agree_with_generate(engine, shape, model, tokens: int = 32) -> None:
    """Tokens of the engine's loop (graph-replayed on a GPU) against plain eager `generate` on one prompt."""
    import torch

    probe = page(shape, 7)
    engine.encode_images([probe])
    prepared = engine._plan("Describe.", [probe], tokens)
    entry = engine._encoded(prepared.images[0])
    ids = torch.tensor(prepared.ids, device=engine.device)
    with torch.inference_mode():
        embeds = model.get_input_embeddings()(ids)
        mask = (ids == engine._adapter.image_token_id).unsqueeze(-1).expand_as(embeds)
        embeds = embeds.masked_scatter(mask, entry.features.to(embeds.dtype))
        ours = engine._greedy.decode([embeds], tokens)[0]
        theirs = model.generate(inputs_embeds=embeds[None], input_ids=ids[None], attention_mask=torch.ones_like(
            ids[None]), max_new_tokens=tokens, do_sample=False)[0, len(prepared.ids):].tolist()
    same = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), min(len(ours), tokens))
    print(f"check: the engine loop and plain generate agree on the first {same} of {tokens} tokens", flush=True)


def ratio_of_second_question(engine, shape, question: str, answer_tokens: int, device: str) -> None:
    """Median latency of a second question on a page, with its embeddings cached vs a cache that keeps nothing."""
    engine._scheduler.batch_window = 0.0
    fresh = [page(shape, 9000 + 10 * answer_tokens + i) for i in range(6)]
    engine.generate(question, [fresh[0]], max_new_tokens=answer_tokens)  # warm
    with_cache, without_cache = [], []
    for image in fresh[1:]:
        engine.generate("Read the page.", [image], max_new_tokens=answer_tokens)  # first question fills the cache
        with_cache.append(timed(lambda image=image: engine.generate(question, [image], max_new_tokens=answer_tokens),
                                device))
    keep = engine.cache.max_bytes
    engine.cache.max_bytes = 0
    engine.cache._entries.clear()
    engine.cache._bytes = 0
    for image in fresh[1:]:
        without_cache.append(timed(lambda image=image: engine.generate(question, [image],
                                                                       max_new_tokens=answer_tokens), device))
    engine.cache.max_bytes = keep
    t_with, t_without = statistics.median(with_cache), statistics.median(without_cache)
    print(f"second question ({answer_tokens}-token answer): {t_without * 1000:.0f} ms without the cache, "
          f"{t_with * 1000:.0f} ms with it", flush=True)
    print(f"cached second question ({answer_tokens}-token answer): {t_without / t_with:.2f}x faster "
          "(target >= 1.3)", flush=True)


if __name__ == "__main__":
    main()
