"""The one place that decides whether a URL may be fetched (SSRF guard).

Two checks, both here:
- `check_url` (before every hop, redirects included): scheme, host, optional host allowlist. No DNS.
- `PinnedBackend.connect_tcp` (when a connection is opened): the host is resolved once, every address it resolves
  to is checked, and the socket connects to one of those checked addresses. Resolving once and connecting to what
  was checked is what defeats DNS rebinding: there is no second lookup an attacker's DNS server could answer
  differently. TLS still verifies the certificate against the host name (httpcore passes it as SNI), and the Host
  header is untouched, because only the socket's address is pinned.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from mcp_docvl.config import Settings
from mcp_docvl.errors import AccessDenied, FetchError, InvalidArgument

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_ALLOWED_SCHEMES = {"http", "https"}
# IPv6 prefixes that carry an IPv4 address in their last 32 bits (NAT64, RFC 6052 / RFC 8215).
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
# Named so refusals can say what the address is; anything not global is refused whether listed here or not.
_NAMED = [
    (ipaddress.ip_network("169.254.169.254/32"), "a cloud metadata endpoint"),
    (ipaddress.ip_network("100.100.100.200/32"), "a cloud metadata endpoint"),
    (ipaddress.ip_network("fd00:ec2::254/128"), "a cloud metadata endpoint"),
    (ipaddress.ip_network("127.0.0.0/8"), "a loopback address"),
    (ipaddress.ip_network("::1/128"), "a loopback address"),
    (ipaddress.ip_network("169.254.0.0/16"), "a link-local address"),
    (ipaddress.ip_network("fe80::/10"), "a link-local address"),
    (ipaddress.ip_network("0.0.0.0/8"), "an unspecified address"),
    (ipaddress.ip_network("::/128"), "an unspecified address"),
]

_RAISE_HINT = ("Only public addresses are fetched. To allow internal hosts you trust, start the server with "
               "--allow-url-network CIDR (DOCVL_URL_ALLOWED_NETWORKS) or, for all of them, --allow-private-urls "
               "(DOCVL_ALLOW_PRIVATE_URLS=1).")


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4, Teredo), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if any(address in net for net in _NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def why_blocked(address: IPAddress) -> str | None:
    """Why `address` is not a public unicast address (None when it is)."""
    inner = _embedded_ipv4(address)
    if inner is not None:
        reason = why_blocked(inner)
        return f"{reason}, wrapped in IPv6 ({inner})" if reason else None
    for net, what in _NAMED:
        if address.version == net.version and address in net:
            return what
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved, non-public address"
    return None


def _allowed_networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(n, strict=False) for n in settings.url_allowed_networks]
    except ValueError as exc:
        raise InvalidArgument(f"A configured allowed network is not a CIDR ({exc}).",
                              "Use forms like 10.1.2.0/24 or 127.0.0.1/32.") from None


def check_address(host: str, address: IPAddress, settings: Settings) -> None:
    """Raise AccessDenied unless `address` (what `host` resolved to) may be connected to."""
    if any(address.version == net.version and address in net for net in _allowed_networks(settings)):
        return
    if settings.allow_private_urls:
        return
    reason = why_blocked(address)
    if reason:
        shown = host if host == str(address) else f"{host} ({address})"
        raise AccessDenied(f"The URL host {shown} is a private or internal address ({reason}); it is not fetched.",
                           _RAISE_HINT)


def _host_allowed(host: str, patterns: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in patterns:
        pattern = pattern.lower().rstrip(".")
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


def check_url(url: str, settings: Settings) -> httpx.URL:
    """Raise unless `url` is an http(s) URL with a host the configuration allows; return it parsed.

    Addresses are checked when the connection is made (see `PinnedBackend`), not here, so that DNS is asked once.
    """
    try:
        parts = urlsplit(url)
        parsed = httpx.URL(url)
    except (ValueError, httpx.InvalidURL) as exc:
        raise InvalidArgument(f"The URL {url!r} is malformed ({exc}).", "Pass a full http(s) URL.") from None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise AccessDenied(f"URL scheme {parts.scheme!r} is not allowed.", "Only http and https URLs are fetched.")
    host = parsed.host
    if not host:
        raise InvalidArgument(f"The URL {url!r} has no host.", "Pass a full http(s) URL.")
    if any(c in url for c in "\x00\r\n\t"):
        raise InvalidArgument("The URL contains control characters.", "Pass a plain http(s) URL.")
    if settings.url_allowed_hosts and not _host_allowed(host, settings.url_allowed_hosts):
        raise AccessDenied(
            f"The host {host!r} is not in the allowed hosts ({', '.join(settings.url_allowed_hosts)}).",
            "Add it with --allow-url-host HOST (DOCVL_URL_ALLOWED_HOSTS), or download the file and pass a path.",
        )
    return parsed


def resolve_checked(host: str, port: int, settings: Settings) -> list[IPAddress]:
    """Resolve `host` once and return its addresses, or raise if any of them is not allowed."""
    try:
        literal = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is not None:
        check_address(host, literal, settings)
        return [literal]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"The host {host!r} could not be resolved ({exc}).", "Check the URL.") from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        # A host with one internal address among public ones is refused outright: which one a client picks is
        # the attacker's choice.
        check_address(host, address, settings)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"The host {host!r} has no address.", "Check the URL.")
    return addresses


class PinnedBackend(httpcore.SyncBackend):
    """Opens connections only to addresses the guard checked, resolving each host once per connection."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        addresses = resolve_checked(host, port, self._settings)
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next checked address, as a browser would
                last = exc
        assert last is not None
        raise last


def pinned_transport(settings: Settings) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through `PinnedBackend`."""
    transport = httpx.HTTPTransport(retries=0, trust_env=False)
    # httpx does not take a network backend as an argument; its pool is a plain httpcore.ConnectionPool, so we
    # build that pool ourselves with httpx's default (verifying) SSL context and our backend.
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                              network_backend=PinnedBackend(settings))
    return transport
