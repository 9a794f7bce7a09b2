"""Reading order and page furniture on pages the project writes itself (mcp_docvl.samples), through the text
layer and through the OCR path (the same pages rendered as images)."""

from __future__ import annotations

import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from mcp_docvl.config import Settings
from mcp_docvl.documents import open_document
from mcp_docvl.extract.layout import build_lines, reading_order
from mcp_docvl.features.read import read_document
from mcp_docvl.samples import FURNITURE_BODY, THREE_COLUMN_TEXT, furniture_page, three_column_page


def _flat(text: str) -> str:
    return " ".join(text.split())


def _render(pdf: bytes, dpi: int, target: Path) -> str:
    document = pdfium.PdfDocument(pdf)
    document[0].render(scale=dpi / 72).to_pil().save(target)
    return str(target)


def _assert_columns_in_order(text: str) -> None:
    flat = _flat(text)
    # Each column reads whole, from its first sentence to its last, before the next column starts.
    starts = [flat.index(column.split(".")[0]) for column in THREE_COLUMN_TEXT]
    ends = [flat.index(column.rsplit(" ", 1)[1]) for column in THREE_COLUMN_TEXT]
    assert starts[0] < ends[0] < starts[1] < ends[1] < starts[2] < ends[2], flat


def test_three_columns_with_narrow_gutters_read_column_by_column():
    # Gutters of 8 pt at 9 pt type: narrower than the gap that ends a line segment, so whole rows come merged
    # across the columns and must be re-cut at the white rivers.
    doc = open_document(three_column_page(), "application/pdf")
    layer = doc.text_layer(0)
    ordered = reading_order(build_lines(layer.words))
    text = "\n".join(line.text for line in ordered)
    _assert_columns_in_order(text)
    for column in THREE_COLUMN_TEXT:
        assert _flat(column) in _flat(text)


def test_three_columns_in_the_markdown(settings: Settings, tmp_path: Path):
    (tmp_path / "three.pdf").write_bytes(three_column_page())
    content = read_document(str(tmp_path / "three.pdf"), settings=settings).pages[0].content
    assert "|" not in content, "prose columns must not become a table"
    _assert_columns_in_order(content)


def test_three_columns_through_ocr(settings: Settings, tmp_path: Path):
    # Wider gutters than the text-layer test: OCR boxes whole text lines and splits them at wide gaps only.
    image = _render(three_column_page(size=10.0, gutter=14.0), 200, tmp_path / "three.png")
    result = read_document(image, settings=settings)
    assert result.pages[0].method == "ocr"
    _assert_columns_in_order(result.pages[0].content)


def test_furniture_left_out_of_the_markdown_and_reachable(settings: Settings, tmp_path: Path):
    (tmp_path / "furniture.pdf").write_bytes(furniture_page(page_number=7))
    path = str(tmp_path / "furniture.pdf")
    content = read_document(path, settings=settings).pages[0].content
    assert _flat(FURNITURE_BODY) in _flat(content)
    assert content.startswith("# Keeping the Body Apart")
    for furniture in ("Journal of Sample Studies", "Smith and Jones", "Published by the Sample Press"):
        assert furniture not in content
    # No page number and no line numbers: no line is a bare integer.
    assert not re.search(r"(?m)^\s*\d+\s*$", content), content
    full = read_document(path, settings=settings, include_furniture=True).pages[0].content
    assert full.index("Journal of Sample Studies") < full.index("Keeping the Body Apart")
    assert full.index("page's text") < full.index("Published by the Sample Press")
    assert re.search(r"(?m)^7$", full)


@pytest.mark.parametrize("dpi", [150])
def test_furniture_left_out_through_ocr(settings: Settings, tmp_path: Path, dpi: int):
    image = _render(furniture_page(page_number=7, line_numbers=False), dpi, tmp_path / "furniture.png")
    content = read_document(image, settings=settings).pages[0].content
    assert "Journal of Sample Studies" not in content and "Sample Press" not in content
    assert not re.search(r"(?m)^\s*7\s*$", content), content
    assert "running text that a reader wants to keep" in _flat(content)
