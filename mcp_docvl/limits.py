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
    """Cooperative time limits for in-process calls: checked each time a page completes (via progress).

    A call that stops itself at its deadline (`Deadline`) returns the pages it has done; only calls that cannot
    (`stops_itself=False`) are failed here when they overrun the call limit.
    """

    def __init__(self, settings: Settings, stops_itself: bool = False) -> None:
        self._settings = settings
        self._stops_itself = stops_itself
        self._start = self._last = time.monotonic()

    def check(self, done: int) -> None:
        now = time.monotonic()
        if now - self._last > self._settings.page_timeout:
            raise page_time_exceeded(self._settings, done)
        if not self._stops_itself and now - self._start > self._settings.call_timeout:
            raise call_time_exceeded(self._settings, f"after {done} page(s)")
        self._last = now

    def wrap(self, progress: Callable[[int, int], None]) -> Callable[[int, int], None]:
        def checked(done: int, total: int) -> None:
            # After the last page the work is done: returning it beats failing over a limit that no longer matters.
            if done < total:
                self.check(done)
            progress(done, total)

        return checked


# A page is not started when the slowest page so far, times this, would end past the deadline: pages of one
# document vary, and a page begun too late is killed with the call (in a worker) and its work lost.
_NEXT_PAGE_MARGIN = 1.5


class Deadline:
    """When a paged call must stop starting pages, so it returns what it has done inside the call time limit.

    `at` is a `time.monotonic()` instant (the same clock in the server and its worker processes); None: no limit.
    The first page is always done, so every call makes progress.
    """

    def __init__(self, at: float | None) -> None:
        self.at = at
        self._slowest = 0.0
        self._started = time.monotonic()
        self._pages = 0

    def page_done(self) -> None:
        now = time.monotonic()
        self._slowest = max(self._slowest, now - self._started)
        self._started = now
        self._pages += 1

    def no_time_for_another_page(self) -> bool:
        """True when one more page would probably end past the deadline (never before the first page)."""
        if self.at is None or self._pages == 0:
            return False
        return time.monotonic() + _NEXT_PAGE_MARGIN * self._slowest > self.at


def stopped_for_time(settings: Settings, rest: str) -> str:
    """The continuation of a call that stopped at the call time limit; `rest` says what was not done."""
    return (f"Stopped before the call time limit ({settings.call_timeout:g} s, --call-timeout / DOCVL_CALL_TIMEOUT) "
            f"ran out; {rest}")


def describe_limits(settings: Settings) -> str:
    """The limits an agent should plan around, in one sentence per limit, from the settings (for descriptions)."""
    return (f"Limits: at most {settings.max_pages_per_call} pages a call (continue with the cursor or `pages`); "
            f"documents up to {settings.max_bytes / 2**20:g} MiB; {settings.call_timeout:g} s a call, after which "
            "the pages done so far come back with a cursor for the rest. Pages without a text layer (scans, photos) "
            "are recognised by OCR on the CPU, which costs seconds a page where a text layer costs milliseconds: "
            "on long scans ask for a few pages at a time.")
