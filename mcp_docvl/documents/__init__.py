"""Opening documents: PDFs and images behind one interface (`Document`)."""

from __future__ import annotations

from mcp_docvl.documents.base import Document, TextLayer
from mcp_docvl.documents.image import ImageDocument
from mcp_docvl.documents.model import Block, Line, Page, Word
from mcp_docvl.documents.pdf import PdfDocument
from mcp_docvl.documents.safety import contain_parser_errors
from mcp_docvl.errors import UnsupportedFormat
from mcp_docvl.limits import MAX_DOCUMENT_PAGES, too_many_pages
from mcp_docvl.sources.media import IMAGE_TYPES, PDF

# Damaged and hostile files end in DocumentCorrupt, whichever method of the document meets the damage.
contain_parser_errors(PdfDocument)
contain_parser_errors(ImageDocument)


def open_document(data: bytes, media_type: str, password: str | None = None,
                  max_page_pixels: int = 40_000_000) -> Document:
    """The document in `data`, its page count bounded by MAX_DOCUMENT_PAGES (limits.py)."""
    doc: Document
    if media_type == PDF:
        doc = PdfDocument(data, password=password, max_page_pixels=max_page_pixels)
    elif media_type in IMAGE_TYPES:
        doc = ImageDocument(data, media_type, max_page_pixels=max_page_pixels)
    else:
        raise UnsupportedFormat(f"Documents of type {media_type} are not read.", "Convert it to PDF first.")
    if doc.page_count > MAX_DOCUMENT_PAGES:
        count = doc.page_count
        doc.close()
        raise too_many_pages(count)
    return doc


__all__ = ["Block", "Document", "ImageDocument", "Line", "Page", "PdfDocument", "TextLayer", "Word", "open_document"]
