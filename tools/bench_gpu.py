"""Speed of the `transformers` engine with random weights of the real Nemotron Nano VL 8B sizes.

Builds a Llama-3.1-8B language model + ViT-H/16 encoder (512 px tiles, 2x2 pixel shuffle: 256 tokens a tile) on
the GPU in bf16, wraps it in the real `TransformersEngine` (scheduler, vision cache, static KV cache + compile),
and prints:
  1. batch-1 decode tokens/s (target >= 100; the memory-bandwidth ceiling is ~200 on an H100),
  2. the latency ratio of a second question on the same page without vs with the vision cache (target >= 1.3),
  3. aggregate pages/s for 512-token transcriptions of 13-tile pages at the best batch size (target >= 4).
With `--device cpu --tiny` the same code runs on the tiny model (CI exercises it; the figures mean nothing there).
With `--model DIR` the same measurements run on any local model directory, loaded through the engine's real path
(`DOCVL_VLM_MODEL=DIR`: remote code, its processor, the offline checks), e.g. one `tools/build_stand_in.py` wrote.

    PYTHONPATH=. python tools/bench_gpu.py                      # H100 / H200, the in-process stand-in
    PYTHONPATH=. python tools/bench_gpu.py --model DIR          # a model directory, through the real load path
    PYTHONPATH=. python tools/bench_gpu.py --device cpu --tiny  # smoke test
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image, ImageDraw

from mcp_docvl.config import Settings
from mcp_docvl.engines.local import transformers_engine
from mcp_docvl.engines.local.quantization import quantize_fp8
from mcp_docvl.engines.local.random_model import NEMOTRON_NANO_VL_8B, TINY, build_model, build_processor
from mcp_docvl.engines.local.transformers_engine import TransformersEngine
from mcp_docvl.engines.prompts import TRANSCRIBE_PROMPT


@dataclass(frozen=True)
class Dims:
    """What the measurements need to know of a model: its attention shape, context, and the page size to send."""

    hidden: int
    heads: int
    kv_heads: int
    max_positions: int
    longest_edge: int


def dims_of(lm, longest_edge: int) -> Dims:
    config = lm.config.get_text_config()
    return Dims(hidden=config.hidden_size, heads=config.num_attention_heads,
                kv_heads=getattr(config, "num_key_value_heads", None) or config.num_attention_heads,
                max_positions=config.max_position_embeddings, longest_edge=longest_edge)


def rewrap(old: tuple, settings: Settings) -> TransformersEngine:
    """A new engine (new settings: KV cache dtype...) over the model loaded before, without loading it again.

    `old` is (model id, adapter, device, dtype), not the first engine itself: holding that engine would keep its
    decoder state (KV cache, CUDA graph) and its vision cache on the GPU for the whole sweep."""
    engine = TransformersEngine(settings, model_id=old[0])
    engine._adapter, engine.device, engine.dtype = old[1], old[2], old[3]
    engine.stop_ids = []  # random weights: every request decodes exactly its token budget
    return engine


def vision_tower(adapter):
    model = adapter.model
    return model.vision_model if hasattr(model, "vision_model") else model.model.vision_model


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
    parser.add_argument("--model", help="a local model directory, loaded through the engine's real path "
                                        "(default: the in-process Idefics3 stand-in)")
    parser.add_argument("--page-edge", type=int, default=None,
                        help="longest edge of the test pages in px (default 2048: 13 tiles of 512; --tiny: 128)")
    parser.add_argument("--tokens", type=int, default=512, help="tokens a page transcription generates")
    parser.add_argument("--batch-sizes", default="64", help="batch sizes for pages/s where a variant names none")
    parser.add_argument("--no-compile", action="store_true", help="plain generate (dynamic KV cache, eager)")
    parser.add_argument("--generate", action="store_true",
                        help="transformers' generate over a compiled static cache instead of the engine's own loop")
    parser.add_argument("--skip-batches", action="store_true", help="batch-1 decode and the cache ratio only")
    parser.add_argument("--sweep", action="store_true",
                        help="time the attention kernel's launch settings first and use the fastest")
    parser.add_argument("--warm", action="store_true",
                        help="pages/s for pages whose embeddings were computed beforehand (warmup), not new pages")
    parser.add_argument("--skip-decode", action="store_true", help="leave out batch-1 decode and the cache ratio")
    parser.add_argument("--profile", action="store_true",
                        help="after each pages/s run: the GPU kernels of one page's encoding and prefill and of 4 "
                             "decoding steps of the batch (eager), by time")
    parser.add_argument("--batches", type=int, default=5,
                        help="batches of new pages each pages/s run sends (at least 3: the first and the last are "
                             "left out of the steady state)")
    parser.add_argument("--variants", default=None,
                        help="what pages/s is measured for: weights:kv-cache[:switch-interval][@batch+batch...], "
                             "comma-separated. weights none|fp8|fp8+vision (in that order: quantising is one-way), "
                             "kv cache auto|fp8, Python's thread switch interval in seconds (the engine's: 0.0005). "
                             "Default on a GPU: none:fp8@128,fp8:fp8@128")
    args = parser.parse_args(argv)
    if args.batches < 3:
        parser.error("--batches must be at least 3 (the steady state leaves out the first and the last)")

    import torch

    dtype = torch.float32 if args.device == "cpu" else torch.bfloat16
    started = time.perf_counter()
    default_sizes = [int(b) for b in args.batch_sizes.split(",")]
    edge = args.page_edge or (TINY.longest_edge if args.tiny else NEMOTRON_NANO_VL_8B.longest_edge)
    settings = Settings.from_env(vlm_max_batch=max(default_sizes), vlm_queue_size=1024, vlm_timeout=3600,
                                 vlm_compile=not args.no_compile, vlm_device=args.device,
                                 vlm_dtype=str(dtype).replace("torch.", ""))
    if args.model:
        settings.vlm_model = args.model
        engine = TransformersEngine(settings)
        engine.stop_ids = []  # random weights: every request decodes exactly its token budget
        engine._load()
        shape = dims_of(engine._adapter.lm, edge)
    else:
        stand_in = TINY if args.tiny else NEMOTRON_NANO_VL_8B
        processor = build_processor(stand_in)
        model = build_model(stand_in, processor, dtype=dtype, device=args.device)
        engine = TransformersEngine(settings, model=model, processor=processor, model_id=f"random-{stand_in.hidden}")
        engine.stop_ids = []
        engine._load()
        shape = Dims(stand_in.hidden, stand_in.heads, stand_in.kv_heads, stand_in.max_positions, edge)
    settings.vlm_context_tokens = shape.max_positions
    engine._adapter.lm.generation_config.eos_token_id = None  # generate's path too decodes the whole budget
    model = engine._adapter.model
    dtype = engine._adapter.lm.dtype  # what the language model runs in (remote code may force bf16)
    params = sum(p.numel() for p in model.parameters()) / 1e9
    built = time.perf_counter() - started
    if args.generate:
        engine._greedy = None
    loop = "engine loop" + (" + CUDA graphs" if engine._greedy.use_graphs else "") if engine._greedy else "generate"
    print(f"model: {args.model or 'in-process stand-in'} ({type(model).__name__}), {params:.2f} B parameters on "
          f"{args.device} (LM {engine._adapter.lm.dtype}), built or loaded in {built:.1f} s; compile={engine.compile}; "
          f"decoding: {loop}", flush=True)
    print(f"  after loading: {gpu_memory(args.device)}", flush=True)
    if args.device.startswith("cuda"):
        kernels(args.device, shape, args.sweep)
        print(f"  after the kernel check: {gpu_memory(args.device)}", flush=True)
    if not args.skip_decode:
        if engine._greedy is not None:
            check_tokens(engine, shape)
        # 1. Batch-1 decode speed: time two lengths on a cached page and take the difference (prefill cancels out).
        probe_decode(engine, shape, args, f"weights {str(dtype).replace('torch.', '')}")
        prompt = len(engine._plan(TRANSCRIBE_PROMPT, [page(shape, 0)], args.tokens).ids)
        print(f"page: {engine.cache.get(next(iter(engine.cache._entries))).tiles} tiles; a transcription prompt is "
              f"{prompt} tokens", flush=True)
    if args.skip_batches:
        engine.close()
        return

    # 2. Second question on the same page: vision cache on vs off (before the batch sweep, which may run out of
    # memory at its largest size).
    question = "What is the total amount on this page?"
    for answer_tokens in (16, 1) if not args.skip_decode else ():
        ratio_of_second_question(engine, shape, question, answer_tokens, args.device)

    # 3. Aggregate pages/s: `--batches` x B distinct pages (cold cache: encoder included) from 2 x B callers in a
    # closed loop, up to B per forward pass (see `closed_loop`). While a batch decodes, the callers' threads prepare
    # the next pages (tiling, CPU) and the encoder's thread encodes them. With --warm: pages encoded beforehand, as
    # after `warmup`.
    best = (0.0, 0, "")
    variants = args.variants or ("none:auto" if args.device == "cpu" else
                                 "none:fp8@128,fp8:fp8@128")
    done_weights = {"none"}
    probed = set()
    adapter = engine._adapter
    loaded = (engine.model_id, adapter, engine.device, engine.dtype)
    for variant in variants.split(","):
        spec, _, batches = variant.partition("@")
        weights, kv, *rest = spec.split(":")
        # Python's thread switch interval: how long the thread launching the batch's kernels may wait for the GIL
        # while callers' threads tile their pages. The engine sets 0.5 ms while a GPU batch runs (and restores the
        # previous value after it): a value here replaces the engine's, to compare (5 ms: no change at all).
        switch = float(rest[0]) if rest else None
        sizes = [int(b) for b in batches.split("+")] if batches else default_sizes
        if weights not in done_weights:  # quantising is one-way: none, then fp8, then fp8+vision
            if engine is not None:
                engine.close()
            engine = None
            free_gpu(args.device)
            if "fp8" not in done_weights:
                quantize_fp8(adapter.lm.get_decoder(), args.device)
            if weights == "fp8+vision":
                quantize_fp8(vision_tower(adapter), args.device)
            done_weights.add(weights)
            done_weights.add("fp8")
        settings.vlm_kv_cache_dtype = kv
        if engine is not None:
            engine.close()
        engine = rewrap(loaded, settings)
        engine._load()
        if switch is not None:
            transformers_engine.SWITCH_INTERVAL = switch
        label = (f"weights {weights}, KV cache {'fp8' if kv == 'fp8' else str(dtype).replace('torch.', '')}, "
                 f"switch interval while a batch runs {transformers_engine.SWITCH_INTERVAL * 1000:g} ms")
        if weights != "none" and weights not in probed and not args.skip_decode:
            check_tokens(engine, shape)
            probe_decode(engine, shape, args, label)
            probed.add(weights)
        for batch in sizes:
            print(f"  before batch {batch}: {gpu_memory(args.device)}", flush=True)
            try:
                if args.warm:
                    rate = warm_pages(engine, shape, batch, args.tokens, args.device)
                    summary = f"{rate:.2f} pages/s (pages encoded beforehand, warmup)"
                else:
                    whole, rate = closed_loop(engine, shape, batch, args.tokens, args.device, args.batches)
                    summary = (f"{rate:.2f} pages/s steady state, {whole:.2f} over "
                               f"the whole run ({args.batches} batches of new pages, encoder included)")
            except Exception as exc:  # out of memory at a large batch: report and keep the best so far
                # The whole message: CUDA's out-of-memory text says how much this process holds after the first
                # 200 characters, and whether another process holds the rest is what tells a leak from a busy GPU.
                print(f"{label}, batch {batch}: failed ({type(exc).__name__}: {exc})", flush=True)
                print(f"  {gpu_memory(args.device)}", flush=True)
                engine._greedy._state = None
                free_gpu(args.device)
                break
            print(f"{label}, batch {batch}: {summary}", flush=True)
            best = max(best, (rate, batch, label))
            if args.profile:
                profile(engine, shape, args.device)
        if engine._greedy is not None:
            engine._greedy._state = None
        free_gpu(args.device)
    print(f"aggregate: {best[0]:.2f} pages/s {'warm' if args.warm else 'steady state'} at batch {best[1]} "
          f"({best[2]}) (target >= 4)", flush=True)

    engine.close()


def closed_loop(engine, shape, batch: int, tokens: int, device: str, batches: int) -> tuple[float, float]:
    """Pages/s of `batches` x `batch` new pages from 2 x `batch` callers, each sending its next page when the last
    is answered: (whole run, steady state).

    A server under constant load: one batch decodes while the next waits in the queue with its pages encoded
    ahead, and the encoder never runs more than a batch ahead (all pages sent at once would let it encode every
    later batch during the first, which no steady stream allows). Steady state: the batches the scheduler ran
    after the first that still had a whole batch of pages to come, over their time. The first carries the ramp-up
    (every caller tiling its page at once, the graph recorded); during the last ones, fewer pages are left to tile
    and encode, so they run faster than a server that keeps receiving pages. The page images are drawn before the
    clock starts: callers hold their pages already (tiling them is the server's work and is timed).
    """
    import concurrent.futures as cf
    import threading

    engine._scheduler.max_batch = batch
    engine._scheduler.batch_window = 5.0
    total = batches * batch
    lock = threading.Lock()
    sent = [0]
    done: list[float] = []
    images = [page(shape, 100_000 * batch + index) for index in range(total)]
    before = dict(engine.timings)

    def caller() -> None:
        while True:
            with lock:
                index = sent[0]
                sent[0] += 1
            if index >= total:
                return
            engine.generate(TRANSCRIBE_PROMPT, [images[index]], max_new_tokens=tokens)
            with lock:
                done.append(time.perf_counter())

    sync(device)
    started = time.perf_counter()
    with cf.ThreadPoolExecutor(2 * batch) as pool:
        for future in [pool.submit(caller) for _ in range(2 * batch)]:
            future.result()
    sync(device)
    done.sort()
    spent = {k: engine.timings[k] - before[k] for k in before}
    marks = " / ".join(f"{done[b * batch - 1] - started:.1f}" for b in range(1, batches + 1))
    whole = total / (done[-1] - started)
    # The scheduler's batches, seen as clumps of answers (a batch's rows finish together): callers still tiling
    # when a batch forms make it smaller than `batch`, so batches need not end at multiples of `batch`.
    clumps: list[list[float]] = []
    for t in done:
        if clumps and t - clumps[-1][-1] < 0.5:
            clumps[-1].append(t)
        else:
            clumps.append([t])
    # Steady: the batches after the first that had a whole batch of pages still to come (to tile and encode beside
    # them); a batch near the end, with fewer pages left, runs faster than a server that keeps receiving pages.
    answered, steady_batches = 0, []
    for clump in clumps:
        answered += len(clump)
        if total - answered >= batch:
            steady_batches.append(clump)
    if len(steady_batches) >= 2:
        steady = sum(len(c) for c in steady_batches[1:]) / (steady_batches[-1][-1] - steady_batches[0][-1])
    else:
        steady = (total - 2 * batch) / (done[total - batch - 1] - done[batch - 1])
    print(f"  batches as run (pages, answered at s): "
          f"{', '.join(f'{len(c)} at {c[-1] - started:.1f}' for c in clumps)}", flush=True)
    print(f"  batch {batch}: batches answered at {marks} s; per page: encoder {1000 * spent['encode_s'] / total:.0f} "
          f"ms, prefill {1000 * spent['prefill_s'] / total:.0f} ms, decode "
          f"{1000 * (spent['generate_s'] - spent['prefill_s']) / total:.0f} ms; peak GPU memory "
          f"{torch_peak_gib():.1f} GiB", flush=True)
    return whole, steady


def profile(engine, shape, device: str, top: int = 12) -> None:
    """Where the GPU's time goes: kernels of one page's encoding, one prompt's prefill, and 4 decoding steps of the
    last batch's state (run eagerly, so each kernel is seen)."""
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    greedy = engine._greedy
    image = page(shape, 777)
    prepared = engine._plan(TRANSCRIBE_PROMPT, [image], 8)
    with torch.inference_mode():
        ids = torch.tensor(prepared.ids, device=engine.device)
        embeds = engine._adapter.lm.get_input_embeddings()(ids)
        parts = {
            "encoder, one 13-tile page": lambda: engine._encode(prepared.images[0]),
            "prefill, one prompt": lambda: greedy.decoder(inputs_embeds=embeds[None], position_ids=torch.arange(
                len(ids), device=engine.device)[None], use_cache=False),
        }
        if greedy._state is not None:
            parts[f"4 decoding steps, batch {greedy._state.rows}"] = lambda: [greedy._step() for _ in range(4)]
        gpu = device.startswith("cuda")
        for name, fn in parts.items():
            fn()
            sync(device)
            with torch_profile(activities=[ProfilerActivity.CUDA if gpu else ProfilerActivity.CPU]) as prof:
                fn()
                sync(device)
            spent = {e.key: (e.self_device_time_total if gpu else e.self_cpu_time_total, e.count)
                     for e in prof.key_averages()}
            events = sorted(((t, n, k) for k, (t, n) in spent.items() if t > 0), reverse=True)
            print(f"  profile, {name}: {sum(t for t, _, _ in events) / 1000:.1f} ms of "
                  f"{'kernels' if gpu else 'CPU ops'}", flush=True)
            for t, n, key in events[:top]:
                print(f"    {t / 1000:8.2f} ms {n:5d}x  {key[:110]}", flush=True)


def gpu_memory(device: str) -> str:
    """What this process holds on the GPU (allocated, reserved by PyTorch) against what the device has in use."""
    import torch

    if not device.startswith("cuda"):
        return "GPU memory: not on a GPU"
    free, total = torch.cuda.mem_get_info()
    reserved, allocated = torch.cuda.memory_reserved(), torch.cuda.memory_allocated()
    others = total - free - reserved
    return (f"GPU memory: {allocated / 2**30:.1f} GiB allocated / {reserved / 2**30:.1f} GiB reserved by this "
            f"process; {(total - free) / 2**30:.1f} of {total / 2**30:.1f} GiB in use on the device "
            f"({others / 2**30:.1f} GiB not PyTorch's: CUDA context, other processes)")


def free_gpu(device: str) -> None:
    import gc

    import torch

    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.empty_cache()


def warm_pages(engine, shape, batch: int, tokens: int, device: str) -> float:
    """Pages/s for 2 batches of pages whose vision embeddings were computed beforehand (`mcp-docvl warmup`)."""
    import concurrent.futures as cf

    engine._scheduler.max_batch = batch
    engine._scheduler.batch_window = 0.0
    pages = [page(shape, 200_000 * batch + i) for i in range(2 * batch)]
    seconds = timed(lambda: engine.encode_images(pages), device)
    engine._scheduler.batch_window = 5.0
    print(f"  warmup: {len(pages)} pages encoded in {seconds:.1f} s ({len(pages) / seconds:.1f} pages/s)", flush=True)
    before = dict(engine.timings)
    sync(device)
    started = time.perf_counter()
    with cf.ThreadPoolExecutor(len(pages)) as pool:
        list(pool.map(lambda p: engine.generate(TRANSCRIBE_PROMPT, [p], max_new_tokens=tokens), pages))
    sync(device)
    elapsed = time.perf_counter() - started
    spent = {k: engine.timings[k] - before[k] for k in before}
    print(f"  batch {batch}: {len(pages)} warm pages in {elapsed:.1f} s; per page: prefill "
          f"{1000 * spent['prefill_s'] / len(pages):.0f} ms, decode "
          f"{1000 * (spent['generate_s'] - spent['prefill_s']) / len(pages):.0f} ms; encoder calls during it: "
          f"{1000 * spent['encode_s']:.0f} ms; peak GPU memory {torch_peak_gib():.1f} GiB", flush=True)
    return len(pages) / elapsed


def torch_peak_gib() -> float:
    import torch

    return torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0


def probe_decode(engine, shape, args, label: str) -> None:
    """Batch-1 decode tokens/s: two answer lengths on a cached page, so prefill cancels out."""
    probe = page(shape, 0)
    engine.encode_images([probe])
    engine._scheduler.batch_window = 0.0
    short, long = 16, 16 + args.tokens
    for n in (short, long):  # warm-up: records both cache sizes
        engine.generate("Describe.", [probe], max_new_tokens=n)
    t_short = statistics.median(timed(lambda: engine.generate("Describe.", [probe], max_new_tokens=short), args.device)
                                for _ in range(3))
    t_long = statistics.median(timed(lambda: engine.generate("Describe.", [probe], max_new_tokens=long), args.device)
                               for _ in range(3))
    print(f"{label}: batch-1 decode {(long - short) / (t_long - t_short):.1f} tok/s "
          f"(request of {long} tokens: {t_long * 1000:.0f} ms)", flush=True)


def kernels(device: str, shape, sweep: bool) -> None:
    """One layer's decoding attention at batch 64 over ~4,400 slots: SDPA (bf16) vs the Triton kernel (bf16, fp8)."""
    import itertools

    import torch

    from mcp_docvl.engines.local import decode_attention

    batch, kv_heads, slots = 64, shape.kv_heads, 4608
    group, dim = shape.heads // shape.kv_heads, shape.hidden // shape.heads
    query = torch.randn(batch, kv_heads, group, dim, device=device, dtype=torch.bfloat16)
    key = torch.randn(batch, kv_heads, slots, dim, device=device, dtype=torch.bfloat16)
    value = torch.randn_like(key)
    used = slots - 256  # a step in the middle of a 512-token answer
    mask = torch.zeros(batch, slots, dtype=torch.bool, device=device)
    mask[:, :used] = True
    starts = torch.zeros(batch, dtype=torch.int32, device=device)
    stop = torch.tensor([used], dtype=torch.int32, device=device)
    scale = dim ** -0.5
    ref = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=mask[:, None, None, :],
                                                           scale=scale)
    fp8 = torch.float8_e4m3fn
    key8, value8 = decode_attention.to_fp8(key, fp8), decode_attention.to_fp8(value, fp8)
    ours = decode_attention.decode_attention(query, key, value, starts, stop, scale)
    ours8 = decode_attention.decode_attention(query, key8, value8, starts, stop, scale)
    print(f"kernel check: max |ours - SDPA| = {(ours.float() - ref.float()).abs().max().item():.4f} (bf16 cache), "
          f"{(ours8.float() - ref.float()).abs().max().item():.4f} (fp8 cache); mean |SDPA| "
          f"{ref.float().abs().mean().item():.4f}", flush=True)

    def per_call(fn) -> float:
        for _ in range(3):
            fn()
        sync(device)
        start = time.perf_counter()
        for _ in range(20):
            fn()
        sync(device)
        return (time.perf_counter() - start) / 20

    gib = 2 * batch * kv_heads * used * dim * 2 / 2**30  # K and V of the attended slots, bf16
    if sweep:
        for cache, size in (("bf16", gib), ("fp8", gib / 2)):
            k, v = (key, value) if cache == "bf16" else (key8, value8)
            config = decode_attention.CONFIG[k.element_size()]
            results = []
            for block, warps, stages, splits in itertools.product((64, 128), (4, 8), (2, 3), (1, 2, 4)):
                config.update(block=block, warps=warps, stages=stages)
                try:
                    t = per_call(lambda k=k, v=v, splits=splits: decode_attention.decode_attention(
                        query, k, v, starts, stop, scale, splits=splits))
                except Exception as exc:  # a launch the GPU cannot hold (shared memory)
                    print(f"  sweep {cache} block {block} warps {warps} stages {stages}: {type(exc).__name__}")
                    continue
                results.append((t, block, warps, stages, splits))
            results.sort()
            for t, block, warps, stages, splits in results[:4]:
                print(f"  sweep, {cache} cache: block {block}, warps {warps}, stages {stages}, splits {splits}: "
                      f"{t * 1e3:.3f} ms ({size / t:.0f} GiB/s)", flush=True)
            _, block, warps, stages, splits = results[0]
            config.update(block=block, warps=warps, stages=stages, programs=batch * kv_heads * splits)
            print(f"  using {cache}: {config}", flush=True)
    for name, fn, size in (
        ("SDPA (heads grouped in the query axis), bf16 cache", lambda: torch.nn.functional.scaled_dot_product_attention(
            query, key, value, attn_mask=mask[:, None, None, :], scale=scale), gib),
        ("Triton kernel, bf16 cache", lambda: decode_attention.decode_attention(
            query, key, value, starts, stop, scale), gib),
        ("Triton kernel, fp8 cache", lambda: decode_attention.decode_attention(
            query, key8, value8, starts, stop, scale), gib / 2),
    ):
        t = per_call(fn)
        print(f"  one layer's attention, batch {batch} x {used} slots, {name}: {t * 1e3:.3f} ms "
              f"({size / t:.0f} GiB/s of cache read)", flush=True)


