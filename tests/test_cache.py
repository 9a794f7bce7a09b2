"""The disk cache: integrity, atomicity under concurrency, LRU eviction, and what read_document gets from it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import RESOURCES, CountingEngine

from docs import scanned_pdf, text_pages
from mcp_docvl.cache import DiskCache, cache_key, open_cache
from mcp_docvl.cache.registry import open_registry
from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.errors import SourceNotFound
from mcp_docvl.features.read import read_document
from mcp_docvl.samples import make_pdf


def _entries(directory: Path) -> list[Path]:
    return [p for p in (directory / "entries").rglob("*") if p.is_file() and not p.name.startswith(".tmp-")]


def test_put_get_and_a_new_object_on_the_same_dir_sees_it(tmp_path: Path):
    DiskCache(tmp_path, 10**6).put("k", b"payload")
    assert DiskCache(tmp_path, 10**6).get("k") == b"payload"
    assert DiskCache(tmp_path, 10**6).get("other") is None


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_damaged_entry_is_a_miss_and_is_deleted(tmp_path: Path, damage: str):
    cache = DiskCache(tmp_path, 10**6)
    cache.put("k", b"x" * 1000)
    (path,) = _entries(tmp_path)
    raw = path.read_bytes()
    if damage == "flip":
        raw = raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:]
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = b""
    path.write_bytes(raw)
    assert cache.get("k") is None
    assert not path.exists()


def test_lru_eviction_keeps_the_recently_used(tmp_path: Path):
    cache = DiskCache(tmp_path, max_bytes=10_000)
    for i in range(8):
        cache.put(f"k{i}", bytes([i]) * 1000)
        # mtimes one second apart, oldest first, so the order does not hang on the file system's clock resolution
        os.utime(cache._path(f"k{i}"), (1_000_000 + i, 1_000_000 + i))
    assert cache.get("k0") == bytes([0]) * 1000  # k0 is now the most recently used
    for i in range(8, 12):
        cache.put(f"k{i}", bytes([i]) * 1000)
    stats = cache.stats()
    assert stats.bytes <= 10_000
    assert cache.get("k0") is not None and cache.get("k11") is not None
    assert cache.get("k1") is None and cache.get("k2") is None


def test_concurrent_threads_and_processes_never_see_a_partial_entry(tmp_path: Path):
    payloads = {f"k{i}": bytes([i]) * (50_000 + i) for i in range(10)}
    script = (
        "import sys; from mcp_docvl.cache import DiskCache\n"
        "c = DiskCache(sys.argv[1], 10**8)\n"
        "for r in range(30):\n"
        "    for i in range(10):\n"
        "        c.put(f'k{i}', bytes([i]) * (50_000 + i))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    writers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env=env) for _ in range(2)]
    cache = DiskCache(tmp_path, 10**8)
    bad: list[str] = []

    def read_and_write() -> None:
        for _ in range(30):
            for key, value in payloads.items():
                got = cache.get(key)
                if got is not None and got != value:
                    bad.append(key)
                cache.put(key, value)

    threads = [threading.Thread(target=read_and_write) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    assert bad == []
    assert all(cache.get(k) == v for k, v in payloads.items())


def test_second_read_comes_from_the_cache_even_after_a_restart(settings: Settings, tmp_path: Path, ocr: OcrEngine):
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(3))
    engine = CountingEngine(ocr)
    first = read_document(str(tmp_path / "scan.pdf"), settings=settings, engine=engine)
    assert engine.calls == 3 and first.methods == {"ocr": 3}
    assert "Invoice total 222.00 EUR" in first.pages[1].content
    # A restart: a fresh cache object (and registry) on the same directory.
    from mcp_docvl.cache import _shared

    _shared.cache_clear()
    again = read_document(str(tmp_path / "scan.pdf"), settings=settings, engine=engine)
    assert engine.calls == 3
    assert [p.content for p in again.pages] == [p.content for p in first.pages]


def test_a_corrupted_cache_file_is_recomputed(settings: Settings, tmp_path: Path, ocr: OcrEngine):
    (tmp_path / "scan.pdf").write_bytes(scanned_pdf(2))
    engine = CountingEngine(ocr)
    first = read_document(str(tmp_path / "scan.pdf"), settings=settings, engine=engine)
    assert engine.calls == 2
    files = _entries(settings.cache_dir)
    for path in files:  # damage every entry: pages, OCR transcripts and the stored source
        raw = bytearray(path.read_bytes())
        raw[-1] ^= 0xFF
        path.write_bytes(bytes(raw))
    again = read_document(str(tmp_path / "scan.pdf"), settings=settings, engine=engine)
    assert engine.calls == 4  # recognised anew, not served from the damaged entries
    assert [p.content for p in again.pages] == [p.content for p in first.pages]
    # The stored copy behind the document's id was damaged too: loading by id says so (and drops it) ...
    uri = f"docvl://documents/{again.document.id}"
    with pytest.raises(SourceNotFound, match="no longer in the cache"):
        read_document(uri, settings=settings, engine=engine)
    # ... and the next read from the path stores it again.
    read_document(str(tmp_path / "scan.pdf"), settings=settings, engine=engine)
    assert open_cache(settings).get(cache_key(again.document.sha256, "source")) == (tmp_path / "scan.pdf").read_bytes()
    assert read_document(uri, settings=settings, engine=engine).pages[0].content == first.pages[0].content


def test_a_changed_file_at_the_same_path_is_never_served_stale(settings: Settings, tmp_path: Path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(make_pdf(text_pages(1, "alpha")))
    assert "alpha" in read_document(str(path), settings=settings).pages[0].content
    path.write_bytes(make_pdf(text_pages(1, "omega")))
    content = read_document(str(path), settings=settings).pages[0].content
    assert "omega" in content and "alpha" not in content


def test_the_registry_is_bounded_and_newest_first(settings: Settings, tmp_path: Path):
    registry = open_registry(settings)
    registry._limit = 5
    ids = []
    for i in range(8):
        path = tmp_path / f"d{i}.pdf"
        path.write_bytes(make_pdf(text_pages(1, f"doc{i}")))
        ids.append(read_document(str(path), settings=settings).document.id)
        time.sleep(0.01)
        registry._trim()
    recent = [r.id for r in registry.recent()]
    assert recent == list(reversed(ids))[:5]


def test_cache_cli_stats_and_clear(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "DOCVL_CACHE_DIR": str(tmp_path)}
    run = [sys.executable, "-m", "mcp_docvl"]
    subprocess.run([*run, "read", str(RESOURCES / "sample.pdf")], env=env, check=True, capture_output=True)
    stats = subprocess.run([*run, "cache", "stats"], env=env, check=True, capture_output=True, text=True).stdout
    assert f"directory: {tmp_path}" in stats
    # The stored source, and per page of the two: the built page and its Markdown rendering.
    entries = int(stats.split("entries:")[1].split()[0])
    assert entries == 1 + 2 * 2
    cleared = subprocess.run([*run, "cache", "clear"], env=env, check=True, capture_output=True, text=True).stdout
    assert cleared.startswith(f"removed {entries} entries and 1 document records")
    assert "entries:   0" in subprocess.run([*run, "cache", "stats"], env=env, capture_output=True, text=True).stdout


def test_cache_off_still_reads(settings: Settings):
    settings.cache_max_bytes = 0
    result = read_document(str(RESOURCES / "sample.pdf"), settings=settings)
    assert result.pages[0].content.startswith("# Quarterly Report")
    assert not (settings.cache_dir / "entries").exists()


def test_page_and_transcript_codecs_round_trip(settings: Settings, ocr: OcrEngine):
    from mcp_docvl.cache.codec import page_from_bytes, page_to_bytes, transcript_from_bytes, transcript_to_bytes
    from mcp_docvl.documents import open_document
    from mcp_docvl.pipeline.pages import build_page

    data = (RESOURCES / "sample.pdf").read_bytes()
    doc = open_document(data, "application/pdf")
    try:
        page = build_page(doc, 1, settings, ocr.transcribe_page)
    finally:
        doc.close()
    assert page.blocks and page_from_bytes(page_to_bytes(page)) == page
    transcript = ocr.transcribe_page(open_document((RESOURCES / "scan.png").read_bytes(), "image/png").render(0))
    assert transcript.words and transcript_from_bytes(transcript_to_bytes(transcript)) == transcript
