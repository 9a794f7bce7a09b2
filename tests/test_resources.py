"""Documents as MCP resources, outlines, token budgets, progress and cancellation, through `mcp.Client`."""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import anyio
import pytest
from conftest import CountingEngine, eval_dir
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import ResourceTemplateReference
from PIL import Image

from docs import scanned_pdf, text_pages
from mcp_docvl.cache import _shared
from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.mcp.server import build_server
from mcp_docvl.samples import Text, make_pdf
from mcp_docvl.tokens import estimate_tokens


@pytest.fixture
def book(tmp_path: Path) -> Path:
    path = tmp_path / "book.pdf"
    path.write_bytes(make_pdf(text_pages(12), title="A Book of Twelve Pages"))
    return path


async def test_resources_list_read_and_complete(settings: Settings, ocr: OcrEngine, book: Path):
    async with Client(build_server(settings, engine=ocr)) as client:
        result = await client.call_tool("read_document", {"source": str(book), "pages": "1-2"})
        doc_id = result.structured_content["document"]["id"]
        links = {b.uri: b for b in result.content if b.type == "resource_link"}
        base = f"docvl://documents/{doc_id}"
        assert set(links) == {base, f"{base}/pages/1/image", f"{base}/pages/3"}

        listed = (await client.list_resources()).resources
        assert [r.uri for r in listed] == ["docvl://documents"]
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert templates >= {"docvl://documents/{id}", "docvl://documents/{id}/pages/{n}",
                             "docvl://documents/{id}/pages/{n}/image"}

        recent = (await client.read_resource("docvl://documents")).contents[0].text
        assert f'"id": "{doc_id}"' in recent and "A Book of Twelve Pages" in recent
        outline = (await client.read_resource(base)).contents[0].text
        assert '"page_count": 12' in outline and '"title": "Chapter 3"' in outline
        page3 = (await client.read_resource(f"{base}/pages/3")).contents[0]
        assert page3.mime_type == "text/markdown"
        fenced = page3.text.split("not instructions.\n<document>\n", 1)[1]
        assert fenced.startswith("# Chapter 3\n\nPage 3 line 0: the quick brown fox")
        assert fenced.endswith("\n</document>")
        image = (await client.read_resource(f"{base}/pages/1/image")).contents[0]
        assert image.mime_type == "image/png"
        png = Image.open(io.BytesIO(base64.b64decode(image.blob)))
        assert png.size == (round(612 * 110 / 72), round(792 * 110 / 72))

        with pytest.raises(MCPError, match="out of range"):
            await client.read_resource(f"{base}/pages/13")
        with pytest.raises(MCPError, match="No recently opened document"):
            await client.read_resource("docvl://documents/0123456789abcdef")

        ref = ResourceTemplateReference(uri="docvl://documents/{id}/pages/{n}")
        ids = (await client.complete(ref, {"name": "id", "value": doc_id[:4]})).completion  # completes a prefix
        assert ids.values == [doc_id]
        pages = (await client.complete(ref, {"name": "n", "value": "1"}, {"id": doc_id})).completion
        assert pages.values == ["1", "10", "11", "12"] and pages.total == 4


async def test_resources_work_after_a_restart_without_the_original(settings: Settings, ocr: OcrEngine, book: Path):
    async with Client(build_server(settings, engine=ocr)) as client:
        result = await client.call_tool("read_document", {"source": str(book), "pages": "1"})
    doc_id = result.structured_content["document"]["id"]
    book.unlink()
    _shared.cache_clear()  # a new process would start with no cache object either
    async with Client(build_server(settings, engine=ocr)) as client:
        page = (await client.read_resource(f"docvl://documents/{doc_id}/pages/12")).contents[0].text
        again = await client.call_tool("read_document", {"source": f"docvl://documents/{doc_id}", "pages": "5"})
    assert "<document>\n# Chapter 12" in page
    assert not again.is_error and "Page 5 line 7" in again.content[0].text


@pytest.mark.parametrize("max_tokens", [25, 90, 400])
async def test_token_paging_returns_every_page_exactly_once(settings: Settings, ocr: OcrEngine, book: Path,
                                                            max_tokens: int):
    async with Client(build_server(settings, engine=ocr)) as client:
        whole = {"source": str(book), "max_chars": settings.max_chars_cap}
        full = (await client.call_tool("read_document", whole)).structured_content
        pieces: dict[int, str] = {}
        cursor = None
        for _ in range(200):
            args = {"source": str(book), "max_tokens": max_tokens, "max_chars": settings.max_chars_cap}
            if cursor:
                args["cursor"] = cursor
            data = (await client.call_tool("read_document", args)).structured_content
            assert data["estimated_tokens"] <= max_tokens * 1.15 + 2
            for page in data["pages"]:
                pieces[page["page"]] = pieces.get(page["page"], "") + page["content"]
            cursor = data["next_cursor"]
            if cursor is None:
                break
    assert pieces == {p["page"]: p["content"] for p in full["pages"]}


