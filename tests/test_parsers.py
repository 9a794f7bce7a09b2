"""Typed parsers: every value normalised, nothing guessed."""

from __future__ import annotations

from decimal import Decimal

from mcp_docvl.extract.parsers import find_amounts, find_dates, find_emails, find_ids, find_percentages, find_phones


def test_dates_in_many_formats_become_iso():
    cases = {
        "Date: 25/12/2018 8:13:39 PM": "2018-12-25",
        "12-01-19 21:13": "2019-01-12",
        "05 Mar 2018 18:24": "2018-03-05",
        "March 5, 2018": "2018-03-05",
        "2019-01-11": "2019-01-11",
        "29.12.2017": "2017-12-29",
        "14/03/20185:57:07PM": "2018-03-14",  # OCR glued the time to the year
        "printed 27032018": "2018-03-27",
        "le 3 janvier 2020": "2020-01-03",
    }
    for text, iso in cases.items():
        assert [m.value for m in find_dates(text)] == [iso], text


def test_impossible_or_non_dates_are_not_dates():
    assert find_dates("13/25/2020") == []
    assert find_dates("Tel 03-8941 1234") == []
    assert find_dates("HC03-7 - 15") == []
    # Month first when day first is impossible.
    assert find_dates("12/31/2020")[0].value == "2020-12-31"


def test_amounts_with_currency_and_separators():
    got = [(m.value, m.currency) for m in find_amounts("TOTAL RM4.00 and $1,234.56 or 1.234,56 € or 1 234,50 EUR")]
    assert got == [(Decimal("4.00"), "RM"), (Decimal("1234.56"), "$"), (Decimal("1234.56"), "€"),
                   (Decimal("1234.50"), "EUR")]
    assert [m.value for m in find_amounts("Qty 2  12.50", need_decimals=True)] == [Decimal("12.50")]
    assert [m.value for m in find_amounts("-RM 0.02")] == [Decimal("-0.02")]
    assert find_amounts("GST 6%", need_decimals=True) == []


def test_percent_phone_email_ids():
    assert [m.value for m in find_percentages("GST 6% and 12,5 %")] == [Decimal("6"), Decimal("12.5")]
    assert [m.value for m in find_phones("Tel: 03-8941 1234  Fax +60 3 555 1234")] == ["0389411234", "+6035551234"]
    assert [m.value for m in find_emails("write to Billing@Acme-Shop.com.my today")] == ["billing@acme-shop.com.my"]
    assert [m.value for m in find_ids("Invoice No: INV-2018/0042 ref ABC")] == ["INV-2018/0042"]
