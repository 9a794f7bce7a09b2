"""What an agent sees through a real MCP client (issue 15): results it can continue from the text alone, partial
results at the call time limit, forgiving `pages`, one-sentence refusals, honest descriptions, no local files
without a root, caller errors on resources answered as invalid params."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import RESOURCES
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, TextContent

from docs import RULED_ROWS, ruled_table_pdf, scanned_pdf, text_pages
from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.features.read import read_document
from mcp_docvl.mcp.server import build_server
from mcp_docvl.mcp.workers import run_isolated
from mcp_docvl.samples import Text, make_pdf

SAMPLE = str(RESOURCES / "sample.pdf")
_CALL = re.compile(r"^To continue, call: (\w+)\((.*)\)$", re.MULTILINE)
_ARG = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\[[^\]]*\]|-?\d+|true|false)')


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return OcrEngine()


def text_of(result: Any) -> str:
    """Only what a host that shows the model text blocks shows: the text content, nothing structured."""
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def next_call(text: str) -> tuple[str, dict[str, Any]] | None:
    """The call the text says continues the result, parsed back into a tool name and arguments."""
    found = _CALL.search(text)
    if found is None:
        return None
    return found.group(1), {name: json.loads(value) for name, value in _ARG.findall(found.group(2))}


def fenced(text: str) -> str:
    return text.split("<document>\n", 1)[1].rsplit("\n</document>", 1)[0]


def page_pieces(text: str) -> dict[int, str]:
    """Page number -> content, from a read_document text block's fenced part."""
    parts = re.split(r"(?:^|\n\n)<!-- page (\d+) -->\n?", fenced(text))
    return {int(parts[i]): parts[i + 1] for i in range(1, len(parts), 2)}


async def follow(client: Client, tool: str, args: dict[str, Any]) -> list[str]:
    """Call `tool`, then every call the text names, until a result names none; the text blocks in order."""
    texts: list[str] = []
    for _ in range(100):
        result = await client.call_tool(tool, args)
        assert not result.is_error, text_of(result)
        texts.append(text_of(result))
        following = next_call(texts[-1])
        if following is None:
            return texts
        tool, args = following
    raise AssertionError("the cursor never reached the end")


async def test_a_client_reading_only_text_follows_the_cursor_to_the_end(settings: Settings, engine: OcrEngine,
                                                                         tmp_path: Path):
    book = tmp_path / "book.pdf"
    book.write_bytes(make_pdf(text_pages(6, "agent")))
    async with Client(build_server(settings, engine=engine)) as client:
        whole = await client.call_tool("read_document", {"source": str(book), "max_chars": settings.max_chars_cap})
        texts = await follow(client, "read_document", {"source": str(book), "pages": "2-6", "max_chars": 300})
    expected = {p["page"]: p["content"] for p in whole.structured_content["pages"] if p["page"] >= 2}
    assert len(texts) > 5  # the cut fell inside pages, not only between them
    got: dict[int, str] = {}
    for text in texts[:-1]:
        assert 'cursor="' in text and f'source="{book}"' in text and 'pages="2-6"' in text
    for text in texts:
        for number, piece in page_pieces(text).items():
            got[number] = got.get(number, "") + piece
    # Every character once, in order: the pieces of each page join up to the page read whole.
    assert got == expected


async def test_inline_data_continues_by_its_document_uri(settings: Settings, engine: OcrEngine):
    data = "data:application/pdf;base64," + base64.b64encode(make_pdf(text_pages(2, "inline"))).decode()
    async with Client(build_server(settings, engine=engine)) as client:
        first = await client.call_tool("read_document", {"source": data, "max_chars": 200})
        tool, args = next_call(text_of(first))
        assert tool == "read_document" and args["source"].startswith("docvl://documents/")
        second = await client.call_tool(tool, args)
    assert not second.is_error and page_pieces(text_of(second))


async def test_a_cut_table_is_continued_from_the_text_alone(settings: Settings, engine: OcrEngine, tmp_path: Path):
    table = tmp_path / "table.pdf"
    table.write_bytes(ruled_table_pdf())
    async with Client(build_server(settings, engine=engine)) as client:
        texts = await follow(client, "extract_table", {"source": str(table), "max_cells": 8})
    rows: list[list[str]] = []
    for text in texts:
        for block in re.split(r"<!-- page \d+, table \d+: [^>]* -->\n", fenced(text))[1:]:
            rows += json.loads(block.strip())
    assert len(texts) == 2 and rows == RULED_ROWS


