"""The VLM paths of the tools (extract_fields, extract_table, read_document) with the `openai` engine against a real
chat-completions server on loopback, whose replies each test writes: the model's answers are scripted, the HTTP,
the prompts, the images and the parsing of the replies are real."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from http_fixtures import serve_handler
from mcp import Client
from PIL import Image

from mcp_docvl import samples
from mcp_docvl.config import Settings
from mcp_docvl.documents import open_document
from mcp_docvl.engines.openai_engine import OpenAIEngine
from mcp_docvl.engines.prompts import TRANSCRIBE_PROMPT
from mcp_docvl.features.fields import extract_fields
from mcp_docvl.features.tables import extract_tables
from mcp_docvl.features.vlm_tables import TABLES_PROMPT, parse_html_tables
from mcp_docvl.mcp.server import build_server

A4 = (595, 842)
SCHEMA = {"type": "object", "properties": {
    "invoice_number": {"type": "string"},
    "total": {"type": "number"},
    "date": {"type": "string", "format": "date"},
    "purchase_order": {"type": "string"},
}}


@dataclass
class Script:
    """The model's replies, in order, and the requests the server received."""

    replies: list[str]
    requests: list[dict] = field(default_factory=list)

    def prompts(self) -> list[str]:
        return [next(p["text"] for p in r["messages"][0]["content"] if p["type"] == "text") for r in self.requests]

    def images(self, index: int) -> list[Image.Image]:
        out = []
        for part in self.requests[index]["messages"][0]["content"]:
            if part["type"] == "image_url":
                header, data = part["image_url"]["url"].split(",", 1)
                assert header == "data:image/png;base64"
                out.append(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
        return out


def _send(handler: BaseHTTPRequestHandler, status: int, payload: dict) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def chat_server(script: Script) -> Iterator[str]:
    """`/v1/models` serving "tiny"; `/v1/chat/completions` answering the script's replies one by one."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            _send(self, 200, {"object": "list", "data": [{"id": "tiny", "object": "model"}]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            script.requests.append(body)
            if self.path != "/v1/chat/completions" or not script.replies:
                # A request the test did not expect: a client error, so the tool fails loudly (no retries).
                _send(self, 400, {"error": f"unscripted request #{len(script.requests)} to {self.path}"})
                return
            _send(self, 200, {"id": "x", "object": "chat.completion", "model": body["model"],
                              "choices": [{"index": 0, "finish_reason": "stop",
                                           "message": {"role": "assistant", "content": script.replies.pop(0)}}]})

        def log_message(self, *args: object) -> None:
            pass

    with serve_handler(Handler) as base:
        yield f"{base}/v1"


def vlm(settings: Settings, url: str) -> OpenAIEngine:
    settings.engine, settings.openai_base_url, settings.vlm_model = "openai", url, "tiny"
    settings.openai_max_retries = 0
    return OpenAIEngine(settings)


def rendered(path: str, page: int, dpi: int | None) -> Image.Image:
    doc = open_document(Path(path).read_bytes(), "application/pdf" if path.endswith(".pdf") else "image/png")
    try:
        return doc.render(page - 1, dpi).convert("RGB")
    finally:
        doc.close()


@pytest.fixture
def invoice(tmp_path: Path) -> str:
    """Three A4 pages: the invoice's head, its total on page 2, terms on page 3."""
    page1 = [samples.Text(50, 50, "ACME TRADING LTD", 20), samples.Text(50, 100, "Invoice No: INV-2024-0042", 10),
             samples.Text(350, 100, "Date: 05 Mar 2024", 10), samples.Text(50, 140, "Widget A  2 x 10.00", 10)]
    page2 = [samples.Text(300, 80, "Subtotal  25.50", 10), samples.Text(300, 100, "TOTAL DUE  USD 28.05", 12)]
    page3 = [samples.Text(50, 50, "Terms: payable within 30 days.", 10)]
    path = tmp_path / "invoice.pdf"
    path.write_bytes(samples.make_pdf([page1, page2, page3], size=A4))
    return str(path)


# ----------------------------------------------------------------------------------------------------------------
# extract_fields


def test_fields_from_the_model_are_typed_cited_and_it_saw_the_first_two_pages(settings: Settings, invoice: str):
    reply = {"invoice_number": "INV-2024-0042", "total": 28.05, "date": "2024-03-05", "purchase_order": None,
             "not_asked": "dropped"}
    script = Script([f"Here you are:\n```json\n{json.dumps(reply)}\n```"])
    with chat_server(script) as url:
        result = extract_fields(invoice, SCHEMA, settings=settings, engine=vlm(settings, url))
    assert result.method == "vlm" and result.pages == [1, 2, 3] and result.warnings == []
    assert result.data == {"invoice_number": "INV-2024-0042", "total": 28.05, "date": "2024-03-05",
                           "purchase_order": None}
    total = result.fields["total"].citation
    assert (total.page, total.unit, total.text) == (2, "pt", "TOTAL DUE USD 28.05")
    assert total.bbox[0] >= 300 and 95 < total.bbox[1] < 115  # the TOTAL DUE line of page 2
    assert result.fields["invoice_number"].citation.page == 1
    # "2024-03-05" is printed as "05 Mar 2024": the model's value is kept, uncited and less sure.
    date = result.fields["date"]
    assert date.citation is None and date.confidence == 0.5
    assert result.fields["purchase_order"].reason == "The model found no value."
    # One request: the schema and every page's text in the prompt, the first two pages as images (144 dpi, lossless).
    assert len(script.requests) == 1
    prompt = script.prompts()[0]
    assert json.dumps(SCHEMA) in prompt and "[page 2]\nSubtotal 25.50\nTOTAL DUE USD 28.05" in prompt
    assert "Terms: payable within 30 days." in prompt
    images = script.images(0)
    assert [im.size for im in images] == [(1190, 1684)] * 2
    for number, image in enumerate(images, start=1):
        assert image.tobytes() == rendered(invoice, number, 144).tobytes()


def test_invalid_json_is_asked_again_with_the_error(settings: Settings, invoice: str):
    script = Script(['{"invoice_number": "INV-2024-0042", "total": 28.05,,}',
                     '{"invoice_number": "INV-2024-0042", "total": 28.05}'])
    with chat_server(script) as url:
        result = extract_fields(invoice, SCHEMA, settings=settings, engine=vlm(settings, url))
    assert len(script.requests) == 2
    first, retry = script.prompts()
    assert retry.startswith(first)
    assert "Your last reply was not valid: invalid JSON (Expecting property name enclosed in double quotes)" in retry
    assert result.method == "vlm" and result.warnings == []
    assert result.data["total"] == 28.05 and result.fields["total"].citation.page == 2
    assert result.data["date"] is None


def test_two_replies_that_do_not_fit_fall_back_to_the_rules_and_say_so(settings: Settings, invoice: str):
    script = Script(["I could not read the document.", '{"total": "twenty-eight"}'])
    with chat_server(script) as url:
        result = extract_fields(invoice, SCHEMA, settings=settings, engine=vlm(settings, url))
    assert len(script.requests) == 2
    assert "Your last reply was not valid: no JSON object in the reply" in script.prompts()[1]
    assert result.method == "rules"
    [warning] = result.warnings
    assert "did not fit the schema twice" in warning and "'twenty-eight' is not of type 'number', 'null'" in warning
    assert "layout rules" in warning
    # The rules read the text layer: the labelled values are found, with their citations.
    assert result.data["invoice_number"] == "INV-2024-0042" and result.data["total"] == 28.05
    assert result.data["date"] == "2024-03-05" and result.fields["date"].citation.page == 1
    reason = result.fields["purchase_order"].reason
    assert result.data["purchase_order"] is None and "did not fit the schema twice" in reason and "label" in reason


def test_a_scanned_page_is_transcribed_then_its_markdown_is_the_text_and_the_citation(settings: Settings,
                                                                                        tmp_path: Path):
    path = tmp_path / "receipt.png"
    Image.new("RGB", (300, 400), "white").save(path)
    script = Script(["# Corner Cafe\n\nLatte 4.50\n\n**Total: 12.50**", '{"total": 12.5, "shop": "Corner Cafe"}'])
    schema = {"type": "object", "properties": {"total": {"type": "number"}, "shop": {"type": "string"}}}
    with chat_server(script) as url:
        result = extract_fields(str(path), schema, settings=settings, engine=vlm(settings, url))
    first, second = script.prompts()
    assert first == TRANSCRIBE_PROMPT
    assert "[page 1]\n# Corner Cafe\n\nLatte 4.50\n\n**Total: 12.50**" in second
    assert result.method == "vlm" and result.data == {"total": 12.5, "shop": "Corner Cafe"}
    citation = result.fields["total"].citation
    assert (citation.page, citation.unit, citation.text, citation.bbox) == (1, "px", "**Total: 12.50**",
                                                                            (0.0, 0.0, 300.0, 400.0))
    assert script.images(1)[0].size == (300, 400)


def test_garbage_from_the_tiny_random_model_gives_a_clear_result(settings: Settings, tmp_path: Path):
    os.environ["HF_HUB_OFFLINE"] = "1"
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from mcp_docvl.engines.local.random_model import save_random_model
    from mcp_docvl.engines.local.transformers_engine import TransformersEngine

    model = save_random_model(tmp_path / "tiny-vlm")
    settings.engine, settings.vlm_model, settings.vlm_max_new_tokens = "transformers", str(model), 24
    engine = TransformersEngine(settings)
    path = tmp_path / "scan.png"
    Image.new("RGB", (160, 200), "white").save(path)
    result = extract_fields(str(path), preset="receipt", settings=settings, engine=engine)
    assert result.method == "rules"
    assert "did not fit the schema twice" in result.warnings[-1]
    assert all(value is None for value in result.data.values())
    assert all("did not fit the schema twice" in f.reason for f in result.fields.values())


# ----------------------------------------------------------------------------------------------------------------
# extract_table

TABLE_HTML = """Here is the table:
<table>
<tr><th rowspan="2">Item</th><th colspan="2">Price</th></tr>
<tr><th>net</th><th>gross</th></tr>
<tr><td>Widget &amp; bolt</td><td>10.00</td><td>11.90</td></tr>
<tr><td>Gadget</td><td>5.50</td><td>6.55</td></tr>
</table>"""


def test_every_top_level_table_of_a_reply_is_parsed_and_a_cut_off_one_is_left_out():
    reply = ("<table><tr><th>a</th><th>b</th></tr><tr><td><table><tr><td>n</td></tr></table>q</td><td>2</td></tr>"
             "</table> and <TABLE><tr><td>z</td></tr></TABLE> then <table><tr><td>cut off by the token lim")
    first, second = parse_html_tables(reply, (1.0, 2.0, 3.0, 4.0))
    assert [c.text for c in first.cells] == ["a", "b", "n q", "2"] and first.header_rows == 1
    assert [c.text for c in second.cells] == ["z"] and second.bbox == (1.0, 2.0, 3.0, 4.0)


@pytest.fixture
def table_scan(tmp_path: Path) -> str:
    """A price table, rendered from a PDF to a 100 dpi PNG: a scan with no text layer."""
    rows = [("Item", "net", "gross"), ("Widget & bolt", "10.00", "11.90"), ("Gadget", "5.50", "6.55")]
    items = [samples.Text(72 + 150 * c, 100 + 20 * r, text, 11, bold=r == 0)
             for r, row in enumerate(rows) for c, text in enumerate(row)]
    pdf = tmp_path / "table.pdf"
    pdf.write_bytes(samples.make_pdf([items]))
    path = tmp_path / "table.png"
    rendered(str(pdf), 1, 100).save(path)
    return str(path)


def test_a_scanned_table_is_read_by_the_model_as_html(settings: Settings, table_scan: str):
    script = Script([TABLE_HTML])
    with chat_server(script) as url:
        result = extract_tables(table_scan, format="csv", settings=settings, engine=vlm(settings, url))
    # One request, the table prompt: the page is not transcribed first (extract_table needs no Markdown).
    assert script.prompts() == [TABLES_PROMPT]
    [image] = script.images(0)
    assert image.size == (850, 1100) and image.tobytes() == Image.open(table_scan).convert("RGB").tobytes()
    [table] = result.tables
    assert (table.method, table.unit, table.bbox) == ("vlm", "px", (0.0, 0.0, 850.0, 1100.0))
    assert (table.n_rows, table.n_cols, table.header_rows) == (4, 3, 2)
    cells = {(c.row, c.col): (c.text, c.row_span, c.col_span) for c in table.cells}
    assert cells[(0, 0)] == ("Item", 2, 1) and cells[(0, 1)] == ("Price", 1, 2)
    assert cells[(2, 0)] == ("Widget & bolt", 1, 1) and cells[(3, 2)] == ("6.55", 1, 1)
    assert table.content.splitlines()[2] == "Widget & bolt,10.00,11.90"
    assert result.message == "Found 1 table on page 1."


def test_digital_pages_keep_the_rules_and_scanned_pages_ask_the_model(settings: Settings, tmp_path: Path):
    rows = [("Country", "Domestic", "Imported", "Total")] + [(f"Land {i}", f"{50 + i}.5", f"{49 - i}.5", f"{100 * i}")
                                                           for i in range(1, 7)]
    grid = [samples.Text(72 + 120 * c, 100 + 18 * r, text, 10) for r, row in enumerate(rows) for c, text in
            enumerate(row)]
    prose = samples.paragraph(72, 100, ["A page of running text with no table at all,", "just two lines."])
    path = tmp_path / "mixed.pdf"
    path.write_bytes(samples.make_pdf([grid, prose, []]))
    # The same three pages scanned: a TIFF with no text layer.
    scan = tmp_path / "mixed.tiff"
    first, *rest = [rendered(str(path), n, 100) for n in (1, 2, 1)]
    first.save(scan, save_all=True, append_images=rest)
    script = Script([TABLE_HTML, "Lorem ipsum dolor", "There is no table here. NO TABLE"])
    with chat_server(script) as url:
        engine = vlm(settings, url)
        digital = extract_tables(str(path), settings=settings, engine=engine)
        # Text-layer pages keep the rules' tables (exact text, one render less): the model is never asked for
        # them, not even for the pages where the rules find none (most pages of a long report).
        assert script.requests == []
        scanned = extract_tables(str(scan), settings=settings, engine=engine)
    [ruled] = digital.tables
    assert ruled.method == "text_layer" and (ruled.page, ruled.n_rows, ruled.n_cols) == (1, 7, 4)
    # Every scanned page goes to the model: a table, a reply without one, and "no table".
    assert len(script.requests) == 3 and set(script.prompts()) == {TABLES_PROMPT}
    assert script.images(0)[0].size == first.size
    [seen] = scanned.tables
    assert (seen.page, seen.method, seen.n_rows) == (1, "vlm", 4)
    # Page 2's reply held neither a table nor NO TABLE: the message says tables may be missing there.
    assert scanned.message.startswith("Found 1 table in pages 1-3 (on page 1).")
    assert "reply for page 2 held no HTML table" in scanned.message


# ----------------------------------------------------------------------------------------------------------------
# Through the MCP server


async def test_mcp_read_document_and_extract_table_with_the_openai_engine(settings: Settings, table_scan: str):
    markdown = "## Prices\n\n| Item | net |\n| --- | --- |\n| Gadget | 5.50 |"
    script = Script([markdown, TABLE_HTML])
    with chat_server(script) as url:
        engine = vlm(settings, url)
        # As shipped (isolate on): the calls run in a worker process, whose own openai engine, built from the same
        # settings, talks to the same server.
        assert settings.isolate
        async with Client(build_server(settings, engine=engine)) as client:
            read = await client.call_tool("read_document", {"source": table_scan})
            tables = await client.call_tool("extract_table", {"source": table_scan, "format": "markdown"})
    assert not read.is_error and not tables.is_error
    page = read.structured_content["pages"][0]
    assert page["method"] == "vlm" and page["content"] == markdown
    assert "<document>\n<!-- page 1 -->\n## Prices" in read.content[0].text
    assert script.prompts() == [TRANSCRIBE_PROMPT, TABLES_PROMPT]
    [table] = tables.structured_content["tables"]
    assert table["method"] == "vlm" and table["n_rows"] == 4
    assert "| Widget & bolt | 10.00 | 11.90 |" in table["content"]
