"""Fetching documents over http(s): streamed, capped in size and time, every redirect re-checked."""

from __future__ import annotations

import time

import httpx

from mcp_docvl import __version__
from mcp_docvl.config import Settings
from mcp_docvl.errors import FetchError, LimitExceeded
from mcp_docvl.sources.guard import check_url

_USER_AGENT = f"mcp-docvl/{__version__}"


def fetch_url(url: str, settings: Settings) -> bytes:
    """Download `url` and return its body, or raise a `DocvlError` naming the problem."""
    timeout = httpx.Timeout(settings.fetch_read_timeout, connect=settings.fetch_connect_timeout)
    deadline = time.monotonic() + settings.fetch_total_timeout
    # Redirects are followed by hand so that each hop goes through the guard.
    with httpx.Client(timeout=timeout, follow_redirects=False, headers={"User-Agent": _USER_AGENT}) as client:
        for _hop in range(settings.max_redirects + 1):
            check_url(url, settings)
            try:
                with client.stream("GET", url) as response:
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
                raise FetchError(f"Fetching {url} timed out.", "Retry later, or download it and pass a path.") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"Fetching {url} failed: {exc}.", "Check the URL and your network.") from None
    raise FetchError(f"Too many redirects (more than {settings.max_redirects}).", "Give the final URL directly.")


def _read_capped(response: httpx.Response, url: str, settings: Settings, deadline: float) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_bytes:
        raise LimitExceeded(
            f"{url} is {int(declared):,} bytes, over the limit of {settings.max_bytes:,} bytes.",
            "Raise it with --max-bytes (or DOCVL_MAX_BYTES) if you trust the source.",
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > settings.max_bytes:
            raise LimitExceeded(
                f"{url} sent more than the limit of {settings.max_bytes:,} bytes.",
                "Raise it with --max-bytes (or DOCVL_MAX_BYTES) if you trust the source.",
            )
        if time.monotonic() > deadline:
            raise FetchError(
                f"Fetching {url} took longer than {settings.fetch_total_timeout:.0f} s.",
                "Download it and pass a path, or raise DOCVL_FETCH_TIMEOUT.",
            )
        chunks.append(chunk)
    return b"".join(chunks)
