"""Page furniture: running heads, page numbers, footers, line numbers and margin notes, told from the body by
where they sit and how they are set, so the reading text can leave them out.

How pages are made: furniture lives in the margins outside the type area. Running heads and folios sit in
the top or bottom margin band, set apart from the body by more space than the body's own leading, usually in
smaller or equal type, a few short rows at most; page numbers are numerals (decimal or roman, alone or as
"n of m" with a word or two); line numbers are a narrow column of integers beside the body; text turned
sideways along the outer edge (download stamps, journal strips) stands outside the body's columns. Nothing here
knows words of any language: digits, letters and punctuation are told apart by their Unicode category.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from mcp_docvl.documents.model import Block, BlockRole, Line, union_bbox
from mcp_docvl.extract.headings import body_size
from mcp_docvl.extract.rows import bands


@dataclass(frozen=True)
class FurnitureSettings:
    # The top and bottom margin bands, as a share of the page height: type areas of books, journals and
    # reports leave 5-12% of the page above and below them for running heads and folios.
    margin_band: float = 0.13
    # At most this many rows make a running head or a footer (a title page's top is deeper than that).
    max_rows: int = 3
    # Groups of furniture rows, each set apart by a gap, stacked in one margin.
    max_zones: int = 2
    # A running head or footer is set apart from the body by more than this many times the body's leading.
    separation: float = 1.4
    # Type this much smaller than the body's may be bold in a running head (bold at body size is a heading).
    smaller: float = 0.92
    # Type larger than the body's by more than this is a heading or a title, not a running head (heading sizes
    # start about 15% above the body; dropping a heading loses content, keeping a large running head costs little).
    max_size: float = 1.1
    # A line of body-size type with this many words, as long as this share of the body's lines, is body text.
    prose_words: int = 8
    prose_width: float = 0.6
    # A folio has at most this many tokens ("Page 3 of 12", "- iv -", "8 | Page").
    folio_tokens: int = 4
    # ...and its words (not numerals) are this short at most: labels like "Page", "Seite", "p.".
    folio_word: int = 6
    # Side strips: text within this share of the page width from a side edge, outside the body's columns.
    side_strip: float = 0.06
    # Line numbers: at least this many integer-only lines in one narrow column beside the body.
    min_line_numbers: int = 5


SETTINGS = FurnitureSettings()


def split_furniture(lines: list[Line], width: float, height: float,
                    settings: FurnitureSettings = SETTINGS) -> tuple[list[Line], list[Block], list[Block]]:
    """The body lines, and furniture blocks for above and below it (each block's `role` says what it is)."""
    if len(lines) < 2:
        return list(lines), [], []
    roles = find_furniture(lines, width, height, settings)
    if not roles:
        return list(lines), [], []
    body = [ln for ln in lines if id(ln) not in roles]
    top: list[Block] = []
    bottom: list[Block] = []
    for line in sorted((ln for ln in lines if id(ln) in roles), key=lambda ln: (ln.bbox[1], ln.bbox[0])):
        block = Block(kind="furniture", lines=[line], bbox=line.bbox, role=roles[id(line)])
        (top if (line.bbox[1] + line.bbox[3]) / 2 < height / 2 else bottom).append(block)
    return body, _merge(top), _merge(bottom)


def _merge(blocks: list[Block]) -> list[Block]:
    """Consecutive furniture lines of one role become one block."""
    out: list[Block] = []
    for block in blocks:
        if out and out[-1].role == block.role and block.role in ("running_head", "footer", "margin", "line_number"):
            last = out[-1]
            last.lines.append(block.lines[0])
            last.bbox = union_bbox([last.bbox, block.bbox])
        else:
            out.append(block)
    return out


def find_furniture(lines: list[Line], width: float, height: float,
                   settings: FurnitureSettings = SETTINGS) -> dict[int, BlockRole]:
    """id(line) -> role for every line that is furniture."""
    body = body_size(lines)
    roles: dict[int, BlockRole] = {}
    roles.update(_line_numbers(lines, settings))
    roles.update(_side_strips([ln for ln in lines if id(ln) not in roles], width, settings))
    rest = [ln for ln in lines if id(ln) not in roles]
    rows = bands(rest)
    if len(rows) < 2:
        return roles
    leading = _leading(rows)
    for top in (True, False):
        # Margins can stack two groups (a running head over a journal line, a footer over a download stamp).
        remaining = rows if top else rows[::-1]
        for stacked in range(settings.max_zones):
            zone = _zone(remaining if top else remaining[::-1], height, body, leading, settings, top=top,
                         strict=stacked > 0)
            if not zone:
                break
            remaining = remaining[len(zone):]
            for row in zone:
                for line in row:
                    roles[id(line)] = "page_number" if is_folio(line.text, settings) else (
                        "running_head" if top else "footer")
    # A folio in the first or last row, inside the margin band, is furniture even without a clear gap.
    for row in (rows[0], rows[-1]):
        for line in row:
            mid = (line.bbox[1] + line.bbox[3]) / 2
            if id(line) not in roles and is_folio(line.text, settings) and _alone_in_row(line, rest) and (
                    mid < settings.margin_band * height or mid > (1 - settings.margin_band) * height):
                roles[id(line)] = "page_number"
    return roles


def _leading(rows: list[list[Line]]) -> float:
    """The body's usual white between a line and the next one below it in the same column (rows of side-by-side
    columns interleave, so neighbouring rows of the page say little)."""
    lines = sorted((ln for row in rows for ln in row), key=lambda ln: ln.bbox[1])
    gaps = []
    for i, line in enumerate(lines):
        for other in lines[i + 1:i + 12]:
            if other.bbox[1] >= line.bbox[3] and min(other.bbox[2], line.bbox[2]) > max(other.bbox[0], line.bbox[0]):
                gaps.append(other.bbox[1] - line.bbox[3])
                break
    heights = [ln.bbox[3] - ln.bbox[1] for ln in lines]
    return median(gaps) if gaps else 0.2 * median(heights)


def _zone(rows: list[list[Line]], height: float, body: float, leading: float, settings: FurnitureSettings,
          top: bool, strict: bool = False) -> list[list[Line]]:
    """The rows of the running head (top) or footer (bottom): the rows from the page's edge up to the first gap
    wider than the body's leading, when they are few, inside the margin band, and each set like furniture.
    A `strict` zone (a second one, inside the first) must be folios or smaller type throughout."""
    ordered = rows if top else rows[::-1]
    for count in range(1, min(settings.max_rows, len(ordered) - 1) + 1):
        zone = ordered[:count]
        edge = max(ln.bbox[3] for ln in zone[-1]) if top else min(ln.bbox[1] for ln in zone[-1])
        inside = edge <= settings.margin_band * height if top else edge >= (1 - settings.margin_band) * height
        if not inside:
            return []
        nxt = ordered[count]
        gap = (min(ln.bbox[1] for ln in nxt) - edge) if top else (edge - max(ln.bbox[3] for ln in nxt))
        if gap > settings.separation * leading and gap > 0:
            if strict:
                return zone if all(_small_or_folio(row, body, settings) for row in zone) else []
            measure = _measure(rows, settings)
            return zone if all(_furniture_row(row, body, measure, settings, top) for row in zone) else []
    return []


def _measure(rows: list[list[Line]], settings: FurnitureSettings) -> float:
    """The body's line length: the median width of lines of running text."""
    widths = [ln.bbox[2] - ln.bbox[0] for row in rows for ln in row if len(ln.words) >= settings.prose_words]
    return median(widths) if widths else max(ln.bbox[2] for row in rows for ln in row)


def _small_or_folio(row: list[Line], body: float, settings: FurnitureSettings) -> bool:
    return all(is_folio(ln.text, settings) for ln in row) or max(ln.size for ln in row) <= settings.smaller * body


def _furniture_row(row: list[Line], body: float, measure: float, settings: FurnitureSettings, top: bool) -> bool:
    """A row set the way running heads and footers are: a folio, or type no larger than the body's by much,
    not bold at body size (a bold line of body size at the top is a section heading) and, at the top, not a
    full line of body text (a caption over a table, a paragraph's first line). At the bottom edge a full line
    of body-size type set apart from the body is an imprint or a disclaimer (footnotes come in smaller type)."""
    if all(is_folio(ln.text, settings) for ln in row):
        return True
    size = max(ln.size for ln in row)
    if size > settings.max_size * body:
        return False
    if size <= settings.smaller * body:
        return True
    prose = top and any(len(ln.words) >= settings.prose_words
                        and ln.bbox[2] - ln.bbox[0] >= settings.prose_width * measure
                        for ln in row)
    return not prose and not all(ln.bold for ln in row)


def _alone_in_row(line: Line, lines: list[Line]) -> bool:
    """No other line of running text sits level with `line` (a folio beside body text would be a list number)."""
    for other in lines:
        if other is line:
            continue
        overlap = min(other.bbox[3], line.bbox[3]) - max(other.bbox[1], line.bbox[1])
        if overlap > 0.5 * (line.bbox[3] - line.bbox[1]) and len(other.words) >= 4:
            return False
    return True


def _numeral(token: str) -> bool:
    """Decimal digits, or a roman numeral (letters of the Latin numeral set, as page folios use them)."""
    if token.isdecimal():
        return True
    return 0 < len(token) <= 7 and all(c in "ivxlcdmIVXLCDM" for c in token) and (token.islower() or token.isupper())


def is_folio(text: str, settings: FurnitureSettings = SETTINGS) -> bool:
    """A page number: numerals with at most a couple of short words and punctuation ("12", "- iv -", "Page 3 of
    12", "8 | Page"), judged by Unicode category, not by vocabulary."""
    if any(unicodedata.category(c) in ("Sm", "Sc") for c in text):
        return False  # "(n = 50)", "$ 12": a value, not a page number
    cleaned = "".join(" " if unicodedata.category(c)[0] in "PSZ" else c for c in text)
    tokens = cleaned.split()
    if not tokens or len(tokens) > settings.folio_tokens:
        return False
    numerals = [t for t in tokens if _numeral(t)]
    words = [t for t in tokens if not _numeral(t)]
    if not numerals or any(t.isdecimal() and len(t) > 4 for t in numerals):
        return False
    return len(words) <= 2 and all(t.isalpha() and len(t) <= settings.folio_word for t in words)


def _line_numbers(lines: list[Line], settings: FurnitureSettings) -> dict[int, BlockRole]:
    """A narrow column of integers beside the body, counting up from top to bottom (legal and draft pages)."""
    numbers = [ln for ln in lines if len(ln.words) == 1 and ln.words[0].text.isdecimal()]
    if len(numbers) < settings.min_line_numbers:
        return {}
    prose = [ln for ln in lines if len(ln.words) >= 3]
    if not prose:
        return {}
    left_edge = min(ln.bbox[0] for ln in prose)
    right_edge = max(ln.bbox[2] for ln in prose)
    out: dict[int, BlockRole] = {}
    for side in ([n for n in numbers if n.bbox[2] <= left_edge + 1e-6],
                 [n for n in numbers if n.bbox[0] >= right_edge - 1e-6]):
        if len(side) < settings.min_line_numbers:
            continue
        column = sorted(side, key=lambda ln: ln.bbox[1])
        values = [int(ln.words[0].text) for ln in column]
        rising = sum(b > a for a, b in pairwise(values))
        if rising >= 0.8 * (len(values) - 1):
            out.update({id(ln): "line_number" for ln in column})
    return out


def _side_strips(lines: list[Line], width: float, settings: FurnitureSettings) -> dict[int, BlockRole]:
    """Text along a side edge, outside every line of running text: stamps and strips turned sideways."""
    prose = [ln for ln in lines if len(ln.words) >= 3]
    if len(prose) < 3:
        return {}
    left_edge = min(ln.bbox[0] for ln in prose)
    right_edge = max(ln.bbox[2] for ln in prose)
    strip = settings.side_strip * width
    out: dict[int, BlockRole] = {}
    for line in lines:
        x0, x1 = line.bbox[0], line.bbox[2]
        if (x1 <= strip and x1 <= left_edge) or (x0 >= width - strip and x0 >= right_edge):
            out[id(line)] = "margin"
    return out
