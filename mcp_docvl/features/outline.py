"""A document's outline: what is where and what it costs to read, so an agent can plan before reading.

Title, bookmarks (the PDF's own table of contents), headings found on the pages, and per page its estimated
tokens, headings, tables and figures. Pages are built through the page cache, so an outline followed by
read_document does each page's work once. Pages that need recognition (scans) are only recognised when asked
to (`recognise=True`): otherwise they are listed as such, without figures, so an outline of a long scan stays
quick.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from mcp_docvl.cache.pages import cached_page
from mcp_docvl.cache.registry import URI_PREFIX, remember_document
from mcp_docvl.config import Settings
from mcp_docvl.documents import Document, open_document
from mcp_docvl.documents.model import Page
from mcp_docvl.engines import Engine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.extract.render import join_lines, render_blocks
from mcp_docvl.models import DocumentInfo, Method
from mcp_docvl.page_ranges import parse_pages
from mcp_docvl.reader import ProgressCallback, _parse_cursor, document_info, extract_page
from mcp_docvl.sources import Source, load_source
from mcp_docvl.tokens import estimate_tokens


class OutlineEntry(BaseModel):
    level: int = Field(description="Nesting level, 1 = top.")
    title: str = Field(description="The bookmark's or heading's text.")
    page: int | None = Field(description="1-based page it points to or stands on; None when the PDF gives none.")


class PageSummary(BaseModel):
    page: int = Field(description="Page number, 1-based.")
    method: Method | None = Field(
        description="How the page's text is obtained; None when it needs recognition that was not run "
        "(call with recognise=true, or read the page)."
    )
    estimated_tokens: int | None = Field(description="Estimated LLM tokens of the page as Markdown; None if unknown.")
    headings: int = Field(description="Headings on the page.")
    tables: int = Field(description="Tables detected on the page.")
    figures: int = Field(description="Figures detected on the page.")
    uri: str = Field(description="Resource URI of the page's Markdown.")


class DocumentOutline(BaseModel):
    document: DocumentInfo = Field(description="What was outlined.")
    uri: str = Field(description="Resource URI of the document; pass it as `source` to any tool.")
    title: str | None = Field(description="Metadata title, else the first top-level heading, else the first bookmark.")
    bookmarks: list[OutlineEntry] = Field(description="The PDF's own table of contents, in order (may be empty).")
    headings: list[OutlineEntry] = Field(description="Headings found on the outlined pages, in reading order.")
    pages: list[PageSummary] = Field(description="One summary per outlined page.")
    estimated_tokens: int = Field(description="Sum of the known per-page estimates.")
    unrecognised_pages: list[int] = Field(description="Pages that need recognition, not run for this outline.")
    truncated: bool = Field(description="True when not every selected page was outlined (page limit).")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to outline the remaining pages.")


class _NeedsRecognition(Exception):
    """A page has no usable text layer and recognition was not asked for."""


class _TextOnly:
    """The document as seen by an outline that does not recognise: asking for a page image means the page
    needs recognition, so the outline stops there instead of running OCR."""

    def __init__(self, doc: Document) -> None:
        self._doc = doc

    def __getattr__(self, name: str):
        return getattr(self._doc, name)

    def render(self, index: int, dpi: float | None = None):
        raise _NeedsRecognition


def _build_text_only(doc: Document, number: int, engine: Engine | None, settings: Settings) -> Page:
    return extract_page(_TextOnly(doc), number, engine, settings)  # type: ignore[arg-type]


def document_outline(
    source: str | Source,
    pages: str | None = None,
    recognise: bool = False,
    password: str | None = None,
    cursor: str | None = None,
    settings: Settings | None = None,
    engine: Engine | None = None,
    progress: ProgressCallback | None = None,
) -> DocumentOutline:
    """Outline `source`: bookmarks, headings and per-page token estimates for `pages` (default all)."""
    settings = settings or Settings.from_env()
    src = source if isinstance(source, Source) else load_source(source, settings)
    doc = open_document(src.data, src.media_type, password=password, max_page_pixels=settings.max_page_pixels)
    try:
        remember_document(src, doc, settings)
        selected = parse_pages(pages, doc.page_count)
        if cursor:
            start, _ = _parse_cursor(cursor, src)
            if start not in selected:
                raise InvalidArgument("The cursor does not fit this page selection.", "Pass the same `pages` again.")
            selected = selected[selected.index(start):]
        info = document_info(src, doc)
        uri = f"{URI_PREFIX}/{src.doc_id}"
        bookmarks_of = getattr(doc, "bookmarks", None)
        bookmarks = [OutlineEntry(level=level + 1, title=title, page=page)
                     for level, title, page in (bookmarks_of() if bookmarks_of else []) if title]
        summaries: list[PageSummary] = []
        headings: list[OutlineEntry] = []
        unrecognised: list[int] = []
        build = extract_page if recognise else _build_text_only
        todo = selected[: settings.max_pages_per_call]
        for position, number in enumerate(todo):
            page_uri = f"{uri}/pages/{number}"
            try:
                page = cached_page(src.sha256, doc, number, engine, settings, build)
            except _NeedsRecognition:
                unrecognised.append(number)
                summaries.append(PageSummary(page=number, method=None, estimated_tokens=None, headings=0, tables=0,
                                             figures=0, uri=page_uri))
            else:
                page_headings = [OutlineEntry(level=max(1, b.level), title=join_lines([ln.text for ln in b.lines]),
                                              page=number) for b in page.blocks if b.kind == "heading"]
                headings.extend(page_headings)
                summaries.append(PageSummary(
                    page=number, method=page.method,
                    estimated_tokens=estimate_tokens(render_blocks(page.blocks, "markdown")),
                    headings=len(page_headings), tables=sum(b.kind == "table" for b in page.blocks),
                    figures=sum(b.kind == "figure" for b in page.blocks), uri=page_uri,
                ))
            if progress:
                progress(position + 1, len(todo))
        rest = selected[len(todo):]
        title = info.title or next((h.title for h in headings if h.level == 1), None) or (
            bookmarks[0].title if bookmarks else None)
        return DocumentOutline(
            document=info, uri=uri, title=title, bookmarks=bookmarks, headings=headings, pages=summaries,
            estimated_tokens=sum(p.estimated_tokens or 0 for p in summaries), unrecognised_pages=unrecognised,
            truncated=bool(rest), next_cursor=f"{src.sha256[:12]}.{rest[0]}.0" if rest else None,
        )
    finally:
        doc.close()
