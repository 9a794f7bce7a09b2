"""Columns on pages built here: a scan's invisible text layer set at a nominal size, a scan turned a fraction of a
degree (the gutter drifts across the page), and a notice running along the margin letter by letter."""

from __future__ import annotations

from mcp_docvl.documents import open_document
from mcp_docvl.documents.model import Word
from mcp_docvl.extract.layout import build_lines, reading_order
from mcp_docvl.samples import assemble_pdf


def _word(text: str, x0: float, y0: float, width: float, height: float = 10.0) -> Word:
    return Word(text=text, bbox=(x0, y0, x0 + width, y0 + height), size=height)


def _ocr_layer_pdf(rows: list[tuple[float, float, str]]) -> bytes:
    """Invisible Courier text the way OCR layers of scans are written: a nominal 45 pt size shrunk five times by
    the matrix (so the glyphs are 9 pt on the page), each run placed at page position (x, y from the top)."""
    runs = b"".join(b"BT 1 0 0 1 %d %d Tm (%s) Tj ET " % (x * 5, (792 - y) * 5, text.encode()) for x, y, text in rows)
    content = b"q 3 Tr 0.2 0 0 0.2 0 0 cm /F1 45 Tf " + runs + b"Q"
    return assemble_pdf([
        b"<< /Type /Catalog /Pages 3 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Pages /Count 1 /Kids [4 0 R] >>",
        b"<< /Type /Page /Parent 3 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 2 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ])


def test_nominal_size_of_an_ocr_layer_gives_way_to_the_drawn_size():
    # Two columns 20 pt apart (two ems of the drawn 9 pt type, 0.4 of the nominal 45 pt): read at the nominal
    # size the gap would be a word space and each row one line across both columns.
    pdf = _ocr_layer_pdf([(72, 100, "left column words"), (72 + 17 * 5.4 + 20, 100, "right column words")])
    words = open_document(pdf, "application/pdf").text_layer(0).words
    assert [w.text for w in words] == ["left", "column", "words", "right", "column", "words"]
    assert all(8.0 <= w.size <= 12.0 for w in words), [w.size for w in words]
    assert [line.text for line in build_lines(words)] == ["left column words", "right column words"]


def test_columns_of_a_turned_scan_read_column_by_column():
    # Two columns with an 8-unit gutter (0.8 em), on a scan turned so that both columns drift 4 units left from
    # the first row to the last: no strip stays white from top to bottom as wide as a gutter on any one line.
    words = []
    for row in range(20):
        drift = 0.2 * row
        for column, x in (("L", 0.0), ("R", 170.0)):
            words += [_word(f"{column}{row}w{k}", x - drift + 33 * k, 14.0 * row, 30) for k in range(5)]
    ordered = [line.text for line in reading_order(build_lines(words))]
    text = " ".join(ordered).split()
    expected = [f"{c}{row}w{k}" for c in "LR" for row in range(20) for k in range(5)]
    assert text == expected, ordered[:6]


def test_a_notice_along_the_margin_is_read_after_the_body():
    # A body of running text and, 30 units to its left, a notice set sideways: one glyph a line, 4 units apart,
    # never level with the body's rows. The body must read row after row without the letters in between.
    words = [_word(f"b{row}w{k}", 40 + 33 * k, 14.0 * row, 30) for row in range(12) for k in range(6)]
    words += [_word(letter, 0, 1.0 + 4.0 * i, 6, height=4) for i, letter in enumerate("Downloadedfrom")]
    ordered = [line.text for line in reading_order(build_lines(words))]
    body = [t for t in " ".join(ordered).split() if t.startswith("b") and "w" in t]
    text = " ".join(ordered)
    assert text.startswith(" ".join(body)), ordered[:6]
    assert body == [f"b{row}w{k}" for row in range(12) for k in range(6)]


def test_line_numbers_in_the_gutter_are_read_apart_from_both_columns():
    # A patent's two columns with its line numbers (smaller type) set in the 14-unit gutter every fifth row, 4
    # units from each column: every such row comes as one line across both columns and the number.
    words = []
    for row in range(20):
        for column, x in (("L", 0.0), ("R", 176.0)):
            words += [_word(f"{column}{row}w{k}", x + 33 * k, 14.0 * row, 30) for k in range(5)]
        if row % 5 == 4:
            words.append(_word(str(row + 1), 166, 14.0 * row + 2, 6, height=6))
    text = " ".join(line.text for line in reading_order(build_lines(words))).split()
    body = [f"{c}{row}w{k}" for c in "LR" for row in range(20) for k in range(5)]
    assert text[:len(body)] == body, text[:12]
    assert text[len(body):] == ["5", "10", "15", "20"]


def test_a_section_tab_down_the_edge_is_read_after_the_body():
    # A magazine's section tab: big letters (16 units) stacked down the left edge beside body text in 6.4-unit
    # type, so some letters sit level with some rows by chance. The letters are no column of the body's rows.
    words = [_word(f"b{row}w{k}", 40 + 20 * k, 7.0 * row, 18, height=6.4) for row in range(24) for k in range(6)]
    words += [_word(letter, 0, 16.0 * i, 14, height=16) for i, letter in enumerate("FRIDAY")]
    text = " ".join(line.text for line in reading_order(build_lines(words))).split()
    assert text == [f"b{row}w{k}" for row in range(24) for k in range(6)] + list("FRIDAY"), text[:12]


def test_loosely_spaced_columns_with_a_gutter_near_a_word_space_read_column_by_column():
    # Word spaces of 0.6 em (an OCR layer's loose boxes) and a gutter of 0.85 em: each row comes as one line
    # across both columns, and the gutter is not twice the row's spaces; the right column's shared left edge
    # tells it from a space.
    words = []
    for row in range(12):
        for column, x in (("L", 0.0), ("R", 182.5)):
            words += [_word(f"{column}{row}w{k}", x + 36 * k, 14.0 * row, 30) for k in range(5)]
    text = " ".join(line.text for line in reading_order(build_lines(words)))
    # The first and the last row have the column's edge on one side only (as a footer under the columns has)
    # and may stay whole; every row between is cut, and each column reads on from row to row.
    left = " ".join(f"L{row}w{k}" for row in range(1, 11) for k in range(5))
    right = " ".join(f"R{row}w{k}" for row in range(1, 11) for k in range(5))
    assert left in text and right in text and text.index(left) < text.index(right), text[:200]
