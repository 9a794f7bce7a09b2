"""How much faster a second read_document of the same document is, thanks to the page cache.

Writes two 32-page PDFs, one with a text layer and one scanned (image-only, so every page goes through OCR),
into a temporary folder with a fresh temporary cache, and reads each whole document:
  1. first read (cold cache; the OCR models are loaded before timing, so only recognition is counted),
  2. second read in the same process,
  3. a read by a new process on the same cache directory (a server restart),
and prints the times and speed-ups. Targets: OCR path >= 50x, text-layer path >= 10x, restart included.

    python tools/bench_cache.py [--pages 32]
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp_docvl.config import Settings  # noqa: E402
from mcp_docvl.features.read import read_document  # noqa: E402
from mcp_docvl.samples import Text, make_pdf  # noqa: E402

WORDS = ["document", "access", "agents", "reading", "order", "pages", "tables", "answers", "fields", "cache",
         "tokens", "budget", "outline", "recognition", "layout", "column", "paragraph", "heading", "figure",
         "citation", "source", "bytes", "engine"]


def _page(n: int, lines: int) -> list[Text]:
    items = [Text(72, 50, f"Section {n}: measured results", 16, bold=True)]
    for i in range(lines):
        words = [WORDS[(n * 7 + i * 3 + k) % len(WORDS)] for k in range(11)]
        items.append(Text(72, 80 + 14 * i, f"{i + 1}. " + " ".join(words) + f" {n * 100 + i}.", 10))
    return items


def text_pdf(pages: int) -> bytes:
    return make_pdf([_page(n, 45) for n in range(1, pages + 1)], title="Cache benchmark")


def scanned_pdf(pages: int) -> bytes:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(make_pdf([_page(n, 20) for n in range(1, pages + 1)]))
    images = [pdf[i].render(scale=150 / 72).to_pil().convert("RGB") for i in range(pages)]
    pdf.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return out.getvalue()


def timed_read(path: str, settings: Settings, engine=None) -> tuple[float, list[str], dict]:
    start = time.perf_counter()
    result = read_document(path, max_chars=10**8, settings=settings, engine=engine)
    return time.perf_counter() - start, [p.content for p in result.pages], result.methods


def child(path: str, cache_dir: str) -> None:
    """The 'restarted server': a new process, a new cache object, the same directory."""
    settings = Settings.from_env(roots=[Path(path).parent], cache_dir=Path(cache_dir))
    seconds, contents, methods = timed_read(path, settings)
    print(json.dumps({"seconds": seconds, "chars": sum(map(len, contents)), "methods": methods}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=32)
    args = parser.parse_args()
    from mcp_docvl.engines.ocr import OcrEngine

    engine = OcrEngine()
    engine.warm()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "text.pdf").write_bytes(text_pdf(args.pages))
        (folder / "scan.pdf").write_bytes(scanned_pdf(args.pages))
        print(f"{args.pages}-page PDFs; cache in a fresh temporary directory; times are read_document of every page")
        for name, label, target in (("text.pdf", "text layer", 10), ("scan.pdf", "OCR", 50)):
            cache_dir = folder / f"cache-{name}"
            settings = Settings.from_env(roots=[folder], cache_dir=cache_dir)
            path = str(folder / name)
            first, contents, methods = timed_read(path, settings, engine)
            second, again, _ = timed_read(path, settings, engine)
            assert again == contents, "cached content differs from the first read"
            out = subprocess.run([sys.executable, __file__, "--child", path, str(cache_dir)], check=True,
                                 capture_output=True, text=True).stdout
            restart = json.loads(out.strip().splitlines()[-1])
            assert restart["chars"] == sum(map(len, contents))
            print(f"{label:>10}: methods {methods}; first {first:8.3f} s | second {second:.4f} s "
                  f"({first / second:6.1f}x) | new process {restart['seconds']:.4f} s "
                  f"({first / restart['seconds']:6.1f}x); target >= {target}x: "
                  f"{'met' if min(first / second, first / restart['seconds']) >= target else 'NOT met'}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
