"""Serving MCP over streamable HTTP safely: auth required off loopback, Host/Origin checks, body and load limits."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings

from mcp_docvl.errors import InvalidArgument

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
    # Connections + in-flight requests uvicorn accepts before answering 503.
    max_concurrency: int = 200


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


def serve_http(server: MCPServer, options: HttpOptions) -> None:
    """Run `server` on streamable HTTP with the checks above (blocks until stopped)."""
    import uvicorn

    check_exposure(options)
    app = server.streamable_http_app(
        transport_security=transport_security(options), max_request_body_size=options.max_request_bytes,
        host=options.host,
    )
    config = uvicorn.Config(app, host=options.host, port=options.port, log_level="warning",
                            limit_concurrency=options.max_concurrency, timeout_keep_alive=30)
    uvicorn.Server(config).run()
