"""Reading a document: the use case behind the `read_document` tool and `mcp-docvl read`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from mcp_docvl.config import Settings
from mcp_docvl.cursor import encode_cursor
from mcp_docvl.engines import Engine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.extract.render import Format
from mcp_docvl.limits import Deadline, stopped_for_time
from mcp_docvl.models import PageContent, ReadDocumentResult
from mcp_docvl.page_ranges import PageSpec
from mcp_docvl.pipeline.session import Session, open_session
from mcp_docvl.sources import Source
from mcp_docvl.tokens import chars_within, estimate_tokens

ProgressCallback = Callable[[int, int], None]


def read_document(source: str | Source, pages: PageSpec = None, format: Format = "markdown",
                  max_chars: int | None = None, password: str | None = None, cursor: str | None = None,
                  settings: Settings | None = None, engine: Engine | None = None,
                  progress: ProgressCallback | None = None, max_tokens: int | None = None,
                  include_furniture: bool = False, deadline: float | None = None) -> ReadDocumentResult:
    """Read `source` (path, URL, data: URI/base64, or a loaded `Source`) and return its pages as content.

    The output is capped at `max_chars` characters (default from settings); when cut, `next_cursor` continues
    exactly where it stopped; `max_tokens` caps it by estimated tokens (see `mcp_docvl.tokens`) as well.
    Page furniture (running heads, page numbers, footers, line numbers) is left out unless `include_furniture`.
    `deadline` (a `time.monotonic()` instant) stops it starting pages it would not finish in time; the pages
    done come back with `next_cursor` for the rest.
    """
    settings = settings or Settings.from_env()
    if format not in ("markdown", "text"):
        raise InvalidArgument(f"Unknown format {format!r}.", "Use 'markdown' or 'text'.")
    budget = settings.max_output_chars if max_chars is None else max_chars
    if budget < 1:
        raise InvalidArgument("max_chars must be at least 1.", "Pass a positive number, e.g. 20000.")
    if max_tokens is not None and max_tokens < 1:
        raise InvalidArgument("max_tokens must be at least 1.", "Pass a positive number, e.g. 8000.")
    with open_session(source, settings, password=password, engine=engine) as session:
        selected, (_, skip_chars) = session.select(pages, cursor)
        return read_pages(session, selected, format, budget, skip_chars, progress, max_tokens, include_furniture,
                          Deadline(deadline))


def read_pages(session: Session, selected: list[int], fmt: Format, budget: int, skip_chars: int = 0,
               progress: ProgressCallback | None = None, max_tokens: int | None = None,
               include_furniture: bool = False, deadline: Deadline | None = None) -> ReadDocumentResult:
    """Pages `selected` of the session's document as content, within `budget` characters (and `max_tokens`), with
    page furniture only when `include_furniture`."""
    sha256 = session.source.sha256
    out: list[PageContent] = []
    used = 0
    used_tokens = 0
    token_budget = max_tokens if max_tokens is not None else float("inf")
    next_cursor = None
    continuation = None
    limit = session.settings.max_pages_per_call
    for position, number in enumerate(selected):
        if position >= limit:
            next_cursor = encode_cursor(sha256, number, 0)
            continuation = (f"Stopped after {limit} pages (the per-call page limit); pages {number}-{selected[-1]} "
                            "were not read. Call again with cursor=next_cursor to continue.")
            break
        if used >= budget or used_tokens >= token_budget:
            limit_text = f"{budget:,} characters" if used >= budget else f"about {max_tokens:,} tokens"
            next_cursor = encode_cursor(sha256, number, 0)
            continuation = (f"Output reached {limit_text}; pages {number}-{selected[-1]} were not read. "
                            "Call again with cursor=next_cursor, or raise max_chars/max_tokens.")
            break
        if deadline is not None and deadline.no_time_for_another_page():
            next_cursor = encode_cursor(sha256, number, skip_chars)
            continuation = stopped_for_time(session.settings, f"pages {number}-{selected[-1]} were not read. Call "
                                            "again with cursor=next_cursor to continue (or with fewer pages).")
            break
        page = session.pages.rendered(number, fmt, include_furniture)
        content = page.content
        content_tokens = page.tokens
        if skip_chars:
            content = content[skip_chars:]
            content_tokens = estimate_tokens(content)
        remaining = budget - used
        if max_tokens is not None:
            tokens_left = int(token_budget - used_tokens)
            remaining = min(remaining, max(1, chars_within(content, tokens_left, content_tokens)))
        complete = True
        if len(content) > remaining:
            cut = _cut_point(content, remaining)
            next_cursor = encode_cursor(sha256, number, skip_chars + cut)
            limit_text = f"{budget:,} characters" if used + len(content) > budget else f"about {max_tokens:,} tokens"
            continuation = (f"Output cut at {limit_text} inside page {number} "
                            f"({len(content) - cut:,} characters of it left"
                            f"{f', then pages up to {selected[-1]}' if number != selected[-1] else ''}). "
                            "Call again with cursor=next_cursor, or raise max_chars/max_tokens.")
            content = content[:cut]
            content_tokens = estimate_tokens(content)
            complete = False
        out.append(PageContent(page=number, method=page.method, confidence=page.confidence, width=round(page.width, 2),
                               height=round(page.height, 2), unit=page.unit, content=content, complete=complete,
                               warnings=page.warnings))
        used += len(content)
        used_tokens += content_tokens
        skip_chars = 0
        if deadline is not None:
            deadline.page_done()
        if progress:
            progress(position + 1, len(selected))
        if not complete:
            break
    return ReadDocumentResult(
        document=session.info, format=fmt, pages=out,
        methods=dict(Counter(p.method for p in out)), truncated=next_cursor is not None,
        next_cursor=next_cursor, continuation=continuation, estimated_tokens=used_tokens,
    )


def _cut_point(content: str, remaining: int) -> int:
    """Where to cut so the piece ends at a paragraph or line break when one is near, never past `remaining`."""
    if remaining <= 0:
        return 0
    for sep in ("\n\n", "\n", " "):
        at = content.rfind(sep, 0, remaining)
        if at >= remaining * 0.8:
            return at + len(sep)
    return remaining

