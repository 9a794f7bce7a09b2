"""A content-addressed byte store on disk: atomic, self-checking, size-capped with LRU eviction.

Every entry is one file named by the hash of its key. Writes go to a temporary file in the same folder and are
renamed into place, so a reader sees either the old entry, the new one or none, never half of one; that also
makes the store safe for many threads and processes at once without locks. Each file starts with a header
holding the payload's length and SHA-256: a truncated or damaged entry fails the check on read, is deleted and
reported as a miss, so the caller recomputes it instead of serving garbage.

Recency is the file's mtime (touched on every hit); when the store grows past its cap, the oldest entries are
deleted until it is back under 90 % of it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import struct
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("mcp_docvl.cache")

_MAGIC = b"DVC1"
_HEADER = struct.Struct(">4sQ32s")  # magic, payload length, payload sha256
_TMP_PREFIX = ".tmp-"
# Temporary files older than this were left by a process that died mid-write.
_STALE_TMP_SECONDS = 3600.0


@dataclass(frozen=True)
class CacheStats:
    directory: Path
    entries: int
    bytes: int
    max_bytes: int


class DiskCache:
    """Bytes by key under `directory`, at most about `max_bytes` in all."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self._entries = self.directory / "entries"
        self._lock = threading.Lock()
        # Bytes this process believes are stored; None until the first write scans the folder. Other processes'
        # writes are not counted, which only delays eviction until the next scan.
        self._approx_bytes: int | None = None

    def _path(self, key: str) -> Path:
        digest = hashlib.sha256(key.encode()).hexdigest()
        return self._entries / digest[:2] / digest

    def get(self, key: str) -> bytes | None:
        """The payload stored under `key`, or None when absent or damaged (a damaged entry is deleted)."""
        path = self._path(key)
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.warning("cache entry %s unreadable (%s); recomputing", path, exc)
            return None
        payload = _unwrap(raw)
        if payload is None:
            log.warning("cache entry %s is corrupt or partial; deleting it and recomputing", path)
            _unlink(path)
            return None
        # Recency for LRU eviction; the entry may have been evicted meanwhile, and the payload read is still whole.
        with contextlib.suppress(OSError):
            os.utime(path)
        return payload

    def contains(self, key: str) -> bool:
        return self._path(key).is_file()

    def touch(self, key: str) -> bool:
        """Mark `key` as just used without reading it; False when it is not stored."""
        try:
            os.utime(self._path(key))
        except OSError:
            return False
        return True

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` atomically. A failure to write (disk full, read-only) is logged, not raised:
        the cache only ever saves work."""
        path = self._path(key)
        blob = _HEADER.pack(_MAGIC, len(data), hashlib.sha256(data).digest()) + data
        try:
            if not path.parent.is_dir():
                # Entries hold document content: only the owner may read the cache.
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(blob)
                os.replace(tmp, path)
            except BaseException:
                _unlink(Path(tmp))
                raise
        except OSError as exc:
            log.warning("cannot write cache entry %s (%s)", path, exc)
            return
        with self._lock:
            if self._approx_bytes is None:
                self._approx_bytes = self._scan_bytes()
            else:
                self._approx_bytes += len(blob)
            over = self._approx_bytes > self.max_bytes
        if over:
            self.evict()

    def delete(self, key: str) -> None:
        _unlink(self._path(key))

    def evict(self) -> int:
        """Delete least recently used entries until the store is under 90 % of its cap; returns how many went."""
        with self._lock:
            files = list(self._files())
            total = sum(size for _, size, _ in files)
            target = int(self.max_bytes * 0.9)
            removed = 0
            if total > self.max_bytes:
                for path, size, _ in sorted(files, key=lambda f: f[2]):
                    if total <= target:
                        break
                    _unlink(path)
                    total -= size
                    removed += 1
            self._approx_bytes = total
        return removed

    def stats(self) -> CacheStats:
        files = list(self._files())
        return CacheStats(self.directory, len(files), sum(size for _, size, _ in files), self.max_bytes)

    def clear(self) -> int:
        """Delete every entry (and leftover temporary files); returns how many entries went."""
        removed = 0
        with self._lock:
            for path, _, _ in self._files():
                _unlink(path)
                removed += 1
            if self._entries.is_dir():
                for sub in self._entries.iterdir():
                    for tmp in sub.glob(_TMP_PREFIX + "*"):
                        _unlink(tmp)
            self._approx_bytes = 0
        return removed

    def _scan_bytes(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _files(self):
        """(path, size, mtime) of every entry; stale temporary files are removed on the way."""
        if not self._entries.is_dir():
            return
        now = time.time()
        for sub in os.scandir(self._entries):
            if not sub.is_dir():
                continue
            for entry in os.scandir(sub.path):
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue
                if entry.name.startswith(_TMP_PREFIX):
                    if now - st.st_mtime > _STALE_TMP_SECONDS:
                        _unlink(Path(entry.path))
                    continue
                yield Path(entry.path), st.st_size, st.st_mtime


def _unwrap(raw: bytes) -> bytes | None:
    if len(raw) < _HEADER.size:
        return None
    magic, length, digest = _HEADER.unpack_from(raw)
    payload = raw[_HEADER.size:]
    if magic != _MAGIC or length != len(payload) or hashlib.sha256(payload).digest() != digest:
        return None
    return payload


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot delete cache file %s (%s)", path, exc)
