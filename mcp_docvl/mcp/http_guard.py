"""Connection-level guards of the HTTP server against clients that never finish asking (slowloris).

uvicorn bounds a request's header size (h11's incomplete-event limit) but not the time a client takes to send the
headers, and its `limit_concurrency` counts open connections, so a few hundred idle sockets from anyone answer
every real caller with 503. Here instead:
- `guarded_protocol`: uvicorn's h11 protocol with a header deadline: a connection must deliver a request's
  complete headers within `header_timeout` seconds of connecting (or of the first byte of its next request on a
  kept-alive connection), else it gets 408 and is closed. Past `max_connections` open connections, the one that
  has waited longest for its headers, or idled longest between requests, is dropped to make room (connections busy
  with a request are never dropped).
- `AuthenticatedLimit`: ASGI middleware that counts only requests carrying a valid token toward the in-flight
  limit (503 past it); requests without one are answered 401 by the SDK and cost no slot.
These guard a server on loopback or a private network; a public deployment still belongs behind a reverse proxy
(docs/security.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)
_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_FULL_RESPONSE = b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


class _GuardedH11Protocol(H11Protocol):
    """H11Protocol with a header deadline and a connection cap (class attributes set by `guarded_protocol`)."""

    header_timeout: float = 10.0
    max_connections: int = 1000
    _header_timer: asyncio.TimerHandle | None = None
    _waiting_since: float = 0.0
    _idle: bool = False  # a kept-alive connection between requests: uvicorn's keep-alive timer watches it

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()
        if len(self.connections) > self.max_connections:
            self._shed()

    def data_received(self, data: bytes) -> None:
        if self._idle and data:
            self._idle = False
            self._arm()  # the next request's headers are on their way: they get header_timeout too
        before = self.cycle
        super().data_received(data)
        if self.cycle is not before:  # h11 delivered a request's headers
            self._disarm()

    def on_response_complete(self) -> None:
        before = self.cycle
        super().on_response_complete()
        if self.cycle is before and not self.transport.is_closing():
            self._idle = True
            self._waiting_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._waiting_since = self.loop.time()
        self._header_timer = self.loop.call_later(self.header_timeout, self._drop, _TIMEOUT_RESPONSE)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _drop(self, response: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(response)
            self.transport.close()

    def _sheddable(self) -> bool:
        """Waiting for a request's headers, or idle between requests: dropping it loses no work."""
        return self._header_timer is not None or self._idle

    def _shed(self) -> None:
        waiting = [c for c in self.connections if isinstance(c, _GuardedH11Protocol) and c._sheddable()]
        victim = min(waiting, key=lambda c: c._waiting_since, default=self)
        log.warning("more than %d open HTTP connections: dropping the one waiting longest for a request",
                    self.max_connections)
        victim._drop(_FULL_RESPONSE)


def guarded_protocol(header_timeout: float, max_connections: int) -> type[H11Protocol]:
    """The protocol class to give uvicorn (`http=`): h11 with the header deadline and the connection cap."""
    return type("GuardedH11Protocol", (_GuardedH11Protocol,),
                {"header_timeout": header_timeout, "max_connections": max_connections})


class AuthenticatedLimit:
    """At most `limit` requests of authenticated callers in flight at once; beyond, 503 with Retry-After.

    With no `verifier` (a loopback server without auth) every request counts. Requests without a valid token are
    passed on uncounted: the SDK answers them 401 without doing any work.
    """

    def __init__(self, app: ASGIApp, verifier: TokenVerifier | None, limit: int) -> None:
        self.app = app
        self._verifier = verifier
        self._limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not await self._authenticated(scope):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self._limit:
            await _busy(send, self._limit)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _authenticated(self, scope: Scope) -> bool:
        if self._verifier is None:
            return True
        header = next((value for name, value in scope["headers"] if name == b"authorization"), b"")
        scheme, _, token = header.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return await self._verifier.verify_token(token.strip()) is not None


async def _busy(send: Send, limit: int) -> None:
    body = json.dumps({"error": f"The server is serving its limit of {limit} requests (max_concurrency); retry "
                                "shortly, or start it with a higher --max-concurrency."}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"retry-after", b"1"),
                          (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
