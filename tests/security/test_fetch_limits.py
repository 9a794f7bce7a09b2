"""URL fetches against hostile loopback servers: encoding bombs, slow headers, endless 1xx, fetches that starve local
reads, credentials in URLs, per-port network allowances. Each refusal is followed by a normal read."""

from __future__ import annotations

import gc
import gzip
import socket
import time
import zlib
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import anyio
import psutil
import pytest
from hostile import SAMPLE, assert_serves, make_server, refused_then_ok
from http_fixtures import body, redirect, serve
from mcp import Client

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.sources.guard import parse_allowed_network

PDF = Path(SAMPLE).read_bytes()
LOOPBACK = {"url_allowed_networks": ["127.0.0.1/32"]}
GiB = 1024**3


def _gzip_of_zeros(size: int) -> bytes:
    """gzip of `size` zero bytes, made in 1 MiB steps (the test never holds the inflated bytes)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * 2**20
    parts = [packer.compress(PDF)]
    parts += [packer.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + packer.flush()


def _sent(data: bytes, encoding: str):
    return body(data, "application/pdf", {"Content-Encoding": encoding})


def _gzip_then_endless(h: BaseHTTPRequestHandler) -> None:
    """A small gzip member, then junk without end (no Content-Length; bounded: 200 MiB at most)."""
    h.send_response(200)
    h.send_header("Content-Encoding", "gzip")
    h.end_headers()
    try:
        h.wfile.write(gzip.compress(PDF))
        for _ in range(200):
            h.wfile.write(b"\x5a" * 2**20)
    except OSError:
        pass


def _trickle_headers(h: BaseHTTPRequestHandler) -> None:
    """A status line, then one header byte every 0.2 s (bounded: 50 s at most)."""
    try:
        h.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(250):
            h.wfile.write(b"X")
            h.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def _processing_forever(h: BaseHTTPRequestHandler) -> None:
    """`102 Processing` every 0.2 s (bounded: 50 s at most), never a final response."""
    try:
        for _ in range(250):
            h.wfile.write(b"HTTP/1.1 102 Processing\r\n\r\n")
            h.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def _silent(h: BaseHTTPRequestHandler) -> None:
    """Accepts the request and says nothing for 40 s (longer than any per-read timeout the test sets)."""
    time.sleep(40)


@pytest.fixture(scope="module")
def bomb_site():
    inner = _gzip_of_zeros(GiB)  # ~1 MB, 1 GiB inflated
    stacked = gzip.compress(inner, 9)  # a few KB on the wire, 1 GiB after two inflations
    assert len(stacked) < 64 * 1024
    routes = {
        "/doc.pdf": body(PDF, "application/pdf"),
        "/gzip-gzip": _sent(stacked, "gzip, gzip"),
        "/gzip-bomb": _sent(inner, "gzip"),
        "/gzip-twice-headers": _sent(stacked, "gzip"),  # one layer declared, the inner one is the bomb's body
        "/single-gzip-pdf": _sent(gzip.compress(PDF), "gzip"),
        "/deflate-pdf": _sent(zlib.compress(PDF), "deflate"),
        "/br": _sent(b"\x1b\x00\x00", "br"),
        "/gzip-then-junk": _sent(gzip.compress(PDF) + gzip.compress(PDF), "gzip"),
        "/gzip-truncated": _sent(gzip.compress(PDF)[:-40], "gzip"),
        "/gzip-then-endless": _gzip_then_endless,
        "/to-credentials": redirect("http://admin:hunter2secret@127.0.0.1:9/doc.pdf"),
    }
    with serve(routes) as base:
        yield base


def _rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss


ENCODINGS = {
    "stacked-gzip-bomb": ("gzip-gzip", {}, r"Content-Encoding gzip, gzip.*refused"),
    "inner-layer-is-the-bomb": ("gzip-twice-headers", {}, "not a PDF|not read|inflates"),
    "brotli": ("br", {}, r"Content-Encoding br.*refused"),
    "second-gzip-member": ("gzip-then-junk", {}, "followed by more data"),
    "truncated-gzip": ("gzip-truncated", {}, "truncated"),
    "endless-data-after-gzip": ("gzip-then-endless", {}, "followed by more data"),
}


@pytest.mark.parametrize("case", list(ENCODINGS))
async def test_compressed_bodies_are_refused_within_bounded_memory(bomb_site: str, case: str, tmp_path: Path):
    path, overrides, pattern = ENCODINGS[case]
    before = _rss()
    await refused_then_ok(make_server([tmp_path], **LOOPBACK, **overrides), {"source": f"{bomb_site}/{path}"},
                          pattern)
    assert _rss() - before < GiB, f"the server process grew by {(_rss() - before) / 2**20:.0f} MiB"


async def test_single_gzip_bomb_stops_at_the_byte_cap_as_it_inflates(bomb_site: str, tmp_path: Path):
    before = _rss()
    server = make_server([tmp_path], **LOOPBACK, max_bytes=5_000_000)
    # The inner layer of the stacked bomb alone: 1 GiB of zeros after one inflation, cut at 5 MB.
    async with Client(server) as client:
        result = await client.call_tool("read_document", {"source": f"{bomb_site}/gzip-bomb"})
        assert result.is_error and "inflates (Content-Encoding) to more bytes" in result.content[0].text
        assert "over the limit of 5,000,000 bytes" in result.content[0].text
        await assert_serves(client)
    assert _rss() - before < GiB


@pytest.mark.parametrize("path", ["single-gzip-pdf", "deflate-pdf"])
async def test_one_compressed_layer_is_decoded(bomb_site: str, path: str, tmp_path: Path):
    async with Client(make_server([tmp_path], **LOOPBACK)) as client:
        result = await client.call_tool("read_document", {"source": f"{bomb_site}/{path}", "pages": "2"})
        assert not result.is_error and "1,234.56 EUR" in result.content[0].text, result.content[0].text
        await assert_serves(client)


@pytest.fixture(scope="module")
def slow_site():
    with serve({"/trickle": _trickle_headers, "/processing": _processing_forever, "/silent": _silent,
                "/doc.pdf": body(PDF, "application/pdf")}) as base:
        yield base


@pytest.mark.parametrize("path", ["trickle", "processing", "silent"])
async def test_one_deadline_covers_headers_and_informational_responses(slow_site: str, path: str, tmp_path: Path):
    server = make_server([tmp_path], **LOOPBACK, fetch_total_timeout=1.5)
    started = time.monotonic()
    text = await refused_then_ok(server, {"source": f"{slow_site}/{path}"}, r"fetch time limit of 1\.5 s")
    assert "--fetch-timeout" in text
    assert time.monotonic() - started < 15  # the refusal came at the deadline, not after a per-read timeout


async def test_hanging_fetches_do_not_delay_local_reads(slow_site: str, tmp_path: Path):
    """45 fetches hang on slow headers (more than anyio's 40 default threads); a local read still answers at once,
    and each fetch is cut at the deadline."""
    server = make_server([tmp_path], **LOOPBACK, fetch_total_timeout=12.0, max_concurrent_fetches=4)
    fetch_results: list = []
    async with Client(server) as client:
        await assert_serves(client)  # warm: workers started, sample cached

        async def fetch() -> None:
            fetch_results.append(await client.call_tool("read_document", {"source": f"{slow_site}/trickle"}))

        async with anyio.create_task_group() as group:
            for _ in range(45):
                group.start_soon(fetch)
            await anyio.sleep(1.0)
            started = time.monotonic()
            local = await client.call_tool("read_document", {"source": SAMPLE, "pages": "1", "format": "text"})
            local_seconds = time.monotonic() - started
            pending = 45 - len(fetch_results)
    assert not local.is_error and "Quarterly Report" in local.content[0].text
    assert local_seconds < 5, f"a local read waited {local_seconds:.1f} s behind hanging fetches"
    assert pending > 0, "the fetches did not hang while the local read ran"
    assert len(fetch_results) == 45 and all(r.is_error for r in fetch_results)
    assert all("fetch time limit" in r.content[0].text for r in fetch_results)


CREDENTIALS = {
    "user-and-password": "http://reader:hunter2secret@127.0.0.1:{port}/doc.pdf",
    "user-only": "http://hunter2secret@127.0.0.1:{port}/doc.pdf",
    "percent-encoded": "http://reader:hunter2%73ecret@127.0.0.1:{port}/doc.pdf",
    "redirect-to-credentials": "{site}/to-credentials",
}


@pytest.mark.parametrize("case", list(CREDENTIALS))
async def test_urls_with_credentials_are_refused_and_not_echoed(bomb_site: str, case: str, tmp_path: Path):
    url = CREDENTIALS[case].format(site=bomb_site, port=bomb_site.rsplit(":", 1)[1])
    text = await refused_then_ok(make_server([tmp_path], **LOOPBACK), {"source": url}, "user name or password")
    assert "hunter2" not in text and "***@" in text


async def test_network_allowance_with_a_port_admits_only_that_port(bomb_site: str, tmp_path: Path):
    port = int(bomb_site.rsplit(":", 1)[1])
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other_port = other.getsockname()[1]
    server = make_server([tmp_path], url_allowed_networks=[f"127.0.0.1:{port}"])
    async with Client(server) as client:
        ok = await client.call_tool("read_document", {"source": f"{bomb_site}/doc.pdf", "pages": "1"})
        assert not ok.is_error and "Quarterly Report" in ok.content[0].text
    text = await refused_then_ok(server, {"source": f"http://127.0.0.1:{other_port}/doc.pdf"},
                                 f"allows it on port {port} only")
    assert "--allow-url-network" in text


@pytest.mark.parametrize("entry", ["10.0.0.0/8:http", "127.0.0.1:0", "[::1:443", "10.0.0.0/33", "1.2.3.4:99999"])
async def test_malformed_network_allowance_is_refused_clearly(bomb_site: str, entry: str, tmp_path: Path):
    with pytest.raises(InvalidArgument, match="allow-url-network"):
        parse_allowed_network(entry)
    server = make_server([tmp_path], url_allowed_networks=[entry])
    await refused_then_ok(server, {"source": f"{bomb_site}/doc.pdf"}, "is not valid")


def test_network_allowance_forms():
    cases = {"10.1.2.0/24": ("10.1.2.0/24", None), "10.1.2.3:8443": ("10.1.2.3/32", 8443),
             "[fd00::/8]:443": ("fd00::/8", 443), "fd00::1": ("fd00::1/128", None), "[::1]:80": ("::1/128", 80)}
    for entry, (network, port) in cases.items():
        parsed = parse_allowed_network(entry)
        assert (str(parsed.network), parsed.port) == (network, port), entry


def test_library_fetch_is_cut_at_the_deadline(slow_site: str, tmp_path: Path):
    """Without the server around it too: `load_source` itself stops at the deadline, then fetches normally."""
    from mcp_docvl.config import Settings
    from mcp_docvl.errors import FetchError
    from mcp_docvl.sources import load_source

    settings = Settings.from_env(roots=[tmp_path], fetch_total_timeout=1.0, **LOOPBACK)
    started = time.monotonic()
    with pytest.raises(FetchError, match="fetch time limit"):
        load_source(f"{slow_site}/processing", settings)
    assert time.monotonic() - started < 5
    assert load_source(f"{slow_site}/doc.pdf", settings).data == PDF
