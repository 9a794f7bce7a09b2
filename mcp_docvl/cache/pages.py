"""The page stages through the cache: rendered pages, built pages, and underneath them the engine's transcripts.

`read_document` needs a page's rendering (stage "render", per format); other tools need the built page with
its words and boxes (stage "page"); the OCR transcript (stage "ocr") is cached on its own because it is by far
the dearest part to recompute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from PIL import Image

from mcp_docvl.cache import open_cache
from mcp_docvl.cache.codec import (
    DECODE_ERRORS,
    dumps_json,
    loads_json,
    page_from_bytes,
    page_to_bytes,
    transcript_from_bytes,
    transcript_to_bytes,
)
from mcp_docvl.cache.keys import cache_key
from mcp_docvl.cache.store import DiskCache
from mcp_docvl.config import Settings
from mcp_docvl.documents import Document
from mcp_docvl.documents.model import Page
from mcp_docvl.engines import Engine, PageTranscript, create_engine
from mcp_docvl.extract.render import Format, render_blocks
from mcp_docvl.tokens import estimate_tokens

PageBuilder = Callable[[Document, int, "Engine | None", Settings], Page]


def engine_config(engine: Engine | None, settings: Settings) -> dict[str, Any]:
    """Everything about the engine and settings that can change a page's content."""
    config = getattr(engine, "cache_config", None)
    return {
        "engine": engine.name if engine is not None else settings.engine.strip().lower(),
        "engine_config": config() if callable(config) else config,
        "ocr_dpi": settings.ocr_dpi,
        "max_page_pixels": settings.max_page_pixels,
    }


def cached_page(doc_sha256: str, doc: Document, number: int, engine: Engine | None, settings: Settings,
                build: PageBuilder) -> Page:
    """Page `number` from the cache, or built by `build` (and stored) when absent or damaged."""
    cache = open_cache(settings)
    if cache is None:
        return build(doc, number, engine, settings)
    config = engine_config(engine, settings)
    key = cache_key(doc_sha256, "page", number, config)
    data = cache.get(key)
    if data is not None:
        try:
            return page_from_bytes(data)
        except DECODE_ERRORS:  # a format from another build: rebuild it
            cache.delete(key)
    transcriber = _CachedTranscriber(cache, cache_key(doc_sha256, "ocr", number, config), engine, settings)
    page = build(doc, number, transcriber, settings)
    cache.put(key, page_to_bytes(page))
    return page


@dataclass(slots=True)
class RenderedPage:
    """A page as a tool returns it: its content in one format, with what is said about it."""

    number: int
    width: float
    height: float
    unit: Literal["pt", "px"]
    method: str
    confidence: float
    content: str
    # Estimated tokens of the whole `content`.
    tokens: int
    warnings: list[str] = field(default_factory=list)


def cached_render(doc_sha256: str, doc: Document, number: int, engine: Engine | None, settings: Settings,
                  fmt: Format, build: PageBuilder, include_furniture: bool = False) -> RenderedPage:
    """Page `number` rendered as `fmt` (with its furniture when `include_furniture`). The rendering is cached on
    top of the page itself because decoding a page's words costs more than the read that needs only its text."""
    cache = open_cache(settings)
    key = cache_key(doc_sha256, "render", number, {**engine_config(engine, settings), "format": fmt,
                                                   **({"furniture": True} if include_furniture else {})})
    if cache is not None and (data := cache.get(key)) is not None:
        try:
            return RenderedPage(**loads_json(data))
        except DECODE_ERRORS:
            cache.delete(key)
    page = cached_page(doc_sha256, doc, number, engine, settings, build)
    content = render_blocks(page.blocks, fmt, include_furniture)
    rendered = RenderedPage(number=page.number, width=page.width, height=page.height, unit=page.unit,
                            method=page.method, confidence=page.confidence, content=content,
                            tokens=estimate_tokens(content), warnings=list(page.warnings))
    if cache is not None:
        cache.put(key, dumps_json({name: getattr(rendered, name) for name in RenderedPage.__slots__}))
    return rendered


class _CachedTranscriber:
    """Stands in for the engine while one page is built: the transcript comes from the cache when it can, and the
    real engine (created only if needed) is asked otherwise."""

    def __init__(self, cache: DiskCache, key: str, engine: Engine | None, settings: Settings) -> None:
        self._cache = cache
        self._key = key
        self._engine = engine
        self._settings = settings
        self.name = engine.name if engine is not None else settings.engine

    def transcribe_page(self, image: Image.Image) -> PageTranscript:
        data = self._cache.get(self._key)
        if data is not None:
            try:
                return transcript_from_bytes(data)
            except DECODE_ERRORS:
                self._cache.delete(self._key)
        if self._engine is None:
            self._engine = create_engine(self._settings)
        transcript = self._engine.transcribe_page(image)
        self._cache.put(self._key, transcript_to_bytes(transcript))
        return transcript
