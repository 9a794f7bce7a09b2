"""The persistent, content-addressed cache: every stage's result stored once per document, page and config.

For stage authors (tables, VLM embeddings, ...):

    cache = open_cache(settings)                       # None when the cache is off
    key = cache_key(source.sha256, "tables", page=3, config={"engine": ..., "method": ...})
    data = cache.get(key) if cache else None           # bytes, or None on a miss or a damaged entry
    if data is None:
        data = compute()
        if cache:
            cache.put(key, data)

`codec` has typed helpers (pages, transcripts, PNG images, compressed JSON).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from mcp_docvl.cache.keys import cache_key
from mcp_docvl.cache.store import CacheStats, DiskCache
from mcp_docvl.config import Settings


def cache_dir(settings: Settings) -> Path:
    """Where the cache lives: the setting, else $DOCVL_CACHE_DIR, else the user cache dir."""
    return _resolve(settings.cache_dir, os.environ.get("DOCVL_CACHE_DIR"))


def open_cache(settings: Settings) -> DiskCache | None:
    """The cache `settings` describe, shared by every caller in the process; None when it is turned off."""
    if settings.cache_max_bytes <= 0:
        return None
    return _shared(settings.cache_dir, os.environ.get("DOCVL_CACHE_DIR"), settings.cache_max_bytes)


def _resolve(setting: Path | None, env: str | None) -> Path:
    if setting is not None:
        return Path(setting).expanduser().resolve()
    if env:
        return Path(env).expanduser().resolve()
    from platformdirs import user_cache_path

    return user_cache_path("mcp-docvl", appauthor=False)


# One object per directory and cap, so the byte count used for eviction is shared (and paths are resolved
# once, not on every page); bounded like every in-memory cache here.
@functools.lru_cache(maxsize=8)
def _shared(setting: Path | None, env: str | None, max_bytes: int) -> DiskCache:
    return DiskCache(_resolve(setting, env), max_bytes)


__all__ = ["CacheStats", "DiskCache", "cache_dir", "cache_key", "open_cache"]
