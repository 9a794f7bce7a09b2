"""The one place that decides whether a URL may be fetched (SSRF guard).

Every hop of every fetch, redirects included, passes through `check_url`.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from mcp_docvl.config import Settings
from mcp_docvl.errors import AccessDenied, FetchError, InvalidArgument

_ALLOWED_SCHEMES = {"http", "https"}


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def check_url(url: str, settings: Settings) -> None:
    """Raise unless `url` is http(s) and every address its host resolves to is allowed."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise InvalidArgument(f"The URL {url!r} is malformed ({exc}).", "Pass a full http(s) URL.") from None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise AccessDenied(f"URL scheme {parts.scheme!r} is not allowed.", "Only http and https URLs are fetched.")
    host = parts.hostname
    if not host:
        raise InvalidArgument(f"The URL {url!r} has no host.", "Pass a full http(s) URL.")
    if settings.allow_private_urls:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"The host {host!r} could not be resolved ({exc.strerror}).", "Check the URL.") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not _is_public(address):
            raise AccessDenied(
                f"The URL {url!r} points to a private or internal address ({address}).",
                "Only public addresses are fetched; set DOCVL_ALLOW_PRIVATE_URLS=1 (or --allow-private-urls) "
                "to allow internal hosts you trust.",
            )
