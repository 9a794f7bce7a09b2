"""Layout-aware rules that fill a schema from a page's lines: a label with its value on the same row or just below,
the largest amount on a total line, the company name near the top, the address block under it, dates and amounts
read by the typed parsers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mcp_docvl.documents.model import BBox, Line, Page, union_bbox
from mcp_docvl.extract import parsers
from mcp_docvl.extract.rows import bands, centred
from mcp_docvl.features.fields.schema import field_types
from mcp_docvl.features.fields.values import Found, checked
from mcp_docvl.models import FieldResult

# Labels of the amount actually paid, strongest first. Words are matched case-insensitively.
_TOTAL_STRONG = re.compile(
    r"grand\s*total|t[o0a]t[a4]l\s*(?:amount\s*|sales\s*)?(?:due|payable|rounded|round(?:ing)?|incl\w*|inc\b|\(incl)|"
    r"round\w*\s*total|rounded|nett?\s*total|net\s*amount|amount\s*(?:due|payable)|balance\s*due|"
    r"total\s*sales\s*\(?incl|jumlah|total\s*to\s*pay|montant\s*total|gesamtbetrag|importe\s*total|"
    # "Total RM Incl. of GST", "Total (inc VAT)": a total that says it includes the tax is the amount paid.
    r"t[o0a]t[a4]l\b[^\d\n]{0,14}?\binc(?:l\w*|\b)",
    re.IGNORECASE,
)
# OCR misreads "total" often enough ("TOTL", "Tatal", "T0TAL") that a tolerant pattern pays.
_TOTAL = re.compile(r"\bt[o0a]t[a4]?[l1i]\b|\bttl\b|\btotale?\b|\bamount\b|\bsumme\b|\bjumlah\b", re.IGNORECASE)
_NOT_TOTAL = re.compile(
    r"sub\s*-?\s*total|total\s*(?:qty|quantity|items?|no\.?|number|disc\w*|saving\w*|tax|gst|vat|sst|excl\w*|"
    r"exc\b|\(excl|before|weight|pcs|units?)|excl\w*\s*(?:gst|tax|vat)|\bqty\b|discount|rounding\s*adj|"
    r"\bchange\b|\bcash\b|tender|paid|\bvisa\b|master\s*card|\bcard\b|deposit|\bgst\b|\bvat\b|\bsst\b|\btax\b",
    re.IGNORECASE,
)
# The payment handed over, and the change given back: tendered - change is the amount paid.
_TENDER = re.compile(r"\b(?:cash|tunai|payment|paid|tender\w*|visa|master\s*card|amex|debit|credit|card|eftpos|"
                     r"nets|espèces|especes|efectivo|contanti)\b", re.IGNORECASE)
_CHANGE = re.compile(r"\b(?:change|kembalian|baki|rückgeld|rendu|monnaie|cambio|resto)\b", re.IGNORECASE)
# The amount before tax.
_SUBTOTAL = re.compile(r"sub\s*-?\s*total|t[o0a]t[a4]l\s*(?:sales\s*|amount\s*)?\(?\s*(?:excl\w*|exc\b|before\s*tax)|"
                       r"net\s*sales|zwischensumme|sous-total", re.IGNORECASE)
_TAX = re.compile(r"\b(?:total\s*)?(?:gst|vat|sst|tax|tva|mwst|iva|service\s*tax|sales\s*tax)\b", re.IGNORECASE)
_NOT_TAX = re.compile(
    r"\b(?:id|no|reg\w*|number|invoice|code|summary|exc\w*|incl\w*|rate)\b|\(\s*[a-z]\s*\)\s*0\s*%|@\s*0\s*%",
    re.IGNORECASE,
)
_DATE_LABEL = re.compile(r"\b(?:date|dated|tarikh|datum|fecha|data|issued|invoice\s*date)\b", re.IGNORECASE)
# Legal-form words: a line holding one is most likely the issuer's name.
_COMPANY_WORDS = re.compile(
    r"\b(?:sdn\.?\s*bhd|bhd|berhad|ltd|limited|llc|l\.l\.c|inc|corp\w*|co\b|company|gmbh|ag|s\.?a\.?r?\.?l?|plc|"
    r"pte|pty|enterprise|enterprises|trading|industries|holdings|restaurant|restoran|cafe|bakery|pharmacy|"
    r"hardware|store|stores|mart|supermarket|market|hypermarket|stationery|bookstore|electrical|machinery|"
    r"perniagaan|kedai|syarikat|services?|station|hotel|gallery|auto|marketing)\b",
    re.IGNORECASE,
)
# Lines near the top that are not the issuer's name.
_NOT_COMPANY = re.compile(
    r"\b(?:receipt|invoice|tax|gst|sst|vat|reg\w*|welcome|tel|fax|phone|date|time|cashier|bill|order|table|"
    r"page|copy|official|simplified|original|member|thank|www|http|email)\b|@|^\W*$",
    re.IGNORECASE,
)
_REGISTRATION = re.compile(r"^\W*(?:\(?\s*(?:co\.?\s*)?(?:reg\w*|roc|no|company)?\.?\s*(?:no\.?)?\s*:?\s*"
                           r"[\d\w]*\d[\d\w]*\s*-\s*[a-z]\s*\)?|\(\s*\d{4,}[\w\s-]*\))\W*$", re.IGNORECASE)
# Where an address block ends: contact lines, tax ids, document titles, dates.
_ADDRESS_END = re.compile(
    r"\b(?:tel|fax|phone|ph|h/?p|mobile|telephone|gst|sst|vat|reg\w*|invoice|receipt|cashier|doc\w*|bill|"
    r"email|e-mail|www|http|website|date|time|order|table|member|guest|check|no\s*\.?\s*:)\b|@|\bt\s*:|"
    r"invoice|receipt",
    re.IGNORECASE,
)
_ADDRESS_WORDS = re.compile(
    r"\b(?:jalan|jln|lorong|taman|tmn|no|lot|street|st|road|rd|avenue|ave|blvd|lane|ln|drive|dr|suite|floor|"
    r"building|bldg|block|blk|plaza|kawasan|bandar|kampung|kg|persiaran|strasse|straße|rue|via|calle|"
    r"postcode|zip|city|state|malaysia|singapore|usa|johor|selangor|kuala|lumpur)\b|\b\d{5}\b",
    re.IGNORECASE,
)


@dataclass(slots=True)
class _Row:
    """Line segments of one printed row, left to right (a label and its value are often separate segments)."""

    lines: list[Line]

    @property
    def text(self) -> str:
        return "  ".join(line.text for line in self.lines)

    @property
    def bbox(self) -> BBox:
        return union_bbox([ln.bbox for ln in self.lines])


def _rows(page: Page) -> list[_Row]:
    """The page's lines grouped into rows by vertical overlap of their centres, top to bottom."""
    return [_Row(sorted(row, key=lambda ln: ln.bbox[0])) for row in bands(page.lines, centred)]


