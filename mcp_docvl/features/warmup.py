"""Precompute vision embeddings for a static document, so later questions on it skip the vision encoder.

Behind `mcp-docvl warmup SOURCE`. Pages are rendered exactly as `reader.extract_page` renders them (same dpi), so
the cache keys (pixel hash + model + tile settings) match what later calls look up. With `DOCVL_VLM_CACHE_DIR` set
the embeddings persist on disk for every later server process.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_docvl.config import Settings
from mcp_docvl.documents import open_document
from mcp_docvl.engines import Engine, create_engine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.page_ranges import parse_pages
from mcp_docvl.sources import Source, load_source


@dataclass
class WarmupResult:
    pages: int
    # Pages whose embeddings were computed now (the rest were cached already).
    encoded: int


def warmup(source: str | Source, pages: str | None = None, password: str | None = None,
           settings: Settings | None = None, engine: Engine | None = None) -> WarmupResult:
    settings = settings or Settings.from_env()
    engine = engine or create_engine(settings)
    encode = getattr(engine, "encode_images", None)
    if encode is None:
        raise InvalidArgument(f"The {engine.name!r} engine keeps no vision embeddings to precompute.",
                              "Use --engine transformers (DOCVL_ENGINE=transformers).")
    src = source if isinstance(source, Source) else load_source(source, settings)
    doc = open_document(src.data, src.media_type, password=password, max_page_pixels=settings.max_page_pixels)
    try:
        selected = parse_pages(pages, doc.page_count)
        encoded = 0
        for number in selected:
            unit = doc.page_size(number - 1)[2]
            image = doc.render(number - 1, settings.ocr_dpi if unit == "pt" else None)
            encoded += encode([image])
        return WarmupResult(pages=len(selected), encoded=encoded)
    finally:
        doc.close()
