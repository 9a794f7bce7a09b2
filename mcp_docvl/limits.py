"""Time limits on a tool call, and the errors every limit raises.

Each error names the limit, its value and the flag / environment variable that raises it, so an agent (or its
user) knows whether to split the work or reconfigure. Byte, page and pixel limits are checked where the data is
(sources/, reader.py, documents/); time limits are enforced here: in a worker process by the parent killing it
(workers.py), in-process cooperatively between pages (`CallClock`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mcp_docvl.config import Settings
from mcp_docvl.errors import LimitExceeded

# Most pages a document may have. The longest genuine documents (statute books, parts catalogues) run to tens of
# thousands of pages; a count beyond this comes from a header that lies (an APNG's acTL, a PDF's page tree), and
# every page range, completion and outline is sized by it, so it is refused before anything is built from it.
MAX_DOCUMENT_PAGES = 100_000


def too_many_pages(count: int) -> LimitExceeded:
    return LimitExceeded(
        f"The document claims {count:,} pages, over the limit of {MAX_DOCUMENT_PAGES:,} pages a document may have.",
        "The file's page count is probably forged; split a genuine document into parts of fewer pages.",
    )


def call_time_exceeded(settings: Settings, when: str) -> LimitExceeded:
    return LimitExceeded(
        f"The call took longer than the call_timeout limit of {settings.call_timeout:g} s ({when}); it was stopped.",
        "Read fewer pages per call (`pages`), or raise --call-timeout (DOCVL_CALL_TIMEOUT).",
    )


def page_time_exceeded(settings: Settings, page_position: int) -> LimitExceeded:
    return LimitExceeded(
        f"Page {page_position} of the call took longer than the page_timeout limit of {settings.page_timeout:g} s "
        "to parse or recognise; it was stopped.",
        "The page is probably hostile or very complex; skip it with `pages`, or raise --page-timeout "
        "(DOCVL_PAGE_TIMEOUT).",
    )


class CallClock:
    """Cooperative time limits for in-process calls: checked each time a page completes (via progress)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._start = self._last = time.monotonic()

    def check(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last > self._settings.page_timeout:
            raise page_time_exceeded(self._settings, done)
        if now - self._start > self._settings.call_timeout:
            raise call_time_exceeded(self._settings, f"after {done} page(s)")
        self._last = now

    def wrap(self, progress: Callable[[int, int], None]) -> Callable[[int, int], None]:
        def checked(done: int, total: int) -> None:
            # After the last page the work is done: returning it beats failing over a limit that no longer matters.
            if done < total:
                self.check(done)
            progress(done, total)

        return checked
