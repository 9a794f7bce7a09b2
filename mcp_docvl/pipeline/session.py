"""An open document for one call: the source loaded once, the document opened once, its pages through one store.

    with open_session("report.pdf", settings) as session:
        page = session.pages.page(3)

Every tool and resource starts here. A `docvl://documents/{id}` source is resolved here, from the registry of
recently opened documents; every opened document is recorded there so that later calls can name it by id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from PIL import Image

from mcp_docvl.cache.registry import URI_PREFIX, DocumentRegistry, open_registry, remember_document
from mcp_docvl.config import Settings
from mcp_docvl.cursor import resume
from mcp_docvl.documents import Document, open_document
from mcp_docvl.engines import Engine, create_engine
from mcp_docvl.engines.base import GenerativeEngine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.models import DocumentInfo
from mcp_docvl.page_ranges import PageSpec, parse_pages
from mcp_docvl.pipeline.pages import PageStore
from mcp_docvl.sources import Source, load_source

_SCHEME = "docvl://"


def resolve_source(source: str | Source, settings: Settings) -> Source:
    """The bytes `source` names: a loaded `Source` as is, a docvl:// URI from the registry, else path/URL/data."""
    if isinstance(source, Source):
        return source
    if isinstance(source, str) and source.strip().lower().startswith(_SCHEME):
        return load_document_uri(source.strip(), settings)
    return load_source(source, settings)


def require_registry(settings: Settings) -> DocumentRegistry:
    """The registry of recently opened documents, or a clear error when the cache (which holds it) is off."""
    registry = open_registry(settings)
    if registry is None:
        raise InvalidArgument("Document ids need the cache, which is turned off.",
                              "Pass the path, URL or data instead, or set DOCVL_CACHE_MAX_BYTES above 0.")
    return registry


def load_document_uri(uri: str, settings: Settings) -> Source:
    """The source named by `docvl://documents/{id}` (anything after the id, such as /pages/3, is ignored)."""
    rest = uri[len(URI_PREFIX):].strip("/") if uri.lower().startswith(URI_PREFIX) else ""
    doc_id = rest.split("/", 1)[0]
    if not doc_id:
        raise InvalidArgument(f"{uri!r} names no document.", f"Use {URI_PREFIX}/<id> with an id from read_document.")
    return require_registry(settings).load(doc_id, settings)


def document_info(source: Source, doc: Document) -> DocumentInfo:
    meta = doc.metadata()
    return DocumentInfo(
        id=source.doc_id, sha256=source.sha256, name=source.name, media_type=source.media_type,
        page_count=doc.page_count, **{k: meta.get(k) for k in
                                      ("title", "author", "subject", "creator", "producer", "created", "modified")},
    )


@dataclass
class Session:
    """One open document and everything a call needs to read it."""

    source: Source
    doc: Document
    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)
    info: DocumentInfo = field(init=False)
    pages: PageStore = field(init=False)

    def __post_init__(self) -> None:
        self.info = document_info(self.source, self.doc)
        engine = self._engine
        name = engine.name if engine is not None else self.settings.engine.strip().lower()
        self.pages = PageStore(self.doc, self.source.sha256, self.settings, lambda: self.engine, name,
                               engine.cache_config() if engine is not None else None)

    @property
    def uri(self) -> str:
        return f"{URI_PREFIX}/{self.source.doc_id}"

    @property
    def engine(self) -> Engine:
        """The engine of this call (the configured one, created on first use)."""
        if self._engine is None:
            self._engine = create_engine(self.settings)
        return self._engine

    @property
    def generative(self) -> bool:
        """True when the engine can answer prompts (a vision-language model), without creating an engine."""
        return isinstance(self._engine, GenerativeEngine)

    def select(self, pages: PageSpec, cursor: str | None = None,
               positions: int = 2) -> tuple[list[int], tuple[int, ...]]:
        """The selected page numbers from the cursor's page on, and the cursor's positions (see mcp_docvl.cursor)."""
        return resume(parse_pages(pages, self.doc.page_count), cursor, self.source.sha256, positions)

    def image(self, number: int, dpi: float) -> Image.Image:
        """Page `number` as an image: PDF pages at `dpi`, image pages at their own pixels."""
        unit = self.doc.page_size(number - 1)[2]
        return self.doc.render(number - 1, dpi if unit == "pt" else None)


@contextmanager
def open_session(source: str | Source, settings: Settings | None = None, *, password: str | None = None,
                 engine: Engine | None = None) -> Iterator[Session]:
    """Load `source` (path, URL, data: URI/base64, docvl:// URI, or a loaded `Source`) once and open it."""
    settings = settings or Settings.from_env()
    src = resolve_source(source, settings)
    doc = open_document(src.data, src.media_type, password=password, max_page_pixels=settings.max_page_pixels)
    try:
        remember_document(src, doc, settings)
        yield Session(source=src, doc=doc, settings=settings, _engine=engine)
    finally:
        doc.close()
