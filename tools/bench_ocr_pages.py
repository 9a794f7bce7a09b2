"""Seconds per page of the OCR path on full-page scans, this checkout against another in the same run.

    python tools/bench_ocr_pages.py [--pages 24] [--dpi 200] [--repeat 1] [--compare-to OLD_CHECKOUT]

A scan is made from a real page: pages of ../shared/eval/icdar2013 (government reports) and
../shared/eval/reading (magazines, journals, brochures) are rendered at `--dpi` (200, as a scanner would) to PNG
files, and each PNG is read with `read_document` exactly as an image source is read (the OCR engine, layout,
tables), warm and with the disk cache off. Only pages with a real text layer of at least 400 characters are
candidates (a full page of text, and a reference to check the OCR against); the sample is fixed: candidates
ordered by a hash of "file:page", the first half of `--pages` from each folder.

Accuracy on the same pages: character error rate of the OCR text against the PDF's own text layer (both
case-folded, NFKC, whitespace removed). The text layer's order is the content stream's, so a multi-column page
costs the same order penalty in every run; "bag" CER compares characters regardless of order, which isolates
recognition. Use these figures to compare two runs, not as absolute recognition quality.

With --compare-to, each checkout runs in its own worker process (PYTHONPATH set to that checkout), and pages
alternate between the two workers (old first on even pages, new first on odd ones), so machine load falls on
both alike. Wall seconds are what a caller waits; CPU seconds (process user+system) are less sensitive to other
processes on a shared machine but count every thread. The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = (ROOT / ".." / "shared" / "eval").resolve()

# Fewer text-layer characters than this: not a full page of text (a cover, a figure), or no reference to check.
_MIN_REFERENCE_CHARS = 400


@dataclass
class Sample:
    pdf: Path
    index: int  # 0-based page
    image: Path
    reference: str


@dataclass
class Run:
    """One checkout's results, page by page."""

    label: str
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    errors: list[int] = field(default_factory=list)
    bag_errors: list[int] = field(default_factory=list)
    module: str = ""


