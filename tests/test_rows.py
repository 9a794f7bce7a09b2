from mcp_docvl.documents.model import Word
from mcp_docvl.extract.rows import bands, centred, rows_of


def _word(text: str, x0: float, y0: float, height: float = 10.0) -> Word:
    return Word(text=text, bbox=(x0, y0, x0 + 40.0, y0 + height), size=height)


def _texts(rows: list[list[Word]]) -> list[list[str]]:
    return [[w.text for w in row] for row in rows]


def test_a_label_at_the_top_of_a_tall_value_shares_its_row_by_overlap_not_by_centre():
    # A 10-unit label beside a 16-unit value, tops aligned: level both ways (centres 3 apart, under half of 10).
    level = [_word("Total", 0, 0), _word("12.50", 60, 0, height=16)]
    assert _texts(bands(level)) == [["Total", "12.50"]]
    assert _texts(bands(level, centred)) == [["Total", "12.50"]]
    # A short note set at the foot of a tall label: its extent lies inside the label's (level by overlap), but
    # its centre is 6 below the label's, more than half its own height of 8 (not level by centre).
    low = [_word("Total", 0, 0, height=20), _word("note", 60, 12, height=8)]
    assert _texts(bands(low)) == [["Total", "note"]]
    assert _texts(bands(low, centred)) == [["Total"], ["note"]]


def test_bands_grow_with_the_row_and_stop_at_the_next_line():
    # Words of one line at slightly different heights join one row; the next line, a line height down, does not.
    words = [_word("a", 0, 0), _word("b", 50, 2), _word("c", 100, 4), _word("d", 0, 14), _word("e", 50, 15)]
    assert _texts(bands(words)) == [["a", "b", "c"], ["d", "e"]]


def test_rows_of_reads_each_row_left_to_right_and_never_stacks_two_items():
    # Given right to left; a word right under another one starts a row of its own even when it sits close.
    words = [_word("right", 100, 0), _word("left", 0, 1), _word("under", 0, 8)]
    assert _texts(rows_of(words)) == [["left", "right"], ["under"]]