async def test_progress_notifications_for_outline_and_read(settings: Settings, ocr: OcrEngine, book: Path):
    seen: dict[str, list[tuple[float, float | None]]] = {"read_document": [], "document_outline": []}
    async with Client(build_server(settings, engine=ocr)) as client:
        for tool in seen:
            async def on_progress(progress: float, total: float | None, message: str | None, tool=tool) -> None:
                seen[tool].append((progress, total))

            result = await client.call_tool(tool, {"source": str(book)}, progress_callback=on_progress)
            assert not result.is_error
    for tool, events in seen.items():
        assert events == [(n, 12) for n in range(1, 13)], tool


async def test_cancelling_a_call_stops_work_on_the_remaining_pages(settings: Settings, ocr: OcrEngine,
                                                                   tmp_path: Path):
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(6))
    engine = CountingEngine(ocr)
    async with Client(build_server(settings, engine=engine)) as client:
        started = time.perf_counter()
        async with anyio.create_task_group() as group:
            async def call() -> None:
                async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                    group.cancel_scope.cancel()  # the user gives up after the first page

                await client.call_tool("read_document", {"source": "scan.pdf"}, progress_callback=on_progress)

            group.start_soon(call)
        first_page = time.perf_counter() - started
        # Long enough for every remaining page to have been recognised, had the work gone on.
        await anyio.sleep(max(2.0, first_page * 4))
    assert 1 <= engine.calls <= 2  # the page in flight when the cancel came may finish; no other starts


async def test_outline_lists_headings_tokens_and_unrecognised_pages(settings: Settings, ocr: OcrEngine,
                                                                    tmp_path: Path, book: Path):
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(2))
    engine = CountingEngine(ocr)
    async with Client(build_server(settings, engine=engine)) as client:
        outline = (await client.call_tool("document_outline", {"source": str(book)})).structured_content
        scan = (await client.call_tool("document_outline", {"source": "scan.pdf"})).structured_content
        assert engine.calls == 0 and scan["unrecognised_pages"] == [1, 2]
        read = await client.call_tool("read_document", {"source": str(book), "pages": "4"})
        recognised = (await client.call_tool("document_outline", {"source": "scan.pdf", "recognise": True}))
    assert outline["title"] == "A Book of Twelve Pages"
    assert [h["title"] for h in outline["headings"]] == [f"Chapter {n}" for n in range(1, 13)]
    page4 = outline["pages"][3]
    assert page4["method"] == "text_layer" and page4["uri"].endswith("/pages/4")
    assert page4["estimated_tokens"] == estimate_tokens(read.structured_content["pages"][0]["content"])
    assert outline["estimated_tokens"] == sum(p["estimated_tokens"] for p in outline["pages"])
    assert [p["method"] for p in scan["pages"]] == [None, None]
    data = recognised.structured_content
    assert data["unrecognised_pages"] == [] and [p["method"] for p in data["pages"]] == ["ocr", "ocr"]
    assert engine.calls == 2


def test_outline_reads_pdf_bookmarks(settings: Settings):
    from mcp_docvl.features.outline import document_outline

    path = eval_dir("realworld-pdfs") / "pdf_structure.pdf"
    outline = document_outline(str(path), settings=settings)
    assert [(b.level, b.title, b.page) for b in outline.bookmarks] == [(1, "Titre 1", 1), (2, "Titre 2", 1),
                                                                      (3, "Tableau", 1)]




async def test_a_table_is_a_csv_resource(settings: Settings, ocr: OcrEngine, tmp_path: Path):
    rows = [("Item", "Qty", "Price"), ("Apples", "3", "1.20"), ("Bananas", "5", "2.50"), ("Dates", "2", "4.00")]
    cells = [Text(x, 100 + i * 16, text, 10) for i, row in enumerate(rows) for x, text in zip((72, 250, 400), row,
                                                                                               strict=True)]
    path = tmp_path / "prices.pdf"
    path.write_bytes(make_pdf([[Text(72, 60, "Price list", 14, bold=True), *cells]]))
    async with Client(build_server(settings, engine=ocr)) as client:
        result = await client.call_tool("read_document", {"source": str(path)})
        base = f"docvl://documents/{result.structured_content['document']['id']}"
        templates = {t.uri_template for t in (await client.list_resource_templates()).resource_templates}
        assert "docvl://documents/{id}/pages/{n}/tables/{k}" in templates
        table = (await client.read_resource(f"{base}/pages/1/tables/0")).contents[0]
        assert table.mime_type == "text/csv"
        assert table.text.split("<document>\n", 1)[1].splitlines()[:4] == [
            "Item,Qty,Price", "Apples,3,1.20", "Bananas,5,2.50", "Dates,2,4.00"]
        with pytest.raises(MCPError, match="has no table 1"):
            await client.read_resource(f"{base}/pages/1/tables/1")
