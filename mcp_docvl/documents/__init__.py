"""Opening documents: PDFs and images behind one interface (`Document`)."""

from __future__ import annotations

from mcp_docvl.documents.base import Document, TextLayer
from mcp_docvl.documents.image import ImageDocument
from mcp_docvl.documents.model import Block, Line, Page, Word
from mcp_docvl.documents.pdf import PdfDocument
from mcp_docvl.documents.safety import contain_parser_errors
from mcp_docvl.errors import UnsupportedFormat
from mcp_docvl.sources.media import IMAGE_TYPES, PDF

# Damaged and hostile files end in DocumentCorrupt, whichever method of the document meets the damage.
contain_parser_errors(PdfDocument)
contain_parser_errors(ImageDocument)


def open_document(data: bytes, media_type: str, password: str | None = None,
                  max_page_pixels: int = 40_000_000) -> Document:
    if media_type == PDF:
        return PdfDocument(data, password=password, max_page_pixels=max_page_pixels)
    if media_type in IMAGE_TYPES:
        return ImageDocument(data, media_type, max_page_pixels=max_page_pixels)
    raise UnsupportedFormat(f"Documents of type {media_type} are not read.", "Convert it to PDF first.")


__all__ = ["Block", "Document", "ImageDocument", "Line", "Page", "PdfDocument", "TextLayer", "Word", "open_document"]
