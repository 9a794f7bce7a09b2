"""A remote-code model in Nemotron Nano VL's style (written by the project: remote_stand_in.py), loaded offline from
a local Hugging Face cache laid out as `mcp-docvl model fetch` leaves it, through the real `transformers` engine."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("torch")
pytest.importorskip("transformers")

import huggingface_hub.constants as hub_constants

from mcp_docvl.config import Settings
from mcp_docvl.engines import create_engine
from mcp_docvl.engines.local import hub, remote_stand_in, tiling
from mcp_docvl.engines.local.transformers_engine import TransformersEngine
from mcp_docvl.errors import EngineError

ROOT = Path(__file__).resolve().parents[1]
REPO = "docvl-stand-in/nano-vl"
VISION_REPO = "docvl-stand-in/radio"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(model directory, hub cache) with both repositories cached; the hub cache is the process's for the module."""
    root = tmp_path_factory.mktemp("stand-in")
    cache = root / "hub"
    model_dir = remote_stand_in.build(root / "repos", cache, repo_id=REPO, vision_repo_id=VISION_REPO)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
        patch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
        yield model_dir, cache


@pytest.fixture(scope="module")
def engine(built):
    engine = make_engine(REPO)
    engine._load()
    yield engine
    engine.close()


def make_engine(model: str, **overrides) -> TransformersEngine:
    settings = Settings.from_env(engine="transformers", vlm_model=model, vlm_max_new_tokens=8, **overrides)
    engine = create_engine(settings)
    assert isinstance(engine, TransformersEngine)
    return engine


