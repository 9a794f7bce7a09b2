"""Structure on pages the project writes: tables need a grid's evidence, headings are found and split off."""

import io
import re
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from docs import FORM_FIELDS, ruled_form_pdf
from mcp_docvl.config import Settings
from mcp_docvl.documents import open_document
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.extract.tables.grid import find_tables
from mcp_docvl.features.read import read_document
from mcp_docvl.samples import (
    NUMERIC_TABLE,
    THREE_COLUMN_PARAGRAPHS,
    Text,
    borderless_numeric_table,
    heading_page,
    make_pdf,
    multiline_header_table,
    three_column_prose,
)


def _markdown(data: bytes, tmp_path: Path, settings: Settings, suffix: str = ".pdf", **kwargs) -> str:
    path = tmp_path / f"page{suffix}"
    path.write_bytes(data)
    return read_document(str(path), settings=settings, **kwargs).pages[0].content


def _words(text: str) -> list[str]:
    return re.findall(r"[\w,.]+", text)


def test_three_columns_of_prose_are_not_a_table(tmp_path: Path, settings: Settings):
    page = _markdown(three_column_prose(), tmp_path, settings)
    # Columns of wrapped lines on shared baselines leave blank gutters down the page, as a table does; with no
    # rule and no short aligned cells they are text.
    assert "|" not in page
    assert page.startswith("# Register of Notices\n\n")
    body = _words(page)
    for paragraph in THREE_COLUMN_PARAGRAPHS:
        assert all(word in body for word in _words(paragraph))


def test_borderless_numeric_table_is_found(tmp_path: Path, settings: Settings):
    page = _markdown(borderless_numeric_table(), tmp_path, settings)
    rows = ["| " + " | ".join(row) + " |" for row in NUMERIC_TABLE]
    assert page == ("Sales by region, in units, for the last three years, as reported by each office.\n\n"
                    + "\n".join([rows[0], "| --- | --- | --- | --- |", *rows[1:]]))


def test_header_cells_of_two_lines_read_top_down(tmp_path: Path, settings: Settings):
    page = _markdown(multiline_header_table(), tmp_path, settings)
    # "Language" sits between the two header lines and joins them into one row line; each cell's own words are
    # still read line by line.
    assert page.splitlines()[0] == "| # enc-layers | # dec-layers | Language | Time (secs) |"
    assert "| 6 | 6 | OTSL | 2.73 |" in page


def test_headings_by_size_and_by_section_number(tmp_path: Path, settings: Settings):
    blocks = _markdown(heading_page(), tmp_path, settings).split("\n\n")
    assert blocks[0] == "# Reading Speed Study"
    assert blocks[1].startswith("The study measures")
    # A section number at body size with space above, its paragraph after it as a block of its own.
    assert re.fullmatch(r"#{2,6} 5\.1 Hyper Parameter Optimization", blocks[2])
    assert blocks[3].startswith("We chose the public data set")


def test_bold_heading_above_same_size_text_is_split(tmp_path: Path, settings: Settings):
    doc = open_document(heading_page(), "application/pdf")
    if not any(w.bold for w in doc.text_layer(0).words):
        pytest.skip("the text layer does not report Helvetica-Bold as bold yet (weights from font names)")
    blocks = _markdown(heading_page(), tmp_path, settings).split("\n\n")
    at = next(i for i, b in enumerate(blocks) if b.endswith("Method Overview"))
    assert re.fullmatch(r"#{2,6} Method Overview", blocks[at])
    assert blocks[at + 1].startswith("Each reader saw twelve pages")


def test_heading_by_line_height_on_a_scan(tmp_path: Path, settings: Settings, ocr: OcrEngine):
    # The OCR path has no fonts: the title's boxes are taller than the body's, and that makes it a heading.
    pdf = pdfium.PdfDocument(heading_page())
    image = pdf[0].render(scale=150 / 72).to_pil()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    page = _markdown(buffer.getvalue(), tmp_path, settings, suffix=".png", engine=ocr)
    blocks = page.split("\n\n")
    assert blocks[0] == "# Reading Speed Study"
    assert not any(b.startswith("#") and "study measures" in b for b in blocks)


