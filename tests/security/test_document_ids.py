"""docvl:// ids: full ids only, per roots and per caller, and a file's record re-checked against the roots when it
is resolved (finding 4 of issue 14)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx2
import pytest
from hostile import RESOURCES, ROOT, SAMPLE, assert_serves, make_server
from http_fixtures import docvl_http
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp_docvl import samples
from mcp_docvl.cache.registry import open_registry
from mcp_docvl.config import Settings
from mcp_docvl.pipeline.session import open_session

TOKENS = ["tok-alice-" + "5e" * 12, "tok-bob-" + "a1" * 12]


async def _open(client: Client, source: str) -> str:
    result = await client.call_tool("read_document", {"source": source, "pages": "1"})
    assert not result.is_error, result.content[0].text
    return result.structured_content["document"]["id"]


async def test_an_id_prefix_resolves_nothing():
    async with Client(make_server([])) as client:
        doc_id = await _open(client, SAMPLE)
        for partial in (doc_id[:1], doc_id[:8], doc_id[:15]):
            result = await client.call_tool("read_document", {"source": f"docvl://documents/{partial}"})
            assert result.is_error and "16 hex digits" in result.content[0].text, result.content[0].text
            with pytest.raises(MCPError, match="16 hex digits"):
                await client.read_resource(f"docvl://documents/{partial}/pages/1")
        full = await client.call_tool("read_document", {"source": f"docvl://documents/{doc_id}", "pages": "2"})
        assert not full.is_error and "1,234.56 EUR" in full.content[0].text
        await assert_serves(client)


@pytest.mark.parametrize("bad", ["..%2F..%2Fetc", "0123456789abcdef0", "ZZZZZZZZZZZZZZZZ", "x" * 5000])
async def test_malformed_ids_are_clear_errors(bad: str):
    async with Client(make_server([])) as client:
        result = await client.call_tool("read_document", {"source": f"docvl://documents/{bad}"})
        text = result.content[0].text
        assert result.is_error and "not a document id" in text and len(text) < 600, text
        await assert_serves(client)


async def test_a_server_rooted_elsewhere_can_neither_list_nor_read(tmp_path: Path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "private.pdf").write_bytes(samples.sample_report())
    async with Client(make_server([tmp_path / "a"])) as client:
        doc_id = await _open(client, str(tmp_path / "a" / "private.pdf"))
    async with Client(make_server([tmp_path / "b"])) as other:  # same user, same cache directory
        listing = (await other.read_resource("docvl://documents")).contents[0].text
        assert doc_id not in listing
        result = await other.call_tool("read_document", {"source": f"docvl://documents/{doc_id}"})
        assert result.is_error and "No recently opened document" in result.content[0].text
        with pytest.raises(MCPError, match="No recently opened document"):
            await other.read_resource(f"docvl://documents/{doc_id}/pages/1")
        await assert_serves(other)


async def test_a_file_record_is_rechecked_against_the_roots(tmp_path: Path):
    """The folder holding a read file is swapped for a link to outside the root: its id no longer resolves."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "docs").mkdir(parents=True)
    outside.mkdir()
    (root / "docs" / "report.pdf").write_bytes(samples.sample_report())
    async with Client(make_server([root])) as client:
        doc_id = await _open(client, str(root / "docs" / "report.pdf"))
        shutil.move(root / "docs" / "report.pdf", outside / "report.pdf")
        (root / "docs").rmdir()
        (root / "docs").symlink_to(outside)
        result = await client.call_tool("read_document", {"source": f"docvl://documents/{doc_id}"})
        assert result.is_error and "outside the allowed roots" in result.content[0].text, result.content[0].text
        await assert_serves(client)


def test_each_principal_has_its_own_namespace(tmp_path: Path):
    alice = Settings.from_env(roots=[RESOURCES], principal="token-1")
    bob = Settings.from_env(roots=[RESOURCES], principal="token-2")
    with open_session(SAMPLE, alice) as session:
        doc_id = session.source.doc_id
    assert doc_id in [r.id for r in open_registry(alice).recent()]
    assert doc_id not in [r.id for r in open_registry(bob).recent()]
    with pytest.raises(Exception, match="No recently opened document"):
        open_registry(bob).load(doc_id, bob)
    with open_session(f"docvl://documents/{doc_id}", alice) as session:
        assert session.doc.page_count == 2


async def test_another_http_token_cannot_list_or_read(tmp_path: Path):
    tokens = tmp_path / "tokens"
    tokens.write_text("\n".join(TOKENS) + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), DOCVL_ROOTS=str(RESOURCES), DOCVL_CACHE_DIR=str(tmp_path / "cache"))
    with docvl_http(["--auth-token-file", str(tokens), "--workers", "1"], env) as (base, _port):
        async def client_for(token: str):
            http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
            return http, Client(streamable_http_client(f"{base}/mcp", http_client=http))

        http, alice = await client_for(TOKENS[0])
        async with http, alice:
            doc_id = await _open(alice, "sample.pdf")
            assert doc_id in (await alice.read_resource("docvl://documents")).contents[0].text
        http, bob = await client_for(TOKENS[1])
        async with http, bob:
            assert doc_id not in (await bob.read_resource("docvl://documents")).contents[0].text
            refused = await bob.call_tool("read_document", {"source": f"docvl://documents/{doc_id}"})
            assert refused.is_error and "No recently opened document" in refused.content[0].text
            with pytest.raises(MCPError, match="No recently opened document"):
                await bob.read_resource(f"docvl://documents/{doc_id}/pages/1")
            ok = await bob.call_tool("read_document", {"source": "sample.pdf", "pages": "2"})
            assert not ok.is_error and "1,234.56 EUR" in ok.content[0].text
