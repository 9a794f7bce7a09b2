"""Fetching documents over http(s): streamed, capped in size and time, every hop checked by the guard.

Limits of one fetch (each also stated in docs/security.md):
- bytes: the body is read raw (`iter_raw`) and counted as it arrives; a body sent compressed although we asked for
  `identity` is inflated here with a hard output bound, the cap counted on the inflated bytes as they are produced;
  stacked or unknown encodings (`gzip, gzip`, `br`) are refused, since each layer multiplies what the next inflates;
- time: one wall-clock deadline over connect, TLS, headers and body (`guard.DeadlineStream`);
- concurrency: at most `max_concurrent_fetches` downloads at once, on threads of their own (`fetch_ahead`), so slow
  servers cannot take the threads local reads run on.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator

import anyio.lowlevel
import anyio.to_thread
import httpx

from mcp_docvl.config import Settings
from mcp_docvl.errors import FetchError, LimitExceeded
from mcp_docvl.sources.guard import check_url, pinned_transport, redact_url
from mcp_docvl.version import __version__

_USER_AGENT = f"mcp-docvl/{__version__}"
# We ask for no compression; a server that compresses anyway is decoded within the byte cap (see _Inflater).
_HEADERS = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}
# zlib window bits: gzip wrapper (16 + 15) for gzip; 32 + 15 auto-detects zlib or gzip for "deflate".
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}
# Tolerance when telling "the deadline passed" from "a read timed out": the socket wakes up at the deadline.
_DEADLINE_SLACK = 0.05
_FETCH_LIMITERS: anyio.lowlevel.RunVar[dict[int, anyio.CapacityLimiter]] = anyio.lowlevel.RunVar("docvl_fetches")


def _too_big(url: str, size: str, settings: Settings) -> LimitExceeded:
    return LimitExceeded(
        f"{redact_url(url)} {size}, over the limit of {settings.max_bytes:,} bytes (max_bytes).",
        "Raise it with --max-bytes (or DOCVL_MAX_BYTES) if you trust the source.",
    )


def _too_slow(url: str, settings: Settings) -> FetchError:
    return FetchError(
        f"Fetching {redact_url(url)} took longer than the fetch time limit of {settings.fetch_total_timeout:g} s "
        "(connection, headers and body together).",
        "Download it and pass a path, or raise --fetch-timeout (DOCVL_FETCH_TIMEOUT).",
    )


def fetch_url(url: str, settings: Settings) -> bytes:
    """Download `url` and return its body, or raise a `DocvlError` naming the problem."""
    deadline = time.monotonic() + settings.fetch_total_timeout
    # trust_env=False: a proxy from the environment would connect on our behalf, past the guard's address check.
    with httpx.Client(transport=pinned_transport(settings, deadline), follow_redirects=False, headers=_HEADERS,
                      trust_env=False) as client:
        # Redirects are followed by hand so that each hop goes through the guard.
        for _hop in range(settings.max_redirects + 1):
            check_url(url, settings)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _too_slow(url, settings)
            timeout = httpx.Timeout(min(settings.fetch_read_timeout, remaining),
                                    connect=min(settings.fetch_connect_timeout, remaining))
            try:
                with client.stream("GET", url, timeout=timeout) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise FetchError(f"{redact_url(url)} redirected without a Location header.",
                                             "Check the URL.")
                        url = str(response.url.join(location))
                        continue
                    if response.status_code >= 400:
                        raise FetchError(
                            f"Fetching {redact_url(url)} failed with HTTP {response.status_code} "
                            f"{response.reason_phrase}.",
                            "Check the URL and that the document is publicly reachable.",
                        )
                    return _read_capped(response, url, settings, deadline)
            except httpx.TimeoutException:
                raise _too_slow(url, settings) if time.monotonic() >= deadline - _DEADLINE_SLACK else FetchError(
                    f"Fetching {redact_url(url)} timed out (no data for {settings.fetch_read_timeout:g} s).",
                    "Retry later, or download it and pass a path.") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"Fetching {redact_url(url)} failed: {redact_url(str(exc))}.",
                                 "Check the URL and your network.") from None
    raise FetchError(f"{redact_url(url)}: too many redirects (more than max_redirects={settings.max_redirects}).",
                     "Give the final URL directly.")


class _TrailingData(Exception):
    """Bytes after the end of the compressed stream (zlib would keep them all in memory)."""


class _Inflater:
    """Decodes one layer of gzip or deflate, never producing more than the bytes still allowed."""

    def __init__(self, coding: str) -> None:
        self._zlib = zlib.decompressobj(wbits=_WBITS[coding])

    def feed(self, data: bytes, room: int) -> bytes | None:
        """The decoded bytes of `data`, or None if they would exceed `room` (nothing beyond room+1 is made)."""
        if self._zlib.eof and data:
            raise _TrailingData
        out = self._zlib.decompress(data, room + 1)
        return None if len(out) > room else out

    def finish(self, room: int) -> bytes | None:
        out = self._zlib.flush(room + 1)
        return None if len(out) > room else out

    def complete(self) -> bool:
        # A second gzip member after the first (or junk) is not decoded: that would be another, unbounded layer.
        return self._zlib.eof and not self._zlib.unused_data


def _content_codings(response: httpx.Response) -> list[str]:
    codings = []
    for header in response.headers.get_list("content-encoding"):
        codings += [c.strip().lower() for c in header.split(",") if c.strip().lower() not in ("", "identity")]
    return codings


def _inflater(response: httpx.Response, url: str) -> _Inflater | None:
    codings = _content_codings(response)
    if not codings:
        return None
    if len(codings) == 1 and codings[0] in _WBITS:
        return _Inflater(codings[0])
    raise FetchError(
        f"{redact_url(url)} sent its body with Content-Encoding {', '.join(codings)}, though only identity was "
        "asked for; stacked or unknown encodings are refused (each layer can multiply the size of the next).",
        "Ask the server's owner to serve the file uncompressed, or download it yourself and pass a path.",
    )


def _read_capped(response: httpx.Response, url: str, settings: Settings, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    inflater = _inflater(response, url)
    if inflater is None and declared and declared.isdigit() and int(declared) > settings.max_bytes:
        raise _too_big(url, f"is {int(declared):,} bytes", settings)
    chunks: list[bytes] = []
    size = 0
    for chunk in _decoded(response.iter_raw(), inflater, settings.max_bytes, url, settings):
        size += len(chunk)
        if size > settings.max_bytes:
            raise _too_big(url, "sent more bytes", settings)
        if time.monotonic() > deadline:
            raise _too_slow(url, settings)
        chunks.append(chunk)
    return b"".join(chunks)


def _decoded(raw: Iterator[bytes], inflater: _Inflater | None, cap: int, url: str,
             settings: Settings) -> Iterator[bytes]:
    """The body's bytes as the document has them: raw chunks, or inflated within `cap` bytes in all."""
    if inflater is None:
        yield from raw
        return
    made = received = 0
    try:
        for chunk in raw:
            received += len(chunk)
            if received > cap:
                raise _too_big(url, "sent more bytes", settings)
            out = inflater.feed(chunk, cap - made)
            if out is None:
                raise _too_big(url, "inflates (Content-Encoding) to more bytes", settings)
            made += len(out)
            yield out
    except _TrailingData:
        raise _trailing(url) from None
    tail = inflater.finish(cap - made)
    if tail is None:
        raise _too_big(url, "inflates (Content-Encoding) to more bytes", settings)
    if not inflater.complete():
        raise _trailing(url)
    yield tail


def _trailing(url: str) -> FetchError:
    return FetchError(f"The compressed body from {redact_url(url)} is truncated or followed by more data.",
                      "Download it yourself and pass a path.")


def is_url(spec: object) -> bool:
    """Whether `spec` is an http(s) URL source (what `fetch_url` downloads)."""
    return isinstance(spec, str) and spec.lstrip()[:8].lower().startswith(("http://", "https://"))


def fetch_limiter(settings: Settings) -> anyio.CapacityLimiter:
    """The threads URL downloads run on, per event loop: `max_concurrent_fetches` of them, apart from anyio's
    default pool (which every other blocking call shares), so hanging servers cannot starve local reads."""
    try:
        limiters = _FETCH_LIMITERS.get()
    except LookupError:
        limiters = {}
        _FETCH_LIMITERS.set(limiters)
    count = settings.max_concurrent_fetches
    if count not in limiters:
        limiters[count] = anyio.CapacityLimiter(count)
    return limiters[count]
