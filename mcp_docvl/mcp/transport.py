"""Serving MCP safely: over streamable HTTP (auth required off loopback, Host/Origin checks, body, header-time,
connection, request and session limits) and over stdio (a bound on one message's size)."""

from __future__ import annotations

import ipaddress
import logging
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import BinaryIO

import anyio
import anyio.to_thread
import uvicorn
from mcp.server import MCPServer
from mcp.server.auth.provider import TokenVerifier
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecuritySettings
from mcp.shared.message import SessionMessage
from mcp_types import INVALID_REQUEST, ErrorData, JSONRPCError

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.mcp.http_guard import AuthenticatedLimit, guarded_protocol

log = logging.getLogger(__name__)


@dataclass
class HttpOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    auth: bool = False  # a token verifier is configured on the server
    insecure_no_auth: bool = False
    # Host header values clients use to reach us (DNS-rebinding protection), e.g. "docs.example.com".
    allowed_hosts: list[str] = field(default_factory=list)
    allowed_origins: list[str] = field(default_factory=list)
    max_request_bytes: int = 1024 * 1024
    # Requests of authenticated callers in flight before answering 503 (unauthenticated ones cost no slot).
    max_concurrency: int = 200
    # Seconds a client has to send a request's headers (from connecting, or from the first byte of its next
    # request): ample for any real client even on a slow link, short enough that idle sockets cannot pile up.
    header_timeout: float = 10.0
    # Open TCP connections; past it the one waiting longest for its headers is dropped. Below the usual
    # 1,024-descriptor limit with room for the cache, the workers' pipes and the documents being read.
    max_connections: int = 768
    # Largest request head (request line + headers) h11 buffers: a bearer token and the usual headers fit many
    # times over; a slow client cannot make one connection hold more.
    max_header_bytes: int = 16 * 1024
    # Open MCP sessions (each holds a task group and streams until closed or idle for session_idle_timeout).
    max_sessions: int = 1000
    session_idle_timeout: float = 30 * 60


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(options: HttpOptions) -> None:
    """Refuse to serve beyond this machine without authentication, unless the operator insists."""
    if is_loopback(options.host) or options.auth:
        return
    if options.insecure_no_auth:
        log.warning("serving on %s without authentication (--insecure-no-auth): anyone who can reach this port "
                    "can read every file under the roots", options.host)
        return
    raise InvalidArgument(
        f"Refusing to serve HTTP on {options.host} (reachable from other machines) without authentication.",
        "Pass --auth-token-file FILE (or OAuth settings), bind to 127.0.0.1, or accept the risk with "
        "--insecure-no-auth.",
    )


def transport_security(options: HttpOptions) -> TransportSecuritySettings | None:
    """Host/Origin validation against DNS rebinding: on by default for every bind address."""
    if options.allowed_hosts == ["*"]:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = list(options.allowed_hosts)
    origins = list(options.allowed_origins)
    if is_loopback(options.host) or not hosts:
        hosts += ["127.0.0.1:*", "localhost:*", "[::1]:*"]
        origins += ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if options.host not in ("0.0.0.0", "::") and not is_loopback(options.host):
        hosts.append(f"{options.host}:*")
    # A Host header carries no port on default ports: accept the bare name and the name with any port.
    hosts = sorted({form for h in hosts for form in ((h,) if h.endswith(":*") else (h, f"{h}:*"))})
    if not is_loopback(options.host) and not options.allowed_hosts:
        log.warning("no --allowed-host given: only requests whose Host header is %s or loopback are accepted",
                    options.host)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=origins)


