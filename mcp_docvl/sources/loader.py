"""Dispatch a source string to the right reader and describe the result."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import anyio.to_thread

from mcp_docvl.config import Settings
from mcp_docvl.errors import AccessDenied, InvalidArgument
from mcp_docvl.sources.files import read_local_bytes
from mcp_docvl.sources.inline import decode_inline, looks_inline
from mcp_docvl.sources.media import sniff_media_type
from mcp_docvl.sources.urls import fetch_limiter, fetch_url, is_url

# "scheme://": anything else with a colon (C:\\, data:) is not a URL here.
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")


@dataclass(frozen=True)
class SourceInfo:
    """What we know about a document's bytes and where they came from."""

    media_type: str
    sha256: str
    # What to call it in messages and results: the path, the URL, or "inline data".
    name: str
    origin: str  # "file" | "url" | "inline"

    @property
    def doc_id(self) -> str:
        """Stable short id: same bytes, same id, wherever they came from."""
        return self.sha256[:16]


@dataclass(frozen=True)
class Source(SourceInfo):
    """A document's bytes, with what we know about them."""

    data: bytes


def load_source(spec: str, settings: Settings) -> Source:
    """Read `spec` (path, file:// or http(s) URL, data: URI or base64) within the limits of `settings`."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgument(
            "No source was given.",
            "Pass a file path, an http(s) URL, or the document as a data: URI / base64 string.",
        )
    spec = spec.strip()
    scheme = _URL_SCHEME.match(spec)
    if scheme and scheme.group(1).lower() in ("http", "https"):
        data, name, origin = fetch_url(spec, settings), spec, "url"
    elif scheme and scheme.group(1).lower() != "file":
        raise AccessDenied(f"URL scheme {scheme.group(1)!r} is not allowed.", "Only http and https URLs are fetched.")
    elif looks_inline(spec):
        data, name, origin = decode_inline(spec, settings), "inline data", "inline"
    else:
        path, data = read_local_bytes(spec, settings)
        name, origin = str(path), "file"
    media_type = sniff_media_type(data)
    return Source(data=data, media_type=media_type, sha256=hashlib.sha256(data).hexdigest(), name=name, origin=origin)


async def fetch_ahead(spec: str | Source, settings: Settings) -> str | Source:
    """Download a URL source now, on the fetch threads (`urls.fetch_limiter`), and return its `Source`; any other
    source comes back unchanged, to be read where it is parsed.

    The server calls this before dispatching a call, so a download waits for one of `max_concurrent_fetches`
    slots of its own and never holds one of the threads that local reads need.
    """
    if not is_url(spec):
        return spec
    return await anyio.to_thread.run_sync(load_source, spec, settings, limiter=fetch_limiter(settings),
                                          abandon_on_cancel=True)
