"""Score `read_document` and the readers a user would pick instead, in one run, on real documents.

    python tools/eval_reading.py                                   # every engine, every set
    python tools/eval_reading.py --engines ours,pymupdf4llm --sets multi_column,docling-md
    python tools/eval_reading.py --as-images                       # our OCR path on pages rendered at 150 dpi
    python tools/eval_reading.py --filter 2305 --dump /tmp/md      # one file, each engine's Markdown written out

Sets: ../shared/eval/reading/{multi_column,headers_footers,long_tiny_text} (olmOCR-bench facts: order, absent,
present) and ../shared/eval/docling-md (docling's reviewed Markdown as the reference: NID, NID-S, TEDS, TEDS-S,
MHS, overall = mean of NID, TEDS and MHS). The scorers are in tools/reading_metrics.py, written from the
definitions in ../shared/eval/README.md. Seconds per page count only the conversion (imports and the OCR
engine are loaded before timing; no disk cache). An engine error fails all facts of that PDF and is listed.

Engines: ours (read_document, Markdown), pymupdf4llm (to_markdown), markitdown, pdfplumber (extract_text), pypdfium2
(raw get_text_range). With --as-images each page is rendered at 150 dpi to a PNG and only `ours` reads it (the
peers have no OCR path of their own).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# ../shared/eval beside the checkout; DOCVL_EVAL_DIR points elsewhere (a git worktree sits one level deeper).
EVAL = Path(os.environ.get("DOCVL_EVAL_DIR") or ROOT / ".." / "shared" / "eval").resolve()
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reading_metrics import Fact, MarkdownScores, fact_passes, markdown_scores  # noqa: E402

READING_SETS = ("multi_column", "headers_footers", "long_tiny_text")
DOCLING = "docling-md"
ENGINES = ("ours", "pymupdf4llm", "markitdown", "pdfplumber", "pypdfium2")
DPI = 150

Reader = Callable[[Path], str]
# PDFs whose every page `ours` read from the text layer (no OCR): the text-layer speed is measured on these.
TEXT_LAYER_FILES: set[Path] = set()


def page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path.read_bytes())
    try:
        return len(pdf)
    finally:
        pdf.close()


def make_readers(names: list[str], as_images: bool, scratch: Path) -> dict[str, Reader]:
    readers: dict[str, Reader] = {}
    if "ours" in names:
        from mcp_docvl import read_document
        from mcp_docvl.config import Settings

        settings = Settings.from_env(roots=[EVAL, scratch], cache_max_bytes=0, max_pages_per_call=10_000,
                                     max_output_chars=100_000_000)
        engine = None
        if as_images:
            from mcp_docvl.engines.ocr import OcrEngine

            engine = OcrEngine()
            engine.warm()

        def ours(path: Path) -> str:
            if not as_images:
                result = read_document(str(path), format="markdown", settings=settings)
                if set(result.methods) == {"text_layer"}:
                    TEXT_LAYER_FILES.add(path)
                return "\n\n".join(p.content for p in result.pages)
            parts = []
            for png in render_pages(path, scratch):
                result = read_document(str(png), format="markdown", settings=settings, engine=engine)
                parts.extend(p.content for p in result.pages)
                png.unlink()
            return "\n\n".join(parts)
        readers["ours"] = ours
    if as_images:
        return readers
    if "pymupdf4llm" in names:
        import pymupdf4llm

        def pymupdf(path: Path) -> str:
            return pymupdf4llm.to_markdown(str(path), show_progress=False)
        readers["pymupdf4llm"] = pymupdf
    if "markitdown" in names:
        from markitdown import MarkItDown

        converter = MarkItDown()

        def markitdown(path: Path) -> str:
            return converter.convert(str(path)).text_content
        readers["markitdown"] = markitdown
    if "pdfplumber" in names:
        import pdfplumber

        def plumber(path: Path) -> str:
            with pdfplumber.open(str(path)) as pdf:
                return "\n\n".join(page.extract_text() or "" for page in pdf.pages)
        readers["pdfplumber"] = plumber
    if "pypdfium2" in names:
        import pypdfium2 as pdfium

        def raw(path: Path) -> str:
            pdf = pdfium.PdfDocument(path.read_bytes())
            try:
                out = []
                for page in pdf:
                    textpage = page.get_textpage()
                    out.append(textpage.get_text_range())
                    textpage.close()
                    page.close()
                return "\n\n".join(out)
            finally:
                pdf.close()
        readers["pypdfium2"] = raw
    return readers


def render_pages(path: Path, scratch: Path) -> list[Path]:
    """Each page of `path` as a PNG at DPI, the way a scan of it would arrive."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path.read_bytes())
    out = []
    try:
        for index, page in enumerate(pdf):
            image = page.render(scale=DPI / 72).to_pil()
            target = scratch / f"{path.stem}-p{index + 1}.png"
            image.save(target)
            out.append(target)
            page.close()
    finally:
        pdf.close()
    return out