def serve_http(server: MCPServer, options: HttpOptions, verifier: TokenVerifier | None = None) -> None:
    """Run `server` on streamable HTTP with the checks above (blocks until stopped). `verifier` is the server's
    token verifier: only requests it accepts count toward `max_concurrency`."""
    check_exposure(options)
    app = server.streamable_http_app(
        transport_security=transport_security(options), max_request_body_size=options.max_request_bytes,
        host=options.host, max_sessions=options.max_sessions, session_idle_timeout=options.session_idle_timeout,
    )
    # No uvicorn limit_concurrency: it counts open connections, so idle unauthenticated sockets would fill it.
    config = uvicorn.Config(AuthenticatedLimit(app, verifier, options.max_concurrency), host=options.host,
                            port=options.port, log_level="warning", timeout_keep_alive=30,
                            http=guarded_protocol(options.header_timeout, options.max_connections),
                            h11_max_incomplete_event_size=options.max_header_bytes)
    uvicorn.Server(config).run()


# ----------------------------------------------------------------------------------------------------------- stdio

# The request id of a refused message, from its first bytes (the rest is never read into memory).
_ID = re.compile(rb'"id"\s*:\s*(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")')
_ID_SCAN_BYTES = 64 * 1024
_SKIP_CHUNK = 1024 * 1024


class BoundedLines:
    """The lines of a binary stream, each at most `limit` bytes; a longer one is read to its end in chunks and
    dropped (never held whole), and the client gets a JSON-RPC error for it.

    The MCP SDK's stdio transport reads each line whole before looking at it, so one 200 MB line would take
    200 MB (and more to parse); this stands in for its stdin.
    """

    def __init__(self, raw: BinaryIO, limit: int) -> None:
        self._raw = raw
        self._limit = limit
        self._reply: Callable[[SessionMessage], Awaitable[None]] | None = None

    def answer_with(self, send: Callable[[SessionMessage], Awaitable[None]]) -> None:
        """Where refusals go: the transport's outgoing stream (set once the transport is up)."""
        self._reply = send

    def __aiter__(self) -> BoundedLines:
        return self

    async def __anext__(self) -> str:
        while True:
            line, refused_head = await anyio.to_thread.run_sync(self._next_line)
            if line is None:
                raise StopAsyncIteration
            if refused_head is None:
                return line.decode("utf-8", errors="replace")
            await self._refuse(refused_head)

    def _next_line(self) -> tuple[bytes | None, bytes | None]:
        """(line, None), (b"", head of a refused line), or (None, None) at the end of the stream."""
        line = self._raw.readline(self._limit + 1)
        if not line:
            return None, None
        if len(line) <= self._limit or line.endswith(b"\n"):
            return line, None
        head = line[:_ID_SCAN_BYTES]
        while True:  # skip the rest of the line without keeping it
            rest = self._raw.readline(_SKIP_CHUNK)
            if not rest or rest.endswith(b"\n"):
                return b"", head

    async def _refuse(self, head: bytes) -> None:
        found = _ID.search(head)
        request_id: int | str | None = None
        if found:
            token = found.group(1).decode("utf-8", errors="replace")
            request_id = int(token) if token[0] != '"' else token[1:-1]
        message = (f"The JSON-RPC message is larger than the limit of {self._limit:,} bytes (max_request_bytes); it "
                   "was not read. Send documents by path or URL, or raise --max-request-bytes.")
        log.warning("refused a stdio message over %d bytes (id %r)", self._limit, request_id)
        if self._reply is not None:
            error = JSONRPCError(jsonrpc="2.0", id=request_id, error=ErrorData(code=INVALID_REQUEST, message=message))
            await self._reply(SessionMessage(error))


async def _serve_stdio(server: MCPServer, max_message_bytes: int) -> None:
    lines = BoundedLines(sys.stdin.buffer, max_message_bytes)
    async with stdio_server(stdin=lines) as (read_stream, write_stream):  # type: ignore[arg-type]
        lines.answer_with(write_stream.send)
        # What MCPServer.run_stdio_async does, with our stdin (the SDK offers no public way to pass one).
        lowlevel = server._lowlevel_server
        await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())


def serve_stdio(server: MCPServer, max_message_bytes: int) -> None:
    """Run `server` on stdin/stdout, refusing any message over `max_message_bytes` (blocks until stdin closes)."""
    anyio.run(_serve_stdio, server, max_message_bytes)
