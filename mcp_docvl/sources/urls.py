"""Fetching documents over http(s): streamed, capped in size and time, every hop checked by the guard."""

from __future__ import annotations

import time

import httpx

from mcp_docvl.config import Settings
from mcp_docvl.errors import FetchError, LimitExceeded
from mcp_docvl.sources.guard import check_url, pinned_transport
from mcp_docvl.version import __version__

_USER_AGENT = f"mcp-docvl/{__version__}"
# No compression: a small gzip body can inflate a thousandfold before the byte cap sees it.
_HEADERS = {"User-Agent": _USER_AGENT, "Accept-Encoding": "identity"}


def _too_big(url: str, size: str, settings: Settings) -> LimitExceeded:
    return LimitExceeded(
        f"{url} {size}, over the limit of {settings.max_bytes:,} bytes (max_bytes).",
        "Raise it with --max-bytes (or DOCVL_MAX_BYTES) if you trust the source.",
    )


def _too_slow(url: str, settings: Settings) -> FetchError:
    return FetchError(
        f"Fetching {url} took longer than the fetch time limit of {settings.fetch_total_timeout:g} s.",
        "Download it and pass a path, or raise --fetch-timeout (DOCVL_FETCH_TIMEOUT).",
    )


def fetch_url(url: str, settings: Settings) -> bytes:
    """Download `url` and return its body, or raise a `DocvlError` naming the problem."""
    deadline = time.monotonic() + settings.fetch_total_timeout
    # trust_env=False: a proxy from the environment would connect on our behalf, past the guard's address check.
    with httpx.Client(transport=pinned_transport(settings), follow_redirects=False, headers=_HEADERS,
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
                            raise FetchError(f"{url} redirected without a Location header.", "Check the URL.")
                        url = str(response.url.join(location))
                        continue
                    if response.status_code >= 400:
                        raise FetchError(
                            f"Fetching {url} failed with HTTP {response.status_code} {response.reason_phrase}.",
                            "Check the URL and that the document is publicly reachable.",
                        )
                    return _read_capped(response, url, settings, deadline)
            except httpx.TimeoutException:
                raise _too_slow(url, settings) if time.monotonic() >= deadline else FetchError(
                    f"Fetching {url} timed out (no data for {settings.fetch_read_timeout:g} s).",
                    "Retry later, or download it and pass a path.") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"Fetching {url} failed: {exc}.", "Check the URL and your network.") from None
    raise FetchError(f"{url}: too many redirects (more than max_redirects={settings.max_redirects}).",
                     "Give the final URL directly.")


def _read_capped(response: httpx.Response, url: str, settings: Settings, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
        raise _too_big(url, f"is {int(declared):,} bytes", settings)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > settings.max_bytes:
            raise _too_big(url, "sent more bytes", settings)
        if time.monotonic() > deadline:
            raise _too_slow(url, settings)
        chunks.append(chunk)
    return b"".join(chunks)
