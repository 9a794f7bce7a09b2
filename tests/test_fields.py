"""extract_fields: presets on real receipts, a generated invoice PDF, flat field lists and schema errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pypdfium2
import pytest
from conftest import eval_dir
from mcp import Client

from mcp_docvl import samples
from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.features.fields import extract_fields
from mcp_docvl.features.fields.rules import _address_punctuation
from mcp_docvl.mcp.server import build_server

INVOICE_LINES = [
    (50, 60, 20, "ACME TRADING LTD"),
    (50, 85, 10, "12 Harbour Road, Springfield 40400"),
    (50, 100, 10, "Tel: 03-5121 3881   Email: billing@acme-trading.example"),
    (250, 140, 16, "INVOICE"),
    (50, 180, 10, "Invoice No: INV-2024-0042"),
    (350, 180, 10, "Date: 05 Mar 2024"),
    (350, 195, 10, "Due Date: 2024-04-04"),
    (50, 240, 10, "Widget A"), (300, 240, 10, "2 x 10.00"), (480, 240, 10, "20.00"),
    (50, 258, 10, "Gadget B"), (300, 258, 10, "1 x 5.50"), (480, 258, 10, "5.50"),
    (300, 300, 10, "Subtotal"), (480, 300, 10, "25.50"),
    (300, 318, 10, "VAT 10%"), (480, 318, 10, "2.55"),
    (300, 336, 12, "TOTAL DUE"), (465, 336, 12, "USD 28.05"),
]


def make_pdf(lines: list[tuple[float, float, float, str]]) -> bytes:
    """A one-page A4 PDF with Helvetica text at (x, baseline from the top, size): a born-digital invoice."""
    # samples.Text places the top of a line; its baseline sits 0.8 of the size below that.
    return samples.make_pdf([[samples.Text(x, y - 0.8 * size, text, size) for x, y, size, text in lines]],
                            size=(595, 842))


@pytest.fixture
def invoice(tmp_path: Path) -> str:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(make_pdf(INVOICE_LINES))
    return str(path)


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return OcrEngine()


def test_invoice_preset_on_a_generated_pdf(settings: Settings, invoice: str, engine: OcrEngine):
    result = extract_fields(invoice, preset="invoice", settings=settings, engine=engine)
    data = result.data
    jsonschema.validate(data, result.json_schema)
    assert result.method == "rules"
    assert data["company"] == "ACME TRADING LTD"
    assert data["invoice_number"] == "INV-2024-0042"
    assert data["date"] == "2024-03-05" and data["due_date"] == "2024-04-04"
    assert data["total"] == 28.05 and data["tax"] == 2.55
    assert data["address"].startswith("12 Harbour Road")
    assert [(i["description"], i["amount"]) for i in data["items"]] == [("Widget A", 20.0), ("Gadget B", 5.5)]
    total = result.fields["total"]
    assert total.citation.page == 1 and "28.05" in total.citation.text and 0 < total.confidence <= 1
    # The cited box lies on the TOTAL DUE row (y measured from the top).
    assert 320 < total.citation.bbox[1] < 345 and total.citation.bbox[0] > 400
    assert result.fields["currency"].value is None and result.fields["currency"].reason


def test_flat_fields_and_wrong_types_give_null_with_reason(settings: Settings, invoice: str, engine: OcrEngine):
    result = extract_fields(invoice, fields=[
        {"name": "email", "description": "billing e-mail"},
        {"name": "vat_rate", "description": "VAT percent", "type": "number"},
        {"name": "total_due", "description": "amount to pay, in whole units", "type": "integer"},
        {"name": "purchase_order", "description": "PO number"},
    ], settings=settings, engine=engine)
    assert result.data["email"] == "billing@acme-trading.example"
    assert result.data["vat_rate"] == 10
    # 28.05 is not an integer: null and why, never a rounded or wrong-typed value.
    assert result.data["total_due"] is None and "28.05" in result.fields["total_due"].reason
    assert result.data["purchase_order"] is None and result.fields["purchase_order"].reason


def test_schema_errors_name_the_problem(settings: Settings, invoice: str, engine: OcrEngine):
    with pytest.raises(InvalidArgument, match="total"):
        extract_fields(invoice, {"type": "object", "properties": {"total": {"type": "nummber"}}}, settings=settings,
                       engine=engine)
    with pytest.raises(InvalidArgument, match="properties"):
        extract_fields(invoice, {"type": "array"}, settings=settings, engine=engine)
    with pytest.raises(InvalidArgument, match="exactly one"):
        extract_fields(invoice, {"type": "object", "properties": {"a": {}}}, preset="receipt", settings=settings,
                       engine=engine)
    with pytest.raises(InvalidArgument, match="preset"):
        extract_fields(invoice, preset="passport", settings=settings, engine=engine)


@pytest.mark.parametrize("name", ["000", "030"])
def test_receipt_preset_on_real_receipts(settings: Settings, engine: OcrEngine, name: str):
    folder = eval_dir("sroie")
    truth = json.loads((folder / "key" / f"{name}.json").read_text())
    result = extract_fields(str(folder / "img" / f"{name}.jpg"), preset="receipt", settings=settings, engine=engine)
    data = result.data
    assert data["date"] and result.fields["date"].citation.text.upper() == truth["date"]
    assert f"{data['total']:.2f}" == truth["total"].lstrip("$RM")
    assert data["company"].upper().replace(" ", "")[:6] == truth["company"].replace(" ", "")[:6]
    assert result.fields["total"].citation.unit == "px"


async def test_mcp_tools_and_prompts(settings: Settings, invoice: str, engine: OcrEngine):
    server = build_server(settings, engine=engine)
    async with Client(server) as client:
        prompts = {p.name for p in (await client.list_prompts()).prompts}
        assert {"receipt", "invoice"} <= prompts
        prompt = await client.get_prompt("receipt", {"source": invoice})
        assert "extract_fields" in prompt.messages[0].content.text
        result = await client.call_tool("extract_fields", {"source": invoice, "preset": "invoice"})
        assert not result.is_error and result.structured_content["data"]["total"] == 28.05
        bad = await client.call_tool("extract_fields", {"source": invoice,
                                                        "json_schema": {"type": "object", "properties": 3}})
        assert bad.is_error and "schema" in bad.content[0].text.lower()


# ----------------------------------------------------------------------------------------------------------------
# Rules checked on generated receipts (samples.make_pdf), so each holds apart from the SROIE data.

def _receipt(tmp_path: Path, body: list[tuple[str, str]], head: list[str] | None = None, skew: float = 0.0,
             name: str = "receipt") -> str:
    """A receipt PDF: header lines, then label/amount rows (the amount `skew` points higher than its label)."""
    head = head or ["KEDAI MAJU TRADING", "12, Jalan Besar, 45600 Batang Kali"]
    items = [samples.Text(60, 40 + 16 * i, text, 11) for i, text in enumerate(head)]
    top = 60 + 16 * len(head)
    for i, (label, amount) in enumerate(body):
        y = top + 18 * i
        items.append(samples.Text(60, y, label, 11))
        if amount:
            items.append(samples.Text(360, y - skew, amount, 11))
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(samples.make_pdf([items]))
    return str(path)


def _total(path: str, settings: Settings, engine: OcrEngine):
    return extract_fields(path, preset="receipt", settings=settings, engine=engine).fields["total"]


def test_total_agreeing_with_cash_less_change_beats_a_stronger_label(tmp_path, settings, engine):
    # "Total Sales (Incl. GST)" is the amount before cash rounding; the paid total is the one cash - change confirms.
    path = _receipt(tmp_path, [("Total Sales (Incl. GST 6%)", "64.13"), ("Rounding Adjustment", "0.02"),
                               ("TOTAL", "64.15"), ("CASH", "100.00"), ("CHANGE", "35.85")])
    total = _total(path, settings, engine)
    assert total.value == 64.15 and total.citation.text == "64.15"
    # Without a payment block the strongest label still decides.
    path = _receipt(tmp_path, [("Total Sales (Incl. GST 6%)", "64.13"), ("TOTAL", "64.15")], name="no_payment")
    assert _total(path, settings, engine).value == 64.13


def test_total_from_tendered_less_change_when_no_total_label_is_read(tmp_path, settings, engine):
    # The total's label is missing (cut off in a scan); subtotal + tax, rounded, confirms cash - change.
    path = _receipt(tmp_path, [("Sub Total", "565.50"), ("Total GST", "33.93"), ("Rounding", "0.02"), ("", ""),
                               ("CASH", "600.00"), ("CHANGE", "0.55")])
    total = _total(path, settings, engine)
    assert total.value == 599.45
    assert "600.00" in total.note and "0.55" in total.note
    assert "600.00" in total.citation.text and "0.55" in total.citation.text and 0 < total.confidence < 0.9
    # A tender with no change line proves nothing (it may be a larger note): no total rather than a wrong one.
    path = _receipt(tmp_path, [("Sub Total", "565.50"), ("CASH", "600.00")], name="no_change")
    assert _total(path, settings, engine).value is None


def test_total_confirmed_by_subtotal_and_tax_beats_a_summary_total(tmp_path, settings, engine):
    # The only "TOTAL" read is the tax summary's (net amount); subtotal + tax - rounding = cash - change.
    path = _receipt(tmp_path, [("SUB-TOTAL (EX)", "144.68"), ("TOTAL TAX", "8.68"), ("ROUNDING", "-0.01"),
                               ("CASH", "153.35"), ("CHANGE", "0.00"), ("GST SUMMARY", ""), ("TOTAL :", "144.68")])
    total = _total(path, settings, engine)
    assert total.value == 153.35 and total.citation.text == "153.35" and "change 0.00" in total.note
    # Unconfirmed, a split payment (card + cash) does not overrule a printed total.
    path = _receipt(tmp_path, [("TOTAL", "50.00"), ("VISA", "30.00"), ("CASH", "20.00"), ("CHANGE", "0.00")],
                    name="split")
    total = _total(path, settings, engine)
    assert total.value == 50.0 and total.note is None


def test_total_label_with_tax_included_and_amount_set_higher(tmp_path, settings, engine):
    # "Total RM Incl. of GST" names the amount paid even with "GST" in it; the amount sits higher than its label,
    # as on a skewed photo, and is still paired with it.
    path = _receipt(tmp_path, [("Total Sales (Excluding GST)", "7.00"), ("Total GST", "0.42"),
                               ("Total RM Incl. of GST", "7.42")], skew=6.5)
    total = _total(path, settings, engine)
    assert total.value == 7.42 and total.citation.text == "7.42"


def test_address_block_ends_at_registration_and_country(tmp_path, settings, engine):
    head = ["POPULAR BOOK CO. (M) SDN BHD", "122703", "Address: No 8, Jalan 7/118B, Desa Tun Razak",
            "56000 Kuala Lumpur, Malaysia", "SUNWAY VELOCITY", "Tel: 03-9201 6281"]
    path = _receipt(tmp_path, [("TOTAL", "9.65")], head=head)
    result = extract_fields(path, preset="receipt", settings=settings, engine=engine)
    # The bare id above is skipped, the "Address:" label dropped, and the branch name after the country left out.
    assert result.data["address"] == "No 8, Jalan 7/118B, Desa Tun Razak 56000 Kuala Lumpur, Malaysia"
    head = ["SUN WONG KUT SDN BHD", "Site: 1046", "No: 28, Jalan Astana 1C, Bandar Bukit Raja",
            "41050 Klang Selangor", "ROC No.: (1072825-A)"]
    path = _receipt(tmp_path, [("TOTAL", "9.65")], head=head, name="roc")
    result = extract_fields(path, preset="receipt", settings=settings, engine=engine)
    assert result.data["address"] == "No: 28, Jalan Astana 1C, Bandar Bukit Raja 41050 Klang Selangor"
    # A text layer's punctuation is exact: nothing is rewritten.
    head = ["TASTE OF THE WORLD SDN BHD", "Lot 38. 39 101 Boulevard. Jalan Kenari 5", "47170 Puchong. Selangor"]
    path = _receipt(tmp_path, [("TOTAL", "9.65")], head=head, name="periods")
    address = extract_fields(path, preset="receipt", settings=settings, engine=engine).fields["address"]
    assert address.value == "Lot 38. 39 101 Boulevard. Jalan Kenari 5 47170 Puchong. Selangor" and address.note is None


def test_ocr_periods_between_address_parts_read_as_commas(tmp_path, settings, engine):
    pdf = _receipt(tmp_path, [("TOTAL", "9.65")], head=["TASTE OF THE WORLD SDN BHD",
                                                         "Lot 38. 39 101 Boulevard. Jalan Kenari 5",
                                                         "47170 Puchong. Selangor"])
    with pypdfium2.PdfDocument(pdf) as document:
        image = document[0].render(scale=3).to_pil()
    path = tmp_path / "scan.png"
    image.save(path)
    address = extract_fields(str(path), preset="receipt", settings=settings, engine=engine).fields["address"]
    assert address.value.replace(" ", "").upper() == "LOT38,39101BOULEVARD,JALANKENARI547170PUCHONG,SELANGOR"
    # The citation quotes what OCR read; the note says what was changed.
    assert "Boulevard." in address.citation.text and "','" in address.note
    assert address.citation.unit == "px"


@pytest.mark.parametrize(("read", "expected"), [
    ("TAMAN SRI PUTRA. 81200 JOHOR BAHRU", "TAMAN SRI PUTRA, 81200 JOHOR BAHRU"),
    ("LEBUHRAYA UTARA SELATAN., 84600,PAGOH,JOHOR.", "LEBUHRAYA UTARA SELATAN, 84600,PAGOH,JOHOR."),
    ("No. 5, Jln. Besar, Lot P.T. 2811, St. Mary Rd.", "No. 5, Jln. Besar, Lot P.T. 2811, St. Mary Rd."),
    ("NO.53 JALAN PUTRA 1", "NO.53 JALAN PUTRA 1"),
])
def test_address_punctuation(read: str, expected: str):
    assert _address_punctuation(read) == expected