def _span_bbox(line: Line, start: int, end: int) -> BBox:
    """The box of the words of `line` that the character span [start, end) of `line.text` touches."""
    boxes = []
    offset = 0
    for word in line.words:
        w_start, w_end = offset, offset + len(word.text)
        if w_start < end and start < w_end:
            boxes.append(word.bbox)
        offset = w_end + 1
    return union_bbox(boxes) if boxes else line.bbox


def _row_matches(row: _Row, finder, after: int = 0) -> list[tuple[parsers.Match, Line]]:
    """Matches of `finder` in the row's segments; in the first segment only after char `after` (past a label)."""
    out = []
    for index, line in enumerate(row.lines):
        for match in finder(line.text):
            if index == 0 and match.start < after:
                continue
            out.append((match, line))
    return out


def _label_value(rows: list[_Row], index: int, label_end: int, finder) -> list[tuple[parsers.Match, Line]]:
    """Values for the label in `rows[index]`: after it on the same row, else on the next row (just below)."""
    found = _row_matches(rows[index], finder, after=label_end)
    if not found and index + 1 < len(rows):
        row, below = rows[index], rows[index + 1]
        height = row.bbox[3] - row.bbox[1]
        if below.bbox[1] - row.bbox[3] < 1.5 * height:
            found = _row_matches(below, finder)
    return found


def _money(text: str) -> list[parsers.Match]:
    return parsers.find_amounts(text, need_decimals=True)


@dataclass(slots=True)
class _Candidate:
    level: int  # 3: a strong total label ("grand total", "total incl. tax"), 2: "total", 1: "amount"
    found: Found


