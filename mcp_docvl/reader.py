"""Reading a document: the library entry point behind the `read_document` tool and `mcp-docvl read`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from mcp_docvl.cache.pages import cached_render
from mcp_docvl.cache.registry import remember_document
from mcp_docvl.config import Settings
from mcp_docvl.documents import Document, open_document
from mcp_docvl.documents.model import Block, Line, Page, Table, Word
from mcp_docvl.documents.pdf import PdfDocument
from mcp_docvl.engines import Engine, create_engine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.extract.furniture import split_furniture
from mcp_docvl.extract.layout import build_lines, make_blocks, reading_order
from mcp_docvl.extract.render import Format
from mcp_docvl.extract.tables.page import (
    digital_page_tables,
    image_page_tables,
    insert_tables,
    table_blocks,
    words_outside,
)
from mcp_docvl.models import DocumentInfo, PageContent, ReadDocumentResult
from mcp_docvl.page_ranges import parse_pages
from mcp_docvl.sources import Source, load_source
from mcp_docvl.tokens import chars_within, estimate_tokens

# A text layer with fewer characters than this, on a page mostly covered by images, is a scan's stray text.
_SPARSE_TEXT = 30
# Below this share of readable characters the text layer is garbage (fonts without a Unicode map).
_READABLE = 0.9

ProgressCallback = Callable[[int, int], None]


def extract_page(doc: Document, number: int, engine: Engine | None, settings: Settings) -> Page:
    """Build one page (1-based `number`): text layer when usable, the engine otherwise."""
    index = number - 1
    width, height, unit = doc.page_size(index)
    warnings: list[str] = []
    layer = doc.text_layer(index)
    if layer is not None:
        usable = layer.chars > 0 and layer.readable_chars >= _READABLE * layer.chars
        if usable and layer.chars < _SPARSE_TEXT and doc.image_coverage(index) > 0.5:
            usable = False
        if layer.chars > 0 and not usable and layer.readable_chars < _READABLE * layer.chars:
            warnings.append("The embedded text is unreadable (fonts without a Unicode map); the page was recognised.")
        if layer.chars == 0 and doc.is_blank(index):
            warnings.append("No text was found on this page: it is blank.")
            return Page(number=number, width=layer.width, height=layer.height, unit=unit, method="text_layer",
                        confidence=1.0, warnings=warnings)
        if usable:
            if layer.rotation:
                warnings.append(f"Text runs at {layer.rotation}° on the page; it was read upright and boxes are "
                                "given in that upright frame.")
            lines = build_lines(layer.words)
            page = Page(number=number, width=layer.width, height=layer.height, unit=unit, method="text_layer",
                        confidence=round(layer.readable_chars / layer.chars, 3), lines=lines, warnings=warnings)
            tables = digital_page_tables(doc, index, layer, lines) if isinstance(doc, PdfDocument) else []
            page.blocks = _layout(layer.words, tables, lines, layer.width, layer.height)
            return page
    if engine is None:
        engine = create_engine(settings)
    dpi = settings.ocr_dpi if unit == "pt" else None
    image = doc.render(index, dpi)
    transcript = engine.transcribe_page(image)
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
        page.blocks = _layout(words, image_page_tables(image, words, (sx, sy)) if words else [], lines, width, height)
    if not words and transcript.markdown is None:
        warnings.append("No text was found on this page.")
    return page


def _layout(words: list[Word], tables: list[Table], lines: list[Line], width: float, height: float) -> list[Block]:
    """Blocks in reading order: tables as table blocks, the words they hold left out of the running text, page
    furniture (running heads, page numbers, footers) as furniture blocks before and after the body.

    `lines` are the lines of all `words`; they are rebuilt only when tables took some words away.
    """
    if tables:
        lines = build_lines(words_outside(words, tables))
    body, above, below = split_furniture(reading_order(lines), width, height)
    text = make_blocks(body)
    return above + (insert_tables(text, table_blocks(tables)) if tables else text) + below


def document_info(source: Source, doc: Document) -> DocumentInfo:
    meta = doc.metadata()
    return DocumentInfo(
        id=source.doc_id, sha256=source.sha256, name=source.name, media_type=source.media_type,
        page_count=doc.page_count, **{k: meta.get(k) for k in
                                      ("title", "author", "subject", "creator", "producer", "created", "modified")},
    )


def _parse_cursor(cursor: str, source: Source) -> tuple[int, int]:
    try:
        doc_part, page_part, offset_part = cursor.split(".")
        page, offset = int(page_part), int(offset_part)
    except ValueError:
        raise InvalidArgument(
            f"The cursor {cursor!r} is malformed.", "Pass `next_cursor` from the last result as is."
        ) from None
    if not source.sha256.startswith(doc_part):
        raise InvalidArgument(
            "The cursor belongs to another document (or the document changed since).",
            "Start again without `cursor`.",
        )
    return page, offset


def read_document(
    source: str | Source,
    pages: str | None = None,
    format: Format = "markdown",
    max_chars: int | None = None,
    password: str | None = None,
    cursor: str | None = None,
    settings: Settings | None = None,
    engine: Engine | None = None,
    progress: ProgressCallback | None = None,
    max_tokens: int | None = None,
    include_furniture: bool = False,
) -> ReadDocumentResult:
    """Read `source` (path, URL, data: URI/base64, or a loaded `Source`) and return its pages as content.

    The output is capped at `max_chars` characters (default from settings); when cut, `next_cursor` continues
    exactly where it stopped; `max_tokens` caps it by estimated tokens (see `mcp_docvl.tokens`) as well.
    Page furniture (running heads, page numbers, footers, line numbers) is left out unless `include_furniture`.
    """
    settings = settings or Settings.from_env()
    if format not in ("markdown", "text"):
        raise InvalidArgument(f"Unknown format {format!r}.", "Use 'markdown' or 'text'.")
    budget = settings.max_output_chars if max_chars is None else max_chars
    if budget < 1:
        raise InvalidArgument("max_chars must be at least 1.", "Pass a positive number, e.g. 20000.")
    if max_tokens is not None and max_tokens < 1:
        raise InvalidArgument("max_tokens must be at least 1.", "Pass a positive number, e.g. 8000.")
    src = source if isinstance(source, Source) else load_source(source, settings)
    doc = open_document(src.data, src.media_type, password=password, max_page_pixels=settings.max_page_pixels)
    try:
        remember_document(src, doc, settings)
        selected = parse_pages(pages, doc.page_count)
        skip_chars = 0
        if cursor:
            start_page, skip_chars = _parse_cursor(cursor, src)
            if start_page not in selected:
                raise InvalidArgument("The cursor does not fit this page selection.", "Pass the same `pages` again.")
            selected = selected[selected.index(start_page):]
        return _read_pages(src, doc, selected, format, budget, skip_chars, settings, engine, progress, max_tokens,
                           include_furniture)
    finally:
        doc.close()


def _read_pages(src: Source, doc: Document, selected: list[int], fmt: Format, budget: int, skip_chars: int,
                settings: Settings, engine: Engine | None, progress: ProgressCallback | None,
                max_tokens: int | None = None, include_furniture: bool = False) -> ReadDocumentResult:
    out: list[PageContent] = []
    used = 0
    used_tokens = 0
    token_budget = max_tokens if max_tokens is not None else float("inf")
    next_cursor = None
    continuation = None
    limit = settings.max_pages_per_call
    for position, number in enumerate(selected):
        if position >= limit:
            next_cursor = f"{src.sha256[:12]}.{number}.0"
            continuation = (f"Stopped after {limit} pages (the per-call page limit); pages {number}-{selected[-1]} "
                            "were not read. Call again with cursor=next_cursor to continue.")
            break
        if used >= budget or used_tokens >= token_budget:
            limit_text = f"{budget:,} characters" if used >= budget else f"about {max_tokens:,} tokens"
            next_cursor = f"{src.sha256[:12]}.{number}.0"
            continuation = (f"Output reached {limit_text}; pages {number}-{selected[-1]} were not read. "
                            "Call again with cursor=next_cursor, or raise max_chars/max_tokens.")
            break
        page = cached_render(src.sha256, doc, number, engine, settings, fmt, extract_page, include_furniture)
        content = page.content
        content_tokens = page.tokens
        if skip_chars:
            content = content[skip_chars:]
            content_tokens = estimate_tokens(content)
        remaining = budget - used
        if max_tokens is not None:
            tokens_left = int(token_budget - used_tokens)
            remaining = min(remaining, max(1, chars_within(content, tokens_left, content_tokens)))
        complete = True
        if len(content) > remaining:
            cut = _cut_point(content, remaining)
            next_cursor = f"{src.sha256[:12]}.{number}.{skip_chars + cut}"
            limit_text = f"{budget:,} characters" if used + len(content) > budget else f"about {max_tokens:,} tokens"
            continuation = (f"Output cut at {limit_text} inside page {number} "
                            f"({len(content) - cut:,} characters of it left"
                            f"{f', then pages up to {selected[-1]}' if number != selected[-1] else ''}). "
                            "Call again with cursor=next_cursor, or raise max_chars/max_tokens.")
            content = content[:cut]
            content_tokens = estimate_tokens(content)
            complete = False
        out.append(PageContent(page=number, method=page.method, confidence=page.confidence, width=round(page.width, 2),
                               height=round(page.height, 2), unit=page.unit, content=content, complete=complete,
                               warnings=page.warnings))
        used += len(content)
        used_tokens += content_tokens
        skip_chars = 0
        if progress:
            progress(position + 1, len(selected))
        if not complete:
            break
    return ReadDocumentResult(
        document=document_info(src, doc), format=fmt, pages=out,
        methods=dict(Counter(p.method for p in out)), truncated=next_cursor is not None,
        next_cursor=next_cursor, continuation=continuation, estimated_tokens=used_tokens,
    )


def _cut_point(content: str, remaining: int) -> int:
    """Where to cut so the piece ends at a paragraph or line break when one is near, never past `remaining`."""
    if remaining <= 0:
        return 0
    for sep in ("\n\n", "\n", " "):
        at = content.rfind(sep, 0, remaining)
        if at >= remaining * 0.8:
            return at + len(sep)
    return remaining

