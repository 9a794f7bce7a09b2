"""A table as JSON rows, CSV, Markdown or HTML.

HTML keeps merged cells as rowspan/colspan. The flat formats (JSON rows, CSV, Markdown) have no merged cells, so
a merged cell's text is repeated in every slot it covers: each row then reads on its own ("to air" stays over
both of its columns, a group label stays on each of its rows), which is what a program or a spreadsheet needs.
"""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Literal

from mcp_docvl.documents.model import Table, TableCell

TableFormat = Literal["json", "csv", "markdown", "html"]
FORMATS: tuple[str, ...] = ("json", "csv", "markdown", "html")


def expanded_rows(table: Table, start: int = 0, end: int | None = None) -> list[list[str]]:
    """Rows `start`..`end` (exclusive) as lists of strings, merged cells repeated in every slot they cover."""
    end = table.n_rows if end is None else end
    grid = table.grid()
    return [[_flat(cell.text) if cell else "" for cell in grid[r]] for r in range(start, end)]


def render_table(table: Table, fmt: TableFormat, start: int = 0, end: int | None = None) -> str:
    """Rows `start`..`end` of `table` in `fmt`; header rows are rendered as headers when they fall in the range."""
    end = table.n_rows if end is None else end
    if fmt == "json":
        return json.dumps(expanded_rows(table, start, end), ensure_ascii=False)
    if fmt == "csv":
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(expanded_rows(table, start, end))
        return out.getvalue()
    if fmt == "markdown":
        return to_markdown(table, start, end)
    if fmt == "html":
        return to_html(table, start, end)
    raise ValueError(f"unknown table format {fmt!r}")


def to_markdown(table: Table, start: int = 0, end: int | None = None) -> str:
    """A Markdown table; the header rows head every part of a paged table."""
    end = table.n_rows if end is None else end
    if table.header_rows:
        # Markdown has exactly one header line: stacked header rows are joined per column.
        stacked = expanded_rows(table, 0, table.header_rows)
        header = [_join_unique([row[c] for row in stacked]) for c in range(table.n_cols)]
        body = expanded_rows(table, max(start, table.header_rows), end)
    else:
        rows = expanded_rows(table, start, end)
        if not rows:
            return ""
        header, body = rows[0], rows[1:]
    lines = [_md_row(header), "|" + "|".join(" --- " for _ in header) + "|"]
    lines.extend(_md_row(row) for row in body)
    return "\n".join(lines)


def to_html(table: Table, start: int = 0, end: int | None = None) -> str:
    end = table.n_rows if end is None else end
    by_row: dict[int, list[TableCell]] = {}
    for cell in table.cells:
        # A cell that starts above the range but reaches into it is shown from the range's first row.
        first = max(cell.row, start)
        if first < end and cell.row + cell.row_span > start:
            by_row.setdefault(first, []).append(cell)
    head, body = [], []
    for r in range(start, end):
        parts = []
        for cell in sorted(by_row.get(r, []), key=lambda c: c.col):
            tag = "th" if r < table.header_rows else "td"
            rows = min(cell.row + cell.row_span, end) - max(cell.row, start)
            attrs = (f' rowspan="{rows}"' if rows > 1 else "") + (
                f' colspan="{cell.col_span}"' if cell.col_span > 1 else "")
            parts.append(f"<{tag}{attrs}>{html.escape(_flat(cell.text))}</{tag}>")
        (head if r < table.header_rows else body).append("<tr>" + "".join(parts) + "</tr>")
    out = ["<table>"]
    if head:
        out.append("<thead>" + "".join(head) + "</thead>")
    if body:
        out.append("<tbody>" + "".join(body) + "</tbody>")
    out.append("</table>")
    return "".join(out)


def _flat(text: str) -> str:
    return " ".join(text.split())


def _join_unique(texts: list[str]) -> str:
    out: list[str] = []
    for text in texts:
        if text and (not out or out[-1] != text):
            out.append(text)
    return " ".join(out)


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(c.replace("\\", "\\\\").replace("|", "\\|") for c in cells) + " |"