def page(text: str, size: tuple[int, int]) -> Image.Image:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((8, 8), text, fill="black")
    draw.rectangle((8, size[1] // 2, size[0] - 8, size[1] - 8), outline="black")
    return image


def remote_module(engine: TransformersEngine):
    return sys.modules[type(engine._adapter.image_processor).__module__]


def test_the_published_style_code_fails_in_transformers_without_the_engines_fix(built):
    import transformers

    # What a user of plain transformers >= 5 gets: the model's __init__ skipped post_init().
    with pytest.raises(AttributeError, match="all_tied_weights_keys"):
        transformers.AutoModel.from_pretrained(REPO, trust_remote_code=True)


def test_loads_offline_and_answers_as_the_models_own_chat(engine):
    adapter = engine._adapter
    image = page("Invoice 42", (300, 200))
    _, processed, tiles = adapter.process(image, 12)
    # The model's own reference: its chat() on the pixels of its own preprocessing (the 2x hook honoured).
    module = remote_module(engine)
    processor = adapter.image_processor
    own_tiles = module.dynamic_preprocess(tiling.to_image(processor._process_image(image)), max_num=12,
                                          image_size=processor.image_size, use_thumbnail=True)
    assert tiles == len(own_tiles) == 13
    own = processor._preprocess([processor._process_image(image)])["pixel_values"]
    assert processed["pixel_values"].shape == own.shape and bool((processed["pixel_values"] == own).all())
    reference = adapter.model.chat(adapter.tokenizer, own, "What is the total?",
                                   {"max_new_tokens": 8, "do_sample": False})
    answer = engine.generate("What is the total?", [image], max_new_tokens=8)
    assert reference and answer == reference
    # The LM and projector are bf16 whatever was asked (the published code forces it); the encoder follows the
    # setting (float32 on a CPU).
    import torch

    assert adapter.lm.dtype == torch.bfloat16 and adapter._vision_dtype == torch.float32


def test_stops_at_the_chat_templates_end_of_turn(engine):
    tokenizer = engine._adapter.tokenizer
    eot = tokenizer.convert_tokens_to_ids("<|eot_id|>")
    assert engine._adapter.lm.generation_config.eos_token_id != eot  # the config names another token
    assert eot in engine.stop_ids


@pytest.mark.parametrize("tile", [512, 64])
def test_tile_grid_equals_the_models_own_dynamic_preprocess(engine, tile):
    module = remote_module(engine)
    processor = engine._adapter.image_processor
    spec = tiling.TileSpec.from_processor(processor)
    spec = tiling.TileSpec(tile=tile, thumbnail=True, mean=spec.mean, std=spec.std)
    sizes = [(1000, 700), (700, 1000), (1536, 2048), (2480, 3508), (612, 792), (3000, 400), (400, 3000),
             (512, 512), (200, 150), (1200, 1200), (90, 400), (1700, 1100)]
    differs = 0
    for width, height in sizes:
        image = Image.new("RGB", (width, height), "white")
        upscaled = tiling.to_image(processor._process_image(image))
        for budget in (12, 6, 2):
            own = module.dynamic_preprocess(upscaled, max_num=budget, image_size=tile, use_thumbnail=True)
            ours = tiling.split(upscaled, spec, budget)
            assert len(ours) == len(own), (width, height, budget)
            cols, rows = tiling.grid(upscaled.width, upscaled.height, tile, budget)
            assert cols * rows + (cols * rows > 1) == len(own)
            skipped = module.dynamic_preprocess(image, max_num=budget, image_size=tile, use_thumbnail=True)
            differs += len(skipped) != len(own)
    # The hook matters: without it (what transformers 5 does with the processor) some grids change.
    assert differs
    if tile == 512:  # the page of the notes: 13 tiles with the hook, 7 as transformers 5 runs the processor
        image = Image.new("RGB", (1000, 700), "white")
        assert len(tiling.split(tiling.to_image(processor._process_image(image)), spec, 12)) == 13
        as_transformers_runs_it = type(processor)(image_size=512)(images=[image], return_tensors="pt")
        assert as_transformers_runs_it["pixel_values"].shape[0] == 7


def test_concurrent_calls_with_different_tile_budgets_get_their_own(built):
    # A short context: one page fits at 12 tiles, three pages must shrink to fewer tiles each.
    overrides = {"vlm_context_tokens": 560, "vlm_max_batch": 4}
    pages = [page(f"Page {i}", (300 + 60 * i, 200)) for i in range(3)]
    calls = [("One page?", pages[i % 3:i % 3 + 1]) if i % 2 else ("Three pages?", pages) for i in range(12)]
    alone = make_engine(REPO, **overrides)
    expected = [alone.generate_detailed(q, imgs, 6) for q, imgs in calls]
    alone.close()
    assert {tuple(g.notes) for g in expected} != {()}, "the three-page calls should have been shrunk"
    engine = make_engine(REPO, **overrides)
    with cf.ThreadPoolExecutor(6) as pool:
        together = list(pool.map(lambda c: engine.generate_detailed(c[0], c[1], 6), calls))
    assert [(g.text, g.notes) for g in together] == [(g.text, g.notes) for g in expected]
    # Every cached encoding holds the tiles of the budget in its key.
    adapter = engine._adapter
    for key, entry in engine.cache._entries.items():
        budgets = [b for b in (12, 9, 6, 4, 2, 1) for image in pages
                   if remote_stand_in_key(engine, image, b) == key]
        assert budgets, key
        image = next(image for image in pages for b in budgets if remote_stand_in_key(engine, image, b) == key)
        upscaled = tiling.to_image(adapter.image_processor._process_image(image))
        assert entry.tiles == len(tiling.split(upscaled, adapter.spec, budgets[0]))
    engine.close()


def remote_stand_in_key(engine: TransformersEngine, image: Image.Image, tiles: int) -> str:
    from mcp_docvl.engines.vision_cache import cache_key, image_digest

    return cache_key(image_digest(image.convert("RGB")), engine.model_id, engine._adapter.tile_settings(tiles))


def test_fetch_resolves_the_config_references_and_offline_start_names_what_is_missing(built, tmp_path, monkeypatch):
    model_dir, _ = built
    refs = list(hub.code_references(json.loads((model_dir / "config.json").read_text())))
    assert (VISION_REPO, "hf_model.py") in refs
    # `model fetch` over the cache (offline: the hub client answers from the cache): the model and its code repo.
    fetched = dict(hub.fetch(REPO))
    assert set(fetched) == {REPO, VISION_REPO}
    assert (Path(fetched[VISION_REPO]) / "hf_model.py").exists()
    # A cache with the model but not its vision code: the error names the repository and the command.
    partial = tmp_path / "partial"
    remote_stand_in.put_in_hub_cache(partial, REPO, model_dir)
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(partial))
    with pytest.raises(EngineError) as missing:
        make_engine(REPO)._load()
    assert VISION_REPO in str(missing.value) and f"mcp-docvl model fetch {REPO}" in str(missing.value)
    with pytest.raises(EngineError, match=f"{VISION_REPO}.*not in the local Hugging Face cache.*HF_HUB_OFFLINE"):
        hub.fetch(REPO)
    # Nothing cached at all.
    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(EngineError, match="mcp-docvl model fetch other/model"):
        make_engine("other/model")._load()


def _variant(model_dir: Path, tmp_path: Path, edit) -> Path:
    copy = tmp_path / "variant"
    shutil.copytree(model_dir, copy, symlinks=False)
    edit(copy)
    return copy


def test_missing_packages_and_unsupported_tags_are_clear_errors(built, tmp_path):
    model_dir, _ = built

    def needs_open_clip(path: Path) -> None:
        code = path / "modeling_nano_vl.py"
        code.write_text("import open_clip\n" + code.read_text())

    with pytest.raises(EngineError) as missing:
        make_engine(str(_variant(model_dir, tmp_path / "a", needs_open_clip)))._load()
    assert "open-clip-torch" in missing.value.fix and "mcp-docvl[nemotron]" in missing.value.fix

    def tagged(path: Path) -> None:
        config = json.loads((path / "config.json").read_text())
        config["image_tag_type"] = "nvlm"
        (path / "config.json").write_text(json.dumps(config))

    with pytest.raises(EngineError, match="image_tag_type is 'nvlm'"):
        make_engine(str(_variant(model_dir, tmp_path / "b", tagged)))._load()


def test_a_fresh_process_reads_a_page_offline_from_the_fetched_cache(built, tmp_path):
    _, cache = built
    scan = tmp_path / "scan.png"
    page("Invoice 42", (300, 200)).save(scan)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache),
           "HF_MODULES_CACHE": str(tmp_path / "modules"), "DOCVL_VLM_MAX_NEW_TOKENS": "8"}
    out = subprocess.run([sys.executable, "-m", "mcp_docvl", "read", str(scan), "--engine", "transformers",
                          "--model", REPO, "--no-isolation", "--json"], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["pages"][0]["method"] == "vlm" and result["pages"][0]["content"]


def test_model_fetch_command_over_the_cache(built, capsys):
    from mcp_docvl.cli import main

    _, cache = built
    assert main(["model", "fetch", REPO, "--cache-dir", str(cache)]) == 0
    out = capsys.readouterr().out
    assert f"{REPO}: " in out and f"{VISION_REPO}: " in out and "HF_HUB_OFFLINE=1 mcp-docvl serve" in out


def test_bench_runs_a_model_directory_through_the_real_load_path(built, capsys):
    from tools.bench_gpu import main

    model_dir, _ = built
    main(["--device", "cpu", "--tiny", "--model", str(model_dir), "--tokens", "8", "--batch-sizes", "2",
          "--batches", "3"])
    out = capsys.readouterr().out
    assert "(NanoVLModel)" in out and "LM torch.bfloat16" in out
    assert "page: 13 tiles" in out and "batch-1 decode" in out and "cached second question" in out
    assert "aggregate:" in out


def test_the_engine_leaves_no_process_wide_trace(built):
    from transformers import AttentionInterface
    from transformers.integrations.sdpa_attention import sdpa_attention_forward
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    switch = sys.getswitchinterval()
    names = set(AttentionInterface._global_mapping)
    engine = make_engine(REPO, vlm_compile=True)  # the engine's own loop and attention, here without CUDA graphs
    engine.generate("Hi", [page("x", (120, 90))], max_new_tokens=2)
    lm = engine._adapter.lm
    private = lm.config._attn_implementation
    assert private.startswith("docvl_gqa_") and private in ALL_ATTENTION_FUNCTIONS
    assert ALL_ATTENTION_FUNCTIONS["sdpa"] is sdpa_attention_forward  # other models' attention unchanged
    engine.close()
    assert lm.config._attn_implementation == "sdpa"
    assert set(AttentionInterface._global_mapping) == names
    assert sys.getswitchinterval() == switch
    # On a GPU the batch's thread switch interval holds only while the batch runs.
    from mcp_docvl.engines.local.transformers_engine import _switch_interval

    with _switch_interval(switch / 10):
        assert sys.getswitchinterval() == pytest.approx(switch / 10)
    assert sys.getswitchinterval() == switch
