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


# -- Pages for text-layer fidelity: fonts with a ToUnicode map, so any Unicode text (ligatures, right-to-left
# script, characters outside the BMP, garbage) can be written with exact glyph positions. --------------------------


@dataclass(frozen=True)
class FontSpec:
    """A simple (Type 1, not embedded) font as a producer declares it."""

    base_font: str = "Helvetica"
    # Descriptor flags (32: nonsymbolic; 1 << 18: ForceBold; 64: italic).
    flags: int = 32
    # PDFium derives the font weight from StemV: 0 reads as weight 0, as many bold fonts declare.
    stem_v: int = 0
    italic_angle: float = 0.0
    # Every glyph's advance, in 1/1000 of the font size (600 is Courier's, so its letters render as set).
    advance: int = 500
    # Without a ToUnicode map, the text is the encoding's: WinAnsi, with these (code, glyph name) differences.
    differences: tuple[tuple[int, str], ...] | None = None


@dataclass(frozen=True)
class GlyphRun:
    """Glyphs on one line, each with the text its ToUnicode entry gives (several characters for a ligature)."""

    x: float  # the run's left end
    y: float  # top of the line, from the top of the page
    glyphs: tuple[str, ...]
    font: FontSpec = FontSpec()
    size: float = 11.0
    # `glyphs` are right-to-left text in reading order: drawn as producers draw them, in visual order (the last
    # glyph leftmost), since a PDF string always advances rightwards.
    rtl: bool = False
    # The codes drawn, one per glyph (default: assigned per font). With the standard Helvetica and codes of real
    # letters, the page shows those letters whatever the ToUnicode map claims.
    codes: bytes | None = None


def glyphs_of(text: str) -> tuple[str, ...]:
    """One glyph per character of `text`."""
    return tuple(text)


def make_glyph_pdf(runs: list[GlyphRun], size: tuple[float, float] = LETTER) -> bytes:
    """A one-page PDF drawing `runs`; each font's ToUnicode map gives its glyphs' text."""
    width, height = size
    fonts: dict[FontSpec, dict[str, int]] = {}
    drawn: list[tuple[GlyphRun, bytes]] = []
    for run in runs:
        table = fonts.setdefault(run.font, {})
        if run.codes is not None:
            table.update(zip(run.glyphs, run.codes, strict=True))
            drawn.append((run, run.codes))
            continue
        codes = bytearray()
        for glyph in run.glyphs:
            if glyph not in table:
                table[glyph] = 0x20 if glyph == " " else 0x21 + sum(1 for g in table if g != " ")
            codes.append(table[glyph])
        drawn.append((run, bytes(codes)))
    objects: list[bytes] = [b"", b""]  # catalog, page tree

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    names: dict[FontSpec, tuple[str, int]] = {}  # resource name, object number
    for number, (spec, table) in enumerate(fonts.items(), start=1):
        if spec.differences is None:
            cmap = _to_unicode_cmap({code: glyph for glyph, code in table.items()})
            cmap_ref = add(b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"\nendstream")
            encoding = f"/WinAnsiEncoding /ToUnicode {cmap_ref} 0 R"
        else:
            diffs = " ".join(f"{code} /{glyph}" for code, glyph in spec.differences)
            encoding = f"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [{diffs}] >>"
        descriptor = add((f"<< /Type /FontDescriptor /FontName /{spec.base_font} /Flags {spec.flags} "
                          f"/FontBBox [-200 -250 1000 900] /ItalicAngle {spec.italic_angle:g} /Ascent 750 "
                          f"/Descent -250 /CapHeight 700 /StemV {spec.stem_v} >>").encode())
        widths = " ".join([str(spec.advance)] * 256)
        font = add((f"<< /Type /Font /Subtype /Type1 /BaseFont /{spec.base_font} /FirstChar 0 /LastChar 255 "
                    f"/Widths [{widths}] /FontDescriptor {descriptor} 0 R /Encoding {encoding} >>").encode())
        names[spec] = (f"G{number}", font)
    ops = []
    for run, codes in drawn:
        name = names[run.font][0]
        baseline = height - run.y - run.size * 0.8
        visual = codes[::-1] if run.rtl else codes
        ops.append(f"BT /{name} {run.size:g} Tf {run.x:.2f} {baseline:.2f} Td <{visual.hex().upper()}> Tj ET")
    content = "\n".join(ops).encode()
    stream = add(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    resources = " ".join(f"/{name} {font} 0 R" for name, font in names.values())
    page = add(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:g} {height:g}] /Resources << /Font << "
               f"{resources} >> >> /Contents {stream} 0 R >>".encode())
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = f"<< /Type /Pages /Count 1 /Kids [{page} 0 R] >>".encode()
    return assemble_pdf(objects)


