import pytest

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.page_ranges import parse_pages


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (None, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ("1-3,7", [1, 2, 3, 7]),
        ("7, 1-2", [7, 1, 2]),
        ("8-", [8, 9, 10]),
        ("-2", [1, 2]),
        ("last", [10]),
        ("2,2,1-3", [2, 1, 3]),
        ("all", list(range(1, 11))),
    ],
)
def test_valid_selections(spec, expected):
    assert parse_pages(spec, 10) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("11", "out of range: the document has 10 pages"),
        ("0", "out of range"),
        ("5-3", "runs backwards"),
        ("abc", "is not a page number"),
        (",", "selects no page"),
    ],
)
def test_invalid_selections_say_why(spec, message):
    with pytest.raises(InvalidArgument) as info:
        parse_pages(spec, 10)
    assert message in str(info.value)
