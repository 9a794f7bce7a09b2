"""The one place that decides whether a URL may be fetched (SSRF guard).

Two checks, both here:
- `check_url` (before every hop, redirects included): scheme, host, optional host allowlist. No DNS.
- `PinnedBackend.connect_tcp` (when a connection is opened): the host is resolved once, every address it resolves
  to is checked, and the socket connects to one of those checked addresses. Resolving once and connecting to what
  was checked is what defeats DNS rebinding: there is no second lookup an attacker's DNS server could answer
  differently. TLS still verifies the certificate against the host name (httpcore passes it as SNI), and the Host
  header is untouched, because only the socket's address is pinned.
- `DeadlineStream` (every read and write of a fetch): one wall-clock deadline over connect, TLS, headers and body.
  httpx's timeouts are per read, so a server trickling header bytes or sending `102 Processing` forever would
  hold a fetch for as long as it likes; here each socket operation waits at most until the deadline, and past
  it the next one fails (and the connection is closed).

`--allow-url-network` entries are `CIDR`, `ADDRESS`, `CIDR:PORT` or `ADDRESS:PORT` (IPv6 in brackets for a port:
`[fd00::/8]:443`): with a port, only that port of those addresses is allowed, not every service on the host.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
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

# "//user:pass@host": credentials in the authority part of a URL (shown as "//***@host" in every message).
_USERINFO = re.compile(r"(//)[^/?#@]*@")

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


def redact_url(url: str) -> str:
    """`url` with any user name and password replaced by ***, for messages and names."""
    return _USERINFO.sub(r"\1***@", url)


@dataclass(frozen=True)
class AllowedNetwork:
    """One `--allow-url-network` entry: addresses, and the one port allowed on them (None: every port)."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network
    port: int | None

    def admits(self, address: IPAddress, port: int | None) -> bool:
        return (address.version == self.network.version and address in self.network
                and (self.port is None or port == self.port))


def parse_allowed_network(entry: str) -> AllowedNetwork:
    """`10.1.2.0/24`, `10.1.2.3:8443`, `[fd00::/8]:443` or `fd00::1` (an IPv6 address takes brackets for a port)."""
    text, port_text = entry.strip(), ""
    if text.startswith("["):
        text, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise _bad_network(entry, "unclosed or misplaced brackets")
        port_text = rest[1:]
    elif text.count(":") == 1:  # IPv4 with a port; bare IPv6 has several colons
        text, port_text = text.split(":")
    port = None
    if port_text or entry.strip().endswith(":"):
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise _bad_network(entry, f"port {port_text!r} is not a number from 1 to 65535")
        port = int(port_text)
    try:
        return AllowedNetwork(ipaddress.ip_network(text, strict=False), port)
    except ValueError as exc:
        raise _bad_network(entry, str(exc)) from None


def _bad_network(entry: str, why: str) -> InvalidArgument:
    return InvalidArgument(f"The allowed network {entry!r} (--allow-url-network) is not valid ({why}).",
                           "Use forms like 10.1.2.0/24, 10.1.2.3:8443, [fd00::/8]:443 or 127.0.0.1/32.")


def _allowed_networks(settings: Settings) -> list[AllowedNetwork]:
    return [parse_allowed_network(n) for n in settings.url_allowed_networks]


def check_address(host: str, address: IPAddress, settings: Settings, port: int | None = None) -> None:
    """Raise AccessDenied unless `address` (what `host` resolved to) may be connected to on `port`."""
    allowed = _allowed_networks(settings)
    if any(net.admits(address, port) for net in allowed):
        return
    if settings.allow_private_urls:
        return
    reason = why_blocked(address)
    if reason:
        shown = host if host == str(address) else f"{host} ({address})"
        other_ports = sorted({str(n.port) for n in allowed if n.port is not None and n.admits(address, n.port)})
        if other_ports:
            reason += f"; --allow-url-network allows it on port {', '.join(other_ports)} only, not {port}"
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
        raise InvalidArgument(f"The URL {redact_url(url)!r} is malformed ({redact_url(str(exc))}).",
                              "Pass a full http(s) URL.") from None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        # Refused, not stripped: stripping would fetch something else than asked (usually a login page) without
        # saying so, and a tool argument is no place for a secret (it sits in the agent's context and logs).
        raise AccessDenied(f"The URL {redact_url(url)!r} carries a user name or password; mcp-docvl does not send "
                           "credentials to document servers.",
                           "Use a URL that needs no login, or download the file and pass its path.")
    if parts.scheme.lower() not in _ALLOWED_SCHEMES:
        raise AccessDenied(f"URL scheme {parts.scheme!r} is not allowed.", "Only http and https URLs are fetched.")
    host = parsed.host
    if not host:
        raise InvalidArgument(f"The URL {redact_url(url)!r} has no host.", "Pass a full http(s) URL.")
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
        check_address(host, literal, settings, port)
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
        check_address(host, address, settings, port)
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError(f"The host {host!r} has no address.", "Check the URL.")
    return addresses


def _time_left(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the fetch's deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A socket stream on which no read or write waits past one deadline (the whole fetch's)."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(self._deadline, timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(self._deadline, timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: object, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        left = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)  # type: ignore[arg-type]

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.SyncBackend):
    """Opens connections only to addresses the guard checked, resolving each host once per connection; every
    connection's reads and writes end at `deadline` (time.monotonic())."""

    def __init__(self, settings: Settings, deadline: float) -> None:
        self._settings = settings
        self._deadline = deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
        addresses = resolve_checked(host, port, self._settings)
        last: Exception | None = None
        for address in addresses:
            left = _time_left(self._deadline, timeout, httpcore.ConnectTimeout)
            try:
                stream = super().connect_tcp(str(address), port, left, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next checked address, as a browser would
                last = exc
                continue
            return DeadlineStream(stream, self._deadline)
        assert last is not None
        raise last


def pinned_transport(settings: Settings, deadline: float) -> httpx.HTTPTransport:
    """An httpx transport whose every connection goes through `PinnedBackend`, ending at `deadline`."""
    transport = httpx.HTTPTransport(retries=0, trust_env=False)
    # httpx does not take a network backend as an argument; its pool is a plain httpcore.ConnectionPool, so we
    # build that pool ourselves with httpx's default (verifying) SSL context and our backend.
    transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                              network_backend=PinnedBackend(settings, deadline))
    return transport
