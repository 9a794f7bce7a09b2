"""Page selections like "1-3,7,10-" (1-based, inclusive), a page number (3) or a list of them ([1, 2])."""

from __future__ import annotations

from collections.abc import Sequence

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.limits import MAX_DOCUMENT_PAGES, too_many_pages

# What a caller may pass as `pages`: the string forms, one page number, or a list of page numbers.
PageSpec = str | int | Sequence[int] | None
PAGES_FORMS = 'a page selection like "1-3,7", "5-" or "last", a page number like 3, or a list like [1, 2]'


def pages_text(spec: PageSpec) -> str | None:
    """`spec` as the one string form ("1-3,7"); a clear error for anything that is not a page selection."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, int) and not isinstance(spec, bool):
        return str(spec)
    if isinstance(spec, Sequence) and all(isinstance(n, int) and not isinstance(n, bool) for n in spec):
        if not spec:
            raise InvalidArgument("pages=[] selects no page.", f"Pass {PAGES_FORMS}, or leave pages out for all.")
        return ",".join(map(str, spec))
    raise InvalidArgument(f"pages={spec!r} is not a page selection.", f"Pass {PAGES_FORMS}.")


def parse_pages(spec: PageSpec, page_count: int) -> list[int]:
    """Return the selected 1-based page numbers in order, without duplicates.

    Accepts single pages, ranges `a-b`, open ranges `a-` and `-b` (like a print dialog), `last` and `all`; a page
    number or a list of page numbers means those pages. Every bound is checked against `page_count` (itself at
    most MAX_DOCUMENT_PAGES) before a list is built.
    """
    if page_count > MAX_DOCUMENT_PAGES:
        raise too_many_pages(page_count)
    spec = pages_text(spec)
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
