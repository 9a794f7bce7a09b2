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
    if settings.cache_dir is not None:
        return Path(settings.cache_dir).expanduser().resolve()
    if os.environ.get("DOCVL_CACHE_DIR"):
        return Path(os.environ["DOCVL_CACHE_DIR"]).expanduser().resolve()
    from platformdirs import user_cache_path

    return user_cache_path("mcp-docvl", appauthor=False)


def open_cache(settings: Settings) -> DiskCache | None:
    """The cache `settings` describe, shared by every caller in the process; None when it is turned off."""
    if settings.cache_max_bytes <= 0:
        return None
    return _shared(cache_dir(settings), settings.cache_max_bytes)


# One object per directory and cap, so the byte count used for eviction is shared; bounded like every
# in-memory cache here.
@functools.lru_cache(maxsize=8)
def _shared(directory: Path, max_bytes: int) -> DiskCache:
    return DiskCache(directory, max_bytes)


__all__ = ["CacheStats", "DiskCache", "cache_dir", "cache_key", "open_cache"]
