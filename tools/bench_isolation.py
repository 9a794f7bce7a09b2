"""What running calls in worker processes costs: the same read in-process and through the worker pool.

    python tools/bench_isolation.py            # median of 30 reads each, after warm-up

Prints the median and p90 latency of each path and the difference (the price of crash/hang containment: a pipe
round trip, pickling the arguments and the result, and the worker's own source loading).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp_docvl.config import Settings  # noqa: E402
from mcp_docvl.engines.ocr import OcrEngine  # noqa: E402
from mcp_docvl.features.read import read_document  # noqa: E402
from mcp_docvl.mcp.workers import WorkerPool  # noqa: E402
from mcp_docvl.samples import make_pdf, paragraph  # noqa: E402


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    work = Path("/tmp/docvl-bench-isolation")
    work.mkdir(exist_ok=True)
    lines = [f"Line {i} of a longer report, with enough words to look like body text." for i in range(45)]
    (work / "twenty.pdf").write_bytes(make_pdf([paragraph(72, 72, lines) for _ in range(20)]))
    settings = Settings(roots=[ROOT / "resources", work])
    engine = OcrEngine()
    pool = WorkerPool(size=1, memory_mb=settings.worker_memory_mb)
    pool.prestart(settings)
    cases = {"sample.pdf, 2 pages (text layer)": str(ROOT / "resources" / "sample.pdf"),
             "20-page text PDF": str(work / "twenty.pdf"),
             "scan.png (OCR)": str(ROOT / "resources" / "scan.png")}
    print(f"{'document':36s} {'in-process p50':>15s} {'worker p50':>11s} {'overhead p50':>13s} "
          f"{'in-process p90':>15s} {'worker p90':>11s}")
    for name, source in cases.items():
        repeat = max(5, args.repeat // 5) if "OCR" in name else args.repeat
        local = timed(lambda s=source: read_document(s, settings=settings, engine=engine), repeat)
        remote = timed(lambda s=source: pool.run(read_document, {"source": s, "settings": settings, "engine": None},
                                                 settings), repeat)
        p50l, p50r = statistics.median(local), statistics.median(remote)
        p90l, p90r = statistics.quantiles(local, n=10)[8], statistics.quantiles(remote, n=10)[8]
        print(f"{name:36s} {p50l:12.1f} ms {p50r:8.1f} ms {p50r - p50l:+10.1f} ms {p90l:12.1f} ms {p90r:8.1f} ms")
    pool.close()


if __name__ == "__main__":
    main()
