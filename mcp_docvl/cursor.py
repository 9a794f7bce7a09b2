"""The cursor codec: where a cut result stopped, written once for every tool that pages its output.

A cursor is `<first 12 hex digits of the document's sha256>.<position>.<position>...`: the digest ties it to the
exact bytes (a changed document refuses an old cursor), the positions say where to resume (page, then whatever
the tool counts inside a page: characters, table and row). The first position is always a page number.
"""

from __future__ import annotations

from mcp_docvl.errors import InvalidArgument

_DIGEST = 12


def encode_cursor(sha256: str, page: int, *within: int) -> str:
    """The cursor that resumes at `page` (and at `within` positions inside it)."""
    return ".".join([sha256[:_DIGEST], str(page), *map(str, within)])


def decode_cursor(cursor: str, sha256: str, positions: int) -> tuple[int, ...]:
    """The `positions` integers of `cursor` (page first), after checking it belongs to the document `sha256`."""
    try:
        doc_part, *parts = cursor.strip().split(".")
        numbers = tuple(int(p) for p in parts)
    except ValueError:
        numbers = ()
    if len(numbers) != positions or any(n < 0 for n in numbers):
        raise InvalidArgument(f"The cursor {cursor!r} is malformed.", "Pass `next_cursor` from the last result as is.")
    if not doc_part or not sha256.startswith(doc_part):
        raise InvalidArgument("The cursor belongs to another document (or the document changed since).",
                              "Start again without `cursor`.")
    return numbers


def resume(selected: list[int], cursor: str | None, sha256: str, positions: int) -> tuple[list[int], tuple[int, ...]]:
    """The pages of `selected` from the cursor's page on, and the cursor's positions (the first page and zeros
    when there is no cursor)."""
    if not cursor:
        return selected, (selected[0], *([0] * (positions - 1))) if selected else (0,) * positions
    numbers = decode_cursor(cursor, sha256, positions)
    if numbers[0] not in selected:
        raise InvalidArgument("The cursor does not fit this page selection.", "Pass the same `pages` again.")
    return selected[selected.index(numbers[0]):], numbers
