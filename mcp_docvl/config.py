"""Settings for the library, the server and the CLI.

One object holds every knob so that the server, the CLI and tests configure the same things the same way.
Values come from (lowest to highest): defaults, environment variables (`DOCVL_*`), explicit arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mcp_docvl.errors import InvalidArgument

MiB = 1024 * 1024


def _env_list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [part for part in raw.split(os.pathsep) if part.strip()]


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidArgument(f"Environment variable {name}={raw!r} is not an integer.", "Use digits.") from None


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise InvalidArgument(f"Environment variable {name}={raw!r} is not a number.", "Set a number.") from None


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    """Everything configurable. Create with `Settings.from_env()` to honour `DOCVL_*` variables."""

    # Local files are readable only under these directories (checked on the resolved real path).
    roots: list[Path] = field(default_factory=lambda: [Path.cwd()])
    # Largest document we accept, from any source.
    max_bytes: int = 100 * MiB
    # Seconds to connect / to wait between bytes / for a whole download.
    fetch_connect_timeout: float = 10.0
    fetch_read_timeout: float = 30.0
    fetch_total_timeout: float = 120.0
    max_redirects: int = 5
    # Private, loopback and link-local addresses are refused for URL sources unless this is set.
    allow_private_urls: bool = False
    # Most pages one call may process (a caller pages through more with `pages` or the cursor).
    max_pages_per_call: int = 200
    # Default cap on the characters of content one call returns.
    max_output_chars: int = 40_000
    # Resolution for rendering pages that must be recognised (OCR); 200 dpi suits body text.
    ocr_dpi: int = 200
    # Largest rendered page, in pixels, so a huge page size cannot exhaust memory.
    max_page_pixels: int = 40_000_000
    # Which engine recognises pages without a usable text layer.
    engine: str = "ocr"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        settings = cls(
            roots=[Path(p) for p in _env_list("DOCVL_ROOTS")] or [Path.cwd()],
            max_bytes=_env_int("DOCVL_MAX_BYTES", cls.max_bytes),
            fetch_total_timeout=_env_float("DOCVL_FETCH_TIMEOUT", cls.fetch_total_timeout),
            allow_private_urls=_env_bool("DOCVL_ALLOW_PRIVATE_URLS", cls.allow_private_urls),
            max_pages_per_call=_env_int("DOCVL_MAX_PAGES", cls.max_pages_per_call),
            max_output_chars=_env_int("DOCVL_MAX_OUTPUT_CHARS", cls.max_output_chars),
            ocr_dpi=_env_int("DOCVL_OCR_DPI", cls.ocr_dpi),
            engine=os.environ.get("DOCVL_ENGINE", cls.engine),
        )
        for key, value in overrides.items():
            if value is None:
                continue
            if not hasattr(settings, key):
                raise TypeError(f"unknown setting {key}")
            setattr(settings, key, value)
        settings.roots = [Path(r).expanduser().resolve() for r in settings.roots]
        return settings