def _amounts_after_label(rows: list[_Row], index: int, position: int, label_end: int) -> list[tuple[parsers.Match,
                                                                                                       Line]]:
    """Amounts belonging to the label that ends at `label_end` in segment `position` of `rows[index]`.

    In order: after the label in its own segment, in the segments to its right, in a values-only segment beside it
    that sits a little higher or lower (skewed photos split a row), else on a values-only row just below.
    """
    row = rows[index]
    segment = row.lines[position]
    values = [(parsers.Match(m.value, m.start + label_end, m.end + label_end, m.text), segment)
              for m in _money(segment.text[label_end:])]
    values += [(m, ln) for ln in row.lines[position + 1:] for m in _money(ln.text)]
    if not values:
        values = _values_beside(rows, index, segment)
    if not values:
        values = _bare_values_below(rows, index, _money)
    return values


def _values_only(text: str) -> bool:
    letters = re.sub(r"(?i)\b(?:rm|myr|usd|eur|sgd|gbp)\b", "", text)
    return sum(c.isalpha() for c in letters) <= 1


def _values_beside(rows: list[_Row], index: int, label: Line) -> list[tuple[parsers.Match, Line]]:
    """Amounts in a values-only segment to the right of `label` on a neighbouring row that overlaps it vertically.

    A photographed receipt is rarely level: the amount of "Total" can sit half a line higher than its label, so
    rows grouped by their centres put them apart. Overlap of at least 40% of the smaller height pairs them again.
    """
    best: tuple[float, list] | None = None
    height = label.bbox[3] - label.bbox[1]
    centre = (label.bbox[1] + label.bbox[3]) / 2
    for other in (index - 1, index + 1):
        if not 0 <= other < len(rows):
            continue
        for line in rows[other].lines:
            if line.bbox[0] < label.bbox[2] or not _values_only(line.text):
                continue
            overlap = min(label.bbox[3], line.bbox[3]) - max(label.bbox[1], line.bbox[1])
            if overlap < 0.4 * min(height, line.bbox[3] - line.bbox[1]):
                continue
            found = [(m, line) for m in _money(line.text)]
            distance = abs((line.bbox[1] + line.bbox[3]) / 2 - centre)
            if found and (best is None or distance < best[0]):
                best = (distance, found)
    return best[1] if best else []


def _total_candidates(pages: list[Page]) -> list[_Candidate]:
    """Every amount printed after a total label. Labels are judged segment by segment, so
    "Total Saving 0.00 | Total 77.20" on one row reads right."""
    out: list[_Candidate] = []
    for page in pages:
        rows = _rows(page)
        for index, row in enumerate(rows):
            for position, segment in enumerate(row.lines):
                text = segment.text
                strong = _TOTAL_STRONG.search(text)
                weak = None if strong else _TOTAL.search(text)
                if not strong and (not weak or _NOT_TOTAL.search(text)):
                    continue
                if strong and re.search(r"rounding\s*adj|\bchange\b|\bcash\b|excl", text, re.IGNORECASE):
                    continue
                label = strong or weak
                level = 3 if strong else 2 if re.search(r"t[o0a]t[a4]?l|\bttl\b", label.group(0), re.I) else 1
                for match, line in _amounts_after_label(rows, index, position, label.end()):
                    if match.value <= 0:
                        continue
                    confidence = (0.9 if strong else 0.8) * line.confidence
                    out.append(_Candidate(level, Found(match.value, page, _span_bbox(line, match.start, match.end),
                                                        match.text, confidence)))
    return out


def _labelled_amount(pages: list[Page], label: re.Pattern, exclude: re.Pattern | None = None,
                     after: tuple[int, float] | None = None) -> Found | None:
    """The first amount printed after `label` (not `exclude`), reading down the pages; with `after` (page number,
    y), only labels below that point. The rightmost amount of the row is the one taken (the amount column)."""
    for page in pages:
        if after and page.number < after[0]:
            continue
        rows = _rows(page)
        for index, row in enumerate(rows):
            if after and page.number == after[0] and row.bbox[1] <= after[1]:
                continue
            for position, segment in enumerate(row.lines):
                hit = label.search(segment.text)
                if not hit or (exclude and exclude.search(segment.text)):
                    continue
                values = _amounts_after_label(rows, index, position, hit.end())
                if values:
                    match, line = values[-1]
                    return Found(match.value, page, _span_bbox(line, match.start, match.end), match.text,
                                  line.confidence)
    return None