def normalise(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def candidates(data: Path) -> dict[str, list[tuple[Path, int]]]:
    import pypdfium2 as pdfium

    folders = {"icdar2013": sorted((data / "icdar2013").glob("*.pdf")),
               "reading": sorted((data / "reading").glob("*/pdfs/*.pdf"))}
    out: dict[str, list[tuple[Path, int]]] = {}
    for name, files in folders.items():
        pages = []
        for path in files:
            pdf = pdfium.PdfDocument(path.read_bytes())
            pages += [(path, index) for index in range(len(pdf))]
            pdf.close()
        out[name] = sorted(pages, key=lambda p: hashlib.sha1(f"{p[0].name}:{p[1]}".encode()).hexdigest())
    return out


def make_samples(data: Path, count: int, dpi: int, folder: Path) -> list[Sample]:
    """Render the fixed sample of pages to PNG files in `folder`."""
    import pypdfium2 as pdfium

    samples: list[Sample] = []
    groups = candidates(data)
    per_group = [count // len(groups) + (1 if i < count % len(groups) else 0) for i in range(len(groups))]
    for (name, pages), wanted in zip(groups.items(), per_group, strict=True):
        taken = 0
        for path, index in pages:
            if taken == wanted:
                break
            pdf = pdfium.PdfDocument(path.read_bytes())
            page = pdf[index]
            textpage = page.get_textpage()
            reference = textpage.get_text_range()
            textpage.close()
            if len(normalise(reference)) < _MIN_REFERENCE_CHARS:
                page.close()
                pdf.close()
                continue
            image = page.render(scale=dpi / 72).to_pil().convert("RGB")
            target = folder / f"{name}-{path.stem[:24]}-p{index + 1}.png"
            image.save(target)
            page.close()
            pdf.close()
            samples.append(Sample(path, index, target, reference))
            taken += 1
    return samples


def worker() -> int:
    """Read image paths (one JSON object a line) from stdin, answer with seconds and text: the checkout's code."""
    import mcp_docvl
    from mcp_docvl.config import Settings
    from mcp_docvl.engines import create_engine

    try:  # the package API; checkouts from before the restructure (issue 13) kept it in mcp_docvl.reader
        from mcp_docvl import read_document
    except ImportError:
        from mcp_docvl.reader import read_document

    folder = Path(sys.stdin.readline().strip())
    settings = Settings.from_env(roots=[folder], cache_max_bytes=0)
    engine = create_engine(settings)  # the checkout's own choice of OCR runtime
    engine.warm()
    print(json.dumps({"module": mcp_docvl.__file__}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        cpu_started = os.times()
        started = time.perf_counter()
        result = read_document(request["image"], format="text", settings=settings, engine=engine, max_chars=10**7)
        seconds = time.perf_counter() - started
        cpu_ended = os.times()
        cpu = (cpu_ended.user - cpu_started.user) + (cpu_ended.system - cpu_started.system)
        text = "\n".join(page.content for page in result.pages)
        print(json.dumps({"seconds": seconds, "cpu": cpu, "text": text}), flush=True)
    return 0


class Worker:
    def __init__(self, label: str, checkout: Path, folder: Path) -> None:
        env = dict(os.environ, PYTHONPATH=str(checkout))
        self.run = Run(label)
        self.process = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--worker"], env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self._send(str(folder))
        self.run.module = json.loads(self._receive())["module"]

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def _receive(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"the {self.run.label} worker died (see its error above)")
        return line

    def read(self, sample: Sample, record: bool) -> None:
        from collections import Counter

        from rapidfuzz.distance import Levenshtein

        self._send(json.dumps({"image": str(sample.image)}))
        answer = json.loads(self._receive())
        if not record:
            return
        ref, hyp = normalise(sample.reference), normalise(answer["text"])
        self.run.seconds.append(answer["seconds"])
        self.run.cpu.append(answer["cpu"])
        self.run.errors.append(Levenshtein.distance(ref, hyp))
        ref_chars, hyp_chars = Counter(ref), Counter(hyp)
        self.run.bag_errors.append(max((ref_chars - hyp_chars).total(), (hyp_chars - ref_chars).total()))

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def summary(run: Run, samples: list[Sample], repeat: int) -> dict[str, float]:
    ref_total = sum(len(normalise(s.reference)) for s in samples) * repeat
    return {"median": statistics.median(run.seconds), "p90": p90(run.seconds), "mean": statistics.mean(run.seconds),
            "cpu": statistics.median(run.cpu), "cer": sum(run.errors) / ref_total,
            "bag": sum(run.bag_errors) / ref_total}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=24, help="How many pages (half from each folder).")
    parser.add_argument("--dpi", type=int, default=200, help="Scan resolution of the page images.")
    parser.add_argument("--repeat", type=int, default=1, help="Read every page this many times per checkout.")
    parser.add_argument("--compare-to", type=Path, default=None,
                        help="Another checkout (e.g. `git worktree add /tmp/old 75328b9`) measured alongside.")
    parser.add_argument("--eval", type=Path, default=EVAL, help="The evaluation data folder (../shared/eval).")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker()
    if not (args.eval / "icdar2013").is_dir() or not (args.eval / "reading").is_dir():
        print(f"skipped: evaluation data {args.eval} is absent (it lives in ../shared/eval beside the checkout)")
        return 0
    print(f"machine: {os.cpu_count()} CPUs; load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    with tempfile.TemporaryDirectory(prefix="bench-ocr-pages-") as tmp:
        folder = Path(tmp)
        samples = make_samples(args.eval, args.pages, args.dpi, folder)
        print(f"{len(samples)} pages rendered at {args.dpi} dpi (PNG), read as images by "
              "read_document(format='text')")
        workers = []
        if args.compare_to is not None:
            workers.append(Worker("old", args.compare_to.resolve(), folder))
        workers.append(Worker("new", ROOT, folder))
        for w in workers:
            print(f"  {w.run.label}: {w.run.module}")
        # One page read by each worker before timing: first-call allocations are not a page's cost.
        for w in workers:
            w.read(samples[0], record=False)
        header = f"{'page':44s} {'ref chars':>9s}" + "".join(
            f" {w.run.label + ' s':>7s} {w.run.label + ' CER':>8s}" for w in workers)
        print(header)
        for round_ in range(args.repeat):
            for number, sample in enumerate(samples):
                order = workers if (number + round_) % 2 == 0 else list(reversed(workers))
                for w in order:
                    w.read(sample, record=True)
                ref_len = len(normalise(sample.reference))
                print(f"{sample.image.stem:44s} {ref_len:9d}" + "".join(
                    f" {w.run.seconds[-1]:7.2f} {w.run.errors[-1] / ref_len:8.3f}" for w in workers), flush=True)
        for w in workers:
            w.close()
    print(f"load average after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results = {w.run.label: summary(w.run, samples, args.repeat) for w in workers}
    print(f"\n{'':6s} {'median s':>9s} {'p90 s':>7s} {'mean s':>7s} {'CPU s (median)':>15s} {'CER':>7s}"
          f" {'bag CER':>8s}")
    for label, r in results.items():
        print(f"{label:6s} {r['median']:9.2f} {r['p90']:7.2f} {r['mean']:7.2f} {r['cpu']:15.2f} {r['cer']:7.4f}"
              f" {r['bag']:8.4f}")
    if "old" in results:
        old, new = results["old"], results["new"]
        print(f"\nold/new: median {old['median'] / new['median']:.2f}x, p90 {old['p90'] / new['p90']:.2f}x, "
              f"CPU {old['cpu'] / new['cpu']:.2f}x faster; CER {old['cer']:.4f} -> {new['cer']:.4f}, "
              f"bag CER {old['bag']:.4f} -> {new['bag']:.4f}")
    print("target: median <= 2.0 s a page on 2 cores (a quiet machine: compare the load averages above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
