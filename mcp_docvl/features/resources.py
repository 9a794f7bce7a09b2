"""Documents as browsable resources, by id: what the `docvl://documents/...` URIs return (no MCP here).

    docvl://documents                       recent documents (JSON)
    docvl://documents/{id}                  metadata and outline (JSON)
    docvl://documents/{id}/pages/{n}        page n as Markdown
    docvl://documents/{id}/pages/{n}/image  page n as PNG
    docvl://documents/{id}/pages/{n}/tables/{k}  table k (0-based, top to bottom) of page n as CSV

Ids are the first 16 hex digits of the document's sha256; the registry in the cache maps them to the bytes, so
the URIs keep working after a server restart for as long as the cache holds the document.
"""

from __future__ import annotations

import json

from mcp_docvl.cache import open_cache
from mcp_docvl.cache.codec import image_to_png
from mcp_docvl.cache.keys import cache_key
from mcp_docvl.cache.registry import URI_PREFIX, DocumentRecord, open_registry
from mcp_docvl.config import Settings
from mcp_docvl.engines import Engine
from mcp_docvl.errors import DocvlError, InvalidArgument
from mcp_docvl.features.outline import document_outline
from mcp_docvl.features.read import read_document
from mcp_docvl.features.tables import extract_tables
from mcp_docvl.models import ReadDocumentResult
from mcp_docvl.pipeline.session import open_session, require_registry
from mcp_docvl.sources import Source

# Page images for people and vision models: legible, and a fraction of the OCR resolution's size.
IMAGE_DPI = 110
# The document resource outlines at most this many pages; the document_outline tool pages through the rest.
OUTLINE_PAGES = 50


def _record_json(record: DocumentRecord) -> dict:
    return {"id": record.id, "uri": record.uri, "name": record.name, "title": record.title,
            "media_type": record.media_type, "page_count": record.page_count}


def recent_documents(settings: Settings) -> str:
    """JSON list of the recently opened documents, newest first."""
    return json.dumps({"documents": [_record_json(r) for r in require_registry(settings).recent()]}, indent=1)


def load_by_id(doc_id: str, settings: Settings) -> Source:
    return require_registry(settings).load(doc_id, settings)


def document_summary(doc_id: str, settings: Settings, engine: Engine | None = None) -> str:
    """JSON of the document's metadata and outline (first pages; no recognition is run for it)."""
    source = load_by_id(doc_id, settings)
    pages = None
    record = require_registry(settings).find(doc_id)
    if record.page_count > OUTLINE_PAGES:
        pages = f"1-{OUTLINE_PAGES}"
    outline = document_outline(source, pages=pages, settings=settings, engine=engine)
    return outline.model_dump_json(indent=1)


def _page_number(n: str | int, page_count: int) -> int:
    try:
        number = int(n)
    except ValueError:
        raise InvalidArgument(f"Page {n!r} is not a number.", "Use a 1-based page number.") from None
    if not 1 <= number <= page_count:
        raise InvalidArgument(f"Page {number} is out of range: the document has {page_count} "
                              f"page{'s' if page_count != 1 else ''}.",
                              f"Use a page from 1 to {page_count}.")
    return number


def page_markdown(doc_id: str, n: str | int, settings: Settings, engine: Engine | None = None) -> str:
    source = load_by_id(doc_id, settings)
    record = require_registry(settings).find(doc_id)
    number = _page_number(n, record.page_count)
    result = read_document(source, pages=str(number), max_chars=10**9, settings=settings, engine=engine)
    return result.pages[0].content