def _paid_amount(pages: list[Page]) -> Found | None:
    """The amount handed over less the change given back: what the customer actually paid.

    Both must be printed: a tender alone may be a larger note ("CASH 100.00"). A tender printed negative (some
    tills print it so) counts by its size.
    """
    tender = _labelled_amount(pages, _TENDER, _CHANGE)
    if tender is None:
        return None
    change = _labelled_amount(pages, _CHANGE, None, after=(tender.page.number, tender.bbox[1]))
    if change is None or change.value < 0:
        return None
    paid = abs(tender.value) - change.value
    if paid <= 0:
        return None
    if change.value == 0:
        return Found(paid, tender.page, tender.bbox, tender.text, tender.confidence,
                      note=f"amount tendered {tender.text} with change {change.text}")
    bbox = union_bbox([tender.bbox, change.bbox]) if tender.page is change.page else tender.bbox
    return Found(paid, tender.page, bbox, f"{tender.text} ... {change.text}", min(tender.confidence,
                                                                                      change.confidence),
                  note=f"amount tendered {tender.text} less change {change.text}")


def _computed_totals(pages: list[Page]) -> list[Decimal]:
    """Totals the printed parts add up to: subtotal + tax, and the subtotal alone (tax included in it)."""
    subtotal = _labelled_amount(pages, _SUBTOTAL)
    if subtotal is None or subtotal.value <= 0:
        return []
    tax = _find_tax(pages)
    out = [subtotal.value]
    if tax is not None and tax.value > 0:
        out.insert(0, subtotal.value + tax.value)
    return out


# Cash rounding moves a total by less than the smallest coin step (0.05 where 1- and 2-cent coins are gone).
_ROUNDING_STEP = Decimal("0.05")


def _find_total(pages: list[Page]) -> Found | None:
    """The amount paid, chosen among the amounts printed after total labels and checked against the payment.

    1. A labelled total equal to tendered - change is the amount paid (two printed sources agree), whatever the
       strength of its label ("Total Sales (incl. GST) 64.13" is the amount before rounding; "TOTAL 64.15" is paid).
    2. Else, tendered - change wins over the labelled totals when subtotal + tax confirms it within one rounding
       step (the labelled total is then misread, or is a tax summary's total), or when the only labels are weak
       ("amount"), or when no total label was read at all (a label cut off, an amount read without its point).
    3. Else the strongest label's largest amount.
    """
    candidates = _total_candidates(pages)
    best = max(candidates, key=lambda c: (c.level, c.found.value), default=None)
    paid = _paid_amount(pages)
    if paid is not None:
        agreeing = [c for c in candidates if c.found.value == paid.value]
        if agreeing:
            chosen = max(agreeing, key=lambda c: c.level).found
            chosen.confidence = max(chosen.confidence, 0.95 * paid.confidence)
            return chosen
        confirmed = any(abs(paid.value - computed) <= _ROUNDING_STEP for computed in _computed_totals(pages))
        if confirmed or best is None or best.level == 1:
            paid.confidence *= 0.85 if confirmed else 0.6
            return paid
    return best.found if best else None


def _bare_values_below(rows: list[_Row], index: int, finder) -> list[tuple[parsers.Match, Line]]:
    """Values on the row just below a label, when that row holds values only (no label of its own)."""
    if index + 1 >= len(rows):
        return []
    row, below = rows[index], rows[index + 1]
    if below.bbox[1] - row.bbox[3] > 1.5 * (row.bbox[3] - row.bbox[1]):
        return []
    if not _values_only(below.text):
        return []
    return _row_matches(below, finder)


def _find_tax(pages: list[Page]) -> Found | None:
    best: tuple[tuple, Found] | None = None
    for page in pages:
        rows = _rows(page)
        for index, row in enumerate(rows):
            label = _TAX.search(row.lines[0].text)
            if not label or _NOT_TAX.search(row.text):
                continue
            found = [(m, ln) for m, ln in _label_value(rows, index, label.end(), _money) if m.value >= 0]
            for match, line in found:
                rank = (1 if "total" in row.text.lower() else 0, match.value)
                item = Found(match.value, page, _span_bbox(line, match.start, match.end), match.text,
                              0.7 * line.confidence)
                if best is None or rank > best[0]:
                    best = (rank, item)
    return best[1] if best else None