def check_tokens(engine, shape, tokens: int = 32) -> None:
    """The engine loop's tokens (graph-replayed on a GPU, fused projections, its own attention kernel) against a
    plain forward pass over the prompt and those tokens, without any cache: at each position, is our token that
    pass's argmax, and where not, by how much does it miss (random weights give near-ties that bf16 rounding flips;
    a broken step misses by a whole logit spread)."""
    import torch

    probe = page(shape, 7)
    engine.encode_images([probe])
    prepared = engine._plan("Describe.", [probe], tokens)
    entry = engine._encoded(prepared.images[0])
    ids = torch.tensor(prepared.ids, device=engine.device)
    lm = engine._adapter.lm
    with torch.inference_mode():
        embed = lm.get_input_embeddings()
        embeds = embed(ids)
        mask = (ids == engine._adapter.image_token_id).unsqueeze(-1).expand_as(embeds)
        embeds = embeds.masked_scatter(mask, entry.features.to(embeds.dtype))
        ours = engine._greedy.decode([embeds], tokens)[0]
        ours_t = torch.tensor(ours, device=engine.device)
        full = torch.cat([embeds, embed(ours_t)])[None]
        hidden = engine._greedy.decoder(inputs_embeds=full, position_ids=torch.arange(
            full.shape[1], device=engine.device)[None], use_cache=False).last_hidden_state[0]
        logits = lm.get_output_embeddings()(hidden[len(ids) - 1: len(ids) - 1 + len(ours)]).float()
    best = logits.max(-1).values
    miss = best - logits.gather(1, ours_t[:, None])[:, 0]
    spread = logits.std(-1).mean().item()
    print(f"check: the engine loop's {len(ours)} tokens are a plain uncached forward's argmax at "
          f"{int((miss == 0).sum())}; the others miss by at most {miss.max().item():.3f} (logits' spread "
          f"{spread:.3f})", flush=True)


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
