"""URL sources against a real HTTP server on loopback that redirects to internal addresses (SSRF)."""

from __future__ import annotations

import gzip
import socket
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from hostile import SAMPLE, make_server, refused_then_ok
from http_fixtures import body, redirect, serve

from mcp_docvl.config import Settings
from mcp_docvl.errors import AccessDenied
from mcp_docvl.sources import load_source

PDF = Path(SAMPLE).read_bytes()
INTERNAL = "private or internal address"
# Loopback is allowed for the test server itself (127.0.0.1 only), so a refusal shows the guard looked at the hop.
FIRST_HOP_ONLY = {"url_allowed_networks": ["127.0.0.1/32"]}


def drip(h: BaseHTTPRequestHandler) -> None:
    """Headers at once, then a byte every 0.2 s: only a total time limit stops this."""
    h.send_response(200)
    h.send_header("Content-Type", "application/pdf")
    h.end_headers()
    try:
        for _ in range(100):
            h.wfile.write(b"%")
            h.wfile.flush()
            time.sleep(0.2)
    except OSError:
        pass


def endless(h: BaseHTTPRequestHandler) -> None:
    """No Content-Length, and more bytes than any limit."""
    h.send_response(200)
    h.send_header("Content-Type", "application/pdf")
    h.end_headers()
    try:
        h.wfile.write(PDF)
        for _ in range(10_000):
            h.wfile.write(b"\0" * 65536)
    except OSError:
        pass


def lying_length(h: BaseHTTPRequestHandler) -> None:
    h.send_response(200)
    h.send_header("Content-Length", str(10**12))
    h.end_headers()


def gzip_bomb(h: BaseHTTPRequestHandler) -> None:
    data = gzip.compress(PDF + b"\0" * (20 * 1024 * 1024), 9)  # ~20 KB on the wire, 20 MiB inflated
    h.send_response(200)
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


@pytest.fixture(scope="module")
def site():
    routes = {
        "/doc.pdf": body(PDF, "application/pdf"),
        "/to-metadata": redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
        "/to-ten": redirect("http://10.0.0.1/admin"),
        "/to-ipv6-loopback": redirect("http://[::1]:80/"),
        "/to-other-loopback": redirect("http://127.0.0.2/"),
        "/to-unspecified": redirect("http://0.0.0.0/"),
        "/to-mapped-metadata": redirect("http://[::ffff:169.254.169.254]/"),
        "/to-nat64-metadata": redirect("http://[64:ff9b::a9fe:a9fe]/"),
        "/to-decimal-metadata": redirect("http://2852039166/"),  # 169.254.169.254 as one number
        "/to-file": redirect("file:///etc/passwd"),
        "/to-gopher": redirect("gopher://127.0.0.1:6379/_FLUSHALL"),
        "/to-multicast": redirect("http://224.0.0.1/"),
        "/to-cgnat-metadata": redirect("http://100.100.100.200/latest/meta-data/"),
        "/loop": redirect("/loop"),
        "/drip": drip,
        "/endless": endless,
        "/lying-length": lying_length,
        "/gzip-bomb": gzip_bomb,
    }
    with serve(routes) as base:
        yield base


REDIRECTS = {
    "to-metadata": "cloud metadata",
    "to-ten": INTERNAL,
    "to-ipv6-loopback": "loopback",
    "to-other-loopback": "loopback",
    "to-unspecified": "unspecified",
    "to-mapped-metadata": "wrapped in IPv6",
    "to-nat64-metadata": "wrapped in IPv6",
    "to-decimal-metadata": "cloud metadata",
    "to-file": "scheme 'file' is not allowed",
    "to-gopher": "scheme 'gopher' is not allowed",
    "to-multicast": "multicast",
    "to-cgnat-metadata": "cloud metadata",
    "loop": "too many redirects",
}


@pytest.mark.parametrize("path", list(REDIRECTS))
async def test_redirect_to_internal_target_is_refused(site: str, path: str, tmp_path: Path):
    server = make_server([tmp_path], **FIRST_HOP_ONLY)
    await refused_then_ok(server, {"source": f"{site}/{path}"}, REDIRECTS[path])


