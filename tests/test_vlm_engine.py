"""The `transformers` engine on a tiny random Idefics3 model built here and loaded through the real loading path."""

from __future__ import annotations

import concurrent.futures as cf
import os

import pytest
from PIL import Image, ImageDraw

# Before transformers (and huggingface_hub, which reads it once) is imported: nothing here may reach the Hub.
os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("transformers")

from mcp_docvl.config import Settings
from mcp_docvl.engines import create_engine
from mcp_docvl.engines.local.random_model import save_random_model
from mcp_docvl.engines.local.transformers_engine import TRANSCRIBE_PROMPT, TransformersEngine
from mcp_docvl.errors import EngineError, LimitExceeded
from mcp_docvl.features.read import read_document
from mcp_docvl.features.warmup import warmup


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_random_model(tmp_path_factory.mktemp("tiny-vlm"))


def page_image(text: str = "Invoice 42", size=(180, 240)) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((12, 12), text, fill="black")
    draw.rectangle((12, 60, 160, 120), outline="black")
    return image


def make_engine(model_dir, **overrides) -> TransformersEngine:
    settings = Settings.from_env(engine="transformers", vlm_model=str(model_dir), vlm_max_new_tokens=16, **overrides)
    engine = create_engine(settings)
    assert isinstance(engine, TransformersEngine)
    return engine


def test_read_document_returns_the_generated_text_and_the_cache_skips_the_encoder(model_dir, tmp_path):
    path = tmp_path / "scan.png"
    page_image().save(path)
    engine = make_engine(model_dir, roots=[tmp_path])
    result = read_document(str(path), settings=engine.settings, engine=engine)
    assert engine.encoder_calls == 1
    # An engine with a cold cache, fed the same pixels, must write the same text.
    reference = make_engine(model_dir)
    expected = reference.generate(TRANSCRIBE_PROMPT, [Image.open(path).convert("RGB")], max_new_tokens=16).strip()
    assert expected
    assert result.pages[0].method == "vlm"
    assert result.pages[0].content == expected
    # A second question on the same page: answered from cached embeddings, encoder untouched, same as uncached.
    question = "What is the invoice number?"
    cached = engine.generate(question, [Image.open(path).convert("RGB")], max_new_tokens=8)
    assert engine.encoder_calls == 1
    assert engine.cache.hits >= 1
    assert cached == reference.generate(question, [Image.open(path).convert("RGB")], max_new_tokens=8)
    # Text output of a VLM page is its markdown, not an empty string.
    text = read_document(str(path), format="text", settings=engine.settings, engine=engine)
    assert text.pages[0].content == expected


@pytest.mark.parametrize("path", ["dynamic-cache", "engine-loop", "static-cache-generate"])
def test_concurrent_requests_are_batched_and_answer_as_alone(model_dir, path):
    # engine-loop: the GPU decoding path (the engine's own greedy loop over its KV cache, batch padded to a power
    # of two, heads grouped per KV head), run here without CUDA graphs; static-cache-generate: its fallback for
    # models the loop does not support. Both must answer exactly as the plain path does.
    plain = make_engine(model_dir)
    engine = make_engine(model_dir, vlm_max_batch=4, vlm_compile=path != "dynamic-cache")
    engine._load()
    assert (engine._greedy is not None) == (path != "dynamic-cache")
    if path == "static-cache-generate":
        engine._greedy = None
    pages = [page_image(f"Page {i}", size=(160 + 40 * i, 220)) for i in range(3)]
    prompts = [f"Question {i}: what does it say?" * (i + 1) for i in range(3)]
    alone = [plain.generate(p, [img], max_new_tokens=6) for p, img in zip(prompts, pages, strict=True)]
    assert len(set(alone)) == 3, "the tiny model should answer differently for different pages"
    sizes: list[int] = []
    run_batch = engine._scheduler._run_batch

    def counting(batch):
        sizes.append(len(batch))
        return run_batch(batch)

    engine._scheduler._run_batch = counting
    engine._scheduler.batch_window = 0.5
    with cf.ThreadPoolExecutor(3) as pool:
        together = list(pool.map(lambda p, img: engine.generate(p, [img], max_new_tokens=6), prompts, pages))
    assert max(sizes) > 1, sizes
    # Left padding (and padding rows) must not change any answer (greedy decoding).
    assert together == alone


