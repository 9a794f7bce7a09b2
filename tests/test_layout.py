from mcp_docvl.documents.model import Word
from mcp_docvl.extract.layout import build_lines, reading_order


def _word(text: str, x0: float, y0: float, width: float = 60.0, height: float = 10.0) -> Word:
    return Word(text=text, bbox=(x0, y0, x0 + width, y0 + height), size=height)


def test_rows_of_a_skewed_form_stay_together():
    # A scanned form turned slightly: each row climbs 4 units per column, so its right end sits 8 units (most of
    # a line height) above its left end, and rows are set so tightly that no blank band separates them.
    words = []
    for row in range(5):
        top = 14.0 * row
        words += [_word(f"Label{row}", 0, top), _word(f"value{row}", 100, top - 4), _word(f"Date{row}", 200, top - 8)]
    text = [line.text for line in reading_order(build_lines(words))]
    assert text == [t for row in range(5) for t in (f"Label{row}", f"value{row}", f"Date{row}")]


def test_lines_above_each_other_never_share_a_row():
    # Two short lines stacked closely in one column, beside a tall cell that reaches both: two rows, top first.
    words = [_word("upper", 0, 0), _word("lower", 0, 11), _word("tall", 100, 0, height=21)]
    text = [line.text for line in reading_order(build_lines(words))]
    assert text.index("upper") < text.index("lower")
