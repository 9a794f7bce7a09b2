"""Local files, readable only under the configured roots.

The decision is made on the fully resolved real path (symlinks and `..` followed), and the file is then opened
without following a final symlink and checked again through the open descriptor, so swapping the file for a link
between the check and the read gains nothing. Only regular files are read: devices, FIFOs and sockets are refused
(reading /dev/zero or a FIFO would never end).

Hard links are the one way around a path check: a second name inside a root for a file outside every root
resolves to itself, and nothing about that name says where else the inode is linked. So a regular file with more
than one link is refused unless the operator allows hard links (`allow_hard_links`), having checked that no one
who can write under the roots can link files they should not read (on Linux, `fs.protected_hardlinks=1` stops
users from linking files they do not own).
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

from mcp_docvl.config import Settings
from mcp_docvl.errors import AccessDenied, InvalidArgument, LimitExceeded, SourceNotFound

# "C:\", "c:/": a Windows drive path. On POSIX it would silently become a relative file name.
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_PROC_FD = Path("/proc/self/fd")


def _roots_text(settings: Settings) -> str:
    return ", ".join(str(r) for r in settings.roots)


def _inside_roots(real: Path, settings: Settings) -> bool:
    # normcase: on Windows (case-insensitive) C:\Docs and c:\docs are one folder; on POSIX it changes nothing.
    target = os.path.normcase(str(real))
    for root in settings.roots:
        base = os.path.normcase(str(root))
        if target == base or target.startswith(base.rstrip(os.sep) + os.sep):
            return True
    return False


def no_roots(spec: str) -> AccessDenied:
    return AccessDenied(
        f"Local files are not allowed: the server was started without a root directory, so {spec!r} cannot be read "
        "(URLs and inline data still work).",
        "Start the server with --root DIR (repeatable), or set DOCVL_ROOTS=DIR (several joined with "
        f"{os.pathsep!r}), naming the directories whose files it may read.",
    )


def _outside(spec: str, settings: Settings) -> AccessDenied:
    return AccessDenied(
        f"The path {spec!r} is outside the allowed roots ({_roots_text(settings)}).",
        "Move the file under a root, or start the server with --root DIR (or DOCVL_ROOTS) to allow its folder.",
    )


def _normalise_spec(spec: str) -> str:
    if "\x00" in spec:
        raise InvalidArgument("The path contains a NUL byte.", "Pass a plain file path.")
    if spec.lower().startswith("file:"):
        parsed = urlparse(spec)
        if parsed.netloc not in ("", "localhost"):
            raise AccessDenied(f"file:// URLs on other hosts ({parsed.netloc}) are not read.", "Use a local path.")
        spec = unquote(parsed.path)
        if "\x00" in spec:
            raise InvalidArgument("The path contains a NUL byte.", "Pass a plain file path.")
    if spec.startswith(("\\\\", "//")) and not spec.startswith("///"):
        # UNC paths reach other machines (and on Windows hand them the user's credentials).
        raise AccessDenied(f"Network share paths ({spec!r}) are not read.", "Copy the file under a root.")
    if os.sep == "/":
        if _DRIVE.match(spec):
            raise InvalidArgument(f"{spec!r} is a Windows path; this server runs on {sys.platform}.",
                                  "Give the path as this machine sees it (e.g. /home/me/doc.pdf).")
        # Backslashes are separators to whoever wrote a Windows-style relative path ("..\\secret.pdf"): treat
        # them so, and the roots check below sees the real intent.
        spec = spec.replace("\\", "/")
    return spec


def resolve_local_path(spec: str, settings: Settings) -> Path:
    """Resolve `spec` to a real path inside one of the roots, or raise saying why not.

    Checks run on the fully resolved path (symlinks and `..` followed), so a link inside a root that points
    outside it is refused.
    """
    spec_text = spec
    spec = _normalise_spec(spec)
    if not settings.roots:
        raise no_roots(spec_text)
    try:
        raw = Path(spec).expanduser()
    except RuntimeError:  # "~nosuchuser/..." or "~" without a home directory
        user = spec[1:].split("/", 1)[0]
        raise SourceNotFound(f"The path {spec_text!r} starts with ~{user}, but "
                             f"{'user ' + repr(user) + ' has' if user else 'the server has'} no home directory here.",
                             "Give an absolute path, or one relative to the first root.") from None
    # Relative paths are taken from the first root, the directory the server was told to work in.
    candidate = raw if raw.is_absolute() else settings.roots[0] / raw
    try:
        real = candidate.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop
        raise SourceNotFound(f"The path {spec_text!r} cannot be resolved ({exc}).", "Check the path.") from None
    if not _inside_roots(real, settings):
        raise _outside(spec_text, settings)
    return real


def read_local_file(spec: str, settings: Settings) -> Path:
    """Return the checked path of a readable regular file within the size limit."""
    path = resolve_local_path(spec, settings)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceNotFound(
            f"No file at {spec!r} (resolved to {path}).",
            f"Check the spelling; relative paths are taken from {settings.roots[0]}.",
        ) from None
    except OSError as exc:
        raise AccessDenied(f"The file {spec!r} cannot be examined ({exc.strerror}).",
                           "Check its permissions.") from None
    _check_regular(spec, info, settings)
    if not os.access(path, os.R_OK):
        raise AccessDenied(f"The file {spec!r} is not readable by the server.", "Check its permissions.")
    return path


def _check_regular(spec: str, info: os.stat_result, settings: Settings) -> None:
    if stat.S_ISDIR(info.st_mode):
        raise InvalidArgument(f"{spec!r} is a directory, not a document.", "Name a file inside it.")
    if not stat.S_ISREG(info.st_mode):
        raise InvalidArgument(f"{spec!r} is not a regular file (a device, pipe or socket).", "Name a regular file.")
    if info.st_nlink > 1 and not settings.allow_hard_links:
        raise AccessDenied(
            f"The file {spec!r} has {info.st_nlink} hard links; another name of it may lie outside the allowed roots, "
            "so it is not read.",
            "Copy the file (a copy has one link), or start the server with --allow-hard-links "
            "(DOCVL_ALLOW_HARD_LINKS=1) if no one can link files they should not read under the roots.",
        )
    if info.st_size > settings.max_bytes:
        raise LimitExceeded(
            f"The file is {info.st_size:,} bytes, over the limit of {settings.max_bytes:,} bytes (max_bytes).",
            "Raise it with --max-bytes (or DOCVL_MAX_BYTES) if you trust the file.",
        )


def read_local_bytes(spec: str, settings: Settings) -> tuple[Path, bytes]:
    """Check `spec` as `read_local_file` does, then read it through a descriptor that is checked again."""
    path = read_local_file(spec, settings)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        # ELOOP: the file became a symlink after the check.
        raise AccessDenied(f"The file {spec!r} cannot be opened ({exc.strerror}).", "Check the path.") from None
    with os.fdopen(fd, "rb") as handle:
        _check_regular(spec, os.fstat(fd), settings)
        if _PROC_FD.is_dir():
            # Where the descriptor really points, whatever happened to the path's directories meanwhile.
            opened = Path(os.readlink(_PROC_FD / str(fd)))
            if not _inside_roots(opened, settings):
                raise _outside(spec, settings)
        data = handle.read(settings.max_bytes + 1)
    if len(data) > settings.max_bytes:
        raise LimitExceeded(f"The file grew past the limit of {settings.max_bytes:,} bytes (max_bytes) while read.",
                            "Raise it with --max-bytes (or DOCVL_MAX_BYTES) if you trust the file.")
    return path, data
