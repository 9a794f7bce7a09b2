"""Who may call the HTTP server: bearer tokens from a file, or tokens an OAuth issuer vouches for.

Both are `TokenVerifier`s of the MCP SDK, which does the HTTP side (401 with WWW-Authenticate, protected-resource
metadata); here we only decide whether a token is good.
"""

from __future__ import annotations

import hmac
import logging
import time
from pathlib import Path

import httpx
from mcp.server.auth.provider import AccessToken

from mcp_docvl.errors import InvalidArgument

log = logging.getLogger(__name__)
_MIN_TOKEN_CHARS = 16


def read_token_file(path: Path) -> list[str]:
    """Tokens from `path`: one a line; blank lines and `#` comments ignored. Refuses weak or missing tokens."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidArgument(f"The auth token file {path} cannot be read ({exc.strerror}).",
                              "Create it with one token per line, e.g. `openssl rand -hex 32 > tokens`.") from None
    tokens = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not tokens:
        raise InvalidArgument(f"The auth token file {path} holds no token.", "Put one token per line in it.")
    short = [t for t in tokens if len(t) < _MIN_TOKEN_CHARS]
    if short:
        raise InvalidArgument(f"The auth token file {path} holds a token shorter than {_MIN_TOKEN_CHARS} characters.",
                              "Use long random tokens, e.g. `openssl rand -hex 32`.")
    return tokens


class StaticTokenVerifier:
    """Accepts exactly the configured tokens (compared in constant time)."""

    def __init__(self, tokens: list[str], scopes: list[str] | None = None) -> None:
        self._tokens = [t.encode() for t in tokens]
        self._scopes = scopes or []

    async def verify_token(self, token: str) -> AccessToken | None:
        candidate = token.encode()
        # Compare against every token, without an early exit, so timing does not tell which prefix matched.
        matched = [i for i, known in enumerate(self._tokens) if hmac.compare_digest(candidate, known)]
        if not matched:
            return None
        return AccessToken(token=token, client_id=f"token-{matched[0] + 1}", scopes=self._scopes)


class IntrospectionTokenVerifier:
    """Asks the OAuth authorization server about each token (RFC 7662 introspection), caching answers briefly."""

    def __init__(self, introspection_url: str, client_id: str | None = None, client_secret: str | None = None,
                 cache_seconds: float = 60.0) -> None:
        self._url = introspection_url
        self._auth = (client_id, client_secret) if client_id and client_secret else None
        self._cache: dict[str, tuple[float, AccessToken | None]] = {}
        self._cache_seconds = cache_seconds

    async def verify_token(self, token: str) -> AccessToken | None:
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit and hit[0] > now:
            return hit[1]
        try:
            async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
                response = await client.post(self._url, data={"token": token}, auth=self._auth)
            data = response.json() if response.status_code == 200 else {}
        except (httpx.HTTPError, ValueError):
            log.warning("token introspection at %s failed", self._url, exc_info=True)
            return None  # fail closed, and do not cache the outage
        result = None
        expires = data.get("exp")
        if data.get("active") is True and not (isinstance(expires, int) and expires < time.time()):
            audience = data.get("aud")
            result = AccessToken(
                token=token, client_id=str(data.get("client_id") or data.get("sub") or "unknown"),
                scopes=str(data.get("scope") or "").split(), expires_at=expires if isinstance(expires, int) else None,
                resource=audience if isinstance(audience, str) else None, subject=data.get("sub"),
            )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[token] = (now + self._cache_seconds, result)
        return result