def _to_unicode_cmap(texts: dict[int, str]) -> bytes:
    entries = "\n".join(f"<{code:02X}> <{text.encode('utf-16-be', 'surrogatepass').hex().upper()}>"
                        for code, text in sorted(texts.items()))
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n"
        f"{len(texts)} beginbfchar\n{entries}\nendbfchar\n"
        "endcmap\nCMapName currentdict /CIDInit /ProcSet findresource pop end end\n"
    ).encode()


def _line_glyphs(text: str, ligatures: dict[str, str] | None = None) -> tuple[str, ...]:
    """`text` as glyphs, with each key of `ligatures` found in it drawn as one glyph (whose text is the value)."""
    glyphs: list[str] = []
    i = 0
    while i < len(text):
        for key, value in (ligatures or {}).items():
            if text.startswith(key, i):
                glyphs.append(value)
                i += len(key)
                break
        else:
            glyphs.append(text[i])
            i += 1
    return tuple(glyphs)


def ligature_hyphen_sample() -> bytes:
    """Body text with 'fi' and 'ffi' ligature glyphs and a word hyphenated across a line break."""
    ligatures = {"fi": "fi", "ffi": "ffi"}
    lines = ["We are confident that the appoint-", "ments were not too difficult to fix."]
    return make_glyph_pdf([GlyphRun(72, 100 + 14 * i, _line_glyphs(line, {"ffi": ligatures["ffi"], "fi": "fi"}))
                           for i, line in enumerate(lines)])


def separate_accents_sample() -> bytes:
    """Accented letters set as TeX sets them: the base letter in the line, the spacing accent (´ ˇ ¨) drawn as a
    glyph of its own over it, later in the content stream (after the line); and an acute accent set in its own
    slot after a letter (a prime), which belongs to no letter."""
    advance = FontSpec().advance * 11.0 / 1000
    line = "Jose Lopez met Zurn and Muller at x´ today."
    runs = [GlyphRun(72, 100, glyphs_of(line))]
    # Each accent drawn with its left edge at its letter's left edge (same width, so centred over it).
    for accent, letter_at in (("´", line.index("e ")), ("´", line.index("opez")), ("ˇ", line.index("Zurn")),
                              ("¨", line.index("uller"))):
        runs.append(GlyphRun(72 + letter_at * advance, 100, (accent,)))
    return make_glyph_pdf(runs)


def named_ligatures_sample() -> bytes:
    """A font without a ToUnicode map whose encoding names its ligature glyphs as layout programs do ("f_i",
    "f_f_l", "T_h"), at control codes: PDFium alone reads them as control codes."""
    font = FontSpec("MinionPro-Regular", differences=((29, "T_h"), (30, "f_f_l"), (31, "f_i")))
    line = "\x1de shu\x1ee was signi\x1fcant and ba\x1ees us."
    glyphs = tuple(line)
    return make_glyph_pdf([GlyphRun(72, 100, glyphs, font, codes=line.encode("latin-1"))])


