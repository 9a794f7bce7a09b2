"""Tables of one page: the digital path (text layer + vector rules) and the scanned path (OCR + image rules)."""

from __future__ import annotations

from PIL import Image

from mcp_docvl.documents.base import TextLayer
from mcp_docvl.documents.model import Word
from mcp_docvl.documents.pdf import PdfDocument
from mcp_docvl.extract.tables.grid import Table, find_tables
from mcp_docvl.extract.tables.rulings import Rulings, rulings_from_image, rulings_from_pdf_page


def digital_page_tables(doc: PdfDocument, index: int, layer: TextLayer) -> list[Table]:
    """Tables from the embedded text and the page's drawn rules; boxes in the text layer's frame (points)."""
    rulings = doc.with_page(index, lambda page: rulings_from_pdf_page(page, layer.rotation))
    return find_tables(layer.words, rulings)


def image_page_tables(image: Image.Image, words: list[Word], scale: tuple[float, float] = (1.0, 1.0)) -> list[Table]:
    """Tables from recognised words and the rules seen in `image`.

    `words` are in page units; `scale` converts image pixels to those units (x, y), so rules and words meet.
    """
    rulings: Rulings = rulings_from_image(image).scaled(*scale)
    return find_tables(words, rulings)
