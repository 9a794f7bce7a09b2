"""Pages per second of `read_document` against raw pypdfium2 text extraction and markitdown, in one run.

    python tools/bench_read.py [--repeat N] [--skip-markitdown]

Reads ../shared/eval/icdar2013/*.pdf and ../shared/eval/realworld-pdfs/*.pdf. Files that no reader can open
(empty, encrypted) are left out of all three. The read_document figure is the library call, warm (imports and
engine loaded before timing), with every page fully processed: text layer, layout, Markdown.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = (ROOT / ".." / "shared" / "eval").resolve()
sys.path.insert(0, str(ROOT))


def corpus() -> list[Path]:
    files = sorted((EVAL / "icdar2013").glob("*.pdf")) + sorted((EVAL / "realworld-pdfs").glob("*.pdf"))
    return files


def raw_pdfium(files: list[Path]) -> tuple[int, float]:
    import pypdfium2 as pdfium

    pages = 0
    started = time.perf_counter()
    for path in files:
        pdf = pdfium.PdfDocument(path.read_bytes())
        for page in pdf:
            textpage = page.get_textpage()
            textpage.get_text_range()
            textpage.close()
            page.close()
            pages += 1
        pdf.close()
    return pages, time.perf_counter() - started


def markitdown(files: list[Path]) -> tuple[int, float]:
    import pypdfium2 as pdfium
    from markitdown import MarkItDown

    converter = MarkItDown()
    pages = 0
    started = time.perf_counter()
    for path in files:
        converter.convert(str(path))
    elapsed = time.perf_counter() - started
    for path in files:
        pages += len(pdfium.PdfDocument(path.read_bytes()))
    return pages, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="Timed passes for the fast readers (best is kept).")
    parser.add_argument("--skip-markitdown", action="store_true")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"skipped: evaluation data {EVAL} is absent (it lives in ../shared/eval beside the checkout)")
        return 0

    import pypdfium2 as pdfium

    from mcp_docvl.config import Settings
    from mcp_docvl.engines.ocr import OcrEngine
    from mcp_docvl.features.read import read_document

    files = []
    for path in corpus():
        try:
            pdfium.PdfDocument(path.read_bytes()).close()
            files.append(path)
        except pdfium.PdfiumError:
            print(f"left out (no reader opens it): {path.name}")
    # No disk cache: every pass must do the work it measures.
    settings = Settings.from_env(roots=[EVAL], cache_max_bytes=0)
    engine = OcrEngine()
    engine.warm()

    def docvl_run(paths: list[Path]) -> tuple[int, float, dict[str, int], int]:
        pages = 0
        methods: dict[str, int] = {}
        chars = 0
        started = time.perf_counter()
        for path in paths:
            result = read_document(str(path), settings=settings, engine=engine, max_chars=10**9)
            pages += len(result.pages)
            for page in result.pages:
                methods[page.method] = methods.get(page.method, 0) + 1
                chars += len(page.content)
        return pages, time.perf_counter() - started, methods, chars

    # Warm-up pass (imports, first-call costs); it also tells which files need OCR somewhere.
    needs_ocr = {p for p in files if read_document(str(p), settings=settings, engine=engine,
                                                   max_chars=10**9).methods.get("ocr")}
    text_only = [p for p in files if p not in needs_ocr]

    def report(label: str, paths: list[Path]) -> None:
        raw_pages, raw_s = min((raw_pdfium(paths) for _ in range(args.repeat)), key=lambda r: r[1])
        our_pages, our_s, methods, chars = min((docvl_run(paths) for _ in range(args.repeat)), key=lambda r: r[1])
        raw_pps, our_pps = raw_pages / raw_s, our_pages / our_s
        print(f"[{label}] {len(paths)} PDFs, {raw_pages} pages")
        print(f"  raw pypdfium2 text      : {raw_pps:8.1f} pages/s  ({raw_s:.2f} s)")
        print(f"  mcp-docvl read_document : {our_pps:8.1f} pages/s  ({our_s:.2f} s; methods {methods}; "
              f"{chars:,} chars out)")
        print(f"  ratio docvl / raw pypdfium2 : {our_pps / raw_pps:.3f}  (target >= 0.2)")
        if not args.skip_markitdown:
            md_pages, md_s = markitdown(paths)
            md_pps = md_pages / md_s
            print(f"  markitdown PDF convert  : {md_pps:8.1f} pages/s  ({md_s:.2f} s, one pass)")
            print(f"  ratio docvl / markitdown    : {our_pps / md_pps:.1f}x  (target >= 10x)")

    print(f"corpus: {EVAL}/icdar2013 + realworld-pdfs")
    report("all pages (OCR where there is no text layer)", files)
    report("files read from their text layer only", text_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
