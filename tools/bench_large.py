"""Large documents and many documents: latency and memory stay bounded.

Writes a 2,000-page PDF (text layer, ~25 lines a page) and prints:
  1. seconds to read pages 1-5 with a cold cache (target < 1 s),
  2. peak RSS while reading all 2,000 pages with cursors, call after call (target < 400 MB),
  3. RSS after opening 200 distinct documents, against the RSS before them (target: within 50 MB).
Each part runs in its own fresh process with a fresh temporary cache, so one cannot flatter another; RSS is
the process's resident set (psutil), peak from the kernel's high-water mark (VmHWM).

    python tools/bench_large.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp_docvl.config import Settings  # noqa: E402
from mcp_docvl.features.read import read_document  # noqa: E402
from mcp_docvl.samples import Text, make_pdf  # noqa: E402

PAGES = 2000
MiB = 1024 * 1024


def big_pdf(pages: int) -> bytes:
    return make_pdf([[Text(72, 50, f"Part {n}", 16, bold=True)]
                     + [Text(72, 80 + 14 * i, f"Line {i} of page {n}: a long document is read a few pages at a "
                                              f"time, never all at once ({n * 1000 + i}).", 10)
                        for i in range(25)]
                     for n in range(1, pages + 1)], title="A 2,000-page document")


def rss() -> float:
    return psutil.Process().memory_info().rss / MiB


def peak_rss() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return psutil.Process().memory_info().rss / MiB  # not Linux: the current value is the best available


def _settings(folder: Path) -> Settings:
    return Settings.from_env(roots=[folder], cache_dir=folder / "cache")


def part_first_pages(folder: Path) -> dict:
    settings = _settings(folder)
    start = time.perf_counter()
    result = read_document(str(folder / "big.pdf"), pages="1-5", settings=settings)
    return {"seconds": time.perf_counter() - start, "pages": [p.page for p in result.pages]}


def part_all_pages(folder: Path) -> dict:
    settings = _settings(folder)
    start_rss = rss()
    seen: list[int] = []
    cursor = None
    calls = 0
    started = time.perf_counter()
    while True:
        result = read_document(str(folder / "big.pdf"), cursor=cursor, settings=settings)
        calls += 1
        seen += [p.page for p in result.pages if p.complete]
        cursor = result.next_cursor
        del result
        if cursor is None:
            break
    return {"calls": calls, "pages": len(set(seen)), "seconds": time.perf_counter() - started,
            "start_rss": start_rss, "peak_rss": peak_rss(), "end_rss": rss()}


def part_many_documents(folder: Path) -> dict:
    settings = _settings(folder)
    paths = []
    for i in range(201):
        path = folder / f"doc{i}.pdf"
        path.write_bytes(make_pdf([[Text(72, 72, f"Distinct document {i}, page {n}", 12)] for n in range(1, 4)]))
        paths.append(path)
    read_document(str(paths[0]), settings=settings)  # imports and first-use allocations happen here
    start = rss()
    for path in paths[1:]:
        read_document(str(path), settings=settings)
    return {"documents": len(paths) - 1, "start_rss": start, "end_rss": rss(), "peak_rss": peak_rss()}


PARTS = {"first": part_first_pages, "all": part_all_pages, "many": part_many_documents}


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "big.pdf").write_bytes(big_pdf(PAGES))
        print(f"{PAGES}-page PDF: {(folder / 'big.pdf').stat().st_size / MiB:.1f} MiB")
        results = {}
        for name in PARTS:
            part_dir = folder / name
            part_dir.mkdir()
            shutil.copyfile(folder / "big.pdf", part_dir / "big.pdf")
            run = subprocess.run([sys.executable, __file__, "--part", name, str(part_dir)], capture_output=True,
                                 text=True)
            if run.returncode != 0:
                sys.exit(f"part {name} failed:\n{run.stderr}")
            results[name] = json.loads(run.stdout.strip().splitlines()[-1])
    first, every, many = results["first"], results["all"], results["many"]
    print(f"read pages 1-5 (cold cache):           {first['seconds']:.3f} s (target < 1 s)")
    print(f"read all {every['pages']} pages with cursors:      {every['calls']} calls, {every['seconds']:.1f} s; "
          f"peak RSS {every['peak_rss']:.0f} MB (target < 400 MB; {every['start_rss']:.0f} MB before the first call)")
    print(f"open {many['documents']} distinct documents:         RSS {many['start_rss']:.0f} MB -> "
          f"{many['end_rss']:.0f} MB ({many['end_rss'] - many['start_rss']:+.1f} MB; target within 50 MB)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--part":
        print(json.dumps(PARTS[sys.argv[2]](Path(sys.argv[3]))))
    else:
        main()