def test_ruled_form_reads_as_its_fields(tmp_path: Path, settings: Settings):
    data = ruled_form_pdf()
    # Shading set inside the label cells, one rectangle per line, does not split a cell of several lines: one row
    # per field, each cell's lines joined.
    doc = open_document(data, "application/pdf")
    layer = doc.text_layer(0)
    tables = find_tables(layer.words, doc.vector_rulings(0, layer.rotation))
    assert len(tables) == 1
    assert [[cell.text for cell in sorted((c for c in tables[0].cells if c.row == r), key=lambda c: c.col)]
            for r in range(tables[0].n_rows)] == [[" ".join(label), " ".join(value)] for label, value in FORM_FIELDS]
    # Labels in bold beside plain values, with no header row: a form, shown as its fields (each label, then its
    # value), not as a Markdown table whose first field would stand as column headings. The heading above the box
    # introduces it.
    blocks = _markdown(data, tmp_path, settings).split("\n\n")
    assert "| --- |" not in "\n\n".join(blocks)
    at = blocks.index("## Product standard")
    assert blocks[at + 1:] == [" ".join(part) for label, value in FORM_FIELDS for part in (label, value)]


def _lines(x: float, y: float, texts: list[str], size: float = 10.0) -> list[Text]:
    return [Text(x, y + i * 1.3 * size, text, size) for i, text in enumerate(texts)]


def test_heading_sizes_a_point_apart_are_one_level(tmp_path: Path, settings: Settings):
    # Two section headings set a point apart (14 and 13 pt bold: one style by another hand, not a step of a type
    # scale), under a title set much larger: the title is the page's H1, the sections share one level.
    body = ["Readers were asked to find facts in long reports, and the time each search took was recorded.",
            "Pages were printed in two layouts, one with a single column and one with two columns of text."]
    items = [Text(72, 60, "Layout and Search Time", 24, bold=True),
             Text(72, 110, "Materials and readers", 14, bold=True), *_lines(72, 134, body),
             Text(72, 180, "Findings of the study", 13, bold=True), *_lines(72, 204, body)]
    blocks = _markdown(make_pdf([items]), tmp_path, settings).split("\n\n")
    assert [b for b in blocks if b.startswith("#")] == [
        "# Layout and Search Time", "## Materials and readers", "## Findings of the study"]


def test_numbered_heading_is_never_the_title(tmp_path: Path, settings: Settings):
    # A chapter's page opening with its numbered section in large type: a section number says it is a section.
    body = ["Readers were asked to find facts in long reports, and the time each search took was recorded.",
            "Pages were printed in two layouts, one with a single column and one with two columns of text."]
    items = [Text(72, 60, "3.2 Results of the study", 20, bold=True), *_lines(72, 100, body)]
    blocks = _markdown(make_pdf([items]), tmp_path, settings).split("\n\n")
    assert blocks[0] == "## 3.2 Results of the study"


def test_set_apart_lines_that_introduce_nothing_are_not_headings(tmp_path: Path, settings: Settings):
    # Two short bold lines side by side at the foot of the page (a running title and a section name, as a
    # footer): the first is followed only by the second, which heads nothing, so neither is a heading.
    body = ["Readers were asked to find facts in long reports, and the time each search took was recorded.",
            "Pages were printed in two layouts, one with a single column and one with two columns of text."]
    items = [Text(72, 60, "Layout and Search Time", 24, bold=True), *_lines(72, 100, body),
             Text(200, 400, "Annual Review of Reading", 10, bold=True), Text(510, 400, "Annex", 10, bold=True)]
    page = _markdown(make_pdf([items]), tmp_path, settings)
    assert page.startswith("# Layout and Search Time\n\n")
    assert [line for line in page.splitlines() if line.startswith("#")] == ["# Layout and Search Time"]
    assert "Annual Review of Reading" in page and "Annex" in page
