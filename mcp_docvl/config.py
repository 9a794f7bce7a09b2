"""Settings for the library, the server and the CLI.

One object holds every knob so that the server, the CLI and tests configure the same things the same way.
Values come from (lowest to highest): defaults, environment variables (`DOCVL_*`), explicit arguments.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mcp_docvl.errors import InvalidArgument

T = TypeVar("T")

MiB = 1024 * 1024
# What `ocr_runtime` accepts.
OCR_RUNTIMES = ("auto", "openvino", "onnxruntime")


def _env_list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [part for part in raw.split(os.pathsep) if part.strip()]


def _env_csv(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _env_value(name: str, default: T, parse: Callable[[str], T], what: str, fix: str) -> T:
    """Environment variable `name` read by `parse`; `default` when unset or blank; a clear error if it is not `what`."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise InvalidArgument(f"Environment variable {name}={raw!r} is not {what}.", fix) from None


def _env_int(name: str, default: int) -> int:
    return _env_value(name, default, int, "an integer", "Use digits.")


def _env_float(name: str, default: float) -> float:
    return _env_value(name, default, float, "a number", "Set a number.")


def _env_bool(name: str, default: bool) -> bool:
    return _env_value(name, default, lambda raw: raw.strip().lower() in {"1", "true", "yes", "on"}, "", "")


def _env_str(name: str, default: str | None) -> str | None:
    return os.environ.get(name, default)


# The settings read from one environment variable each, by the reader of its type: (field, variable, reader).
# Settings read otherwise (paths, lists, variables with a fallback) are spelled out in `Settings.from_env`.
_FROM_ENV: tuple[tuple[str, str, Callable[[str, Any], Any]], ...] = (
    ("max_bytes", "DOCVL_MAX_BYTES", _env_int),
    ("fetch_total_timeout", "DOCVL_FETCH_TIMEOUT", _env_float),
    ("allow_private_urls", "DOCVL_ALLOW_PRIVATE_URLS", _env_bool),
    ("max_concurrent_fetches", "DOCVL_MAX_FETCHES", _env_int),
    ("allow_hard_links", "DOCVL_ALLOW_HARD_LINKS", _env_bool),
    ("max_pages_per_call", "DOCVL_MAX_PAGES", _env_int),
    ("max_output_chars", "DOCVL_MAX_OUTPUT_CHARS", _env_int),
    ("max_chars_cap", "DOCVL_MAX_CHARS_CAP", _env_int),
    ("max_tokens_cap", "DOCVL_MAX_TOKENS_CAP", _env_int),
    ("ocr_dpi", "DOCVL_OCR_DPI", _env_int),
    ("engine", "DOCVL_ENGINE", _env_str),
    ("ocr_runtime", "DOCVL_OCR_RUNTIME", _env_str),
    ("vlm_model", "DOCVL_VLM_MODEL", _env_str),
    ("vlm_trust_remote_code", "DOCVL_VLM_TRUST_REMOTE_CODE", _env_bool),
    ("vlm_device", "DOCVL_VLM_DEVICE", _env_str),
    ("vlm_dtype", "DOCVL_VLM_DTYPE", _env_str),
    ("vlm_max_tiles", "DOCVL_VLM_MAX_TILES", _env_int),
    ("vlm_context_tokens", "DOCVL_VLM_CONTEXT_TOKENS", _env_int),
    ("vlm_max_new_tokens", "DOCVL_VLM_MAX_NEW_TOKENS", _env_int),
    ("vlm_max_batch", "DOCVL_VLM_MAX_BATCH", _env_int),
    ("vlm_queue_size", "DOCVL_VLM_QUEUE_SIZE", _env_int),
    ("vlm_timeout", "DOCVL_VLM_TIMEOUT", _env_float),
    ("vlm_cache_mb", "DOCVL_VLM_CACHE_MB", _env_int),
    ("vlm_quantization", "DOCVL_VLM_QUANTIZATION", _env_str),
    ("vlm_kv_cache_dtype", "DOCVL_VLM_KV_CACHE_DTYPE", _env_str),
    ("openai_timeout", "DOCVL_OPENAI_TIMEOUT", _env_float),
    ("openai_max_retries", "DOCVL_OPENAI_MAX_RETRIES", _env_int),
    ("openai_concurrency", "DOCVL_OPENAI_CONCURRENCY", _env_int),
    ("openai_image_embeds", "DOCVL_OPENAI_IMAGE_EMBEDS", _env_bool),
    ("cache_max_bytes", "DOCVL_CACHE_MAX_BYTES", _env_int),
    ("max_page_pixels", "DOCVL_MAX_PAGE_PIXELS", _env_int),
    ("call_timeout", "DOCVL_CALL_TIMEOUT", _env_float),
    ("page_timeout", "DOCVL_PAGE_TIMEOUT", _env_float),
    ("isolate", "DOCVL_ISOLATE", _env_bool),
    ("workers", "DOCVL_WORKERS", _env_int),
    ("worker_memory_mb", "DOCVL_WORKER_MEMORY_MB", _env_int),
)


