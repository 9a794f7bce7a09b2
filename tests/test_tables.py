"""Tables: cells of real tables from ICDAR 2013 (digital and rendered as a scan), renderers, paging, no-table pages."""

from __future__ import annotations

import csv
import io
import json
from itertools import pairwise
from pathlib import Path

import pytest
from conftest import RESOURCES, eval_dir

from mcp_docvl.config import Settings
from mcp_docvl.documents import open_document
from mcp_docvl.documents.model import Table, TableCell
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.extract.tables.render import render_table, to_html
from mcp_docvl.features.read import read_document
from mcp_docvl.features.tables import extract_tables
from mcp_docvl.features.vlm_tables import parse_html_tables
from mcp_docvl.models import TableResult


def icdar(name: str) -> str:
    return str(eval_dir("icdar2013") / f"{name}.pdf")


def rows_of(table: TableResult) -> dict[tuple[int, int], TableResult]:
    return {(c.row, c.col): c for c in table.cells}


def row_texts(table: TableResult, row: int) -> list[str]:
    return [c.text for c in sorted((c for c in table.cells if c.row == row), key=lambda c: c.col)]


def test_ruled_grid_with_merged_header_cell(settings: Settings):
    """eu-001 p1 'Greenhouse gases': a header cell merged over three columns, two-line header cells."""
    result = extract_tables(icdar("eu-001"), pages="1", table_index=0, settings=settings)
    assert result.pages == [1] and len(result.tables) == 1
    table = result.tables[0]
    assert (table.n_rows, table.n_cols, table.header_rows) == (8, 4, 2)
    cells = rows_of(table)
    merged = cells[(0, 1)]
    assert (merged.text, merged.col_span, merged.row_span) == ("THRESHOLD FOR RELEASES", 3, 1)
    assert row_texts(table, 1) == ["", "to air kg/year", "to water kg/year", "to land kg/year"]
    assert row_texts(table, 2) == ["Carbon dioxide (CO2)", "100 million", "-", "-"]
    assert row_texts(table, 7) == ["Sulphur hexafluoride (SF6)", "50", "-", "-"]
    # Every slot of the grid is covered exactly once.
    assert sum(c.row_span * c.col_span for c in table.cells) == table.n_rows * table.n_cols
    # The merged cell keeps its span in HTML and is repeated over its columns in CSV.
    html = extract_tables(icdar("eu-001"), pages="1", table_index=0, format="html", settings=settings)
    assert '<th colspan="3">THRESHOLD FOR RELEASES</th>' in html.tables[0].content
    flat = list(csv.reader(io.StringIO(extract_tables(icdar("eu-001"), pages="1", table_index=0, format="csv",
                                                      settings=settings).tables[0].content)))
    assert flat[0] == ["", "THRESHOLD FOR RELEASES", "THRESHOLD FOR RELEASES", "THRESHOLD FOR RELEASES"]


def test_shaded_rows_without_inner_rules(settings: Settings):
    """us-022 p2: rows told apart by alternating shading, two-line row labels kept in one cell."""
    table = extract_tables(icdar("us-022"), pages="2", settings=settings).tables[0]
    assert (table.n_rows, table.n_cols) == (11, 6)
    assert row_texts(table, 0) == ["District Totals", "FY 2007", "FY 2008", "FY 2009", "FY 2010", "FY 2011"]
    assert row_texts(table, 1) == ["Investigative Matters Received by AUSAs", "426", "365", "285", "402", "387"]
    assert row_texts(table, 10) == ["60+ Months", "16", "3", "9", "4", "8"]


def test_table_ruled_by_horizontal_lines_only(settings: Settings):
    """eu-017 p2: a boxed table with horizontal rules only; columns come from the text's alignment."""
    result = extract_tables(icdar("eu-017"), pages="2", format="markdown", settings=settings)
    table = result.tables[0]
    assert (table.n_rows, table.n_cols, table.header_rows) == (28, 5, 1)
    assert row_texts(table, 0) == ["Country", "Domestic (%)", "Imported (%)", "Unknown (%)", "Total (n)"]
    assert row_texts(table, 1) == ["Austria", "92.9", "7.1", "0", "5,821"]
    assert row_texts(table, 27) == ["Norway", "41.2", "51.0", "7.9", "2,836"]
    assert table.content.splitlines()[2] == "| Austria | 92.9 | 7.1 | 0 | 5,821 |"


def test_pages_without_tables_give_an_empty_list_and_a_sentence(settings: Settings):
    result = extract_tables(icdar("eu-013"), pages="1-2", settings=settings)
    assert result.tables == [] and result.pages == [1, 2]
    assert result.message == "No tables were found on pages 1-2."
    assert not result.truncated


