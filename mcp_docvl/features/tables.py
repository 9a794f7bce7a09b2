"""Extracting tables: the use case behind the `extract_table` tool.

Each page comes from the one page pipeline and its cache (`pipeline.pages`: text layer when usable, the engine
otherwise); its table blocks carry the cell structure. With a vision-language engine, a page that needs the
engine (a scan, an image) is shown to the model, which answers with HTML tables (`features/vlm_tables.py`);
those tables say `method: "vlm"`. Text-layer pages keep the rules' tables. A table
whose rows do not fit the cell budget is returned in row ranges with a cursor; nothing is cut silently.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_docvl.config import Settings
from mcp_docvl.cursor import encode_cursor
from mcp_docvl.documents.model import Page, Table
from mcp_docvl.engines import Engine
from mcp_docvl.engines.base import GenerativeEngine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.extract.tables.render import FORMATS, render_table
from mcp_docvl.features.read import ProgressCallback
from mcp_docvl.features.vlm_tables import tables_from_vlm
from mcp_docvl.limits import Deadline, stopped_for_time
from mcp_docvl.models import ExtractTablesResult, TableCellResult, TableRef, TableResult
from mcp_docvl.page_ranges import PageSpec
from mcp_docvl.pipeline.session import Session, open_session
from mcp_docvl.sources import Source

# Default budget of cells per call: big enough for most tables, small enough for an agent's context.
MAX_CELLS = 2000
# A table that starts this high on a page and one that ends this low on the previous page, with as many
# columns, are one table broken by the page.
_TOP = 0.3
_BOTTOM = 0.6


def extract_tables(source: str | Source, pages: PageSpec = None, table_index: int | None = None,
                   format: str = "json", max_cells: int = MAX_CELLS, password: str | None = None,
                   cursor: str | None = None, settings: Settings | None = None, engine: Engine | None = None,
                   progress: ProgressCallback | None = None, deadline: float | None = None) -> ExtractTablesResult:
    """Find the tables in `source` (path, URL, data: URI/base64, or a loaded `Source`) with their cells.

    `table_index` (0-based) keeps only the n-th table of each selected page. At most `max_cells` cells are
    returned per call; a larger table continues with `next_cursor`. `deadline` (a `time.monotonic()` instant)
    stops it starting pages it would not finish in time; the pages done come back with `next_cursor`.
    """
    settings = settings or Settings.from_env()
    if format not in FORMATS:
        raise InvalidArgument(f"Unknown table format {format!r}.", f"Use one of: {', '.join(FORMATS)}.")
    if max_cells < 1:
        raise InvalidArgument("max_cells must be at least 1.", f"Pass a positive number, e.g. {MAX_CELLS}.")
    if table_index is not None and table_index < 0:
        raise InvalidArgument("table_index must be 0 or more.", "Pass 0 for the first table on a page.")
    with open_session(source, settings, password=password, engine=engine) as session:
        todo, start = session.select(pages, cursor, positions=3)
        return _extract(session, todo, start, table_index, format, max_cells, progress, Deadline(deadline))


def _extract(session: Session, todo: list[int], start: tuple[int, ...], table_index: int | None, fmt: str,
             max_cells: int, progress: ProgressCallback | None, deadline: Deadline) -> ExtractTablesResult:
    first_page, first_table, first_row = start
    settings, sha256 = session.settings, session.source.sha256
    out: list[TableResult] = []
    searched: list[int] = []
    # Pages where the model's reply held no table and did not say there was none.
    unread: list[int] = []
    used = 0
    next_cursor = continuation = None
    # The last table of the page before, for linking tables that run over a page break.
    previous: tuple[int, int, Table, float] | None = None
    # Per searched page: how many tables it has (for a table_index past the last one).
    counts: dict[int, int] = {}
    for position, number in enumerate(todo):
        if position >= settings.max_pages_per_call:
            next_cursor = encode_cursor(sha256, number, 0, 0)
            continuation = (f"Stopped after {settings.max_pages_per_call} pages (the per-call page limit); pages "
                            f"{number}-{todo[-1]} were not searched. Call again with cursor=next_cursor.")
            break
        if deadline.no_time_for_another_page():
            next_cursor = encode_cursor(sha256, number, 0, 0)
            continuation = stopped_for_time(settings, f"pages {number}-{todo[-1]} were not searched. Call again with "
                                            "cursor=next_cursor to continue (or with fewer pages).")
            break
        found = _page_tables(session, number)
        deadline.page_done()
        page, tables = found.page, found.tables
        searched.append(number)
        counts[number] = len(tables)
        if not found.understood:
            unread.append(number)
        for index, table in enumerate(tables):
            linked = None
            if index == 0 and previous is not None and previous[0] == number - 1:
                prev_number, prev_index, prev_table, prev_height = previous
                if (table.n_cols == prev_table.n_cols and table.bbox[1] < _TOP * page.height
                        and prev_table.bbox[3] > _BOTTOM * prev_height):
                    linked = TableRef(page=prev_number, index=prev_index)
            if (number == first_page and index < first_table) or (table_index is not None and index != table_index):
                continue
            row = first_row if (number, index) == (first_page, first_table) else 0
            if used >= max_cells:
                next_cursor = encode_cursor(sha256, number, index, row)
                break
            end = _rows_that_fit(table, row, max_cells - used)
            if end == row:  # not even one row fits what is left; it opens the next call
                next_cursor = encode_cursor(sha256, number, index, row)
                break
            result = _table_result(table, number, index, found.methods[index], page.unit, row, end, fmt, linked)
            used += len(result.cells)
            out.append(result)
            if end < table.n_rows:
                next_cursor = encode_cursor(sha256, number, index, end)
                break
        previous = (number, len(tables) - 1, tables[-1], page.height) if tables else None
        if progress:
            progress(position + 1, len(todo))
        if next_cursor:
            if continuation is None:
                _, page_part, index_part, row_part = next_cursor.split(".")
                continuation = (f"Stopped at {max_cells:,} cells (max_cells): table {index_part} of page {page_part} "
                                f"from row {row_part} on, and any tables after it, were not returned. Call again "
                                "with cursor=next_cursor, or raise max_cells.")
            break
    return ExtractTablesResult(
        document=session.info, format=fmt, pages=searched, tables=out,
        message=_message(out, searched, table_index, counts) + _unread_note(unread),
        truncated=next_cursor is not None, next_cursor=next_cursor, continuation=continuation,
    )


@dataclass(slots=True)
class _PageTables:
    page: Page
    tables: list[Table]
    # Per table: "text_layer", "ocr" or "vlm" (where its words came from).
    methods: list[str]
    understood: bool = True


def _page_tables(session: Session, number: int) -> _PageTables:
    """The tables of page `number`: from the text layer or OCR words, else (with a VLM engine) from the model.

    A page a vision-language engine would transcribe is not transcribed: extract_table needs its tables, not its
    Markdown, and the table prompt is a request of its own.
    """
    page = session.pages.page(number, recognise=not session.generative)
    # A page the model would read (not built, or built by the engine for read_document) gets the table prompt.
    if page is not None and (page.method == "text_layer" or not session.generative):
        # A text-layer page keeps the rules' tables, found or not: their cells hold the exact text, their recall
        # on born-digital tables is 0.99 (tools/eval_tables.py), and asking the model for every page of running
        # text would make extract_table on a long report one model request a page.
        tables = _table_blocks(page)
        return _PageTables(page, tables, [page.method] * len(tables))
    engine = session.engine
    assert isinstance(engine, GenerativeEngine)  # checked by session.generative
    width, height, unit = session.doc.page_size(number - 1)
    answer = tables_from_vlm(engine, session.image(number, session.settings.ocr_dpi), (0.0, 0.0, width, height),
                             session.settings.vlm_max_new_tokens)
    page = Page(number=number, width=width, height=height, unit=unit, method="vlm", confidence=1.0)
    return _PageTables(page, answer.tables, ["vlm"] * len(answer.tables), answer.understood)


def _table_blocks(page: Page) -> list[Table]:
    return [b.table for b in page.blocks if b.kind == "table" and b.table is not None]


def _unread_note(pages: list[int]) -> str:
    if not pages:
        return ""
    return (f" The vision-language model's reply for page{'s' if len(pages) > 1 else ''} {_span(pages)} held no "
            "HTML table and did not say there was none, so tables there may be missing; check the engine's model "
            "(DOCVL_VLM_MODEL), or read the page with read_document.")


def _rows_that_fit(table: Table, row: int, budget: int) -> int:
    """One past the last row from `row` whose cells still fit `budget` (rows are never split)."""
    per_row = [0] * table.n_rows
    for cell in table.cells:
        per_row[cell.row] += 1
    end, used = row, 0
    while end < table.n_rows and used + per_row[end] <= budget:
        used += per_row[end]
        end += 1
    return end


def _table_result(table: Table, page: int, index: int, method: str, unit: str, start: int, end: int, fmt: str,
                  linked: TableRef | None) -> TableResult:
    cells = [
        TableCellResult(row=c.row, col=c.col, row_span=c.row_span, col_span=c.col_span, text=c.text,
                        bbox=[round(v, 2) for v in c.bbox])
        for c in table.cells if start <= c.row < end
    ]
    return TableResult(
        page=page, index=index, method=method, bbox=[round(v, 2) for v in table.bbox], unit=unit,
        n_rows=table.n_rows, n_cols=table.n_cols, header_rows=table.header_rows, row_start=start, row_end=end,
        complete=start == 0 and end == table.n_rows, continued_from=linked, cells=cells,
        content=render_table(table, fmt, start, end),  # type: ignore[arg-type]
    )


def _message(tables: list[TableResult], pages: list[int], table_index: int | None = None,
             counts: dict[int, int] | None = None) -> str:
    where = f"page {pages[0]}" if len(pages) == 1 else f"pages {_span(pages)}"
    if not pages:
        return "No page was searched."
    if not tables and table_index is not None and counts and any(counts.values()):
        have = "; ".join(f"page {n} has {_tables(c)}" for n, c in counts.items() if c)
        return (f"No page searched has a table {table_index} (table_index counts from 0): {have}. "
                f"Pass a table_index below the count, or leave it out for every table.")
    if not tables:
        return f"No tables were found on {where}."
    on = sorted({t.page for t in tables})
    count = len({(t.page, t.index) for t in tables})
    found = f"Found {count} table{'s' if count != 1 else ''}"
    if len(pages) == 1:
        return f"{found} on {where}."
    return f"{found} in {where} (on page{'s' if len(on) > 1 else ''} {_span(on)})."


def _tables(count: int) -> str:
    return f"{count} table{'s' if count != 1 else ''} ({'0' if count == 1 else f'0-{count - 1}'})"


def _span(numbers: list[int]) -> str:
    """1,2,3,5 -> '1-3, 5'."""
    parts: list[str] = []
    start = prev = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}-{prev}" if prev != start else str(start))
        if n is not None:
            start = prev = n
    return ", ".join(parts)