DIRECT = {
    "loopback-by-default": ("{site}/doc.pdf", INTERNAL),
    "localhost-name": ("http://localhost:{port}/doc.pdf", "loopback"),
    "hex-loopback": ("http://0x7f000001:{port}/doc.pdf", "loopback"),
    "ipv6-mapped-loopback": ("http://[::ffff:127.0.0.1]:{port}/doc.pdf", "wrapped in IPv6"),
    "metadata-direct": ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    "ftp-scheme": ("ftp://example.com/doc.pdf", "scheme 'ftp'"),
    "header-injection": ("http://127.0.0.1:{port}/doc.pdf\r\nX-Evil: 1", "control characters|malformed"),
}


@pytest.mark.parametrize("case", list(DIRECT))
async def test_direct_internal_url_is_refused(site: str, case: str, tmp_path: Path):
    template, pattern = DIRECT[case]
    url = template.format(site=site, port=site.rsplit(":", 1)[1])
    await refused_then_ok(make_server([tmp_path]), {"source": url}, pattern)


LIMITS = {
    "endless-body": ({"max_bytes": 1_000_000}, "over the limit of 1,000,000 bytes"),
    "lying-length": ({}, "over the limit"),
    "gzip-bomb": ({"max_bytes": 1_000_000}, "over the limit of 1,000,000 bytes"),
    "drip": ({"fetch_total_timeout": 1.0}, "time limit of 1 s"),
}


@pytest.mark.parametrize("case", list(LIMITS))
async def test_hostile_server_hits_a_limit(site: str, case: str, tmp_path: Path):
    overrides, pattern = LIMITS[case]
    server = make_server([tmp_path], **FIRST_HOP_ONLY, **overrides)
    started = time.monotonic()
    text = await refused_then_ok(server, {"source": f"{site}/{case.replace('endless-body', 'endless')}"}, pattern)
    assert "--" in text  # the message says which flag raises the limit
    assert time.monotonic() - started < 20


async def test_host_allowlist(site: str, tmp_path: Path):
    server = make_server([tmp_path], allow_private_urls=True, url_allowed_hosts=["docs.example.com"])
    await refused_then_ok(server, {"source": f"{site}/doc.pdf"}, "not in the allowed hosts")


async def test_allowed_first_hop_still_reads(site: str, tmp_path: Path):
    from mcp import Client

    async with Client(make_server([tmp_path], **FIRST_HOP_ONLY)) as client:
        result = await client.call_tool("read_document", {"source": f"{site}/doc.pdf", "pages": "1"})
    assert not result.is_error and "Quarterly Report" in result.content[0].text


def test_dns_is_asked_once_and_the_checked_address_is_used(site: str, tmp_path: Path, monkeypatch):
    """DNS rebinding: the first answer is public-looking (allowed), later answers point at the metadata service.
    The fetch must connect to the first answer and never ask again. (DNS is the one part we cannot run for real
    here, so getaddrinfo is replaced; the HTTP server and the connection are real.)"""
    port = int(site.rsplit(":", 1)[1])
    answers = [("127.0.0.1", port)] + [("169.254.169.254", port)] * 10
    calls: list[str] = []

    def rebinding_getaddrinfo(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        calls.append(host)
        address = answers[len(calls) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", address)]

    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    settings = Settings.from_env(roots=[tmp_path], url_allowed_networks=["127.0.0.1/32"])
    source = load_source(f"http://rebind.test:{port}/doc.pdf", settings)
    assert source.data == PDF and calls == ["rebind.test"]
    # Asked again (a new fetch), the rebinding answer is refused.
    with pytest.raises(AccessDenied, match="cloud metadata"):
        load_source(f"http://rebind.test:{port}/doc.pdf", settings)


def test_host_with_one_internal_address_among_public_ones_is_refused(tmp_path: Path, monkeypatch):
    def mixed(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port))]

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with pytest.raises(AccessDenied, match=r"10\.0\.0\.5"):
        load_source("http://mixed.test/doc.pdf", Settings.from_env(roots=[tmp_path]))
