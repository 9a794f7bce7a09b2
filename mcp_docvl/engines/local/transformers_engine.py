"""The resident local VLM: a Hugging Face vision-language model loaded once and shared by every tool call.

Default model: Llama Nemotron Nano VL (remote code, InternVL-style: 512 px tiles up to 12 + thumbnail, 256 tokens
a tile). Any `AutoModelForImageTextToText` model (Idefics3/SmolVLM, Llava, Qwen2.5-VL, Granite-Docling...) loads
by id or local directory too.

The engine splits each request into the two stages the model has: the vision encoder + projector turn each page
image into embeddings (cached per image, model and tile settings), then the language model decodes from the
prompt's embeddings with the image tokens filled in. That split is what lets a second question on a page skip the
encoder, and lets concurrent requests share one batched decode (see `scheduler.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from mcp_docvl.config import Settings
from mcp_docvl.engines.base import PageTranscript
from mcp_docvl.engines.local import decode_attention, hub, quantization, remote_code, tiling
from mcp_docvl.engines.local.fused_projections import fuse_projections
from mcp_docvl.engines.local.greedy_decoder import GreedyDecoder, unsupported_reason
from mcp_docvl.engines.local.rms_norm import fuse_rms_norms
from mcp_docvl.engines.local.scheduler import BatchScheduler, Request
from mcp_docvl.engines.prompts import TRANSCRIBE_PROMPT
from mcp_docvl.engines.vision_cache import EncodedImage, VisionCache, cache_key, image_digest, tile_budget
from mcp_docvl.errors import EngineError, InvalidArgument, LimitExceeded

log = logging.getLogger(__name__)

# Tile budgets tried, largest first, when a multi-page prompt must shrink to fit the context.
_TILE_STEPS = (12, 9, 6, 4, 2, 1)
# Side of one tile for models whose processor has no tiling of its own: the page is scaled to tiles x tile^2 pixels.
_TILE_PX = 512


@dataclass
class Generation:
    """A reply and what had to give way to produce it (pages at fewer tiles, pages left out)."""

    text: str
    notes: list[str] = field(default_factory=list)


@dataclass
class _ImageInput:
    """One page image of a request: cached embeddings, or processor outputs the worker still has to encode."""

    key: str
    token_ids: list[int]
    tiles: int
    entry: EncodedImage | None = None
    processed: dict[str, Any] | None = None
    ahead: Any = None  # a Future of its EncodedImage, when the encoder started on it early


@dataclass
class _EncodeJob:
    images: list[_ImageInput]


@dataclass
class _Prepared:
    """One request ready for the language model: prompt token ids, its images in order, notes for the caller."""

    ids: list[int]
    images: list[_ImageInput]
    max_new_tokens: int
    notes: list[str]
    encoded: list[EncodedImage] = field(default_factory=list)


def _resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError(f"DOCVL_VLM_DEVICE={name!r} but no CUDA GPU is visible.", "Use 'cpu' or 'auto'.")
    return name


def _resolve_dtype(name: str, device: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    dtypes = {"bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16,
              "float32": torch.float32, "fp32": torch.float32}
    if name not in dtypes:
        raise InvalidArgument(f"Unknown dtype {name!r}.", f"Use one of: auto, {', '.join(dtypes)}.")
    return dtypes[name]


class _HFAdapter:
    """Any `AutoModelForImageTextToText` model: encoder via `get_image_features`, decoder via `generate`."""

    def __init__(self, model, processor) -> None:
        self.model = model
        self.processor = processor
        self.tokenizer = processor.tokenizer
        self.placeholder = processor.image_token
        self.image_token_id = self.tokenizer.convert_tokens_to_ids(self.placeholder)
        image_processor = processor.image_processor
        # Idefics3 / SmolVLM / Granite-Docling cut the page into tiles of `max_image_size` themselves.
        self._own_tiling = getattr(image_processor, "max_image_size", None)
        forward = inspect.signature(model.forward).parameters
        self._forward_args = set(forward)
        self._feature_args = set(inspect.signature(model.get_image_features).parameters)

    @property
    def lm(self):
        return self.model

    def tile_settings(self, tiles: int) -> str:
        return tile_budget(tiles)

    def process(self, image: Image.Image, tiles: int) -> tuple[list[int], dict[str, Any], int]:
        """Token ids of the image's block in the prompt and the processor outputs for the encoder (cheap, CPU)."""
        image = image.convert("RGB")
        kwargs: dict[str, Any] = {}
        if self._own_tiling:
            tile = self._own_tiling["longest_edge"]
            aspect = min(image.width, image.height) / max(image.width, image.height)
            n = 1
            while (n + 1) * math.ceil((n + 1) * aspect) <= tiles:
                n += 1
            kwargs["size"] = {"longest_edge": n * tile}
            used = n * math.ceil(n * aspect) + (1 if n > 1 else 0)
        else:
            scale = math.sqrt(tiles * _TILE_PX * _TILE_PX / (image.width * image.height))
            if scale < 1:
                image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))),
                                     Image.Resampling.BICUBIC)
            used = tiles
        out = self.processor(text=[self.placeholder], images=[image], return_tensors="pt",
                             add_special_tokens=False, **kwargs)
        ids = out["input_ids"][0].tolist()
        return ids, {k: v for k, v in out.items() if k not in ("input_ids", "attention_mask")}, used

    def encode(self, processed: dict[str, Any], device, dtype) -> tuple[Any, dict[str, Any]]:
        import torch

        inputs = {k: v.to(device) for k, v in processed.items() if k in self._feature_args}
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(dtype)
        with torch.inference_mode():
            out = self.model.get_image_features(**inputs)
        feats = getattr(out, "pooler_output", out)
        if isinstance(feats, list | tuple):
            feats = torch.cat([f.reshape(-1, f.shape[-1]) for f in feats])
        extras = {k: v for k, v in processed.items() if not k.startswith("pixel_") and k in self._forward_args}
        # Stays on the model's device: the memory cache is GPU memory, saving a round trip through the host.
        return feats.reshape(-1, feats.shape[-1]), extras

    def chat_text(self, prompt: str, n_images: int) -> str:
        content = [{"type": "image"} for _ in range(n_images)] + [{"type": "text", "text": prompt}]
        return self.processor.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True)