def _find_date(pages: list[Page]) -> Found | None:
    """The document's date: one next to a date label first, else the first date printed."""
    first: Found | None = None
    first_full = False
    for page in pages:
        rows = _rows(page)
        for index, row in enumerate(rows):
            label = _DATE_LABEL.search(row.lines[0].text)
            matches = _label_value(rows, index, label.end(), parsers.find_dates) if label else \
                _row_matches(row, parsers.find_dates)
            for match, line in matches:
                found = Found(match.value, page, _span_bbox(line, match.start, match.end), match.text,
                               (0.9 if label else 0.75) * line.confidence)
                if label and not re.search(r"due|expir|valid|birth", row.text, re.IGNORECASE):
                    return found
                # Unlabelled, a fully written date (four-digit year, month name) beats a short one.
                full = re.search(r"(?:19|20)\d{2}|[a-z]{3}", match.text, re.IGNORECASE) is not None
                if first is None or (full and not first_full):
                    first, first_full = found, full
    return first


def _top_lines(page: Page) -> list[Line]:
    """Lines in the top part of the page, top to bottom (where letterheads are)."""
    return [ln for ln in sorted(page.lines, key=lambda ln: (ln.bbox[1], ln.bbox[0]))
            if ln.bbox[1] < 0.45 * page.height]


def _company_line(page: Page) -> tuple[int, Line, float] | None:
    lines = _top_lines(page)
    best: tuple[float, int, Line] | None = None
    for index, line in enumerate(lines[:12]):
        text = line.text
        letters = [c for c in text if c.isalpha()]
        if len(letters) < 3 or _NOT_COMPANY.search(text) or _REGISTRATION.match(text):
            continue
        if text == text.lower() and not _COMPANY_WORDS.search(text):
            continue  # hand-written notes and stamps, not a printed letterhead
        if parsers.find_dates(text) or parsers.find_phones(text):
            continue
        digits = sum(c.isdigit() for c in _strip_ids(text))
        if digits > len(letters) / 3:
            continue
        score = 3.0 if _COMPANY_WORDS.search(text) else 0.0
        if _ADDRESS_WORDS.search(text) and not score:
            score -= 2.0
        score += 1.0 if sum(c.isupper() for c in letters) > 0.7 * len(letters) else 0.0
        score += line.size / max(_median_size(page), 1.0) - index * 0.3
        if best is None or score > best[0]:
            best = (score, index, line)
    if best is None:
        return None
    score, index, line = best
    return index, line, 0.85 if score >= 3 else 0.55


