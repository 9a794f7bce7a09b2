"""Character error rate and speed of the OCR path on the SROIE receipts.

    python tools/eval_ocr.py [--limit N]

Reference: each receipt's `box/NNN.csv` transcriptions in the annotators' reading order. Hypothesis: the text
`read_document` returns for the image (format "text"). Both are case-folded with all whitespace removed, as the
field does (../shared/eval/README.md); CER = edit distance / reference length, summed over all receipts.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EVAL = (ROOT / ".." / "shared" / "eval").resolve()
sys.path.insert(0, str(ROOT))


def reference_text(path: Path) -> str:
    lines = []
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) >= 9:
                lines.append(",".join(row[8:]))
    return "\n".join(lines)


def normalise(text: str) -> str:
    return "".join(text.casefold().split())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="Only the first N receipts.")
    parser.add_argument("--eval", type=Path, default=EVAL, help="The evaluation data folder (../shared/eval).")
    parser.add_argument("--show", type=int, default=0, help="Print the N worst receipts side by side.")
    args = parser.parse_args()
    sroie = args.eval / "sroie"
    if not sroie.is_dir():
        print(f"skipped: evaluation data {sroie} is absent (it lives in ../shared/eval beside the checkout)")
        return 0

    from rapidfuzz.distance import Levenshtein

    from mcp_docvl.config import Settings
    from mcp_docvl.engines.ocr import OcrEngine
    from mcp_docvl.features.read import read_document

    # No disk cache: every pass must do the work it measures.
    settings = Settings.from_env(roots=[args.eval], cache_max_bytes=0)
    engine = OcrEngine()
    engine.warm()
    images = sorted((sroie / "img").glob("*.jpg"))[: args.limit]
    errors = 0
    total = 0
    edits: Counter[str] = Counter()
    unmatched = 0
    seconds: list[float] = []
    rows = []
    for image in images:
        ref = normalise(reference_text(sroie / "box" / f"{image.stem}.csv"))
        started = time.perf_counter()
        result = read_document(str(image), format="text", settings=settings, engine=engine, max_chars=10**7)
        seconds.append(time.perf_counter() - started)
        hyp = normalise(result.pages[0].content)
        distance = Levenshtein.distance(ref, hyp)
        errors += distance
        edits.update(op.tag for op in Levenshtein.editops(ref, hyp))
        # Characters that no reading order could pair up: what recognition (or the reference) got wrong.
        ref_chars, hyp_chars = Counter(ref), Counter(hyp)
        unmatched += max((ref_chars - hyp_chars).total(), (hyp_chars - ref_chars).total())
        total += len(ref)
        rows.append((distance / max(len(ref), 1), image.name, ref, hyp))
    print(f"receipts: {len(images)}")
    print(f"CER (case-folded, whitespace removed, reading order): {errors / total:.4f}  (target <= 0.08)")
    print(f"edits: {edits['insert']} inserted, {edits['delete']} deleted, {edits['replace']} substituted of {total}; "
          f"CER in any reading order is at least {unmatched / total:.4f} (characters compared as a bag)")
    print(f"seconds per receipt: median {statistics.median(seconds):.2f}, mean {statistics.mean(seconds):.2f}, "
          f"max {max(seconds):.2f}  (target <= 1.5)")
    for cer, name, ref, hyp in sorted(rows, reverse=True)[: args.show]:
        print(f"\n{name}: CER {cer:.3f}\n  ref: {ref[:300]}\n  hyp: {hyp[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
