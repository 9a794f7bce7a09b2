"""Typed values found in text: dates, money, percentages, phone numbers, e-mail addresses and identifiers.

Each `find_*` returns every match in a string with its span, so callers can cite exactly what was printed;
each value is already normalised (ISO 8601 dates, `Decimal` amounts). Nothing here guesses: a string that does
not parse cleanly gives no match rather than a wrong value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from price_parser import Price


@dataclass(frozen=True, slots=True)
class Match:
    value: object  # str (ISO date, e-mail, phone, id) or Decimal (money, percent)
    start: int
    end: int
    text: str  # as printed
    currency: str | None = None


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january", "janv", "janvier", "januar", "enero", "ene", "gennaio", "gen"),
            ("feb", "february", "fev", "fevrier", "février", "februar", "febrero", "febbraio"),
            ("mar", "march", "mars", "marz", "märz", "marzo"),
            ("apr", "april", "avr", "avril", "abril", "aprile"),
            ("may", "mai", "mayo", "maggio", "mei"),
            ("jun", "june", "juin", "juni", "junio", "giugno"),
            ("jul", "july", "juil", "juillet", "juli", "julio", "luglio"),
            ("aug", "august", "aout", "août", "agosto", "ogos"),
            ("sep", "sept", "september", "septembre", "septiembre", "settembre"),
            ("oct", "october", "octobre", "oktober", "octubre", "ottobre", "okt"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "decembre", "décembre", "dezember", "diciembre", "dicembre", "dis", "dez"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted((re.escape(m) for m in _MONTHS), key=len, reverse=True))

# Numeric dates: year first (ISO and Asian order) or day/month first; separators / - . and spaces around them.
# A year may run straight into a time of day ("14/03/20185:57PM"): OCR drops the space between them.
_YMD = re.compile(r"(?<![\w.])(?P<y>(?:19|20)\d{2})(?P<s>[-/.])(?P<m>\d{1,2})(?P=s)(?P<d>\d{1,2})(?!\d)")
_DMY = re.compile(
    r"(?<![\w.])(?P<a>\d{1,2})(?P<s>[-/.])(?P<b>\d{1,2})(?P=s)"
    r"(?P<y>(?:19|20)\d{2}(?=\d{1,2}:\d\d)|(?:19|20)?\d{2}(?![\d.]\d|\d))"
)
# Digits only, as tills print them: 27032018 (day first) or 20180304 (year first).
_COMPACT = re.compile(r"(?<![\w.])(?:(?P<y1>(?:19|20)\d{2})(?P<m1>[01]\d)(?P<d1>[0-3]\d)|(?P<d2>[0-3]\d)(?P<m2>[01]\d)"
                      r"(?P<y2>(?:19|20)\d{2}))(?![\w.])")
# Dates with a month name: "05 Mar 2018", "5-MAR-18", "March 5, 2018", "Mar 05 2018".
_D_MON_Y = re.compile(
    rf"(?<![\w])(?P<d>\d{{1,2}})(?:st|nd|rd|th)?[\s\-/.]*(?P<mon>{_MONTH_RE})\.?[\s\-/.,]*(?P<y>(?:19|20)?\d{{2}})(?!\d)",
    re.IGNORECASE,
)
_MON_D_Y = re.compile(
    rf"(?<![\w])(?P<mon>{_MONTH_RE})\.?\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d)",
    re.IGNORECASE,
)


def _make_date(year: int, month: int, day: int) -> str | None:
    if year < 100:
        year += 2000 if year < 70 else 1900
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def find_dates(text: str, day_first: bool = True) -> list[Match]:
    """Every date in `text`, normalised to ISO 8601 (YYYY-MM-DD).

    Ambiguous numeric dates (03/04/2020) follow `day_first` (most of the world writes the day first); an
    impossible reading (13/25/2020) falls back to the other order, and a date valid in neither is skipped.
    """
    found: list[Match] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], iso: str | None) -> None:
        if iso and not any(m.start() < e and s < m.end() for s, e in taken):
            taken.append((m.start(), m.end()))
            found.append(Match(iso, m.start(), m.end(), m.group(0)))

    for m in _D_MON_Y.finditer(text):
        add(m, _make_date(int(m["y"]), _MONTHS[m["mon"].lower()], int(m["d"])))
    for m in _MON_D_Y.finditer(text):
        add(m, _make_date(int(m["y"]), _MONTHS[m["mon"].lower()], int(m["d"])))
    for m in _YMD.finditer(text):
        add(m, _make_date(int(m["y"]), int(m["m"]), int(m["d"])))
    for m in _COMPACT.finditer(text):
        if m["y1"]:
            add(m, _make_date(int(m["y1"]), int(m["m1"]), int(m["d1"])))
        else:
            add(m, _make_date(int(m["y2"]), int(m["m2"]), int(m["d2"])))
    for m in _DMY.finditer(text):
        a, b, y = int(m["a"]), int(m["b"]), int(m["y"])
        if m["s"] == "." and len(m["y"]) == 2 and a > 12 and b > 12:
            continue  # "25.50.10" is a number, not a date
        first = _make_date(y, b, a) if day_first else _make_date(y, a, b)
        add(m, first or (_make_date(y, a, b) if day_first else _make_date(y, b, a)))
    return sorted(found, key=lambda x: x.start)


# An amount: optional currency before or after, digits with thousands separators, optional decimals.
_CURRENCY = (r"(?:RM|MYR|USD|EUR|GBP|SGD|AUD|CAD|CHF|JPY|CNY|INR|IDR|THB|PHP|HKD|NZD|US\$|S\$|A\$|C\$|[$€£¥₹₩₽]"
             r"|Rs\.?|Rp\.?)")
_AMOUNT = re.compile(
    rf"(?<![\w.,])(?P<neg>-)?(?P<cur1>{_CURRENCY})?\s?(?P<neg2>-)?"
    r"(?P<num>\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
    rf"(?:\s?(?P<cur2>{_CURRENCY}))?(?![\w%]|[.,]\d)",
    re.IGNORECASE,
)


_LOST_POINT = re.compile(rf"(?P<cur>{_CURRENCY})?\s?(?P<int>\d{{1,5}}) (?P<dec>\d{{2}})", re.IGNORECASE)


def find_amounts(text: str, need_decimals: bool = False) -> list[Match]:
    """Every money amount in `text` as a `Decimal`, with the currency when one is printed next to it.

    Thousands separators (1,234.56 / 1.234,56 / 1 234,56) are understood. With `need_decimals`, bare integers
    (quantities, item codes) are skipped: on receipts and invoices money is printed with cents.
    """
    out: list[Match] = []
    if need_decimals:
        # OCR often loses the decimal point of a lone amount ("RM 64 13"): read it back when nothing else is there.
        lone = _LOST_POINT.fullmatch(text.strip())
        if lone:
            value = Decimal(f"{lone['int']}.{lone['dec']}")
            return [Match(value, text.index(lone.group(0).strip()), len(text), lone.group(0).strip(),
                          lone["cur"].upper() if lone["cur"] else None)]
    for m in _AMOUNT.finditer(text):
        number = m["num"]
        currency = m["cur1"] or m["cur2"]
        has_decimals = re.search(r"[.,]\d{1,2}$", number) is not None
        if need_decimals and not has_decimals:
            continue
        if not currency and not has_decimals and len(number) > 9:
            continue  # long digit strings are ids and phone numbers, not amounts
        price = Price.fromstring(number)
        if price.amount is None:
            continue
        amount = -price.amount if (m["neg"] or m["neg2"]) else price.amount
        out.append(Match(amount, m.start(), m.end(), m.group(0).strip(), currency.upper() if currency else None))
    return out


_PERCENT = re.compile(r"(?<![\w.,])(?P<num>-?\d+(?:[.,]\d+)?)\s?(?:%|percent\b|per cent\b)", re.IGNORECASE)


def find_percentages(text: str) -> list[Match]:
    """Percentages as `Decimal` numbers of percent ("6%" -> 6, "12,5 %" -> 12.5)."""
    out = []
    for m in _PERCENT.finditer(text):
        try:
            out.append(Match(Decimal(m["num"].replace(",", ".")), m.start(), m.end(), m.group(0)))
        except InvalidOperation:
            continue
    return out


_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w])")


def find_emails(text: str) -> list[Match]:
    return [Match(m.group(0).lower(), m.start(), m.end(), m.group(0)) for m in _EMAIL.finditer(text)]


_PHONE = re.compile(r"(?<![\w+])(?:\+|00)?\d[\d\s().\-/]{6,18}\d(?![\w])")


def find_phones(text: str) -> list[Match]:
    """Phone numbers: 8 to 15 digits (the E.164 range) with the usual separators; normalised to digits."""
    out = []
    for m in _PHONE.finditer(text):
        raw = m.group(0)
        digits = re.sub(r"\D", "", raw)
        if not 8 <= len(digits) <= 15 or find_dates(raw):
            continue
        value = ("+" + digits[2:] if raw.startswith("00") else "+" + digits) if raw.startswith(("+", "00")) else digits
        out.append(Match(value, m.start(), m.end(), raw))
    return out


# An identifier: a token of letters and digits (with - / . inside) holding at least one digit.
_ID = re.compile(r"(?<![\w])(?=[\w\-/.]*\d)[A-Za-z0-9][\w\-/.]*[A-Za-z0-9](?![\w])")


def find_ids(text: str) -> list[Match]:
    return [Match(m.group(0), m.start(), m.end(), m.group(0)) for m in _ID.finditer(text)]


def parse_bool(text: str) -> bool | None:
    lowered = text.strip().lower()
    if lowered in {"yes", "y", "true", "x", "☑", "✓", "✔", "ja", "oui", "si", "sí"}:
        return True
    if lowered in {"no", "n", "false", "☐", "nein", "non"}:
        return False
    return None