def test_greedy_decoder_gives_the_tokens_of_generate(model_dir):
    import torch
    from transformers import AutoModelForImageTextToText

    from mcp_docvl.engines.local.greedy_decoder import GreedyDecoder, unsupported_reason
    from mcp_docvl.engines.local.transformers_engine import _use_decode_gqa_attention

    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    assert unsupported_reason(model) is None
    # The attention the loop decodes with (Triton kernel on a GPU).
    assert _use_decode_gqa_attention(model, "docvl_gqa_test")
    model.generation_config.eos_token_id = None
    generator = torch.Generator().manual_seed(3)
    prompts = [torch.randint(10, 500, (n,), generator=generator) for n in (5, 300, 17)]
    with torch.inference_mode():
        reference = [model.generate(input_ids=p[None], attention_mask=torch.ones(1, len(p), dtype=torch.long),
                                    max_new_tokens=24, do_sample=False)[0, len(p):].tolist() for p in prompts]
        embeds = [model.get_input_embeddings()(p) for p in prompts]
        assert len({tuple(r) for r in reference}) == 3
        # No end-of-sequence token: every row decodes its full budget, padding rows change nothing.
        decoder = GreedyDecoder(model, [], use_graphs=False)
        assert decoder.decode(embeds, 24, rows=4) == reference
        # The same buffers reused (a shorter batch, a smaller budget): nothing left over from the last batch.
        assert decoder.decode(embeds[:1], 10, rows=4) == [reference[0][:10]]
        # A token of the first answer as end-of-sequence: that row stops just before it, the others as they would.
        eos = reference[0][5]
        with_eos = GreedyDecoder(model, [eos], use_graphs=False).decode(embeds, 24, rows=4)
        expected = [r[:r.index(eos)] if eos in r else r for r in reference]
        assert with_eos == expected and len(with_eos[0]) == 5
        # A caller that gave up stops the batch at the next check.
        assert [len(r) for r in decoder.decode(embeds, 24, should_stop=lambda: True)] == [1, 1, 1]
        # Prompts of one length are prefilled together (one forward pass for rows 1-3 here, and for 4-5), and each
        # still answers as alone.
        same = [torch.randint(10, 500, (40,), generator=generator) for _ in range(4)]
        mixed = [embeds[0]] + [model.get_input_embeddings()(p) for p in same] + [embeds[2]]
        alone = [decoder.decode([e], 12)[0] for e in mixed]
        assert len({tuple(a) for a in alone}) == len(mixed)
        assert decoder.decode(mixed, 12, rows=8) == alone


def test_prompts_of_one_length_are_prefilled_together_up_to_the_token_bound(monkeypatch):
    from mcp_docvl.engines.local import greedy_decoder

    monkeypatch.setattr(greedy_decoder, "PREFILL_TOKENS", 100)
    assert greedy_decoder.prefill_groups([5, 40, 40, 40, 17, 40, 40]) == [[0], [1, 2], [3], [4], [5, 6]]
    assert greedy_decoder.prefill_groups([120, 120]) == [[0], [1]]  # longer than the bound: alone, not refused


def test_multi_page_prompt_fits_the_context_and_says_what_gave_way(model_dir):
    engine = make_engine(model_dir, vlm_context_tokens=400)
    pages = [page_image(f"Page {i}", size=(200, 260)) for i in range(3)]
    full = engine.generate_detailed("Compare the pages.", pages[:1], max_new_tokens=8)
    assert full.notes == []
    squeezed = engine.generate_detailed("Compare the pages.", pages, max_new_tokens=8)
    assert any("tiles each instead of 12" in note for note in squeezed.notes), squeezed.notes
    tight = make_engine(model_dir, vlm_context_tokens=100)
    dropped = tight.generate_detailed("Compare the pages.", pages, max_new_tokens=8)
    assert any("The last 1 of 3 page images were left out" in note for note in dropped.notes), dropped.notes
    with pytest.raises(LimitExceeded):
        make_engine(model_dir, vlm_context_tokens=60).generate_detailed("Compare the pages.", pages, max_new_tokens=8)