@dataclass
class Settings:
    """Everything configurable. Create with `Settings.from_env()` to honour `DOCVL_*` variables."""

    # Local files are readable only under these directories (checked on the resolved real path). None given: no
    # local file is read (URLs and inline data still are), since hosts start servers anywhere, even in /.
    roots: list[Path] = field(default_factory=list)
    # Largest document we accept, from any source.
    max_bytes: int = 100 * MiB
    # Seconds to connect / to wait between bytes / for a whole download.
    fetch_connect_timeout: float = 10.0
    fetch_read_timeout: float = 30.0
    fetch_total_timeout: float = 120.0
    max_redirects: int = 5
    # URL downloads in flight at once, on threads of their own: enough for an agent's parallel calls, few enough
    # that slow or hanging servers (each held up to fetch_total_timeout) cost at most this many threads and sockets.
    max_concurrent_fetches: int = 8
    # Private, loopback and link-local addresses are refused for URL sources unless this is set.
    allow_private_urls: bool = False
    # Most pages one call may process (a caller pages through more with `pages` or the cursor).
    max_pages_per_call: int = 200
    # Default cap on the characters of content one call returns.
    max_output_chars: int = 40_000
    # Largest max_chars / max_tokens a caller may ask for: one result of 100,000 characters (about 25,000 tokens)
    # already takes a large share of an agent's context; more is read in further calls with the cursor.
    max_chars_cap: int = 100_000
    max_tokens_cap: int = 25_000
    # Resolution for rendering pages that must be recognised (OCR); 200 dpi suits body text.
    ocr_dpi: int = 200
    # Largest rendered page, in pixels, so a huge page size cannot exhaust memory.
    max_page_pixels: int = 40_000_000
    # Which engine recognises pages without a usable text layer.
    engine: str = "ocr"
    # What runs the OCR models: "auto" (OpenVINO when installed, else onnxruntime), "openvino", "onnxruntime".
    # Recognition is ~85% of a full page's OCR time, mostly convolutions; OpenVINO runs the same ONNX models in
    # bfloat16 on CPUs that have it in hardware (AMX / AVX-512 BF16): 3.8x less CPU a full page than onnxruntime's
    # float32 on a Xeon with AMX, CER unchanged (tools/bench_ocr_pages.py, tools/eval_ocr.py); elsewhere float32.
    ocr_runtime: str = "auto"
    # Persistent content-addressed cache of pages, OCR results and images; None: $DOCVL_CACHE_DIR, else the
    # user cache dir (platformdirs).
    cache_dir: Path | None = None
    # Size cap of that cache; least recently used entries go first. 0 turns the cache off.
    cache_max_bytes: int = 2048 * MiB

    # -- vision-language engines (`transformers`, `openai`) ----------------------------------------------------
    # Hugging Face model id or local directory for `transformers`; the served model name for `openai`.
    vlm_model: str = "nvidia/Llama-3.1-Nemotron-Nano-VL-8B-V1"
    # Run the model repository's own Python code (Nemotron Nano VL needs it); off for models transformers knows.
    vlm_trust_remote_code: bool = True
    # "auto" (cuda when present, else cpu), "cpu", "cuda", "cuda:1"...
    vlm_device: str = "auto"
    # "auto" (bfloat16 on GPU, float32 on CPU), "bfloat16", "float16", "float32".
    vlm_dtype: str = "auto"
    # Tiles per page image (the Nemotron processor adds a thumbnail tile when it uses more than one).
    vlm_max_tiles: int = 12
    # The model's context window; multi-page prompts are fitted into it (fewer tiles, then fewer pages).
    vlm_context_tokens: int = 16384
    # Tokens one page transcription may generate.
    vlm_max_new_tokens: int = 4096
    # Concurrent requests sharing one forward pass, requests allowed to wait, seconds one request may take.
    vlm_max_batch: int = 8
    vlm_queue_size: int = 32
    vlm_timeout: float = 300.0
    # Vision-embedding cache: memory bound (on the model's device, so GPU memory on a GPU; a 13-tile page of
    # Nemotron Nano VL takes 27 MB), and a directory for a persistent copy (None: memory only).
    vlm_cache_mb: int = 2048
    vlm_cache_dir: Path | None = None
    # Static KV cache + torch.compile for decoding (None: on for CUDA, off for CPU).
    vlm_compile: bool | None = None
    # Weights: "none" (vlm_dtype), "fp8" (float8 language model, Ada/Hopper GPUs), "4bit" (NF4, bitsandbytes).
    vlm_quantization: str = "none"
    # KV cache of the engine's decoding loop: "auto" (the model's dtype) or "fp8" (half the bytes a step reads,
    # so larger batches; CUDA with Triton only).
    vlm_kv_cache_dtype: str = "auto"
    # `openai` engine: server base URL (ending in /v1), key, and how to treat the server.
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_api_key: str | None = None
    openai_timeout: float = 120.0
    openai_max_retries: int = 3
    openai_concurrency: int = 4
    # Send a page's cached vision embeddings (written by `mcp-docvl warmup` with the same DOCVL_VLM_MODEL into
    # DOCVL_VLM_CACHE_DIR) as `image_embeds` instead of its pixels, so the server skips its encoder for static
    # documents. Off by default: the server must run vLLM with --enable-mm-embeds, and reading them needs torch.
    openai_image_embeds: bool = False
    # URL policy (sources/guard.py). Hosts (exact, or "*.example.com") outside a non-empty list are refused.
    url_allowed_hosts: list[str] = field(default_factory=list)
    # Networks (CIDR) fetched even though internal, e.g. "10.1.2.0/24" for an intranet document store.
    url_allowed_networks: list[str] = field(default_factory=list)
    # Seconds one tool call may take in all, and one page's recognition (OCR/VLM) within it.
    call_timeout: float = 300.0
    page_timeout: float = 120.0
    # Parse and recognise in worker processes (workers.py), so a hostile file that crashes or hangs the parser
    # costs one worker, not the server. `workers` is how many; each may use `worker_memory_mb` of address space.
    isolate: bool = True
    # A regular file under a root with more than one hard link may be a link to a file outside the roots (the
    # path check cannot see other names of an inode): refused unless the operator allows it.
    allow_hard_links: bool = False
    workers: int = 2
    worker_memory_mb: int = 4096
    # Who is calling: the HTTP token's principal, set per call by the MCP layer (None on stdio and in the library).
    # docvl:// ids are kept per principal and per roots, so another token or a server rooted elsewhere sees none.
    principal: str | None = None

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        settings = cls(
            roots=[Path(p) for p in _env_list("DOCVL_ROOTS")],
            vlm_cache_dir=Path(os.environ["DOCVL_VLM_CACHE_DIR"]) if os.environ.get("DOCVL_VLM_CACHE_DIR") else None,
            vlm_compile=_env_bool("DOCVL_VLM_COMPILE", False) if os.environ.get("DOCVL_VLM_COMPILE") else None,
            openai_base_url=os.environ.get("DOCVL_OPENAI_BASE_URL") or os.environ.get("OPENAI_BASE_URL")
            or cls.openai_base_url,
            openai_api_key=os.environ.get("DOCVL_OPENAI_API_KEY") or os.environ.get("OPENAI_API_KEY"),
            cache_dir=Path(os.environ["DOCVL_CACHE_DIR"]) if os.environ.get("DOCVL_CACHE_DIR") else None,
            url_allowed_hosts=_env_csv("DOCVL_URL_ALLOWED_HOSTS"),
            url_allowed_networks=_env_csv("DOCVL_URL_ALLOWED_NETWORKS"),
            **{name: read(variable, getattr(cls, name)) for name, variable, read in _FROM_ENV},
        )
        for key, value in overrides.items():
            if value is None:
                continue
            if not hasattr(settings, key):
                raise TypeError(f"unknown setting {key}")
            setattr(settings, key, value)
        settings.roots = [Path(r).expanduser().resolve() for r in settings.roots]
        if settings.max_concurrent_fetches < 1:
            raise InvalidArgument(f"max_concurrent_fetches is {settings.max_concurrent_fetches}; URL sources could "
                                  "never be fetched.", "Set --max-fetches (DOCVL_MAX_FETCHES) to 1 or more.")
        return settings
