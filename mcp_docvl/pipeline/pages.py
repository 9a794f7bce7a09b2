"""The one page builder and its cache: every tool and resource gets its pages here.

A page is built from its text layer when that is usable, from the engine's transcript otherwise (`build_page`).
Built pages are kept in the persistent disk cache (with it turned off, each call builds its pages itself).
Three stages are stored: the built page with its words, boxes and tables ("page"), its rendering per format
("render", since decoding a page's words costs more than the read that needs only its text), and the engine's
transcript ("ocr", by far the dearest part).

A key holds everything that can change the stored value: the document's sha256, the page, the engine and its
configuration (`Engine.cache_config`), the rendering settings. There are no page variants behind proxies: a
caller that must not run the engine asks for the page with `recognise=False` and gets None when the page needs
it, and nothing is stored for that answer.
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
from mcp_docvl.documents import Document, TextLayer
from mcp_docvl.documents.model import Block, Page, Word
from mcp_docvl.documents.text_quality import judge_text_layer
from mcp_docvl.engines import Engine, PageTranscript
from mcp_docvl.extract.layout import build_lines
from mcp_docvl.extract.render import Format, render_blocks
from mcp_docvl.extract.tables.grid import find_tables
from mcp_docvl.extract.tables.page import image_page_tables, page_blocks
from mcp_docvl.tokens import estimate_tokens

# A text layer with fewer characters than this, on a page mostly covered by images, is a scan's stray text.
_SPARSE_TEXT = 30
# Above this share of the page covered by images, a sparse text layer is a scan's (see _SPARSE_TEXT).
_SCAN_COVERAGE = 0.5

Transcribe = Callable[[Image.Image], PageTranscript]


# -- building ----------------------------------------------------------------------------------------------------

def build_page(doc: Document, number: int, settings: Settings, transcribe: Transcribe | None) -> Page | None:
    """Page `number` (1-based): from the text layer when usable, else from `transcribe` of the rendered page.

    None when the page needs the engine and `transcribe` is None.
    """
    index = number - 1
    width, height, unit = doc.page_size(index)
    warnings: list[str] = []
    layer = doc.text_layer(index)
    if layer is not None:
        verdict, warning = _judge_layer(doc, index, layer)
        if verdict == "blank":
            warnings.append("No text was found on this page: it is blank.")
            return Page(number=number, width=layer.width, height=layer.height, unit=unit, method="text_layer",
                        confidence=1.0, warnings=warnings)
        if warning:
            warnings.append(warning)
        if verdict == "usable":
            return _from_text_layer(doc, number, layer, unit, warnings)
    if transcribe is None:
        return None
    image = doc.render(index, settings.ocr_dpi if unit == "pt" else None)
    return _from_transcript(number, (width, height, unit), image, transcribe(image), warnings)


def _judge_layer(doc: Document, index: int, layer: TextLayer
                 ) -> tuple[Literal["usable", "blank", "unreadable", "scan"], str | None]:
    """What the text layer is worth (read it, the page is blank, or recognise the page instead), and what the page
    should say about it."""
    if layer.chars == 0:
        return ("blank" if doc.is_blank(index) else "scan"), None
    quality = judge_text_layer(layer)
    if not quality.usable:
        return "unreadable", quality.warning
    if layer.chars < _SPARSE_TEXT and doc.image_coverage(index) > _SCAN_COVERAGE:
        return "scan", None  # a scan's stray text says nothing of its fonts
    return "usable", quality.warning


def _from_text_layer(doc: Document, number: int, layer: TextLayer, unit: Literal["pt", "px"],
                     warnings: list[str]) -> Page:
    if layer.rotation:
        warnings.append(f"Text runs at {layer.rotation}° on the page; it was read upright and boxes are "
                        "given in that upright frame.")
    lines = build_lines(layer.words)
    page = Page(number=number, width=layer.width, height=layer.height, unit=unit, method="text_layer",
                confidence=round(layer.readable_chars / layer.chars, 3), lines=lines, warnings=warnings)
    rulings = doc.vector_rulings(number - 1, layer.rotation)
    tables = find_tables(layer.words, rulings, lines) if rulings is not None else []
    page.blocks = page_blocks(layer.words, tables, lines, layer.width, layer.height)
    return page


def _from_transcript(number: int, size: tuple[float, float, Literal["pt", "px"]], image: Image.Image,
                     transcript: PageTranscript, warnings: list[str]) -> Page:
    width, height, unit = size
    # Back from pixels to page units.
    sx = width / image.width
    sy = height / image.height

    def scaled(w: Word) -> Word:
        return Word(text=w.text, bbox=(w.bbox[0] * sx, w.bbox[1] * sy, w.bbox[2] * sx, w.bbox[3] * sy),
                    size=w.size * sy, bold=w.bold, confidence=w.confidence)

    words = [scaled(w) for w in transcript.words]
    lines = build_lines(words)
    method = "vlm" if transcript.markdown is not None else "ocr"
    page = Page(number=number, width=width, height=height, unit=unit, method=method,
                confidence=round(transcript.confidence, 3), lines=lines, warnings=warnings)
    if transcript.markdown is not None and not words:
        # A VLM wrote the page's structure itself; it has no word boxes, so the page is one block.
        page.blocks = [Block(kind="paragraph", lines=[], bbox=(0.0, 0.0, width, height), markdown=transcript.markdown)]
    else:
        page.blocks = page_blocks(words, image_page_tables(image, words, (sx, sy)) if words else [], lines, width,
                                  height)
    if not words and transcript.markdown is None:
        warnings.append("No text was found on this page.")
    return page


# -- caching -----------------------------------------------------------------------------------------------------

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


def page_key_config(engine_name: str, engine_config: dict[str, Any] | None, settings: Settings) -> dict[str, Any]:
    """Everything about the engine and settings that can change a page's content: the page stages' key config."""
    return {"engine": engine_name, "engine_config": engine_config or None, "ocr_dpi": settings.ocr_dpi,
            "max_page_pixels": settings.max_page_pixels}


class PageStore:
    """The pages of one open document through the caches; the engine is asked for (and created) only on a miss
    that needs it."""

    def __init__(self, doc: Document, sha256: str, settings: Settings, engine: Callable[[], Engine],
                 engine_name: str, engine_config: dict[str, Any] | None) -> None:
        self._doc = doc
        self._sha256 = sha256
        self._settings = settings
        self._engine = engine
        self._cache: DiskCache | None = open_cache(settings)
        self._config = page_key_config(engine_name, engine_config, settings)

    def key(self, stage: str, number: int, **extra: Any) -> str:
        return cache_key(self._sha256, stage, number, {**self._config, **extra})

    def page(self, number: int, recognise: bool = True) -> Page | None:
        """Page `number`, built once; None when it needs the engine and `recognise` is False."""
        key = self.key("page", number)
        page = self._stored(key)
        if page is None:
            page = build_page(self._doc, number, self._settings, self._transcribe(number) if recognise else None)
            if page is None:
                return None
            self._store(key, page)
        return page

    def rendered(self, number: int, fmt: Format, include_furniture: bool = False) -> RenderedPage:
        """Page `number` rendered as `fmt`, with its furniture when `include_furniture` (cached on top of the page
        itself)."""
        key = self.key("render", number, format=fmt, **({"furniture": True} if include_furniture else {}))
        if self._cache is not None and (data := self._cache.get(key)) is not None:
            try:
                return RenderedPage(**loads_json(data))
            except DECODE_ERRORS:
                self._cache.delete(key)
        page = self.page(number)
        assert page is not None  # recognise=True always builds
        content = render_blocks(page.blocks, fmt, include_furniture)
        rendered = RenderedPage(number=page.number, width=page.width, height=page.height, unit=page.unit,
                                method=page.method, confidence=page.confidence, content=content,
                                tokens=estimate_tokens(content), warnings=list(page.warnings))
        if self._cache is not None:
            self._cache.put(key, dumps_json({name: getattr(rendered, name) for name in RenderedPage.__slots__}))
        return rendered

    def _stored(self, key: str) -> Page | None:
        if self._cache is None or (data := self._cache.get(key)) is None:
            return None
        try:
            return page_from_bytes(data)
        except DECODE_ERRORS:  # a format from another build: rebuild it
            self._cache.delete(key)
            return None

    def _store(self, key: str, page: Page) -> None:
        if self._cache is not None:
            self._cache.put(key, page_to_bytes(page))

    def _transcribe(self, number: int) -> Transcribe:
        """The engine's transcript of the page image, from the cache when it is there."""
        key = self.key("ocr", number)

        def transcribe(image: Image.Image) -> PageTranscript:
            if self._cache is not None and (data := self._cache.get(key)) is not None:
                try:
                    return transcript_from_bytes(data)
                except DECODE_ERRORS:
                    self._cache.delete(key)
            transcript = self._engine().transcribe_page(image)
            if self._cache is not None:
                self._cache.put(key, transcript_to_bytes(transcript))
            return transcript

        return transcribe
