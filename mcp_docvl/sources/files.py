"""Local files, readable only under the configured roots."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

from mcp_docvl.config import Settings
from mcp_docvl.errors import AccessDenied, InvalidArgument, LimitExceeded, SourceNotFound


def _roots_text(settings: Settings) -> str:
    return ", ".join(str(r) for r in settings.roots)


def resolve_local_path(spec: str, settings: Settings) -> Path:
    """Resolve `spec` to a real path inside one of the roots, or raise saying why not.

    Checks run on the fully resolved path (symlinks and `..` followed), so a link inside a root that points
    outside it is refused.
    """
    if "\x00" in spec:
        raise InvalidArgument("The path contains a NUL byte.", "Pass a plain file path.")
    if spec.lower().startswith("file:"):
        parsed = urlparse(spec)
        if parsed.netloc not in ("", "localhost"):
            raise AccessDenied(f"file:// URLs on other hosts ({parsed.netloc}) are not read.", "Use a local path.")
        spec = unquote(parsed.path)
    raw = Path(spec).expanduser()
    # Relative paths are taken from the first root, the directory the server was told to work in.
    candidate = raw if raw.is_absolute() else settings.roots[0] / raw
    try:
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop
        raise SourceNotFound(f"The path {spec!r} cannot be resolved ({exc}).", "Check the path.") from None
    if not any(real == root or real.is_relative_to(root) for root in settings.roots):
        raise AccessDenied(
            f"The path {spec!r} is outside the allowed roots ({_roots_text(settings)}).",
            "Move the file under a root, or start the server with --root DIR (or DOCVL_ROOTS) to allow its folder.",
        )
    return real


def read_local_file(spec: str, settings: Settings) -> Path:
    """Return the checked path of a readable regular file within the size limit."""
    path = resolve_local_path(spec, settings)
    if not path.exists():
        raise SourceNotFound(
            f"No file at {spec!r} (resolved to {path}).",
            f"Check the spelling; relative paths are taken from {settings.roots[0]}.",
        )
    if path.is_dir():
        raise InvalidArgument(f"{spec!r} is a directory, not a document.", "Name a file inside it.")
    if not path.is_file():
        raise InvalidArgument(f"{spec!r} is not a regular file.", "Name a regular file.")
    size = path.stat().st_size
    if size > settings.max_bytes:
        raise LimitExceeded(
            f"The file is {size:,} bytes, over the limit of {settings.max_bytes:,} bytes.",
            "Raise it with --max-bytes (or DOCVL_MAX_BYTES) if you trust the file.",
        )
    if not os.access(path, os.R_OK):
        raise AccessDenied(f"The file {spec!r} is not readable by the server.", "Check its permissions.")
    return path