class _InternVLAdapter(_HFAdapter):
    """Llama Nemotron Nano VL and other InternVL-style remote-code models: `extract_feature` is vision tower + pixel
    shuffle + projector; pages are tiled here (`tiling.py`), per call, from the processor's settings."""

    def __init__(self, model, tokenizer, image_processor) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.placeholder = "<image>"
        tag_type = getattr(model.config, "image_tag_type", None)
        if tag_type not in _UNTAGGED_IMAGE_TYPES:
            raise EngineError(
                f"The model's image_tag_type is {tag_type!r}: it expects tags around each tile, which the "
                "transformers engine does not write (it writes <img> + image tokens + </img>).",
                "Serve this model with vLLM and use --engine openai, or use a checkpoint whose config says "
                "image_tag_type \"internvl\".")
        context_id = getattr(model, "img_context_token_id", None)
        self.image_token_id = context_id if context_id is not None else tokenizer.convert_tokens_to_ids("<image>")
        model.img_context_token_id = self.image_token_id
        self.tokens_per_tile = getattr(model, "num_image_token", 256)
        self._own_tiling = None
        self.spec = tiling.TileSpec.from_processor(image_processor, model.config)
        self._hook = tiling.old_process_hook(image_processor)
        self._vision_dtype = next(model.vision_model.parameters()).dtype if hasattr(model, "vision_model") else None

    @property
    def lm(self):
        return self.model.language_model

    def process(self, image: Image.Image, tiles: int) -> tuple[list[int], dict[str, Any], int]:
        import torch

        page = image.convert("RGB")
        if self._hook is not None:
            page = self._hook(page)
        pixel_values = torch.from_numpy(tiling.pixel_values(tiling.split(page, self.spec, tiles), self.spec))
        used = int(pixel_values.shape[0])
        text = "<img>" + self.tokenizer.convert_ids_to_tokens(self.image_token_id) * (used * self.tokens_per_tile)
        ids = self.tokenizer(text + "</img>", add_special_tokens=False)["input_ids"]
        return ids, {"pixel_values": pixel_values}, used

    def encode(self, processed: dict[str, Any], device, dtype) -> tuple[Any, dict[str, Any]]:
        import torch

        with torch.inference_mode():
            feats = self.model.extract_feature(processed["pixel_values"].to(device, self._vision_dtype or dtype))
        return feats.reshape(-1, feats.shape[-1]), {}

    def chat_text(self, prompt: str, n_images: int) -> str:
        content = "".join("<image>\n" for _ in range(n_images)) + prompt
        return self.tokenizer.apply_chat_template([{"role": "user", "content": content}], tokenize=False,
                                                  add_generation_prompt=True)


# `image_tag_type` values whose prompts are <img> + image tokens + </img>, with no tags per tile.
_UNTAGGED_IMAGE_TYPES = (None, "", "internvl")
# End-of-turn tokens of common chat templates: whichever the model's template writes ends a reply, whatever the
# language model's config names as its EOS (Nemotron's says <|end_of_text|>; its chat() stops at <|eot_id|>).
_END_OF_TURN = ("<|eot_id|>", "<|im_end|>", "<end_of_utterance>", "<|end|>", "<end_of_turn>", "<|endoftext|>")


