"""Documents seen recently, by id, with their bytes kept in the cache so they outlive the server process.

One small JSON record per document under `<cache>/documents/`, its mtime the time it was last opened; the
bytes themselves are a cache entry (stage "source"), so they count against the cache's cap and may be evicted,
in which case the document has to be read again from where it came from. The folder is trimmed to the newest
`limit` records, so nothing here grows with the number of documents seen.

Records are kept per namespace: a hash of the server's roots and the caller's principal (`scope_of`). A server
rooted elsewhere, or another HTTP token, opens another namespace and can neither list nor resolve these ids; an id
must be given in full (no prefix matching); and a record of a local file is checked against the current roots
each time it is resolved, so narrowing the roots takes effect at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from mcp_docvl.cache import open_cache
from mcp_docvl.cache.keys import cache_key
from mcp_docvl.cache.store import DiskCache
from mcp_docvl.config import Settings
from mcp_docvl.documents import Document
from mcp_docvl.errors import InvalidArgument, SourceNotFound
from mcp_docvl.sources import Source
from mcp_docvl.sources.files import resolve_local_path
from mcp_docvl.sources.loader import SourceInfo

log = logging.getLogger("mcp_docvl.cache")

URI_PREFIX = "docvl://documents"
RECENT_LIMIT = 100
_ID = re.compile(r"^[0-9a-f]{16}$")  # SourceInfo.doc_id: the first 16 hex digits of the sha256, in full


@dataclass(frozen=True)
class DocumentRecord(SourceInfo):
    """A recently opened document: its source's description, page count and title, and when it was opened."""

    page_count: int
    title: str | None
    opened_at: float = 0.0

    @property
    def id(self) -> str:
        return self.doc_id

    @property
    def uri(self) -> str:
        return f"{URI_PREFIX}/{self.id}"


def scope_of(settings: Settings) -> str:
    """The namespace of `settings`' documents: its roots and its caller's principal, hashed."""
    key = json.dumps({"roots": sorted(str(r) for r in settings.roots), "principal": settings.principal})
    return hashlib.sha256(key.encode()).hexdigest()[:24]


class DocumentRegistry:
    def __init__(self, cache: DiskCache, limit: int = RECENT_LIMIT, scope: str = "") -> None:
        self._cache = cache
        self._root = cache.directory / "documents"
        self._folder = self._root / scope if scope else self._root
        self._limit = limit

    def remember(self, source: Source, page_count: int, title: str | None) -> DocumentRecord:
        """Record `source` as just opened and keep its bytes, so its resources work later and elsewhere."""
        key = cache_key(source.sha256, "source")
        if not self._cache.touch(key):
            self._cache.put(key, source.data)
        record = DocumentRecord(sha256=source.sha256, name=source.name, media_type=source.media_type,
                                origin=source.origin, page_count=page_count, title=title)
        self._write(record)
        self._trim()
        return record

    def recent(self, limit: int | None = None) -> list[DocumentRecord]:
        """Most recently opened first."""
        records = []
        for path, mtime in sorted(self._record_files(), key=lambda f: f[1], reverse=True)[: limit or self._limit]:
            record = _read_record(path, mtime)
            if record is not None:
                records.append(record)
        return records

    def find(self, doc_id: str) -> DocumentRecord:
        """The record of `doc_id` (the full id), or a clear error."""
        doc_id = doc_id.strip().lower()
        if not _ID.match(doc_id):
            raise InvalidArgument(f"{doc_id[:80]!r} is not a document id (16 hex digits).",
                                  "Use the full `id` of a read_document result (ids are never abbreviated).")
        path = self._folder / f"{doc_id}.json"
        record = _read_record(path, path.stat().st_mtime) if path.is_file() else None
        if record is None:
            raise SourceNotFound(
                f"No recently opened document has the id {doc_id!r}.",
                "Open it first with read_document (by path, URL or data), or list docvl://documents.",
            )
        return record

    def load(self, doc_id: str, settings: Settings) -> Source:
        """The bytes of a recently opened document, from the cache; a local file's only while its path is still
        inside the roots of `settings`."""
        record = self.find(doc_id)
        if record.origin == "file":
            resolve_local_path(record.name, settings)  # raises AccessDenied when the roots no longer cover it
        data = self._cache.get(cache_key(record.sha256, "source"))
        if data is None:
            raise SourceNotFound(
                f"The document {record.id} ({record.name}) is no longer in the cache.",
                "Read it again from its path, URL or data; it will be cached anew.",
            )
        os.utime(self._folder / f"{record.id}.json")
        return Source(data=data, media_type=record.media_type, sha256=record.sha256, name=record.name,
                      origin=record.origin)

    def clear(self) -> int:
        """Forget every document of every namespace; returns how many were recorded."""
        if not self._root.is_dir():
            return 0
        count = sum(1 for path in self._root.rglob("*.json") if not path.name.startswith("."))
        shutil.rmtree(self._root, ignore_errors=True)
        return count

    def _write(self, record: DocumentRecord) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        body = {"id": record.id, **{k: v for k, v in asdict(record).items() if k != "opened_at"}}
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self._folder)
        with os.fdopen(fd, "w") as f:
            json.dump(body, f)
        os.replace(tmp, self._folder / f"{record.id}.json")

    def _trim(self) -> None:
        files = sorted(self._record_files(), key=lambda f: f[1], reverse=True)
        for path, _ in files[self._limit:]:
            path.unlink(missing_ok=True)

    def _record_files(self) -> list[tuple[Path, float]]:
        if not self._folder.is_dir():
            return []
        out = []
        for entry in os.scandir(self._folder):
            if entry.name.endswith(".json") and not entry.name.startswith("."):
                try:
                    out.append((Path(entry.path), entry.stat().st_mtime))
                except FileNotFoundError:
                    continue
        return out


def _read_record(path: Path, mtime: float) -> DocumentRecord | None:
    try:
        raw = json.loads(path.read_text())
        raw.pop("id", None)  # written for people reading the folder; it is the sha256's prefix
        return DocumentRecord(**raw, opened_at=mtime)
    except (OSError, ValueError, TypeError):
        return None  # trimmed meanwhile, or damaged: it is only an index


def open_registry(settings: Settings) -> DocumentRegistry | None:
    """The registry of `settings`' namespace (its roots and principal), or None when the cache is off."""
    cache = open_cache(settings)
    return DocumentRegistry(cache, scope=scope_of(settings)) if cache is not None else None


def remember_document(source: Source, doc: Document, settings: Settings) -> None:
    """Record an opened document so it is browsable by id; never fails the read that opened it."""
    registry = open_registry(settings)
    if registry is None:
        return
    try:
        registry.remember(source, doc.page_count, doc.metadata().get("title"))
    except OSError as exc:
        log.warning("cannot record document %s in the cache (%s)", source.doc_id, exc)
