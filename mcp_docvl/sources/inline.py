"""Documents handed over as bytes: `data:` URIs or bare base64."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote_to_bytes

from mcp_docvl.config import Settings
from mcp_docvl.errors import InvalidArgument, LimitExceeded

_BASE64 = re.compile(r"[A-Za-z0-9+/_\-\s]+={0,2}\s*")
# Bare base64 is only assumed for long strings: short ones are far more likely to be (mistyped) paths.
_MIN_BARE_BASE64 = 64


def looks_inline(spec: str) -> bool:
    if spec[:5].lower() == "data:" or spec[:7].lower() == "base64:":
        return True
    return len(spec) >= _MIN_BARE_BASE64 and "/" not in spec[:8] and _BASE64.fullmatch(spec[:4096]) is not None


def decode_inline(spec: str, settings: Settings) -> bytes:
    # Base64 inflates by 4/3: refuse before decoding anything too big.
    if len(spec) * 3 // 4 > settings.max_bytes + 16:
        raise LimitExceeded(
            f"The inline document is over the limit of {settings.max_bytes:,} bytes.",
            "Raise it with --max-bytes (or DOCVL_MAX_BYTES), or pass a path or URL instead.",
        )
    if spec[:5].lower() == "data:":
        header, sep, payload = spec[5:].partition(",")
        if not sep:
            raise InvalidArgument("The data: URI has no comma before its payload.", "Use data:<type>;base64,<payload>.")
        if header.lower().endswith(";base64"):
            return _b64(payload)
        return unquote_to_bytes(payload)
    if spec[:7].lower() == "base64:":
        spec = spec[7:]
    return _b64(spec)


def _b64(payload: str) -> bytes:
    cleaned = re.sub(r"\s+", "", payload)
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        if "-" in cleaned or "_" in cleaned:
            return base64.urlsafe_b64decode(cleaned)
        return base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidArgument(
            "The inline document is not valid base64.", "Encode the file's bytes with standard base64."
        ) from None