def test_disk_cache_and_warmup_serve_a_new_process(model_dir, tmp_path):
    path = tmp_path / "static.png"
    page_image("Static").save(path)
    settings = dict(roots=[tmp_path], vlm_cache_dir=tmp_path / "cache")
    first = make_engine(model_dir, **settings)
    result = warmup(str(path), settings=first.settings, engine=first)
    assert (result.pages, result.encoded) == (1, 1)
    assert warmup(str(path), settings=first.settings, engine=first).encoded == 0
    # A fresh engine (a new server process) finds the embeddings on disk.
    second = make_engine(model_dir, **settings)
    answer = read_document(str(path), settings=second.settings, engine=second)
    assert second.encoder_calls == 0
    assert answer.pages[0].content == first.transcribe_page(Image.open(path).convert("RGB")).markdown


def test_missing_model_is_a_clear_error_and_nothing_is_downloaded(tmp_path):
    engine = make_engine(tmp_path / "no-such-model")
    with pytest.raises(EngineError) as info:
        engine.generate("Hi", [page_image()])
    assert "DOCVL_VLM_MODEL" in str(info.value)
    hub = make_engine("nobody/not-a-real-model-xyz")
    with pytest.raises(EngineError) as info:
        hub.generate("Hi", [page_image()])
    assert "mcp-docvl model fetch nobody/not-a-real-model-xyz" in str(info.value)


def test_bench_runs_on_cpu_with_the_tiny_model(capsys):
    from tools.bench_gpu import main

    main(["--device", "cpu", "--tiny", "--tokens", "8", "--batch-sizes", "1,2"])
    out = capsys.readouterr().out
    assert "batch-1 decode" in out
    assert "pages/s" in out
    assert "cached second question" in out


def test_fp8_weights_replace_the_language_model_layers_and_keep_its_output_close(model_dir):
    import torch

    from mcp_docvl.engines.local.quantization import quantize_fp8

    engine = make_engine(model_dir)
    lm = engine._load().lm
    decoder = lm.get_decoder()
    ids = torch.arange(3, 40)[None]
    proj = decoder.layers[0].mlp.down_proj
    x = torch.randn(5, proj.in_features, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        exact = proj(x)
        replaced = quantize_fp8(decoder, "cpu")
        after = decoder(input_ids=ids).last_hidden_state
        approx = decoder.layers[0].mlp.down_proj(x)
    # 7 linear layers (q, k, v, o, gate, up, down) in each of the tiny model's 2 layers; the head stays.
    assert replaced == 14
    assert not any(type(m) is torch.nn.Linear for m in decoder.modules())
    assert type(lm.get_output_embeddings()) is torch.nn.Linear
    assert any(m.weight.dtype == torch.float8_e4m3fn for m in decoder.modules() if hasattr(m, "weight_scale"))
    # float8 keeps 3 mantissa bits: one layer's product is close to the exact one, not equal to it. (Through the
    # whole tiny model the error grows: its random weights are 25x wider than a trained model's.)
    error = ((approx - exact).norm() / exact.norm()).item()
    assert 0 < error < 0.06
    assert torch.isfinite(after).all()


def test_settings_that_cannot_work_are_refused_at_load_with_the_fix(model_dir):
    with pytest.raises(EngineError, match=r"FP8 KV cache cannot be used.*CUDA"):
        make_engine(model_dir, vlm_kv_cache_dtype="fp8")._load()
    with pytest.raises(Exception, match="Unknown quantization 'int3'"):
        make_engine(model_dir, vlm_quantization="int3")._load()


def test_requests_for_one_image_share_one_early_encoding_and_a_cache_off_engine_encodes_again(model_dir):
    engine = make_engine(model_dir, vlm_max_batch=4)
    image = page_image("Shared page")
    with cf.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda q: engine.generate(q, [image], max_new_tokens=6), ["A?", "B?", "C?", "D?"]))
    # Encoded once (ahead of its batch, on the encoder's thread), whichever request asked first.
    assert engine.encoder_calls == 1
    assert not engine._ahead  # nothing left in flight
    assert answers[0] == engine.generate("A?", [image], max_new_tokens=6)
    # With no cache, every request needs the encoder again: no early result is kept around as a hidden cache.
    uncached = make_engine(model_dir, vlm_cache_mb=0)
    for _ in range(2):
        uncached.generate("A?", [image], max_new_tokens=6)
    assert uncached.encoder_calls == 2


