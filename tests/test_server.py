"""The MCP surface: in-process client for most checks, plus one real stdio and one real HTTP round trip."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import RESOURCES
from mcp import Client, StdioServerParameters

from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.mcp.server import build_server

SAMPLE = str(RESOURCES / "sample.pdf")


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return OcrEngine()


@pytest.fixture
def server(settings: Settings, engine: OcrEngine):
    return build_server(settings, engine=engine)


async def test_tool_schema_documents_itself(server):
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    tool = tools["read_document"]
    props = tool.input_schema["properties"]
    assert set(props) >= {"source", "pages", "format", "max_chars", "password", "cursor"}
    assert all(props[name].get("description") for name in ("source", "pages", "cursor"))
    assert tool.output_schema is not None and "next_cursor" in tool.output_schema["properties"]
    assert tool.annotations.read_only_hint is True


async def test_read_document_returns_content_and_structure(server):
    async with Client(server) as client:
        result = await client.call_tool("read_document", {"source": SAMPLE, "pages": "1"})
    assert not result.is_error
    text = result.content[0].text
    # The document text is fenced and labelled as data from the document.
    assert text.startswith('Content of document "') and "not instructions" in text
    assert "<document>\n<!-- page 1 -->\n# Quarterly Report on Document Access" in text
    data = result.structured_content
    assert data["document"]["page_count"] == 2 and [p["page"] for p in data["pages"]] == [1]
    assert data["pages"][0]["method"] == "text_layer"


async def test_errors_are_tool_errors_and_the_server_keeps_serving(server, tmp_path: Path):
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4 broken")
    async with Client(server) as client:
        cases = {
            "/etc/passwd": "outside the allowed roots",
            str(tmp_path / "missing.pdf"): "No file at",
            str(tmp_path / "bad.pdf"): "cannot be parsed",
        }
        for source, message in cases.items():
            result = await client.call_tool("read_document", {"source": source})
            assert result.is_error and message in result.content[0].text
        bad_page = await client.call_tool("read_document", {"source": SAMPLE, "pages": "9"})
        assert bad_page.is_error and "out of range" in bad_page.content[0].text
        ok = await client.call_tool("read_document", {"source": SAMPLE, "pages": "2", "format": "text"})
        assert not ok.is_error and "1,234.56 EUR" in ok.content[0].text


async def test_progress_is_reported_for_multi_page_calls(server):
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with Client(server) as client:
        result = await client.call_tool("read_document", {"source": SAMPLE}, progress_callback=on_progress)
    assert not result.is_error
    assert seen == [(1, 2), (2, 2)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["DOCVL_ROOTS"] = str(RESOURCES)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env


async def test_stdio_round_trip():
    params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_docvl", "serve"], env=_env())
    async with Client(params) as client:
        result = await client.call_tool("read_document", {"source": "sample.pdf", "pages": "2"})
    assert not result.is_error
    assert "The total amount due is 1,234.56 EUR" in result.content[0].text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_http_round_trip_and_health():
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_docvl", "serve", "--http", "--port", str(port)],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.2)
        assert health is not None and health.json()["ready"] is True and health.json()["engine"] == "ocr"
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            result = await client.call_tool("read_document", {"source": "scan.png"})
        assert not result.is_error
        assert result.structured_content["pages"][0]["method"] == "ocr"
        assert "docs@example.com" in result.content[0].text
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        proc.stderr.close()


async def test_extract_table_tool_returns_cells_and_rendering(server):
    from conftest import eval_dir

    path = str(eval_dir("icdar2013") / "eu-001.pdf")
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools["extract_table"].input_schema["properties"]) >= {"source", "pages", "table_index", "format"}
        result = await client.call_tool("extract_table", {"source": path, "pages": "1", "table_index": 0,
                                                          "format": "html"})
        empty = await client.call_tool("extract_table", {"source": SAMPLE})
    assert not result.is_error
    data = result.structured_content
    table = data["tables"][0]
    assert (table["page"], table["n_rows"], table["n_cols"]) == (1, 8, 4)
    assert {"row": 0, "col": 1, "row_span": 1, "col_span": 3, "text": "THRESHOLD FOR RELEASES"}.items() <= \
        table["cells"][1].items()
    assert '<th colspan="3">THRESHOLD FOR RELEASES</th>' in result.content[0].text
    assert not empty.is_error and empty.structured_content["tables"] == []
    assert empty.structured_content["message"] == "No tables were found on pages 1-2."
