"""Tools that cross over one shared page pipeline: what one tool built, the next one reuses as it was built.

Each of these failed before the tools shared `pipeline/` (an outline stored table-less pages, extract_table ran
OCR anew on every call, answer_about loaded a URL source three times).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from conftest import CountingEngine
from http_fixtures import serve
from mcp import Client
from PIL import Image

from docs import RULED_ROWS, ruled_table_pdf, scanned_pdf
from mcp_docvl import Settings, answer_about, document_outline, extract_tables, read_document
from mcp_docvl.engines.base import PageTranscript
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.mcp.server import build_server


def test_an_outline_then_a_read_keeps_the_table(settings: Settings, tmp_path: Path):
    (tmp_path / "table.pdf").write_bytes(ruled_table_pdf())
    source = str(tmp_path / "table.pdf")
    outline = document_outline(source, settings=settings)
    assert outline.pages[0].tables == 1 and [h.title for h in outline.headings] == ["Sales by region"]
    # Read after the outline: the page comes from the cache the outline filled, and its table is still there.
    page = read_document(source, settings=settings).pages[0].content
    assert "| Region | Units | Price | Revenue |" in page
    assert "| West | 240 | 8.75 | 2100.00 |" in page
    [table] = extract_tables(source, settings=settings).tables
    assert [[c.text for c in table.cells if c.row == r] for r in range(table.n_rows)] == RULED_ROWS


def test_extract_table_twice_on_a_scan_recognises_each_page_once(settings: Settings, tmp_path: Path,
                                                                   ocr: OcrEngine):
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(2))
    source = str(tmp_path / "scan.pdf")
    engine = CountingEngine(ocr)
    first = extract_tables(source, settings=settings, engine=engine)
    assert engine.calls == 2 and first.pages == [1, 2]
    second = extract_tables(source, settings=settings, engine=engine)
    assert engine.calls == 2 and second.model_dump() == first.model_dump()
    # read_document and the outline (which recognises when asked) reuse the same pages too.
    text = read_document(source, settings=settings, engine=engine).combined()
    document_outline(source, recognise=True, settings=settings, engine=engine)
    assert engine.calls == 2 and "Scanned page number 2" in text


class Vlm:
    """A stand-in for a vision-language model (no weights run here): replies with the first passage's first
    line as the answer, and records what it was shown."""

    name = "stand-in-vlm"

    def __init__(self) -> None:
        self.images: list[Sequence[Image.Image]] = []

    def warm(self) -> None:
        pass

    def cache_config(self) -> None:
        return None

    def transcribe_page(self, image: Image.Image) -> PageTranscript:
        return PageTranscript()

    def generate(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512) -> str:
        self.images.append(images)
        first = prompt.split("[1] ", 1)[1].splitlines()[1]
        return json.dumps({"answer": first, "passages": [1]})


def _counting_server(data: bytes, hits: list[str]):
    def handle(h: BaseHTTPRequestHandler) -> None:
        hits.append(h.path)
        h.send_response(200)
        h.send_header("Content-Type", "application/pdf")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return serve({"/table.pdf": handle})


def test_answer_about_a_url_downloads_it_once(tmp_path: Path):
    settings = Settings.from_env(roots=[tmp_path], allow_private_urls=True, cache_dir=tmp_path / "cache")
    hits: list[str] = []
    vlm = Vlm()
    with _counting_server(ruled_table_pdf(), hits) as base:
        result = answer_about(f"{base}/table.pdf", "What was the revenue of the West region?", settings=settings,
                              engine=vlm)
    assert hits == ["/table.pdf"]
    assert result.method == "vlm" and result.citations and result.citations[0].page == 1
    assert len(vlm.images) == 1 and len(vlm.images[0]) == 1  # the page image went to the model


async def test_answer_about_a_url_with_evidence_images_downloads_it_once(tmp_path: Path):
    settings = Settings.from_env(roots=[tmp_path], allow_private_urls=True, cache_dir=tmp_path / "cache")
    hits: list[str] = []
    server = build_server(settings, engine=Vlm())
    with _counting_server(ruled_table_pdf(), hits) as base:
        async with Client(server) as client:
            result = await client.call_tool("answer_about", {
                "source": f"{base}/table.pdf", "question": "What was the revenue of the West region?",
                "evidence_images": 1})
    assert not result.is_error, result.content
    assert result.structured_content["method"] == "vlm"
    assert [c.type for c in result.content] == ["text", "image"]
    assert hits == ["/table.pdf"]  # the crop came from the document recorded by id, not a second download


def test_the_package_api_is_what_the_readme_imports():
    import mcp_docvl

    assert {"Settings", "read_document", "extract_tables", "answer_about", "extract_fields",
            "document_outline"} <= set(mcp_docvl.__all__)
    assert all(callable(getattr(mcp_docvl, name)) for name in mcp_docvl.__all__ if name != "__version__")