def scripts_sample() -> bytes:
    """Sub- and superscripts set inside words, as in formulas and footnote calls: 7 pt glyphs 2.5 pt below or
    3.5 pt above the 11 pt baseline, with no space glyph between them and their base; and small capitals (8 pt on
    the baseline), which are no script."""
    pieces = [("the order x", 0.0), ("4", -2.5), (", x", 0.0), ("3", -2.5), (" and Ca", 0.0), ("2+", 3.5),
              (" ions in B", 0.0), ("ONN", 0.0, 8.0), (".", 0.0)]
    runs, x, line_top = [], 72.0, 100.0
    for text, shift, *size in pieces:
        points = size[0] if size else (11.0 if shift == 0.0 else 7.0)
        # The run's top is placed so that its baseline sits `shift` above the line's (samples put baselines at
        # top + 0.8 size).
        top = line_top + 0.8 * 11.0 - shift - 0.8 * points
        runs.append(GlyphRun(x, top, glyphs_of(text), size=points))
        x += len(text) * FontSpec().advance * points / 1000
    return make_glyph_pdf(runs)


def small_caps_sample() -> bytes:
    """A reference whose author name is set in a small-caps font (descriptor flag SmallCap): the codes are
    lowercase letters, the glyphs drawn are capitals."""
    advance = FontSpec().advance * 11.0 / 1000
    caps = FontSpec("TimesTen-RomanSC", flags=32 | (1 << 17))
    name, rest = "Millotte J.-P.", " (1959) Le trésor de Carnac."
    return make_glyph_pdf([GlyphRun(72, 100, glyphs_of(name), caps),
                           GlyphRun(72 + len(name) * advance, 100, glyphs_of(rest))])


def bold_by_name_sample() -> bytes:
    """A heading in a font named "...-Bold" that declares weight 0 (StemV 0), above body text of the same size."""
    bold = FontSpec("Inter-Bold", stem_v=0)
    regular = FontSpec("Inter-Regular", stem_v=0)
    body = ["Sales grew in every region this quarter, led by the north,",
            "where two new stores opened in the spring."]
    return make_glyph_pdf([GlyphRun(72, 80, glyphs_of("Results by Region"), bold),
                           *[GlyphRun(72, 110 + 14 * i, glyphs_of(line), regular) for i, line in enumerate(body)]])


def arabic_sample() -> bytes:
    """Right-to-left lines as a word processor writes them: each run in visual order, a lam-alef ligature glyph
    whose ToUnicode text is in reading order, and Latin words inside an Arabic line."""
    size = 11.0
    advance = FontSpec().advance * size / 1000
    right = 540.0
    runs = [GlyphRun(right - 15 * advance, 80, _line_glyphs("تحسين الإنتاجية", {"لإ": "لإ"}), rtl=True, size=size)]
    # "بلغة R و Python" laid out from the right: each piece its own run, a space's width apart.
    x = right
    for piece in ("بلغة", "R", "و", "Python"):
        x -= len(piece) * advance
        runs.append(GlyphRun(x, 100, glyphs_of(piece), rtl=any("\u0600" <= c <= "\u06ff" for c in piece), size=size))
        x -= advance
    return make_glyph_pdf(runs)


def non_bmp_sample() -> bytes:
    """Characters outside the BMP (a math letter, an emoji, a supplementary private-use glyph) and a glyph whose
    map gives a control code (a ligature without a Unicode value, as TeX fonts without ToUnicode produce)."""
    return make_glyph_pdf([
        GlyphRun(72, 80, glyphs_of("Grade \U0001d400 and smile \U0001f600 here \U000f0854 end")),
        GlyphRun(72, 100, ("h", "i", "g", "h", " ", "a", "\x1f", "n", "i", "t", "y", " ", "p", "r", "o", "b", "e")),
    ])


def garbage_text_sample() -> bytes:
    """Large readable letters whose font maps every glyph to a control code: a text layer that is all junk over
    a page that shows real text, as fonts without a Unicode map produce."""
    lines = ["INVOICE 2041", "TOTAL DUE 99.50"]
    font = FontSpec("Courier", advance=600)
    runs = []
    for i, line in enumerate(lines):
        codes = line.encode("ascii")
        # Glyph codes passed through as text: small numbers, i.e. control characters.
        junk = tuple(" " if c == 0x20 else chr(1 + c % 30) for c in codes)
        runs.append(GlyphRun(72, 100 + 50 * i, junk, font, size=28, codes=codes))
    return make_glyph_pdf(runs)


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