def test_large_table_is_paged_with_a_cursor_not_cut(settings: Settings):
    path = icdar("eu-017")
    whole = extract_tables(path, pages="2", settings=settings).tables[0]
    first = extract_tables(path, pages="2", max_cells=60, settings=settings)
    assert first.truncated and first.next_cursor and "max_cells" in first.continuation
    parts = [first]
    while parts[-1].next_cursor:
        parts.append(extract_tables(path, pages="2", max_cells=60, cursor=parts[-1].next_cursor, settings=settings))
        assert len(parts) < 20
    pieces = [t for p in parts for t in p.tables]
    assert all(len(t.cells) <= 60 for t in pieces)
    assert pieces[0].row_start == 0 and pieces[-1].row_end == whole.n_rows
    assert all(a.row_end == b.row_start for a, b in pairwise(pieces))
    assert [c.text for t in pieces for c in t.cells] == [c.text for c in whole.cells]
    # Each part of a paged table still reads as rows of the same table.
    assert json.loads(pieces[1].content)[0] == row_texts(whole, pieces[1].row_start)


def test_bad_arguments_are_clear_errors(settings: Settings):
    with pytest.raises(InvalidArgument, match="format"):
        extract_tables(str(RESOURCES / "sample.pdf"), format="xlsx", settings=settings)
    with pytest.raises(InvalidArgument, match="cursor"):
        extract_tables(str(RESOURCES / "sample.pdf"), cursor="nonsense", settings=settings)


def test_read_document_renders_tables_in_place(settings: Settings):
    content = read_document(icdar("eu-001"), pages="1", settings=settings).pages[0].content
    assert "| Carbon dioxide (CO2) | 100 million | - | - |" in content
    # Reading order: the heading over the table, then the table; its words are not repeated as paragraphs.
    assert content.index("## Greenhouse gases") < content.index("| Carbon dioxide (CO2)")
    assert content.count("Carbon dioxide (CO2)") == 1


def test_scanned_table_from_ocr_and_image_rules(settings: Settings, tmp_path: Path):
    """The same eu-017 table rendered at 150 dpi and read as an image: OCR words placed into the ruled grid."""
    doc = open_document(Path(icdar("eu-017")).read_bytes(), "application/pdf")
    try:
        doc.render(1, 150).save(tmp_path / "scan.png")
    finally:
        doc.close()
    result = extract_tables(str(tmp_path / "scan.png"), settings=settings, engine=OcrEngine())
    assert len(result.tables) == 1
    table = result.tables[0]
    assert table.method == "ocr" and table.unit == "px" and table.n_cols == 5
    rows = {row_texts(table, r)[0]: row_texts(table, r) for r in range(table.n_rows)}
    assert rows["Austria"] == ["Austria", "92.9", "7.1", "0", "5,821"]
    assert rows["Norway"] == ["Norway", "41.2", "51.0", "7.9", "2,836"]


def _merged_table() -> Table:
    box = (0.0, 0.0, 1.0, 1.0)
    cells = [
        TableCell(0, 0, 2, 1, "Region", box), TableCell(0, 1, 1, 2, "Sales", box),
        TableCell(1, 1, 1, 1, "2023", box), TableCell(1, 2, 1, 1, "2024", box),
        TableCell(2, 0, 1, 1, "North | East", box), TableCell(2, 1, 1, 1, "10", box), TableCell(2, 2, 1, 1, "12", box),
    ]
    return Table(bbox=box, n_rows=3, n_cols=3, cells=cells, header_rows=2)


def test_renderers_keep_or_expand_merged_cells():
    table = _merged_table()
    assert to_html(table) == (
        '<table><thead><tr><th rowspan="2">Region</th><th colspan="2">Sales</th></tr>'
        "<tr><th>2023</th><th>2024</th></tr></thead><tbody><tr><td>North | East</td><td>10</td><td>12</td></tr>"
        "</tbody></table>"
    )
    assert render_table(table, "csv") == "Region,Sales,Sales\nRegion,2023,2024\nNorth | East,10,12\n"
    assert render_table(table, "markdown") == (
        "| Region | Sales 2023 | Sales 2024 |\n| --- | --- | --- |\n| North \\| East | 10 | 12 |"
    )
    assert json.loads(render_table(table, "json"))[1] == ["Region", "2023", "2024"]


def test_html_from_a_model_parses_into_the_same_cells():
    """The VLM seam: a model's HTML (spans included) becomes the cell model, and renders back the same."""
    table = _merged_table()
    [parsed] = parse_html_tables("Here is the table:\n" + to_html(table) + "\nDone.")
    assert (parsed.n_rows, parsed.n_cols, parsed.header_rows) == (3, 3, 2)
    assert [(c.row, c.col, c.row_span, c.col_span, c.text) for c in parsed.cells] == [
        (c.row, c.col, c.row_span, c.col_span, c.text) for c in table.cells
    ]
    assert parse_html_tables("no table here") == []


def test_table_running_over_a_page_break_is_linked(settings: Settings):
    """us-020: Table A-1 starts on page 2 and goes on at the top of page 3 with the same columns."""
    result = extract_tables(icdar("us-020"), pages="2-3", settings=settings)
    first, second = result.tables
    assert (first.page, second.page) == (2, 3) and first.n_cols == second.n_cols == 7
    assert first.continued_from is None
    assert second.continued_from is not None and (second.continued_from.page, second.continued_from.index) == (2, 0)
    assert result.message == "Found 2 tables in pages 2-3 (on pages 2-3)."
