"""Writes small, exact PDFs: the quick-start sample, test documents and benchmark inputs.

Hand-written PDF syntax with the 14 standard fonts, so the text and its positions are known exactly and no
external tool is needed.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

LETTER = (612.0, 792.0)


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # top of the text line, from the top of the page
    text: str
    size: float = 11.0
    bold: bool = False


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _content(items: list[Text], height: float) -> bytes:
    ops = []
    for item in items:
        font = "F2" if item.bold else "F1"
        baseline = height - item.y - item.size * 0.8
        ops.append(f"BT /{font} {item.size:g} Tf {item.x:.2f} {baseline:.2f} Td ({_escape(item.text)}) Tj ET")
    return "\n".join(ops).encode("latin-1", errors="replace")


def make_pdf(pages: list[list[Text]], size: tuple[float, float] = LETTER, title: str | None = None,
             compress: bool = True) -> bytes:
    """A PDF with one page per item list (WinAnsi Helvetica / Helvetica-Bold)."""
    width, height = size
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below, once the page tree's number is known
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    bold = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    tree = add(b"")
    kids = []
    for items in pages:
        data = _content(items, height)
        if compress:
            data = zlib.compress(data)
            stream = add(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream")
        else:
            stream = add(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        kids.append(add(
            f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {width:g} {height:g}] "
            f"/Resources << /Font << /F1 {font} 0 R /F2 {bold} 0 R >> >> /Contents {stream} 0 R >>".encode()
        ))
    objects[tree - 1] = (f"<< /Type /Pages /Count {len(kids)} /Kids [" + " ".join(f"{k} 0 R" for k in kids)
                         + "] >>").encode()
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {tree} 0 R >>".encode()
    info = add(f"<< /Title ({_escape(title)}) /Producer (mcp-docvl samples) >>".encode()) if title else None
    return assemble_pdf(objects, trailer=f"/Info {info} 0 R ".encode() if info else b"")


def assemble_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF file from object bodies (object i+1 is objects[i]; object 1 is the catalog) with a correct xref.

    `trailer` adds entries to the trailer dictionary (e.g. `/Info 7 0 R `).
    """
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return bytes(out)


def paragraph(x: float, y: float, lines: list[str], size: float = 11.0, leading: float = 1.3) -> list[Text]:
    return [Text(x, y + i * size * leading, line, size) for i, line in enumerate(lines)]


def sample_report() -> bytes:
    """The quick-start document: a title, a two-column body, a list, and a second page."""
    left = ["Scanned receipts and born-digital", "reports reach agents every day.", "mcp-docvl reads both kinds",
            "and keeps the reading order of", "multi-column pages intact."]
    right = ["The right column starts here and", "must be read after the left one.", "Tables, answers and fields",
             "build on the same page model.", "Every page reports its method."]
    page1 = [
        Text(72, 60, "Quarterly Report on Document Access", 20, bold=True),
        Text(72, 100, "Introduction", 14, bold=True),
        *paragraph(72, 125, left),
        *paragraph(320, 125, right),
        Text(72, 230, "Key points", 14, bold=True),
        Text(72, 255, "- Text layers are read directly.", 11),
        Text(72, 270, "- Scans go through OCR.", 11),
        Text(72, 285, "- Output is cut only with a cursor.", 11),
    ]
    page2 = [
        Text(72, 60, "Appendix", 14, bold=True),
        *paragraph(72, 85, ["The total amount due is 1,234.56 EUR, payable by 31 January 2027.",
                            "Questions go to docs@example.com."]),
    ]
    return make_pdf([page1, page2], title="Quarterly Report on Document Access")


# ---------------------------------------------------------------------------------------------------------------
# Structure: tables that need a grid's evidence, and headings (issue 12)

# Helvetica advance widths (1/1000 em) of the characters the numeric samples right-align.
_HELVETICA_FIGURES = {**dict.fromkeys("0123456789", 556), ",": 278, ".": 278, " ": 278, "-": 333}


def _figure_width(text: str, size: float) -> float:
    return sum(_HELVETICA_FIGURES.get(c, 556) for c in text) * size / 1000