def table_csv(doc_id: str, n: str | int, k: str | int, settings: Settings, engine: Engine | None = None) -> str:
    """Table `k` (0-based, top to bottom) of page `n` as CSV, merged cells repeated."""
    source = load_by_id(doc_id, settings)
    number = _page_number(n, require_registry(settings).find(doc_id).page_count)
    try:
        index = int(k)
    except ValueError:
        raise InvalidArgument(f"Table {k!r} is not a number.", "Use 0 for the first table on the page.") from None
    result = extract_tables(source, pages=str(number), format="csv", max_cells=10**9, settings=settings,
                            engine=engine)
    found = [t for t in result.tables if t.index == index]
    if not found:
        count = len(result.tables)
        has = (f"it has {count} table{'s' if count != 1 else ''}, numbered from 0 to {count - 1}" if count
               else "no tables were found on it")
        raise InvalidArgument(
            f"Page {number} has no table {index}: {has}.",
            f"Read {URI_PREFIX}/{doc_id}/pages/{number} to see the page, or call extract_table to list its tables.",
        )
    return found[0].content


def page_image(doc_id: str, n: str | int, settings: Settings, dpi: int = IMAGE_DPI) -> bytes:
    """Page `n` as PNG (cached)."""
    source = load_by_id(doc_id, settings)
    record = require_registry(settings).find(doc_id)
    number = _page_number(n, record.page_count)
    cache = open_cache(settings)
    key = cache_key(source.sha256, "image", number, {"dpi": dpi, "max_page_pixels": settings.max_page_pixels})
    if cache is not None and (png := cache.get(key)) is not None:
        return png
    with open_session(source, settings) as session:
        png = image_to_png(session.doc.render(number - 1, dpi))
    if cache is not None:
        cache.put(key, png)
    return png


def complete_ids(prefix: str, settings: Settings, limit: int = 100) -> tuple[list[str], int]:
    """Ids of recent documents starting with `prefix` (newest first), and how many there are in all."""
    registry = open_registry(settings)
    if registry is None:
        return [], 0
    prefix = prefix.strip().lower()
    ids = [r.id for r in registry.recent() if r.id.startswith(prefix)]
    return ids[:limit], len(ids)


def complete_pages(doc_id: str | None, prefix: str, settings: Settings, limit: int = 100) -> tuple[list[str], int]:
    """Page numbers of document `doc_id` starting with `prefix`, and how many there are in all: counted from the
    page count, one number range per length, never by walking the pages."""
    registry = open_registry(settings)
    if registry is None or not doc_id:
        return [], 0
    try:
        record = registry.find(doc_id)
    except DocvlError:  # an unknown or partial id simply completes to nothing
        return [], 0
    return page_completions(prefix.strip(), record.page_count, limit)


def page_completions(prefix: str, page_count: int, limit: int = 100) -> tuple[list[str], int]:
    """The first `limit` of the numbers 1..page_count whose decimal form starts with `prefix`, and their count."""
    if not prefix:
        return [str(n) for n in range(1, min(page_count, limit) + 1)], max(page_count, 0)
    if not prefix.isdigit() or prefix.startswith("0"):
        return [], 0
    values: list[str] = []
    total = 0
    head = int(prefix)
    for length in range(len(prefix), len(str(page_count)) + 1):
        scale = 10 ** (length - len(prefix))
        low, high = max(head * scale, 1), min((head + 1) * scale - 1, page_count)
        if low > high:
            continue
        total += high - low + 1
        values += [str(n) for n in range(low, min(high, low + limit - len(values) - 1) + 1)]
    return values, total


def document_links(result: ReadDocumentResult) -> list[tuple[str, str, str, str]]:
    """(uri, name, mime type, description) of the resources behind a read result: the document's outline, the
    first returned page's image, and the page after the last one returned."""
    doc = result.document
    base = f"{URI_PREFIX}/{doc.id}"
    links = [(base, f"{doc.name} (outline)", "application/json",
              f"Metadata, outline and per-page token estimates of this {doc.page_count}-page document. Pass "
              f"{base} as `source` to any tool instead of re-sending the document.")]
    if result.pages:
        first = result.pages[0].page
        links.append((f"{base}/pages/{first}/image", f"page {first} image", "image/png", f"Page {first} as PNG."))
        after = result.pages[-1].page + 1
        if after <= doc.page_count:
            links.append((f"{base}/pages/{after}", f"page {after}", "text/markdown", f"Page {after} as Markdown."))
    return links
