"""Precompute vision embeddings for a static document, so later questions on it skip the vision encoder.

Behind `mcp-docvl warmup SOURCE`. Pages are rendered exactly as the page builder renders them (same dpi), so
the cache keys (pixel hash + model + tile settings) match what later calls look up. With `DOCVL_VLM_CACHE_DIR` set
the embeddings persist on disk for every later server process.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_docvl.config import Settings
from mcp_docvl.engines import Engine, create_engine
from mcp_docvl.engines.base import VisionEncoder
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.pipeline.session import open_session
from mcp_docvl.sources import Source


@dataclass
class WarmupResult:
    pages: int
    # Pages whose embeddings were computed now (the rest were cached already).
    encoded: int


def warmup(source: str | Source, pages: str | None = None, password: str | None = None,
           settings: Settings | None = None, engine: Engine | None = None) -> WarmupResult:
    settings = settings or Settings.from_env()
    engine = engine or create_engine(settings)
    if not isinstance(engine, VisionEncoder):
        raise InvalidArgument(f"The {engine.name!r} engine keeps no vision embeddings to precompute.",
                              "Use --engine transformers (DOCVL_ENGINE=transformers).")
    with open_session(source, settings, password=password, engine=engine) as session:
        selected, _ = session.select(pages)
        encoded = sum(engine.encode_images([session.image(number, settings.ocr_dpi)]) for number in selected)
        return WarmupResult(pages=len(selected), encoded=encoded)