@dataclass
class Run:
    """One engine over one set: outputs per PDF, errors, time and pages."""

    outputs: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    pages: int = 0
    # Seconds and pages per file, for speed on a subset (the text-layer PDFs).
    per_file: dict[Path, tuple[float, int]] = field(default_factory=dict)


def convert(reader: Reader, files: list[Path], dump: Path | None, engine: str, set_name: str) -> Run:
    run = Run()
    for path in files:
        pages = page_count(path)
        run.pages += pages
        started = time.perf_counter()
        try:
            text = reader(path)
        except Exception as exc:  # an engine's failure is scored, not fatal
            run.seconds += time.perf_counter() - started
            run.errors[path.name] = f"{type(exc).__name__}: {exc}"
            if "-v" in sys.argv:
                traceback.print_exc()
            continue
        elapsed = time.perf_counter() - started
        run.seconds += elapsed
        run.per_file[path] = (elapsed, pages)
        run.outputs[path.name] = text
        if dump is not None:
            target = dump / engine / set_name / (path.stem + ".md")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    return run


def reading_facts(set_name: str, pattern: str | None) -> tuple[list[Path], list[Fact]]:
    folder = EVAL / "reading" / set_name
    facts = [Fact.from_json(json.loads(line)) for line in (folder / "tests.jsonl").read_text().splitlines()
             if line.strip()]
    if pattern:
        facts = [f for f in facts if pattern in f.pdf]
    names = sorted({f.pdf for f in facts})
    return [folder / "pdfs" / n for n in names], facts


def score_facts(run: Run, facts: list[Fact]) -> tuple[int, list[Fact]]:
    passed, failed = 0, []
    for fact in facts:
        text = run.outputs.get(fact.pdf)
        if text is not None and fact_passes(fact, text):
            passed += 1
        else:
            failed.append(fact)
    return passed, failed


