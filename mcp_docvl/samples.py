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


# --- Reading order and page furniture (tests of extract/columns.py and extract/furniture.py) ---------------------

def _wrap(text: str, chars: int) -> list[str]:
    """Greedy word wrap at `chars` characters (Helvetica averages about half an em a character)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > chars:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


THREE_COLUMN_TEXT = (
    "Alpha column opens the story. Rivers of white run down the page between the columns, and a reader "
    "follows each column to its foot before moving right. The first column ends with the word anchor.",
    "Beta column continues the story. Its lines share their baselines with the first column, so a reader "
    "who read across the rows would mix the sentences together. The second column ends with bridge.",
    "Gamma column closes the story. Narrow gutters are common in magazines and forms, narrower than the "
    "gap that separates segments of one line. The third column ends with the word harbour.",
)


def three_column_page(size: float = 9.0, gutter: float = 8.0) -> bytes:
    """One page: a title across the top, three columns of prose on shared baselines with gutters narrower
    than one em (`gutter` points at `size`-point type), and nothing else."""
    left, right = 54.0, LETTER[0] - 54.0
    width = (right - left - 2 * gutter) / 3
    items = [Text(left, 60, "Three Columns on Shared Baselines", 18, bold=True)]
    for index, text in enumerate(THREE_COLUMN_TEXT):
        x = left + index * (width + gutter)
        items += paragraph(x, 100, _wrap(text, int(width / (0.52 * size))), size, leading=1.25)
    return make_pdf([items])


FURNITURE_BODY = (
    "The body of this page is one paragraph of running text that a reader wants to keep. It sits inside the "
    "type area, well away from the margins, in the same size of type from its first line to its last line. "
    "The running head above it and the folio below it belong to the book, not to this page's text. Line "
    "numbers beside the lines help a reviewer point at a line; they are not part of what the lines say either."
)


def furniture_page(page_number: int = 7, line_numbers: bool = True) -> bytes:
    """One page of body text with a running head (two parts), a page number, a footer and, optionally,
    a line number beside every body line."""
    body = paragraph(90, 120, _wrap(FURNITURE_BODY, 78), 11.0)
    items = [
        Text(90, 40, "Journal of Sample Studies, Vol. 3", 8.0),
        Text(430, 40, "Smith and Jones", 8.0),
        Text(90, 90, "Keeping the Body Apart", 16, bold=True),
        *body,
        Text(300, 735, str(page_number), 9.0),
        Text(90, 752, "Published by the Sample Press, www.example.org/journal", 7.0),
    ]
    if line_numbers:
        items += [Text(58, t.y, str(n), 8.0) for n, t in enumerate(body, start=1)]
    return make_pdf([items])
