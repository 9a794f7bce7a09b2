"""The one place a vision-language model reads tables: ask for HTML of a page's tables, parse them into cells.

The model's HTML carries rowspan/colspan, so merged cells come back as they were drawn. Cell boxes are not known
from HTML: every cell gets the box the model was shown (the page, in page units) so citations still point at it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from PIL import Image

from mcp_docvl.documents.model import BBox, Table, TableCell
from mcp_docvl.engines.base import GenerativeEngine

NO_TABLE = "NO TABLE"
TABLES_PROMPT = (
    "Transcribe every table in this image as an HTML <table>, top to bottom. Use <th> for header cells and <td> "
    "for the rest, rowspan and colspan for merged cells, the text exactly as printed, no styling, no commentary. "
    f"If the image holds no table, reply {NO_TABLE}."
)
_TABLE_TAG = re.compile(r"<(/?)table\b[^>]*>", re.IGNORECASE)


@dataclass(slots=True)
class VlmTables:
    """What the model answered: its tables, and whether it said plainly that there were none."""

    tables: list[Table] = field(default_factory=list)
    # False when the reply held neither a table nor NO TABLE (a model that did not follow the prompt).
    understood: bool = True


def tables_from_vlm(engine: GenerativeEngine, image: Image.Image, bbox: BBox, max_new_tokens: int = 4096) -> VlmTables:
    """Ask `engine` for the tables in `image` (a page, or a region of one, whose box in page units is `bbox`)."""
    reply = engine.generate(TABLES_PROMPT, [image], max_new_tokens=max_new_tokens)
    tables = parse_html_tables(reply, bbox)
    return VlmTables(tables=tables, understood=bool(tables) or NO_TABLE.lower() in reply.lower())


def parse_html_tables(markup: str, bbox: BBox = (0.0, 0.0, 0.0, 0.0)) -> list[Table]:
    """Every top-level <table> in `markup` that has cells, in order (a table nested in a cell stays its text).

    A table whose closing tag is missing (a reply cut off by the token limit) is left out rather than returned
    with only the rows that were written.
    """
    return [table for span in _top_level_tables(markup) if (table := _parse(span, bbox)) is not None]


def _top_level_tables(markup: str) -> list[str]:
    spans: list[str] = []
    depth = 0
    start = 0
    for tag in _TABLE_TAG.finditer(markup):
        if not tag.group(1):
            if depth == 0:
                start = tag.start()
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                spans.append(markup[start:tag.end()])
    return spans


def _parse(span: str, bbox: BBox) -> Table | None:
    parser = _TableParser()
    parser.feed(span)
    parser.close()
    if not parser.rows:
        return None
    cells: list[TableCell] = []
    taken: set[tuple[int, int]] = set()
    header_rows = 0
    for r, row in enumerate(parser.rows):
        c = 0
        for text, row_span, col_span, _ in row:
            while (r, c) in taken:
                c += 1
            for dr in range(row_span):
                for dc in range(col_span):
                    taken.add((r + dr, c + dc))
            cells.append(TableCell(row=r, col=c, row_span=row_span, col_span=col_span, text=text, bbox=bbox))
            c += col_span
        if r == header_rows and row and all(h for *_, h in row):
            header_rows += 1
    n_rows = max(r for r, _ in taken) + 1
    n_cols = max(c for _, c in taken) + 1
    # Slots no cell covers (ragged rows) become empty cells, so the grid stays complete.
    for r in range(n_rows):
        for c in range(n_cols):
            if (r, c) not in taken:
                cells.append(TableCell(row=r, col=c, row_span=1, col_span=1, text="", bbox=bbox))
    cells.sort(key=lambda cell: (cell.row, cell.col))
    return Table(bbox=bbox, n_rows=n_rows, n_cols=n_cols, cells=cells, header_rows=min(header_rows, n_rows))


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[tuple[str, int, int, bool]]] = []
        self._cell: list[str] | None = None
        self._spans = (1, 1, False)
        self._depth = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "table":
            self._depth += 1
        if self._depth != 1:
            self._space()  # nested tables are read as text of their cell, their cells apart
            return
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            if not self.rows:
                self.rows.append([])
            values = dict(attrs)
            self._cell = []
            self._spans = (_span(values.get("rowspan")), _span(values.get("colspan")), tag == "th")
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self._depth > 1:
            self._space()
        if tag in ("td", "th") and self._cell is not None and self._depth == 1:
            text = " ".join("".join(self._cell).split())
            self.rows[-1].append((text, *self._spans))
            self._cell = None
        if tag == "table":
            self._depth -= 1

    def _space(self) -> None:
        if self._cell is not None:
            self._cell.append(" ")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1