def _right(x: float, y: float, text: str, size: float = 10.0) -> Text:
    """`text` set so that it ends at `x` (figures in a column align on their right edge)."""
    return Text(x - _figure_width(text, size), y, text, size)


# Running text of three columns: each column its own paragraph, so reading order is checkable.
THREE_COLUMN_PARAGRAPHS = (
    ("Alpha column opens the page with a long paragraph of running text that wraps over many short lines, "
     "as newspapers and government registers set their narrow columns of print for readers."),
    ("Bravo column continues with a second paragraph whose sentences also wrap from line to line, "
     "so that the lines of all three columns sit side by side on the same baselines of the page."),
    ("Charlie column closes the page with the third paragraph, again running text and not a table, "
     "even though blank gutters separate it from its neighbours along the whole height of the page."),
)


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def three_column_prose() -> bytes:
    """One page of three columns of running text on shared baselines: columns, not a table."""
    items = [Text(50, 50, "Register of Notices", 16)]
    for column, text in enumerate(THREE_COLUMN_PARAGRAPHS):
        items += paragraph(50 + 180 * column, 90, _wrap(text, 32), size=9.0, leading=1.25)
    return make_pdf([items])


# A borderless table: labels on the left, figures right-aligned in three columns, no rule anywhere.
NUMERIC_TABLE = (
    ("Region", "2021", "2022", "2023"),
    ("North", "1,204", "1,310", "1,452"),
    ("South", "987", "1,045", "1,120"),
    ("East", "2,311", "2,405", "2,590"),
    ("West", "654", "702", "733"),
)


def borderless_numeric_table() -> bytes:
    """A sentence, then a table without rules: a label column and three columns of right-aligned figures."""
    items = [Text(72, 60, "Sales by region, in units, for the last three years, as reported by each office.", 10)]
    for r, row in enumerate(NUMERIC_TABLE):
        y = 90 + 16 * r
        items.append(Text(72, y, row[0], 10))
        items += [_right(260 + 90 * c, y, value) for c, value in enumerate(row[1:])]
    return make_pdf([items])


def multiline_header_table() -> bytes:
    """A borderless table whose header cells wrap onto two lines ("#" above "enc-layers"), with a one-line header
    cell set between the two lines, as papers set their result tables."""
    items = [
        Text(90, 60, "#", 10), Text(170, 60, "#", 10), Text(340, 60, "Time", 10),
        Text(250, 66, "Language", 10),
        Text(72, 72, "enc-layers", 10), Text(152, 72, "dec-layers", 10), Text(340, 72, "(secs)", 10),
    ]
    rows = (("6", "6", "OTSL", "2.73"), ("4", "4", "HTML", "5.39"), ("2", "4", "OTSL", "1.91"),
            ("4", "2", "HTML", "3.77"))
    for r, (enc, dec, language, secs) in enumerate(rows):
        y = 92 + 15 * r
        items += [Text(92, y, enc, 10), Text(172, y, dec, 10), Text(256, y, language, 10), Text(342, y, secs, 10)]
    return make_pdf([items])


def heading_page() -> bytes:
    """Headings set apart in three ways: a larger size, a section number at body size in bold, and bold at body
    size directly above same-size text (no extra space below)."""
    body = ["The study measures how quickly readers find facts in long reports and which layout helps them.",
            "It compares printed pages with screens and counts the errors readers make on each."]
    items = [
        Text(72, 60, "Reading Speed Study", 18),
        *paragraph(72, 90, body),
        Text(72, 140, "5.1 Hyper Parameter Optimization", 11, bold=True),
        *paragraph(72, 158, ["We chose the public data set to tune the parameters, since it holds varied tables.",
                             "Results are given in the next section for simple and complex tables."]),
        Text(72, 210, "Method Overview", 11, bold=True),
        *paragraph(72, 224.3, ["Each reader saw twelve pages and answered questions about what they had read.",
                               "Answers were timed and scored by two people working apart."]),
    ]
    return make_pdf([items])
