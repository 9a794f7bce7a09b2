"""The one place a vision-language model reads a table: ask for HTML of a table crop, parse it into cells.

The model's HTML carries rowspan/colspan, so merged cells come back as they were drawn. Cell boxes are not known
from HTML: every cell gets the crop's box (in page units) so citations still point at the table.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from PIL import Image

from mcp_docvl.documents.model import BBox, Table, TableCell
from mcp_docvl.engines.base import GenerativeEngine
from mcp_docvl.errors import EngineError

TABLE_PROMPT = (
    "Transcribe the table in this image as one HTML <table>. Use <th> for header cells and <td> for the rest, "
    "rowspan and colspan for merged cells, the text exactly as printed, no styling, no commentary."
)


def table_from_vlm(engine: GenerativeEngine, crop: Image.Image, bbox: BBox, max_new_tokens: int = 4096) -> Table:
    """Ask `engine` for the table in `crop` (the table's region of the page, `bbox` in page units)."""
    reply = engine.generate(TABLE_PROMPT, [crop], max_new_tokens=max_new_tokens)
    table = parse_html_table(reply, bbox)
    if table is None:
        raise EngineError("The model did not answer with an HTML table.",
                          "Check the engine's model; the text-layer/OCR table path works without it.")
    return table


def parse_html_table(markup: str, bbox: BBox = (0.0, 0.0, 0.0, 0.0)) -> Table | None:
    """The first <table> in `markup` as a Table (spans placed the way browsers place them), None if there is none."""
    match = re.search(r"<table\b.*?</table\s*>", markup, flags=re.IGNORECASE | re.DOTALL)
    if match is None:
        return None
    parser = _TableParser()
    parser.feed(match.group(0))
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
            return  # nested tables are read as text of their cell
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
        if tag in ("td", "th") and self._cell is not None and self._depth == 1:
            text = " ".join("".join(self._cell).split())
            self.rows[-1].append((text, *self._spans))
            self._cell = None
        if tag == "table":
            self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def _span(value: str | None) -> int:
    try:
        return max(1, min(int(value or 1), 1000))
    except ValueError:
        return 1
