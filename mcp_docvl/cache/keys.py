"""Cache keys: what a stored result was computed from, so that any change yields a different key.

A key names the document by the SHA-256 of its bytes (a file changed at the same path or URL gets new keys),
the page, the stage ("page", "ocr", "image", "outline", "source"; other issues add "tables", "embeddings"),
the configuration that shaped the result (engine and its settings) and a fingerprint of the package's own
code, so neither an upgrade nor a local edit ever serves structure built by other code.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

from mcp_docvl.version import __version__

# Bump when a stage's stored format changes in a way the code fingerprint would not show.
FORMAT = 1


@functools.cache
def code_fingerprint() -> str:
    """SHA-256 over the package's Python sources (read once per process, ~100 small files)."""
    digest = hashlib.sha256(__version__.encode())
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cache_key(doc_sha256: str, stage: str, page: int | None = None, config: dict[str, Any] | None = None) -> str:
    """The key of `stage`'s result for page `page` (None: the whole document) under `config`."""
    parts = {"doc": doc_sha256, "stage": stage, "page": page, "config": config or {}, "code": code_fingerprint(),
             "format": FORMAT}
    canonical = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return f"{stage}/{hashlib.sha256(canonical.encode()).hexdigest()}"
