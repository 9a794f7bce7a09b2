"""Fuzz the document loaders (PDF through PDFium, images through Pillow) and the page pipeline behind them.

Coverage-guided with atheris (libFuzzer) when it is installed, else random mutation with hypothesis. Seeds are
the project's sample documents, small real-world PDFs from ../shared/eval when present, and images written here.

A finding is a native crash, a hang (libFuzzer -timeout), memory past -rss_limit_mb, or a Python exception that
is not a DocvlError (bad input must always end in a clear DocvlError). Non-DocvlError exceptions are recorded
under --artifacts and counted rather than stopping the run, so one run reports all of them.

    python tools/fuzz_documents.py --seconds 600                 # atheris, prints a summary at the end
    python tools/fuzz_documents.py --engine hypothesis --seconds 60
"""

from __future__ import annotations

import argparse
import atexit
import collections
import contextlib
import hashlib
import io
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from mcp_docvl.config import Settings  # noqa: E402
from mcp_docvl.engines.base import PageTranscript  # noqa: E402
from mcp_docvl.errors import DocvlError  # noqa: E402

EVAL_PDFS = ROOT / ".." / "shared" / "eval" / "realworld-pdfs"
SETTINGS = Settings(roots=[ROOT], max_bytes=2_000_000, max_pages_per_call=3, max_page_pixels=2_000_000, ocr_dpi=36)
unexpected: collections.Counter[str] = collections.Counter()
runs = 0
STARTED = time.monotonic()
artifacts = Path(tempfile.gettempdir()) / "docvl-fuzz-artifacts"


class NullEngine:
    """Stands in for OCR so the fuzzer spends its time in the loaders and layout code, not in recognition."""

    name = "null"

    def transcribe_page(self, image: Image.Image) -> PageTranscript:
        image.getbbox()  # touch the pixels: a bad render shows up here
        return PageTranscript()

    def warm(self) -> None:
        pass

    def cache_config(self) -> None:
        return None


ENGINE = NullEngine()


def seeds() -> list[bytes]:
    out = [p.read_bytes() for p in (ROOT / "resources").iterdir() if p.suffix in (".pdf", ".png")]
    if EVAL_PDFS.is_dir():
        out += [p.read_bytes() for p in sorted(EVAL_PDFS.glob("*.pdf")) if p.stat().st_size < 60_000]
    base = Image.new("RGB", (64, 48), "white")
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
        buf = io.BytesIO()
        base.save(buf, fmt)
        out.append(buf.getvalue())
    buf = io.BytesIO()
    base.save(buf, "TIFF", save_all=True, append_images=[base.convert("L"), base.convert("1")], compression="tiff_lzw")
    out.append(buf.getvalue())
    return out


def one_input(data: bytes) -> None:
    global runs
    from mcp_docvl.features.read import read_document
    from mcp_docvl.sources.loader import Source
    from mcp_docvl.sources.media import sniff_media_type

    runs += 1
    try:
        media = sniff_media_type(data)
        source = Source(data=data, media_type=media, sha256=hashlib.sha256(data).hexdigest(), name="fuzz",
                        origin="inline")
        read_document(source, settings=SETTINGS, engine=ENGINE, format="markdown")
    except DocvlError:
        pass
    except Exception as exc:  # a finding: record it and keep fuzzing
        key = f"{type(exc).__name__}: {str(exc)[:80]}"
        if key not in unexpected:
            artifacts.mkdir(exist_ok=True)
            (artifacts / f"unexpected-{hashlib.sha1(data).hexdigest()[:12]}").write_bytes(data)
            print(f"\nunexpected exception: {key}", file=sys.stderr)
        unexpected[key] += 1
    if runs % 5000 == 0:
        summary(STARTED)


def summary(started: float) -> None:
    print(f"\nfuzz summary: {runs} inputs in {time.monotonic() - started:.0f} s; "
          f"unexpected exceptions: {sum(unexpected.values())} ({len(unexpected)} kinds)", file=sys.stderr)
    for key, count in unexpected.most_common():
        print(f"  {count:6d}  {key}", file=sys.stderr)


def run_atheris(seconds: int, corpus: Path, extra: list[str]) -> None:
    import atheris

    corpus.mkdir(parents=True, exist_ok=True)
    for data in seeds():
        (corpus / hashlib.sha1(data).hexdigest()).write_bytes(data)
    with atheris.instrument_imports(include=["mcp_docvl"]):
        import mcp_docvl.features.read  # noqa: F401
    argv = [sys.argv[0], str(corpus), f"-max_total_time={seconds}", "-timeout=30", "-rss_limit_mb=3072",
            "-max_len=300000", "-print_final_stats=1", *extra]
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


def run_hypothesis(seconds: int) -> None:
    import random

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    pool = seeds()
    deadline = time.monotonic() + seconds

    @settings(max_examples=10**9, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(pool) - 1), st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(max_size=16)),
                                                    max_size=8), st.randoms())
    def case(index: int, edits: list[tuple[int, bytes]], rnd: random.Random) -> None:
        if time.monotonic() > deadline:
            raise TimeoutError
        data = bytearray(pool[index])
        for at, chunk in edits:
            at %= max(len(data), 1)
            data[at:at + rnd.randint(0, len(chunk))] = chunk
        one_input(bytes(data))

    with contextlib.suppress(TimeoutError):
        case()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["atheris", "hypothesis"], default=None)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--corpus", type=Path, default=Path(tempfile.gettempdir()) / "docvl-fuzz-corpus")
    args, extra = parser.parse_known_args()
    engine = args.engine
    if engine is None:
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    # libFuzzer ends the process without running atexit handlers, so the summary is also printed every 5000 runs.
    atexit.register(summary, STARTED)
    print(f"fuzzing document loaders with {engine} for {args.seconds} s", file=sys.stderr)
    if engine == "atheris":
        run_atheris(args.seconds, args.corpus, extra)
    else:
        run_hypothesis(args.seconds)


if __name__ == "__main__":
    main()