def test_a_page_the_worker_is_encoding_is_not_started_again_early(model_dir):
    import threading

    engine = make_engine(model_dir)
    adapter = engine._load()
    inside, release = threading.Event(), threading.Event()
    real_encode = adapter.encode

    def gated_encode(*args, **kwargs):  # the real encoder, held at its door so the race happens every time
        inside.set()
        release.wait(10)
        return real_encode(*args, **kwargs)

    adapter.encode = gated_encode
    prepared = engine._plan("Read.", [page_image("Raced page")], 2)
    item = prepared.images[0]
    # The worker reaches the page first (an idle scheduler starts at once), then the caller's early start runs.
    with cf.ThreadPoolExecutor(1) as pool:
        worker = pool.submit(engine._encoded, item)
        assert inside.wait(10)
        engine._encode_ahead(prepared)
        release.set()
        entry = worker.result(10)
    assert item.ahead.result(10) is entry
    assert engine.encoder_calls == 1
    assert not engine._ahead


def test_what_the_engine_keeps_after_many_pages_stays_within_its_bounds(model_dir):
    # What the engine holds once a stream of new pages has gone through it in batches: the vision cache within its
    # byte bound (entries of the model's dtype, no pixels), no page still waiting on the early encoder, and one
    # decoder state of one batch's rows x the longest prompt + answer (rounded up to a slot bucket), not one per
    # batch. A regression (an fp32 copy of the features, pixels kept beside them, a state per batch) breaks a bound.
    from mcp_docvl.engines.local.greedy_decoder import SLOT_BUCKET

    engine = make_engine(model_dir, vlm_max_batch=4, vlm_compile=True, vlm_cache_mb=1)
    engine._load()
    engine._scheduler.batch_window = 0.2
    pages = [page_image(f"Page {i} of a long run", size=(180, 240)) for i in range(12)]
    with cf.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda img: engine.generate(TRANSCRIBE_PROMPT, [img], max_new_tokens=4), pages))
    assert len(answers) == 12 and engine.encoder_calls == 12
    entries = list(engine.cache._entries.values())
    assert entries and engine.cache._bytes <= engine.cache.max_bytes
    dtype = engine._adapter.lm.dtype
    for entry in entries:
        assert entry.features.dtype == dtype
        # The entry holds the embeddings of its image tokens and nothing more (no view of a larger buffer).
        tokens = sum(1 for t in entry.token_ids if t == engine._adapter.image_token_id)
        assert entry.features.untyped_storage().nbytes() == tokens * entry.features.shape[-1] * dtype.itemsize
        assert not any(k.startswith("pixel_") for k in entry.extras)
    assert engine.cache._bytes == sum(e.nbytes() for e in entries)
    assert not engine._ahead
    state = engine._greedy._state
    longest = max(len(engine._plan(TRANSCRIBE_PROMPT, [img], 4).ids) for img in pages)
    assert state.rows <= 4
    assert state.slots == -(-(longest + 4) // SLOT_BUCKET) * SLOT_BUCKET
    config = engine._adapter.lm.config.get_text_config()
    kv_heads = getattr(config, "num_key_value_heads", None) or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    per_layer = state.rows * kv_heads * state.slots * head_dim * engine._greedy.kv_dtype.itemsize
    kv = sum(t.untyped_storage().nbytes() for t in state.cache.keys + state.cache.values)
    assert kv == 2 * config.num_hidden_layers * per_layer
    engine.close()
