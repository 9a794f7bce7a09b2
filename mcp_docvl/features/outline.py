"""A document's outline: what is where and what it costs to read, so an agent can plan before reading.

Title, bookmarks (the PDF's own table of contents), headings found on the pages, and per page its estimated
tokens, headings and tables. Pages come from the one page pipeline and its cache, so an outline followed by
read_document (or extract_table) does each page's work once and sees the same page, tables included. Pages that
need recognition (scans) are only recognised when asked to (`recognise=True`): otherwise they are listed as
such, so an outline of a long scan stays quick.
"""

from __future__ import annotations

from mcp_docvl.config import Settings
from mcp_docvl.cursor import encode_cursor
from mcp_docvl.engines import Engine
from mcp_docvl.extract.render import join_lines, render_blocks
from mcp_docvl.features.read import ProgressCallback
from mcp_docvl.limits import Deadline, stopped_for_time
from mcp_docvl.models import DocumentOutline, OutlineEntry, PageSummary
from mcp_docvl.page_ranges import PageSpec
from mcp_docvl.pipeline.session import open_session
from mcp_docvl.sources import Source
from mcp_docvl.tokens import estimate_tokens


def document_outline(source: str | Source, pages: PageSpec = None, recognise: bool = False,
                     password: str | None = None, cursor: str | None = None, settings: Settings | None = None,
                     engine: Engine | None = None, progress: ProgressCallback | None = None,
                     deadline: float | None = None) -> DocumentOutline:
    """Outline `source`: bookmarks, headings and per-page token estimates for `pages` (default all).

    `deadline` (a `time.monotonic()` instant) stops it starting pages it would not finish in time."""
    settings = settings or Settings.from_env()
    with open_session(source, settings, password=password, engine=engine) as session:
        selected, _ = session.select(pages, cursor)
        info = session.info
        bookmarks = [OutlineEntry(level=level + 1, title=title, page=page)
                     for level, title, page in session.doc.bookmarks() if title]
        summaries: list[PageSummary] = []
        headings: list[OutlineEntry] = []
        unrecognised: list[int] = []
        todo = selected[: settings.max_pages_per_call]
        clock = Deadline(deadline)
        done = 0
        for position, number in enumerate(todo):
            if clock.no_time_for_another_page():
                break
            page_uri = f"{session.uri}/pages/{number}"
            page = session.pages.page(number, recognise=recognise)
            if page is None:
                unrecognised.append(number)
                summaries.append(PageSummary(page=number, method=None, estimated_tokens=None, headings=0, tables=0,
                                             uri=page_uri))
            else:
                page_headings = [OutlineEntry(level=max(1, b.level), title=join_lines([ln.text for ln in b.lines]),
                                              page=number) for b in page.blocks if b.kind == "heading"]
                headings.extend(page_headings)
                summaries.append(PageSummary(
                    page=number, method=page.method,
                    estimated_tokens=estimate_tokens(render_blocks(page.blocks, "markdown")),
                    headings=len(page_headings), tables=sum(b.kind == "table" for b in page.blocks), uri=page_uri,
                ))
            clock.page_done()
            done += 1
            if progress:
                progress(position + 1, len(todo))
        rest = selected[done:]
        if rest and done < len(todo):
            why = stopped_for_time(settings, f"pages {rest[0]}-{rest[-1]} were not outlined. Call again with "
                                   "cursor=next_cursor.")
        else:
            why = (f"Outlined {done} pages (the per-call page limit); pages {rest[0]}-{rest[-1]} were not "
                   "outlined. Call again with cursor=next_cursor." if rest else None)
        title = info.title or next((h.title for h in headings if h.level == 1), None) or (
            bookmarks[0].title if bookmarks else None)
        return DocumentOutline(
            document=info, uri=session.uri, title=title, bookmarks=bookmarks, headings=headings, pages=summaries,
            estimated_tokens=sum(p.estimated_tokens or 0 for p in summaries), unrecognised_pages=unrecognised,
            truncated=bool(rest), next_cursor=encode_cursor(session.source.sha256, rest[0], 0) if rest else None,
            continuation=why,
        )
