"""Page selections like "1-3,7,10-" (1-based, inclusive)."""

from __future__ import annotations

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.limits import MAX_DOCUMENT_PAGES, too_many_pages


def parse_pages(spec: str | None, page_count: int) -> list[int]:
    """Return the selected 1-based page numbers in order, without duplicates.

    Accepts single pages, ranges `a-b`, open ranges `a-` and `-b` (like a print dialog), `last` and `all`.
    Every bound is checked against `page_count` (itself at most MAX_DOCUMENT_PAGES) before a list is built.
    """
    if page_count > MAX_DOCUMENT_PAGES:
        raise too_many_pages(page_count)
    if spec is None or not str(spec).strip() or str(spec).strip().lower() == "all":
        return list(range(1, page_count + 1))
    selected: list[int] = []
    seen: set[int] = set()
    for raw in str(spec).replace(" ", "").split(","):
        if not raw:
            continue
        start, end = _parse_part(raw.lower(), page_count, spec)
        if start > end:
            raise InvalidArgument(f"The page range {raw!r} runs backwards.", f"Write it as {end}-{start}.")
        for number in range(start, end + 1):
            if number not in seen:
                seen.add(number)
                selected.append(number)
    if not selected:
        raise InvalidArgument(f"The page selection {spec!r} selects no page.", 'Use e.g. "1-3,7".')
    return selected


def _number(text: str, page_count: int, spec: str) -> int:
    if text == "last":
        return page_count
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgument(f"{text!r} in pages={spec!r} is not a page number.", 'Use e.g. "1-3,7".') from None
    if not 1 <= value <= page_count:
        raise InvalidArgument(
            f"Page {text} is out of range: the document has {page_count} page{'s' if page_count != 1 else ''}.",
            f"Choose pages between 1 and {page_count}.",
        )
    return value


def _parse_part(part: str, page_count: int, spec: str) -> tuple[int, int]:
    if part.startswith("-") and part[1:].isdigit() and "-" not in part[1:]:
        return 1, _number(part[1:], page_count, spec)
    if "-" in part:
        left, right = part.split("-", 1)
        start = _number(left, page_count, spec) if left else 1
        end = _number(right, page_count, spec) if right else page_count
        return start, end
    value = _number(part, page_count, spec)
    return value, value