def stop_token_ids(lm, tokenizer) -> list[int]:
    """The config's EOS ids and the chat template's end-of-turn token."""
    eos = lm.generation_config.eos_token_id
    ids = [] if eos is None else [eos] if isinstance(eos, int) else list(eos)
    template = getattr(tokenizer, "chat_template", None) or ""
    if isinstance(template, dict):
        template = " ".join(template.values())
    for token in _END_OF_TURN:
        if token in template:
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id != tokenizer.unk_token_id and token_id not in ids:
                ids.append(token_id)
    return ids


def _stop_when_all_cancelled(requests: Sequence[Request]):
    """A stopping criterion that ends a batch's decoding once every caller in it gave up (timeout, cancelled call)."""
    import torch
    from transformers import StoppingCriteria

    class StopWhenAllCancelled(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            done = all(r.cancelled.is_set() for r in requests)
            return torch.full((input_ids.shape[0],), done, dtype=torch.bool, device=input_ids.device)

    return StopWhenAllCancelled()


# Attention functions are registered in transformers under a name of this prefix + the engine's id, and only the
# engine's own language model is switched to it: no other model in the process sees a change, and `close()` removes
# the name again (transformers has no unregister: the registries' mapping is popped).
_GQA_ATTENTION_PREFIX = "docvl_gqa_"

# Python's GIL switch interval while the engine's GPU loop runs a batch (the default is 5 ms).
SWITCH_INTERVAL = 0.0005


@contextlib.contextmanager
def _switch_interval(seconds: float):
    """Let the thread that launches the batch's kernels take the GIL sooner, for as long as the batch runs.

    A prefill is ~1,000 kernel launches from Python; while callers' threads tile the next pages (CPU, holding the
    GIL in bursts), each launch could wait up to the 5 ms switch interval and the GPU idled. At 0.5 ms an H100
    prefilled a 13-tile page in 108 ms of wall time instead of 136, and the steady state rose from 4.51 to 4.69
    pages/s (`tools/bench_gpu.py`). The interval is process-wide in Python, so it is set only while the engine's
    GPU loop runs a batch and the previous value is restored after it (nothing else in the process changes it).
    """
    previous = sys.getswitchinterval()
    if previous <= seconds:
        yield
        return
    sys.setswitchinterval(seconds)
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


def _used_here(tensors: Sequence[Any]) -> None:
    """Tell the CUDA allocator these (encoded on the encoder's stream) are read on this one too, so memory freed by
    a cache eviction on the other thread is not reused before this stream is done with it."""
    import torch

    for tensor in tensors:
        if tensor.is_cuda:
            tensor.record_stream(torch.cuda.current_stream(tensor.device))


def _decode_gqa_sdpa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling=None, is_causal=None,
                     **kwargs):
    """SDPA that decodes grouped-query attention without copying the KV cache once per query head.

    transformers' `sdpa` repeats K and V to every query head (`repeat_kv`) whenever a mask is present and the code
    is compiled: with a static cache at batch 32 that writes and reads ~2 GB a layer a step, which made batched
    decoding 5x slower than the weights alone cost. For one query token the heads of a group can instead ride in
    the query-length axis: (batch, heads, 1, dim) -> (batch, kv_heads, group, dim), attending to the cache as is.
    """
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    groups = getattr(module, "num_key_value_groups", 1)
    if query.shape[2] != 1 or kwargs.get("position_bias") is not None or kwargs.get("softcap"):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    batch, heads, _, dim = query.shape
    packed = query.reshape(batch, heads // groups, groups, dim)
    mask = attention_mask
    starts, stop = kwargs.get("decode_starts"), kwargs.get("decode_stop")
    if starts is not None and key.is_cuda and decode_attention.available() and dropout == 0.0:
        # The engine's decoding loop on a GPU: one kernel reads each row's run of slots once, in the cache's dtype
        # (bf16 or fp8).
        out = decode_attention.decode_attention(packed, key, value, starts, stop,
                                                scaling if scaling is not None else dim ** -0.5)
        return out.reshape(batch, 1, heads, value.shape[-1]), None
    if groups == 1:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      is_causal=is_causal, **kwargs)
    if mask is not None:
        mask = mask[:, :, :, : key.shape[-2]]
        if mask.shape[1] != 1:  # a mask per head: the same regrouping as the queries
            mask = mask.reshape(batch, heads // groups, groups, -1)
    out = torch.nn.functional.scaled_dot_product_attention(packed, key, value, attn_mask=mask, dropout_p=dropout,
                                                           scale=scaling)
    return out.reshape(batch, heads, 1, value.shape[-1]).transpose(1, 2).contiguous(), None


def _use_decode_gqa_attention(lm, name: str) -> bool:
    """Switch `lm` (only it) to `_decode_gqa_sdpa` registered as `name`; False where this transformers version or
    this model does not allow it."""
    try:
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

        if lm.config.get_text_config()._attn_implementation != "sdpa":
            return False
        AttentionInterface.register(name, _decode_gqa_sdpa)
        AttentionMaskInterface.register(name, sdpa_mask)
        lm.set_attn_implementation(name)
        return True
    except (ImportError, AttributeError, ValueError, TypeError) as exc:
        log.info("Keeping transformers' sdpa attention (%s)", exc)
        return False


def _release_attention(lm, name: str) -> None:
    """`lm` back on transformers' sdpa, and `name` gone from transformers' attention registries."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    try:
        if lm.config.get_text_config()._attn_implementation == name:
            lm.set_attn_implementation("sdpa")
    except (AttributeError, ValueError, TypeError) as exc:
        log.info("Could not switch the model back to sdpa attention (%s)", exc)
    for registry in (AttentionInterface, AttentionMaskInterface):
        registry._global_mapping.pop(name, None)


class TransformersEngine:
    """`Engine` + `GenerativeEngine` on a local Hugging Face model; thread-safe, batched, with a vision cache."""

    name = "transformers"

    def __init__(self, settings: Settings | None = None, *, model: Any = None, processor: Any = None,
                 model_id: str | None = None) -> None:
        """Load lazily from `settings.vlm_model`, or wrap an already built `model` + `processor` (benchmarks)."""
        self.settings = settings or Settings.from_env()
        self.model_id = model_id or self.settings.vlm_model
        self._adapter: _HFAdapter | None = None
        self._load_lock = threading.Lock()
        self._attention_ready: bool | None = None
        self._attention_name = f"{_GQA_ATTENTION_PREFIX}{id(self):x}"
        # The engine's own greedy decoding loop (static KV cache, CUDA graphs), when `compile` is on.
        self._greedy: GreedyDecoder | None = None
        # Token ids that end a reply (None: the config's EOS and the chat template's end of turn, found at load).
        self.stop_ids: list[int] | None = None
        if model is not None:
            self._adapter = _HFAdapter(model, processor)
            self.device = str(model.device)
            self.dtype = model.dtype
        self.cache = VisionCache(max_bytes=self.settings.vlm_cache_mb * 1024 * 1024,
                                 directory=self.settings.vlm_cache_dir)
        # Images that went through the vision encoder (cache misses): what a cache test counts.
        self.encoder_calls = 0
        # Seconds the worker spent in the vision encoder and in generate (prefill + decode; prefill alone where the
        # engine's own loop runs): where time goes.
        self.timings = {"encode_s": 0.0, "generate_s": 0.0, "prefill_s": 0.0}
        # The static KV cache in use, by (batch rows, length): reused across calls so compiled graphs stay valid.
        self._kv_cache: tuple[tuple[int, int], Any] | None = None
        # Images being encoded ahead of their batch (one thread, its own CUDA stream), by cache key.
        self._ahead: dict[str, Any] = {}
        self._ahead_lock = threading.Lock()
        self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="docvl-encoder")
        self._side_stream: Any = None
        self._scheduler = BatchScheduler(self._run_batch, max_batch=self.settings.vlm_max_batch,
                                         queue_size=self.settings.vlm_queue_size, timeout=self.settings.vlm_timeout)

    # -- loading ----------------------------------------------------------------------------------------------

    def _load(self) -> _HFAdapter:
        if self._adapter is None:
            with self._load_lock:
                if self._adapter is None:
                    self._adapter = self._load_model()
        if self._attention_ready is None:
            with self._load_lock:
                if self._attention_ready is None:
                    if self.stop_ids is None:
                        self.stop_ids = stop_token_ids(self._adapter.lm, self._adapter.tokenizer)
                    # Only the static-cache paths need it; eager decoding already packs the heads.
                    self._attention_ready = self.compile and _use_decode_gqa_attention(self._adapter.lm,
                                                                                       self._attention_name)
                    self._greedy = self._greedy_decoder(self._adapter.lm) if self.compile else None
                    if self._greedy is not None:  # not under torch.compile: its modules may be swapped
                        fuse_projections(self._adapter.model)
                        if self.device.startswith("cuda") and decode_attention.available():
                            fuse_rms_norms(self._adapter.lm.get_decoder())
                    if quantization.check(self.settings.vlm_quantization) == "fp8":
                        quantization.quantize_fp8(self._adapter.lm.get_decoder(), self.device)
                    self._check_kv_cache_dtype()
        return self._adapter

    def _greedy_decoder(self, lm) -> GreedyDecoder | None:
        """The engine's own decoding loop (CUDA graphs on a GPU) where the model allows it, else None (generate)."""
        reason = unsupported_reason(lm)
        if reason is not None:
            log.info("Decoding with transformers' generate: %s", reason)
            return None
        kv_dtype = None
        if self.settings.vlm_kv_cache_dtype == "fp8" and self._attention_ready and self.device.startswith("cuda"):
            import torch

            kv_dtype = torch.float8_e4m3fn
        return GreedyDecoder(lm, self.stop_ids, use_graphs=self.device.startswith("cuda"), kv_dtype=kv_dtype)

    def _check_kv_cache_dtype(self) -> None:
        """An FP8 KV cache asked for and not possible is an error at startup, not a silent bf16 cache."""
        wanted = self.settings.vlm_kv_cache_dtype
        if wanted not in ("auto", "fp8"):
            raise InvalidArgument(f"Unknown KV cache dtype {wanted!r}.", "Use auto or fp8.")
        if wanted == "fp8" and (self._greedy is None or self._greedy.kv_dtype == self._greedy.dtype):
            reason = ("it needs a CUDA GPU" if not self.device.startswith("cuda") else
                      "it needs Triton (part of PyTorch's CUDA builds)" if not decode_attention.available() else
                      "this model decodes with transformers' generate, not the engine's own loop")
            raise EngineError(f"An FP8 KV cache cannot be used: {reason}.", "Set DOCVL_VLM_KV_CACHE_DTYPE=auto.")

    def _load_model(self) -> _HFAdapter:
        try:
            import torch  # noqa: F401
            import transformers
        except ImportError as exc:
            raise EngineError("The transformers engine needs torch and transformers.",
                              "pip install 'mcp-docvl[vlm]'") from exc
        from transformers.dynamic_module_utils import get_class_from_dynamic_module
        source = self.model_id
        self.device = _resolve_device(self.settings.vlm_device)
        self.dtype = _resolve_dtype(self.settings.vlm_dtype, self.device)
        remote = self.settings.vlm_trust_remote_code
        # 4-bit weights are quantised while loading, straight onto the device (a 4-bit model cannot be moved).
        extra = quantization.load_kwargs(quantization.check(self.settings.vlm_quantization), self.dtype)
        if extra:
            extra["device_map"] = self.device
        hub.check_offline(source)
        try:
            config = transformers.AutoConfig.from_pretrained(source, trust_remote_code=remote)
            remote_auto = (getattr(config, "auto_map", None) or {}).get("AutoModel")
            if remote_auto and remote and "ImageTextToText" not in str(config.architectures):
                model_class = remote_code.finishing_init(get_class_from_dynamic_module(remote_auto, source))
                model = model_class.from_pretrained(source, config=config, dtype=self.dtype, **extra)
                adapter = _InternVLAdapter(
                    model.eval() if extra else model.to(self.device).eval(),
                    transformers.AutoTokenizer.from_pretrained(source, trust_remote_code=remote),
                    remote_code.remote_image_processor(source),
                )
            else:
                model = transformers.AutoModelForImageTextToText.from_pretrained(
                    source, dtype=self.dtype, trust_remote_code=remote, **extra)
                processor = transformers.AutoProcessor.from_pretrained(source, trust_remote_code=remote)
                adapter = _HFAdapter(model.eval() if extra else model.to(self.device).eval(), processor)
        except (OSError, ValueError, KeyError, ImportError, AttributeError, TypeError, NotImplementedError) as exc:
            raise remote_code.load_error(source, exc) from exc
        log.info("Loaded %s on %s (%s)", source, self.device, self.dtype)
        return adapter

    def cache_config(self) -> dict[str, Any]:
        """What shapes a transcription, for the page cache's keys (another model or prompt: another entry)."""
        return {"model": self.model_id, "max_tiles": self.settings.vlm_max_tiles,
                "max_new_tokens": self.settings.vlm_max_new_tokens, "prompt": TRANSCRIBE_PROMPT}

    def warm(self) -> None:
        """Load the model now and run one tiny request, so the first tool call pays for neither."""
        self._load()
        self.generate("Say OK.", [Image.new("RGB", (64, 64), "white")], max_new_tokens=2)

    def close(self) -> None:
        self._scheduler.close()
        self._ahead_pool.shutdown(wait=True, cancel_futures=True)
        if self._attention_ready:
            _release_attention(self._adapter.lm, self._attention_name)
            self._attention_ready = None

    @property
    def compile(self) -> bool:
        wanted = self.settings.vlm_compile
        return self.device.startswith("cuda") if wanted is None else wanted

    # -- the public interface ---------------------------------------------------------------------------------

    def transcribe_page(self, image: Image.Image) -> PageTranscript:
        text = self.generate(TRANSCRIBE_PROMPT, [image], max_new_tokens=self.settings.vlm_max_new_tokens)
        return PageTranscript(words=[], confidence=1.0, markdown=text.strip())

    def generate(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512) -> str:
        return self.generate_detailed(prompt, images, max_new_tokens).text

    def generate_detailed(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512,
                          timeout: float | None = None) -> Generation:
        """As `generate`, and says what was dropped to fit the context (tiles per page, pages)."""
        if max_new_tokens < 1:
            raise InvalidArgument("max_new_tokens must be at least 1.", "Pass a positive number.")
        self._load()
        # Image preprocessing runs here, in the caller's thread, so concurrent callers use every core.
        return self._scheduler.submit(self._plan(prompt, images, max_new_tokens), timeout,
                                      on_queued=self._encode_ahead)

    async def generate_async(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512,
                             timeout: float | None = None) -> Generation:
        """For asyncio callers: cancelling the awaiting task frees its queue slot."""
        self._load()
        prepared = await asyncio.to_thread(self._plan, prompt, images, max_new_tokens)
        return await self._scheduler.submit_async(prepared, timeout, on_queued=self._encode_ahead)

    def encode_images(self, images: Sequence[Image.Image]) -> int:
        """Run the vision encoder over `images` into the cache (warmup); returns how many were not cached yet."""
        self._load()
        tiles = self.settings.vlm_max_tiles
        return self._scheduler.submit(_EncodeJob([self._image_input(image, tiles) for image in images]))

    # -- the worker side (one thread: the scheduler's) ----------------------------------------------------------

    def _image_input(self, image: Image.Image, tiles: int) -> _ImageInput:
        """The cached embeddings of `image`, or its processor outputs ready for the encoder (CPU work only)."""
        adapter = self._adapter
        key = cache_key(image_digest(image), self.model_id, adapter.tile_settings(tiles))
        entry = self.cache.get(key)
        if entry is not None:
            return _ImageInput(key=key, token_ids=entry.token_ids, tiles=entry.tiles, entry=entry)
        ids, processed, used = adapter.process(image, tiles)
        return _ImageInput(key=key, token_ids=ids, tiles=used, processed=processed)

    def _encode_ahead(self, prepared: _Prepared) -> _Prepared:
        """Start the vision encoder on the request's uncached images now, beside the batch being decoded.

        Decoding is bound by memory bandwidth and the encoder by arithmetic, so on a GPU the two overlap well: the
        encoder runs on its own thread and CUDA stream while the scheduler's thread decodes the current batch, and
        the next batch finds its images encoded. Requests for the same image share one encoding.
        """
        for item in prepared.images:
            if item.entry is not None or item.processed is None or self.cache.get(item.key, count=False):
                continue
            with self._ahead_lock:
                future = self._ahead.get(item.key)
                if future is None:
                    future = self._ahead_pool.submit(self._encode_on_side, item)
                    self._ahead[item.key] = future
            item.ahead = future
        return prepared

    def _encode_on_side(self, item: _ImageInput) -> EncodedImage:
        try:
            if not self.device.startswith("cuda"):
                return self._encode(item)
            import torch

            if self._side_stream is None:
                self._side_stream = torch.cuda.Stream(device=self.device)
            with torch.cuda.stream(self._side_stream):
                return self._encode(item)
        finally:
            with self._ahead_lock:
                self._ahead.pop(item.key, None)

    def _encoded(self, item: _ImageInput) -> EncodedImage:
        """The embeddings of `item`: cached, encoded ahead (waited for), or encoded now (scheduler thread)."""
        entry = item.entry or self.cache.get(item.key, count=False)
        if entry is not None:
            return entry
        with self._ahead_lock:
            ahead = item.ahead or self._ahead.get(item.key)
            if ahead is None:  # encoded here: say so, so that a late `_encode_ahead` does not start it again
                mine: Future = Future()
                self._ahead[item.key] = mine
        if ahead is not None:
            return ahead.result()
        try:
            entry = self._encode(item)
            mine.set_result(entry)
            return entry
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with self._ahead_lock:
                self._ahead.pop(item.key, None)

    def _encode(self, item: _ImageInput) -> EncodedImage:
        """Run the vision encoder for `item` on the current CUDA stream and put the result in the cache."""
        adapter = self._adapter
        started = time.perf_counter()
        features, extras = adapter.encode(item.processed, self.device, self.dtype)
        if self.device.startswith("cuda"):  # the encoder runs asynchronously: wait, so the features are ready
            import torch

            torch.cuda.current_stream().synchronize()
        with self._ahead_lock:
            self.timings["encode_s"] += time.perf_counter() - started
            self.encoder_calls += 1
        n_image_tokens = sum(1 for i in item.token_ids if i == adapter.image_token_id)
        if features.shape[0] != n_image_tokens:
            raise EngineError(
                f"The model produced {features.shape[0]} image embeddings for {n_image_tokens} image tokens.",
                "The processor and the model disagree; load both from the same model directory.",
            )
        entry = EncodedImage(token_ids=item.token_ids, features=features, extras=extras, tiles=item.tiles)
        self.cache.put(item.key, entry)
        return entry

    def _plan(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int) -> _Prepared:
        """Token ids and image inputs of one request, fitted into the context (caller's thread: CPU work only)."""
        adapter = self._adapter
        tokenizer = adapter.tokenizer
        budget = self.settings.vlm_context_tokens
        notes: list[str] = []
        kept = list(images)
        max_tiles = self.settings.vlm_max_tiles
        steps = [max_tiles] + [t for t in _TILE_STEPS if t < max_tiles]
        step = 0
        while True:
            text = adapter.chat_text(prompt, len(kept))
            pieces = text.split(adapter.placeholder)
            text_ids = [tokenizer(piece, add_special_tokens=False)["input_ids"] for piece in pieces]
            text_len = sum(len(t) for t in text_ids)
            if text_len + max_new_tokens > budget:
                raise LimitExceeded(
                    f"The prompt ({text_len} tokens) and the answer ({max_new_tokens} tokens) do not fit the "
                    f"model's {budget}-token context.", "Shorten the question or lower max_new_tokens.")
            tiles = steps[step]
            inputs = [self._image_input(image, tiles) for image in kept]
            total = text_len + sum(len(item.token_ids) for item in inputs) + max_new_tokens
            if total <= budget:
                break
            if step + 1 < len(steps):
                step += 1
                continue
            # At one tile a page and still too long: leave pages out from the end.
            if len(kept) <= 1:
                raise LimitExceeded(
                    f"Not even one page image fits the model's {budget}-token context beside the prompt and a "
                    f"{max_new_tokens}-token answer.", "Shorten the question or lower max_new_tokens.")
            kept.pop()
        if steps[step] != max_tiles:
            notes.append(f"Pages were read at up to {steps[step]} tiles each instead of {max_tiles} so that "
                         f"{len(kept)} page images fit the {budget}-token context.")
        if len(kept) < len(images):
            notes.append(f"The last {len(images) - len(kept)} of {len(images)} page images were left out to fit "
                         f"the {budget}-token context; ask about them separately.")
        ids: list[int] = list(text_ids[0])
        for item, piece in zip(inputs, text_ids[1:], strict=True):
            ids += item.token_ids + piece
        return _Prepared(ids=ids, images=inputs, max_new_tokens=max_new_tokens, notes=notes)

    def _run_batch(self, requests: Sequence[Request]) -> list[Any]:
        results: list[Any] = [None] * len(requests)
        generate: list[tuple[int, _Prepared]] = []
        for index, request in enumerate(requests):
            job = request.payload
            try:
                if isinstance(job, _EncodeJob):
                    before = self.encoder_calls
                    for item in job.images:
                        self._encoded(item)
                    results[index] = self.encoder_calls - before
                else:
                    job.encoded = [self._encoded(item) for item in job.images]
                    generate.append((index, job))
            except Exception as exc:
                results[index] = exc
        if generate:
            texts = self._decode([p for _, p in generate], [requests[i] for i, _ in generate])
            for (index, prepared), text in zip(generate, texts, strict=True):
                results[index] = Generation(text=text, notes=prepared.notes)
        return results

    def _static_cache(self, lm, batch: int, tokens: int) -> dict[str, Any]:
        """A static KV cache makes decoding shape-stable, so transformers compiles the step (CUDA graphs).

        Its length is rounded up to a multiple of 1024 so requests of similar length share one compiled graph, and
        the same cache object is reset and reused while the shape holds: CUDA graphs are recorded against its
        buffers. Only one is kept (a large batch's cache is tens of GB).
        """
        import torch
        from transformers import StaticCache

        size = -(-tokens // 1024) * 1024
        name = "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
        if self._kv_cache is not None and self._kv_cache[0] == (batch, size):
            cache = self._kv_cache[1]
            cache.reset()
            return {name: cache}
        self._kv_cache = None
        if self.device.startswith("cuda"):
            torch.cuda.empty_cache()
        dynamo = torch._dynamo.config
        # One graph per (batch, length) bucket: allow more of them than dynamo's default before it gives up.
        for limit in ("recompile_limit", "cache_size_limit"):
            if hasattr(dynamo, limit):
                setattr(dynamo, limit, max(getattr(dynamo, limit), 64))
        try:
            cache = StaticCache(config=lm.config, max_cache_len=size)
        except TypeError:  # another transformers version: let generate size the cache itself
            return {"cache_implementation": "static"}
        self._kv_cache = ((batch, size), cache)
        return {name: cache}

    def _decode(self, batch: list[_Prepared], requests: Sequence[Request]) -> list[str]:
        """One batched generate over left-padded prompt embeddings with the image features filled in."""
        import torch

        adapter = self._adapter
        if self._greedy is not None:
            if not self.device.startswith("cuda"):
                return self._decode_greedy(batch, requests)
            with _switch_interval(SWITCH_INTERVAL):
                return self._decode_greedy(batch, requests)
        lm = adapter.lm
        tokenizer = adapter.tokenizer
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        length = max(len(p.ids) for p in batch)
        rows = len(batch)
        if self.compile:
            # Compiled graphs are specialised on the batch size: pad to a power of two (repeating the last
            # request) so a batch of 5 reuses the graph of 8 instead of compiling again mid-request.
            batch = batch + [batch[-1]] * ((1 << (rows - 1).bit_length()) - rows)
        input_ids = torch.full((len(batch), length), pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(batch), length), dtype=torch.long)
        for row, prepared in enumerate(batch):
            input_ids[row, length - len(prepared.ids):] = torch.tensor(prepared.ids)
            attention_mask[row, length - len(prepared.ids):] = 1
        input_ids = input_ids.to(self.device)
        attention_mask = attention_mask.to(self.device)
        extras: dict[str, Any] = {}
        for prepared in batch:
            for entry in prepared.encoded:
                for key, value in entry.extras.items():
                    extras.setdefault(key, []).append(value)
        kwargs = {key: torch.cat(values).to(self.device) for key, values in extras.items()}
        max_new = max(p.max_new_tokens for p in batch)
        with torch.inference_mode():
            embeds = lm.get_input_embeddings()(input_ids)
            features = [e.features for p in batch for e in p.encoded]
            _used_here(features)
            if features:
                mask = (input_ids == adapter.image_token_id).unsqueeze(-1).expand_as(embeds)
                embeds = embeds.masked_scatter(mask, torch.cat(features).to(embeds.device, embeds.dtype))
            if self.compile:
                kwargs.update(self._static_cache(lm, len(batch), length + max_new))
            started = time.perf_counter()
            output = lm.generate(input_ids=input_ids, inputs_embeds=embeds, attention_mask=attention_mask,
                                 max_new_tokens=max_new, do_sample=False, eos_token_id=self.stop_ids or None,
                                 stopping_criteria=[_stop_when_all_cancelled(requests)], **kwargs)
        new_tokens = output[:, length:].cpu()
        self.timings["generate_s"] += time.perf_counter() - started
        texts = []
        for row, prepared in enumerate(batch[:rows]):
            tokens = new_tokens[row, :prepared.max_new_tokens].tolist()
            texts.append(tokenizer.decode(tokens, skip_special_tokens=True))
        return texts

    def _decode_greedy(self, batch: list[_Prepared], requests: Sequence[Request]) -> list[str]:
        """The engine's own loop: each prompt prefilled alone, then one CUDA-graph step a token for the batch."""
        import torch

        adapter = self._adapter
        lm = adapter.lm
        embed = lm.get_input_embeddings()
        prompts = []
        started = time.perf_counter()
        with torch.inference_mode():
            for prepared in batch:
                ids = torch.tensor(prepared.ids, device=self.device)
                embeds = embed(ids)
                if prepared.encoded:
                    mask = (ids == adapter.image_token_id).unsqueeze(-1).expand_as(embeds)
                    _used_here([e.features for e in prepared.encoded])
                    features = torch.cat([e.features for e in prepared.encoded]).to(embeds.device, embeds.dtype)
                    embeds = embeds.masked_scatter(mask, features)
                prompts.append(embeds)
        # Graphs are recorded per row count: a batch of 5 runs in the 8-row graph instead of recording a new one.
        rows = 1 << (len(batch) - 1).bit_length()
        prefilled = []

        def on_prefill() -> None:
            if self.device.startswith("cuda"):  # this stream only: the encoder's keeps going
                torch.cuda.current_stream().synchronize()
            prefilled.append(time.perf_counter())

        tokens = self._greedy.decode(prompts, max(p.max_new_tokens for p in batch), rows=rows,
                                     should_stop=lambda: all(r.cancelled.is_set() for r in requests),
                                     on_prefill=on_prefill)
        self.timings["prefill_s"] += prefilled[0] - started
        self.timings["generate_s"] += time.perf_counter() - started
        return [adapter.tokenizer.decode(row[:prepared.max_new_tokens], skip_special_tokens=True)
                for row, prepared in zip(tokens, batch, strict=True)]