async def test_a_call_out_of_time_returns_the_pages_done_and_a_cursor(engine: OcrEngine, tmp_path: Path):
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(scanned_pdf(3))
    # In-process (a worker would be killed at the limit): any page takes longer than this, so every call stops
    # after its first page; the later ones continue from the cursor.
    settings = Settings.from_env(roots=[tmp_path], cache_dir=tmp_path / "cache", call_timeout=0.01, isolate=False)
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    async with Client(build_server(settings, engine=engine)) as client:
        first = await client.call_tool("read_document", {"source": str(scan)}, progress_callback=on_progress)
        assert not first.is_error, text_of(first)
        text = text_of(first)
        assert [p["page"] for p in first.structured_content["pages"]] == [1]
        assert "call time limit" in text and "pages 2-3 were not read" in text and next_call(text)
        assert seen == [(1, 3)]
        texts = [text, *await follow(client, *next_call(text))]
    got = {n: piece for t in texts for n, piece in page_pieces(t).items()}
    assert sorted(got) == [1, 2, 3]
    assert all(f"Scanned page number {n}" in got[n] for n in got)


@pytest.mark.parametrize(("pages", "expected"), [(2, [2]), ([1, 2], [1, 2]), ("last", [2]), ("1", [1]),
                                                 ([2, 1, 2], [2, 1])])
async def test_pages_as_a_number_a_list_or_a_string(settings: Settings, engine: OcrEngine, pages: Any,
                                                     expected: list[int]):
    async with Client(build_server(settings, engine=engine)) as client:
        result = await client.call_tool("read_document", {"source": SAMPLE, "pages": pages})
        tables = await client.call_tool("extract_table", {"source": SAMPLE, "pages": pages})
    assert not result.is_error and [p["page"] for p in result.structured_content["pages"]] == expected
    assert not tables.is_error and tables.structured_content["pages"] == expected


@pytest.mark.parametrize(("args", "says"), [
    ({"pages": [0]}, "out of range"),
    ({"pages": {"from": 1}}, "pages={'from': 1} is not a page selection"),
    ({"pages": [True]}, "is not a page selection"),
    ({"max_chars": 10**6}, "less than or equal to 100000"),
    ({"max_tokens": 10**6}, "less than or equal to 25000"),
    ({"format": "pdf"}, "`format`='pdf' was refused"),
    ({"max_chars": "many"}, "`max_chars`='many' was refused"),
])
async def test_a_refused_argument_is_one_clear_sentence(settings: Settings, engine: OcrEngine,
                                                         args: dict[str, Any], says: str):
    async with Client(build_server(settings, engine=engine)) as client:
        result = await client.call_tool("read_document", {"source": SAMPLE, **args})
    text = text_of(result)
    assert result.is_error and says in text
    assert "\n" not in text and "validation error" not in text and "input_value" not in text and len(text) < 400


async def test_a_missing_argument_is_named(settings: Settings, engine: OcrEngine):
    async with Client(build_server(settings, engine=engine)) as client:
        result = await client.call_tool("extract_table", {"pages": 1})
    assert result.is_error and "`source` is required" in text_of(result) and "\n" not in text_of(result)