def _median_size(page: Page) -> float:
    sizes = sorted(ln.size for ln in page.lines)
    return sizes[len(sizes) // 2] if sizes else 1.0


def _find_company(pages: list[Page]) -> Found | None:
    if not pages:
        return None
    page = pages[0]
    found = _company_line(page)
    if found is None:
        return None
    index, line, confidence = found
    lines = _top_lines(page)
    text, boxes = line.text, [line.bbox]
    # A long name wraps: the legal form alone on the next line ("SYARIKAT ABC" / "SDN BHD"), a line ending in
    # "&", or the name's start on the line above one that begins with the legal form ("POPULAR BOOK" / "CO. BHD").
    if index + 1 < len(lines):
        nxt = lines[index + 1]
        if _LEGAL_ONLY.fullmatch(nxt.text) or text.rstrip().endswith(("&", "-", ",")):
            text, boxes = f"{text} {nxt.text}", [*boxes, nxt.bbox]
    if index > 0 and _LEGAL_START.match(line.text):
        above = lines[index - 1]
        if not _NOT_COMPANY.search(above.text) and line.bbox[1] - above.bbox[3] < line.bbox[3] - line.bbox[1]:
            text, boxes = f"{above.text} {text}", [above.bbox, *boxes]
    text = _strip_ids(text)
    return Found(text, page, union_bbox(boxes), text, confidence * line.confidence)


# A company registration line ("CO.REG: 933109-X", "BR No.: 0195932-X", "Company No 20965"), OCR slips included.
_COMPANY_ID = re.compile(r"\b(?:co\.?\s*r\w{1,2}g|reg(?:istration)?\s*no|roc|br\s*no|company\s*no|co\.?\s*no)\b",
                         re.IGNORECASE)
_LEGAL_ONLY = re.compile(r"\W*(?:sdn\.?\s*bhd|bhd|berhad|ltd|limited|inc|llc|gmbh|pte\.?\s*ltd)\W*", re.IGNORECASE)
_LEGAL_START = re.compile(r"\W*(?:co\b|company|sdn|bhd|berhad|ltd|limited|inc|llc|gmbh|pte)", re.IGNORECASE)
_ID_IN_NAME = re.compile(r"\(\s*(?:co\.?\s*)?(?:reg\w*\.?\s*)?(?:no\.?\s*)?:?\s*[a-z]{0,3}\d[\w\s-]*\)", re.IGNORECASE)


def _strip_ids(text: str) -> str:
    """A name without the registration number printed beside it ("ABC SDN BHD (123456-X)")."""
    return re.sub(r"\s+", " ", _ID_IN_NAME.sub(" ", text)).strip()


def _find_address(pages: list[Page]) -> Found | None:
    """The address block: lines under the company name up to the first contact/tax/title line, a registration
    line, or the line naming the country (a postal address ends with it)."""
    if not pages:
        return None
    page = pages[0]
    found = _company_line(page)
    lines = _top_lines(page)
    start = found[0] + 1 if found else 0
    block: list[Line] = []
    texts: list[str] = []
    for line in lines[start:start + 12]:
        text = line.text
        if block and (_ADDRESS_END.search(text) or _COMPANY_ID.search(text) or parsers.find_dates(text)
                      or parsers.find_phones(text) or _TOTAL.search(text) or _TOTAL_STRONG.search(text)):
            break
        if block and line.bbox[1] - block[-1].bbox[3] > 2.0 * (line.bbox[3] - line.bbox[1]):
            break  # a blank band ends the block
        if not block:
            # Before the block starts: skip the company's registration number, a wrapped name, a date, a bare
            # number (an id printed under the name) and labelled fields ("Site: 1046"); "Address:" is dropped.
            if _REGISTRATION.match(text) or parsers.find_dates(text) or _ADDRESS_END.search(text) \
                    or _COMPANY_ID.search(text) or not any(c.isalpha() for c in text):
                continue
            label = _FIELD_LABEL.match(text)
            if label and _ADDRESS_LABEL.fullmatch(label.group(1)):
                text = text[label.end():].strip()
            elif label and not _ADDRESS_WORDS.fullmatch(label.group(1)):
                continue
            if not (_ADDRESS_WORDS.search(text) or re.search(r"\d", text)):
                continue
        block.append(line)
        texts.append(text)
        if len(block) >= 6 or _COUNTRY_END.search(text):
            break
    if not block or not any(_ADDRESS_WORDS.search(ln.text) or re.search(r"\d", ln.text) for ln in block):
        return None
    text = " ".join(texts)
    value = _address_punctuation(text) if page.method == "ocr" else text
    confidence = 0.7 * min(ln.confidence for ln in block)
    note = "OCR's '.' between address parts read as ','" if value != text else None
    return Found(value, page, union_bbox([ln.bbox for ln in block]), text, confidence, note=note)


# "Site: 1046", "Outlet: Midvalley": a labelled field, not an address line (unless the label is "Address").
_FIELD_LABEL = re.compile(r"\s*([A-Za-z][A-Za-z ]{1,15}?)\s*:\s*")
_ADDRESS_LABEL = re.compile(r"(?:business\s*|company\s*|shop\s*|store\s*)?(?:address|addr|adresse|alamat|dirección)",
                            re.IGNORECASE)
_COUNTRY_END = re.compile(
    r"\b(?:malaysia|singapore|indonesia|thailand|philippines|vietnam|viet nam|china|hong kong|taiwan|japan|korea|"
    r"india|australia|new zealand|united states(?: of america)?|u\.?s\.?a|canada|mexico|brazil|argentina|"
    r"united kingdom|u\.?k|england|scotland|wales|ireland|france|germany|deutschland|spain|españa|portugal|italy|"
    r"italia|netherlands|nederland|belgium|belgique|switzerland|schweiz|suisse|austria|österreich|sweden|norway|"
    r"denmark|finland|poland|polska|south africa|nigeria|kenya|egypt|uae|united arab emirates|saudi arabia)\W*$",
    re.IGNORECASE,
)
# Abbreviations that end in a period inside an address ("No. 5", "Jln. Besar", "St. Mary"); other words do not.
_ADDRESS_ABBREVIATIONS = frozenset({
    "no", "nos", "jln", "jl", "lrg", "tmn", "kg", "kpg", "bt", "bkt", "sg", "sdn", "bhd", "co", "ltd", "st", "rd",
    "ave", "av", "blvd", "bldg", "blk", "dr", "ln", "ct", "pl", "sq", "hwy", "pkwy", "cres", "ter", "apt", "ste",
    "fl", "flr", "lvl", "mt", "ft", "pt", "lt", "rm", "unit", "ne", "nw", "se", "sw", "mr", "mrs", "ms", "prof"})


def _address_punctuation(text: str) -> str:
    """An OCR'd address with its separators read back as commas.

    OCR confuses ',' and '.' on small receipt print. Inside an address a period only follows an abbreviation
    ("No.", "Jln.", an initial) or ends it; after any other word or number, a period followed by more of the
    address is a misread comma ("TAMAN SRI PUTRA. 81200 JOHOR" -> "TAMAN SRI PUTRA, 81200 JOHOR"), and a period
    right before a comma is a stray mark ("SELATAN., 84600" -> "SELATAN, 84600").
    """
    def fix(match: re.Match[str]) -> str:
        word = match.group(1)
        if (len(word) == 1 and word.isalpha()) or word.lower() in _ADDRESS_ABBREVIATIONS:
            return match.group(0)
        return word + ","

    return re.sub(r"(?<![\w.])(\w+)\.(,|(?=\s+\S))", fix, text)


def _find_items(pages: list[Page]) -> Found | None:
    """Line items: rows ending in an amount between the header and the first total-like row."""
    items: list[dict[str, Any]] = []
    boxes: list[BBox] = []
    page = pages[0] if pages else None
    for page in pages:
        rows = _rows(page)
        pending = ""
        for row in rows:
            text = row.text
            if _TOTAL.search(text) or _TOTAL_STRONG.search(text) or re.search(r"sub\s*total", text, re.I):
                break
            amounts = _money(row.lines[-1].text)
            if not amounts or _NOT_TOTAL.search(text) or _TAX.search(text) or parsers.find_dates(text):
                letters = sum(c.isalpha() for c in text)
                pending = text if letters >= 3 and not _ADDRESS_END.search(text) else ""
                continue
            description = " ".join(ln.text for ln in row.lines[:-1] if sum(c.isalpha() for c in ln.text) >= 2)
            description = description or pending
            if not description:
                continue
            qty = re.search(r"(?<![\d.])(\d{1,3})\s*[xX@*]\s*\d", text)
            items.append({"description": description.strip(), "quantity": int(qty.group(1)) if qty else None,
                          "amount": amounts[-1].value})
            boxes.append(row.bbox)
            pending = ""
    if not items or page is None:
        return None
    return Found(items, page, union_bbox(boxes), f"{len(items)} item rows", 0.5)


# Which rule fills a field, decided by its name, description and format.
_RULES = {
    "total": _find_total,
    "tax": _find_tax,
    "date": _find_date,
    "company": _find_company,
    "address": _find_address,
    "items": _find_items,
}


def _rule_for(name: str, spec: dict) -> str | None:
    words = f"{name} {spec.get('title', '')}".lower().replace("_", " ")
    description = str(spec.get("description", "")).lower()
    if spec.get("type") == "array" or "array" in field_types(spec):
        return "items" if re.search(r"item|line|product|article", words) else None
    if re.search(r"\b(?:rate|percent\w*|ratio)\b", words):
        return None  # "VAT rate" is a percentage found by its label, not the tax amount
    if re.search(r"\b(?:total|amount due|grand|balance)\b", words):
        return "total"
    if re.search(r"\b(?:tax|gst|vat|sst)\b", words):
        return "tax"
    if re.search(r"\b(?:due|expir|birth|start|end)\b", words):
        return None  # a specific date: found by its label, not as the document's date
    if spec.get("format") == "date" or re.search(r"\bdate\b", words):
        return "date"
    if re.search(r"\b(?:company|vendor|merchant|seller|store|shop|issuer|supplier)\b", words):
        return "company"
    if re.search(r"\baddress\b", words) and not re.search(r"e-?mail|bill|ship|customer|buyer", words + description):
        return "address"
    return None


def _labels(name: str, spec: dict) -> list[str]:
    """Printed labels a field may go by: its title, its name in words, and 'no'/'#' for 'number'."""
    base = {str(spec.get("title", "")).strip().lower(), name.replace("_", " ").replace("-", " ").lower(),
            re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).lower()}
    out = set()
    for label in base:
        if not label:
            continue
        out.add(label)
        # "VAT rate" is printed "VAT 10%": the subject alone is a label too.
        head = re.sub(r"\s+(?:rate|percent\w*|number|no|amount|value|code|id)$", "", label)
        if head and head != label:
            out.add(head)
        for word, short in (("number", "no"), ("number", "#"), ("identifier", "id"), ("phone", "tel"),
                            ("telephone", "tel"), ("reference", "ref")):
            if word in label:
                out.add(label.replace(word, short))
    return sorted(out, key=len, reverse=True)


