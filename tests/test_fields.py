"""extract_fields: presets on real receipts, a generated invoice PDF, flat field lists and schema errors."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from conftest import eval_dir
from mcp import Client

from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.extract.fields import extract_fields
from mcp_docvl.server import build_server

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
    """A one-page A4 PDF with Helvetica text at (x, y-from-top, size): a born-digital invoice, written by hand."""
    ops = []
    for x, y, size, text in lines:
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"BT /F1 {size} Tf {x} {842 - y} Td ({escaped}) Tj ET")
    stream = "\n".join(ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


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