async def test_descriptions_are_clean_and_state_the_limits(engine: OcrEngine, tmp_path: Path):
    settings = Settings.from_env(roots=[tmp_path], cache_dir=tmp_path / "cache", max_pages_per_call=37,
                                 call_timeout=123, max_bytes=5 * 2**20)
    async with Client(build_server(settings, engine=engine)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    for tool in tools.values():
        assert not re.search(r"\n[ \t]", tool.description), tool.name  # no source indentation
        assert "37 pages a call" in tool.description and "5 MiB" in tool.description
        assert "123 s a call" in tool.description and "OCR" in tool.description
    pages = tools["answer_about"].input_schema["properties"]["pages"]
    assert "extract_fields" not in pages["description"] and "whole document" in pages["description"]
    assert {"string", "integer", "array"} <= {option.get("type") for option in pages["anyOf"]}
    assert tools["read_document"].input_schema["properties"]["max_chars"]["anyOf"][0]["maximum"] == 100_000
    assert prompts["invoice"].title == "Extract an invoice" and prompts["receipt"].title == "Extract a receipt"


async def test_an_off_document_question_is_answered_null_not_an_error(settings: Settings, engine: OcrEngine):
    async with Client(build_server(settings, engine=engine)) as client:
        result = await client.call_tool("answer_about", {"source": SAMPLE, "question": "Who won the cricket match?"})
    assert not result.is_error
    data = result.structured_content
    assert data["answer"] is None and data["citations"] == [] and "cricket" in data["reason"]


async def test_answer_about_ranks_a_document_longer_than_the_page_limit(engine: OcrEngine, tmp_path: Path):
    pages = text_pages(12, "plain")
    pages[10] = [*pages[10][:1], Text(72, 120, "The harbour master signs every manifest in green ink.")]
    book = tmp_path / "long.pdf"
    book.write_bytes(make_pdf(pages))
    settings = Settings.from_env(roots=[tmp_path], cache_dir=tmp_path / "cache", max_pages_per_call=5)
    async with Client(build_server(settings, engine=engine)) as client:
        result = await client.call_tool("answer_about", {"source": str(book),
                                                         "question": "Who signs every manifest?"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["pages_searched"] == list(range(1, 13)) and data["citations"][0]["page"] == 11
    assert "green ink" in data["citations"][0]["text"]


async def test_without_a_root_no_local_file_is_read_but_data_is(engine: OcrEngine, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DOCVL_ROOTS", raising=False)
    settings = Settings.from_env(cache_dir=tmp_path / "cache")
    assert settings.roots == []
    data = base64.b64encode(Path(SAMPLE).read_bytes()).decode()
    async with Client(build_server(settings, engine=engine)) as client:
        refused = await client.call_tool("read_document", {"source": SAMPLE})
        inline = await client.call_tool("read_document", {"source": data, "pages": 1})
    assert refused.is_error
    assert "--root DIR" in text_of(refused) and "DOCVL_ROOTS" in text_of(refused)
    assert not inline.is_error and "Quarterly Report" in text_of(inline)


async def test_caller_errors_on_resources_are_invalid_params(settings: Settings, engine: OcrEngine,
                                                             tmp_path: Path):
    table = tmp_path / "table.pdf"
    table.write_bytes(ruled_table_pdf())
    async with Client(build_server(settings, engine=engine)) as client:
        read = await client.call_tool("read_document", {"source": str(table)})
        doc_id = read.structured_content["document"]["id"]
        with pytest.raises(MCPError) as page:
            await client.read_resource(f"docvl://documents/{doc_id}/pages/9")
        with pytest.raises(MCPError) as missing_table:
            await client.read_resource(f"docvl://documents/{doc_id}/pages/1/tables/5")
        csv = (await client.read_resource(f"docvl://documents/{doc_id}/pages/1/tables/0")).contents[0].text
        past = await client.call_tool("extract_table", {"source": str(table), "table_index": 3})
    assert page.value.error.code == INVALID_PARAMS and "out of range" in page.value.error.message
    assert missing_table.value.error.code == INVALID_PARAMS
    assert "Page 1 has no table 5: it has 1 table" in missing_table.value.error.message
    # The table itself, as CSV, inside the fence that marks it as the document's data.
    assert "<document>\nRegion,Units,Price,Revenue\nNorth,120,9.50,1140.00" in csv
    assert not past.is_error and "page 1 has 1 table (0)" in past.structured_content["message"]


def test_a_worker_process_stops_at_the_deadline_it_is_given(tmp_path: Path):
    """The deadline crosses into the worker process (one monotonic clock): the worker returns its first page and
    a cursor instead of running on until the parent kills it."""
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(scanned_pdf(3))
    settings = Settings.from_env(roots=[tmp_path], cache_dir=tmp_path / "cache", call_timeout=120)
    result = run_isolated(read_document, {"source": str(scan), "settings": settings, "engine": None,
                                          "deadline": time.monotonic() + 0.01}, settings)
    assert [p.page for p in result.pages] == [1] and result.next_cursor and "call time limit" in result.continuation