def _finder_for(spec: dict, name: str):
    types = field_types(spec)
    words = f"{name} {spec.get('description', '')}".lower()
    if spec.get("format") == "date" or re.search(r"\bdate\b", name.lower()):
        return parsers.find_dates
    if spec.get("format") == "email" or "email" in words or "e-mail" in words:
        return parsers.find_emails
    if re.search(r"phone|\btel\b|fax|mobile", words):
        return parsers.find_phones
    if re.search(r"percent|rate|%", words) and ("number" in types or "integer" in types):
        return parsers.find_percentages
    if "number" in types or "integer" in types:
        return parsers.find_amounts
    if re.search(r"\b(?:number|no|id|code|reference|ref)\b", name.lower().replace("_", " ")):
        return parsers.find_ids
    return None


def _find_labelled(pages: list[Page], name: str, spec: dict) -> Found | None:
    """A field found by its label: the value after it on the same row, or on the row below."""
    finder = _finder_for(spec, name)
    for label in _labels(name, spec):
        words = r"[\s_.-]*".join(re.escape(word) for word in label.split())
        pattern = re.compile(rf"(?<!\w){words}\s*\.?\s*[:#]?", re.IGNORECASE)
        for page in pages:
            rows = _rows(page)
            for index, row in enumerate(rows):
                hit = pattern.search(row.lines[0].text)
                if not hit:
                    continue
                if finder is not None:
                    values = _label_value(rows, index, hit.end(), finder)
                    if values:
                        match, line = values[0]
                        return Found(match.value, page, _span_bbox(line, match.start, match.end), match.text,
                                      0.8 * line.confidence)
                    continue
                rest = row.lines[0].text[hit.end():].strip(" :")
                line = row.lines[0]
                if not rest and len(row.lines) > 1:
                    line, rest = row.lines[1], row.lines[1].text
                if rest:
                    start = line.text.find(rest)
                    return Found(rest, page, _span_bbox(line, start, start + len(rest)), rest,
                                  0.7 * line.confidence)
    return None


def fill_with_rules(schema: dict, pages: list[Page]) -> dict[str, FieldResult]:
    results: dict[str, FieldResult] = {}
    for name, spec in schema["properties"].items():
        if not isinstance(spec, dict):
            results[name] = FieldResult(value=None, confidence=0.0, reason="The field's schema is not an object.")
            continue
        rule = _rule_for(name, spec)
        types = field_types(spec)
        if rule is None and ("object" in types or "array" in types):
            results[name] = FieldResult(
                value=None, confidence=0.0,
                reason="Nested objects and lists (other than line items) are not read by the rules engine; "
                "a vision-language engine fills them.")
            continue
        found = _RULES[rule](pages) if rule else None
        if found is None and rule != "total":
            # Not for totals: the total rule has judged every total label already, and a bare "total" label
            # search would take "Sub Total" or "Total Qty" for the amount paid.
            found = _find_labelled(pages, name, spec)
        what = f"a {rule} line" if rule else f"a label like {_labels(name, spec)[0]!r}"
        results[name] = checked(name, spec, found, f"No {what} with a readable value was found.", schema)
    return results