def docling_files(pattern: str | None) -> list[Path]:
    files = sorted((EVAL / DOCLING / "pdf").glob("*.pdf"))
    return [f for f in files if not pattern or pattern in f.name]


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.fmean(kept) if kept else None


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", default=",".join(ENGINES), help=f"Comma-separated, from {', '.join(ENGINES)}.")
    parser.add_argument("--sets", default=",".join((*READING_SETS, DOCLING)),
                        help=f"Comma-separated, from {', '.join((*READING_SETS, DOCLING))}.")
    parser.add_argument("--filter", default=None, help="Only PDFs whose file name contains this text.")
    parser.add_argument("--as-images", action="store_true", help="Render pages at 150 dpi; our OCR path reads them.")
    parser.add_argument("--dump", type=Path, default=None, help="Write each engine's Markdown per file under DIR.")
    parser.add_argument("--json", type=Path, default=None, help="Write the figures as JSON to this file.")
    parser.add_argument("-v", action="store_true", help="List failed facts and per-document docling scores.")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"skipped: evaluation data {EVAL} is absent (it lives in ../shared/eval beside the checkout; "
              "or set DOCVL_EVAL_DIR)")
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [e for e in engines if e not in ENGINES] + [s for s in sets if s not in (*READING_SETS, DOCLING)]
    if unknown:
        parser.error(f"unknown engine or set: {', '.join(unknown)}")
    if args.as_images and engines != ["ours"]:
        print("--as-images: only `ours` reads page images; the other engines are left out.")
        engines = ["ours"]

    report: dict = {"as_images": args.as_images, "reading": {}, "docling": {}, "speed": {}}
    with tempfile.TemporaryDirectory(prefix="eval-reading-") as tmp:
        readers = make_readers(engines, args.as_images, Path(tmp))
        totals: dict[str, list[float]] = {e: [0, 0] for e in engines}  # facts passed, facts
        timing: dict[str, list[float]] = {e: [0.0, 0] for e in engines}  # seconds, pages
        per_file: dict[str, dict[Path, tuple[float, int]]] = {e: {} for e in engines}
        reading_sets = [s for s in sets if s in READING_SETS]
        if reading_sets:
            header = f"{'engine':<12}" + "".join(f"{s:>17}" for s in reading_sets) + f"{'all facts':>12}"
            rows: dict[str, str] = {}
            for set_name in reading_sets:
                files, facts = reading_facts(set_name, args.filter)
                for engine in engines:
                    run = convert(readers[engine], files, args.dump, engine, set_name)
                    passed, failed = score_facts(run, facts)
                    totals[engine][0] += passed
                    totals[engine][1] += len(facts)
                    timing[engine][0] += run.seconds
                    timing[engine][1] += run.pages
                    per_file[engine].update(run.per_file)
                    share = passed / len(facts) if facts else None
                    report["reading"].setdefault(engine, {})[set_name] = {
                        "passed": passed, "facts": len(facts), "score": share, "errors": run.errors,
                        "seconds": run.seconds, "pages": run.pages}
                    rows[engine] = rows.get(engine, f"{engine:<12}") + f"{_fmt(share):>17}"
                    for name, error in run.errors.items():
                        print(f"  error [{engine} {set_name}] {name}: {error[:200]}")
                    if args.v:
                        for fact in failed:
                            what = fact.text if fact.type != "order" else f"{fact.before!r} < {fact.after!r}"
                            print(f"  fail [{engine} {set_name}] {fact.pdf} {fact.type}: {what[:160]}")
            print("\nReading facts (olmOCR-bench; share of facts passed)")
            print(header)
            for engine in engines:
                passed, count = totals[engine]
                overall = passed / count if count else None
                report["reading"][engine]["all"] = overall
                print(rows[engine] + f"{_fmt(overall):>12}")
        if DOCLING in sets:
            files = docling_files(args.filter)
            print(f"\ndocling-md ({len(files)} PDFs; reference: docling's Markdown)")
            print(f"{'engine':<12}{'NID':>8}{'NID-S':>8}{'TEDS':>8}{'TEDS-S':>8}{'MHS':>8}{'overall':>9}{'errors':>8}")
            for engine in engines:
                run = convert(readers[engine], files, args.dump, engine, DOCLING)
                timing[engine][0] += run.seconds
                timing[engine][1] += run.pages
                per_file[engine].update(run.per_file)
                scores: dict[str, MarkdownScores] = {}
                for path in files:
                    reference = (EVAL / DOCLING / "reference" / (path.stem + ".md")).read_text(encoding="utf-8")
                    scores[path.name] = markdown_scores(reference, run.outputs.get(path.name, ""))
                    if args.v:
                        s = scores[path.name]
                        print(f"  [{engine}] {path.stem:<32} NID {_fmt(s.nid)} NID-S {_fmt(s.nid_s)} "
                              f"TEDS {_fmt(s.teds)} MHS {_fmt(s.mhs)}")
                values = list(scores.values())
                figures = {
                    "NID": _mean([s.nid for s in values]), "NID-S": _mean([s.nid_s for s in values]),
                    "TEDS": _mean([s.teds for s in values]), "TEDS-S": _mean([s.teds_s for s in values]),
                    "MHS": _mean([s.mhs for s in values]),
                }
                figures["overall"] = _mean([figures["NID"], figures["TEDS"], figures["MHS"]])
                report["docling"][engine] = {**figures, "errors": run.errors}
                print(f"{engine:<12}" + "".join(f"{_fmt(figures[k]):>8}" for k in ("NID", "NID-S", "TEDS", "TEDS-S",
                                                                                  "MHS"))
                      + f"{_fmt(figures['overall']):>9}{len(run.errors):>8}")
                for name, error in run.errors.items():
                    print(f"  error [{engine} docling-md] {name}: {error[:200]}")
        print("\nSpeed (conversion only, all sets above)")
        base = None
        for engine in engines:
            seconds, pages = timing[engine]
            per_page = seconds / pages if pages else None
            report["speed"][engine] = {"seconds": seconds, "pages": pages, "seconds_per_page": per_page}
            if engine == "ours":
                base = per_page
        for engine in engines:
            per_page = report["speed"][engine]["seconds_per_page"]
            ratio = f"  ours is {per_page / base:.1f}x faster" if base and per_page and engine != "ours" else ""
            pps = 1 / per_page if per_page else 0.0
            print(f"{engine:<12}{_fmt(per_page):>8} s/page {pps:9.1f} pages/s{ratio}")
        if TEXT_LAYER_FILES and not args.as_images:
            print(f"\nText-layer speed: the {len(TEXT_LAYER_FILES)} PDFs `ours` read without OCR, every engine on them")
            layer_speed = {}
            for engine in engines:
                done = [per_file[engine][p] for p in TEXT_LAYER_FILES if p in per_file[engine]]
                seconds, pages = sum(d[0] for d in done), sum(d[1] for d in done)
                layer_speed[engine] = pages / seconds if seconds else None
                report["speed"].setdefault("text_layer", {})[engine] = {"seconds": seconds, "pages": pages}
            for engine in engines:
                pps = layer_speed[engine]
                ratio = (f"  ours is {layer_speed['ours'] / pps:.1f}x its pages/s"
                         if engine != "ours" and pps and layer_speed.get("ours") else "")
                print(f"{engine:<12}{(pps or 0):9.1f} pages/s{ratio}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
