"""Cache keys: what a stored result was computed from, so that any change yields a different key.

A key names the document by the SHA-256 of its bytes (a file changed at the same path or URL gets new keys),
the page, the stage ("page", "ocr", "image", "outline", "source"; other issues add "tables", "embeddings"),
the configuration that shaped the result (engine and its settings) and the package version, so an upgrade
never serves structure built by older code.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mcp_docvl import __version__

# Bump when a stage's stored format changes without a version bump (development builds).
FORMAT = 1


def cache_key(doc_sha256: str, stage: str, page: int | None = None, config: dict[str, Any] | None = None) -> str:
    """The key of `stage`'s result for page `page` (None: the whole document) under `config`."""
    parts = {"doc": doc_sha256, "stage": stage, "page": page, "config": config or {}, "version": __version__,
             "format": FORMAT}
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f"{stage}/{hashlib.sha256(canonical.encode()).hexdigest()}"
