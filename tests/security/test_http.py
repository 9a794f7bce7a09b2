"""The HTTP transport: bearer tokens, refusal to expose without auth, Host checks, request body limit."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import httpx2
import pytest
from hostile import RESOURCES, ROOT
from http_fixtures import docvl_http
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_docvl.cli import main
from mcp_docvl.errors import InvalidArgument
from mcp_docvl.mcp.auth import StaticTokenVerifier, read_token_file
from mcp_docvl.mcp.transport import HttpOptions, check_exposure

TOKEN = "tok-" + "7f3a9c" * 6
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def http_server(tmp_path_factory):
    tokens = tmp_path_factory.mktemp("auth") / "tokens"
    tokens.write_text(f"# one token a line\n{TOKEN}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), DOCVL_ROOTS=str(RESOURCES))
    with docvl_http(["--auth-token-file", str(tokens), "--workers", "1", "--max-request-bytes", "200000"],
                    env) as (base, _port):
        yield base


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-000000000000", "Basic dXNlcjpwYXNz",
                                           f"Bearer {TOKEN}x", "Bearer"])
def test_call_without_a_valid_token_is_401(http_server: str, authorization: str | None):
    headers = dict(HEADERS, **({"Authorization": authorization} if authorization else {}))
    response = httpx.post(f"{http_server}/mcp", json=INIT, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].lower().startswith("bearer")


def test_foreign_host_header_is_refused(http_server: str):
    headers = dict(HEADERS, Authorization=f"Bearer {TOKEN}", Host="attacker.example")
    response = httpx.post(f"{http_server}/mcp", json=INIT, headers=headers, timeout=10)
    assert response.status_code in (400, 403, 421)


def test_oversized_body_is_refused(http_server: str):
    headers = dict(HEADERS, Authorization=f"Bearer {TOKEN}")
    big = dict(INIT, params=dict(INIT["params"], padding="x" * 300_000))
    response = httpx.post(f"{http_server}/mcp", json=big, headers=headers, timeout=10)
    assert response.status_code == 413


async def test_valid_token_reads_and_serves_after_refusals(http_server: str):
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    async with http, Client(streamable_http_client(f"{http_server}/mcp", http_client=http)) as client:
        result = await client.call_tool("read_document", {"source": "sample.pdf", "pages": "2"})
        refused = await client.call_tool("read_document", {"source": "/etc/passwd"})
        again = await client.call_tool("read_document", {"source": "sample.pdf", "pages": "1"})
    assert not result.is_error and "1,234.56 EUR" in result.content[0].text
    assert refused.is_error and "outside the allowed roots" in refused.content[0].text
    assert not again.is_error and "Quarterly Report" in again.content[0].text


def test_public_bind_without_auth_refuses_to_start(capsys):
    assert main(["serve", "--http", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "--insecure-no-auth" in capsys.readouterr().err
    with pytest.raises(InvalidArgument, match="without authentication"):
        check_exposure(HttpOptions(host="192.0.2.10"))
    check_exposure(HttpOptions(host="192.0.2.10", insecure_no_auth=True))  # the operator insisted
    check_exposure(HttpOptions(host="192.0.2.10", auth=True))
    check_exposure(HttpOptions(host="::1"))


def test_weak_or_missing_token_files_are_refused(tmp_path: Path):
    (tmp_path / "short").write_text("abc\n")
    (tmp_path / "blank").write_text("# nothing\n\n")
    for name, message in [("short", "shorter than"), ("blank", "holds no token"), ("absent", "cannot be read")]:
        with pytest.raises(InvalidArgument, match=message):
            read_token_file(tmp_path / name)


async def test_static_verifier_accepts_only_listed_tokens():
    verifier = StaticTokenVerifier([TOKEN, "second-token-0123456789"])
    assert (await verifier.verify_token(TOKEN)).client_id == "token-1"
    assert (await verifier.verify_token("second-token-0123456789")).client_id == "token-2"
    for bad in ["", TOKEN[:-1], TOKEN + " ", TOKEN.upper()]:
        assert await verifier.verify_token(bad) is None


async def test_oauth_introspection_verifier(tmp_path: Path):
    """Tokens checked at an RFC 7662 introspection endpoint (a real one on loopback): active, inactive, expired,
    and the endpoint down (fail closed)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import parse_qs

    from mcp_docvl.mcp.auth import IntrospectionTokenVerifier

    answers = {"good-token-0123456789": {"active": True, "client_id": "agent", "scope": "docs:read", "sub": "u1",
                                         "exp": int(time.time()) + 600},
               "expired-token-0123456": {"active": True, "client_id": "agent", "exp": int(time.time()) - 5}}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            body = json.dumps(answers.get(form["token"][0], {"active": False})).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/introspect"
    try:
        verifier = IntrospectionTokenVerifier(url)
        good = await verifier.verify_token("good-token-0123456789")
        assert good is not None and good.client_id == "agent" and good.scopes == ["docs:read"]
        assert await verifier.verify_token("expired-token-0123456") is None
        assert await verifier.verify_token("unknown-token-000000") is None
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert await IntrospectionTokenVerifier(url).verify_token("good-token-0123456789") is None  # endpoint gone
