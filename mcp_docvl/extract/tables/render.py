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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Literal

from mcp_docvl.documents.bidi import mostly_rtl
from mcp_docvl.documents.model import Table, TableCell, Word

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


@dataclass(frozen=True, slots=True)
class FormSettings:
    """When a ruled two-column grid is a form (a box of labelled fields) rather than a table of records."""

    # A form has at least this many fields: two rows of label and value are as often a table's header and body.
    min_fields: int = 3


FORM = FormSettings()


def form_fields(table: Table, settings: FormSettings = FORM) -> list[tuple[str, str]] | None:
    """(label, value) pairs when `table` is a form, else None.

    A form is two columns where every row pairs a label set in an emphasised face (bold or italic) with a value set
    plainly, the same column holding the labels in every row, with no merged cells. Such a box has no header row:
    its first row is a field like the others, where a table's header is set apart from its body across all its
    columns. Markdown has no table without a header line, so a form is better shown as its fields, each label
    followed by its value in reading order. The labels are in the column read first (the right one in a
    right-to-left script): emphasised cells on the side read last are the values of a table, not its labels.
    """
    if table.n_cols != 2 or table.n_rows < settings.min_fields or len(table.cells) != 2 * table.n_rows:
        return None
    if any(c.row_span != 1 or c.col_span != 1 for c in table.cells):
        return None
    by_row = sorted(table.cells, key=lambda c: (c.row, c.col))
    pairs = [(by_row[2 * r], by_row[2 * r + 1]) for r in range(table.n_rows)]
    # The label column is the one read first; its cells must all hold text.
    label_col = 1 if mostly_rtl(table.words) else 0
    if any(not pair[label_col].text.strip() for pair in pairs):
        return None
    words = sorted(table.words, key=_middle_y)
    middles = [_middle_y(w) for w in words]
    for pair in pairs:  # row by row, so a table of records stops at its first row
        if _emphasised(pair[label_col], words, middles) is not True:
            return None
        if _emphasised(pair[1 - label_col], words, middles) is True:
            return None
    return [(_flat(pair[label_col].text), _flat(pair[1 - label_col].text)) for pair in pairs]


def form_markdown(fields: list[tuple[str, str]]) -> str:
    """A form's fields as the page reads them: each label, then its value, as paragraphs of their own (the text
    stays as printed; the pairs stay in the table for `extract_table`)."""
    return "\n\n".join(text for label, value in fields for text in (label, value) if text)


def _middle_y(word: Word) -> float:
    return (word.bbox[1] + word.bbox[3]) / 2


def _emphasised(cell: TableCell, words: list[Word], middles: list[float]) -> bool | None:
    """Whether every word of `cell` is bold or italic; None for an empty cell. `words` are sorted by their middle
    height, `middles`: so only the cell's band of the table is looked at."""
    x0, y0, x1, y1 = cell.bbox
    band = words[bisect_left(middles, y0 - 1): bisect_right(middles, y1 + 1)]
    inside = [w for w in band if x0 - 1 <= (w.bbox[0] + w.bbox[2]) / 2 <= x1 + 1 and any(ch.isalnum() for ch in w.text)]
    if not inside:
        return None
    return all(w.bold for w in inside) or all(w.italic for w in inside)


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
