"""Key-field accuracy of `extract_fields(preset="receipt")` on the SROIE receipts in ../shared/eval/sroie/.

Exact match per field after case folding and removing whitespace; dates match as printed or as ISO 8601;
totals match as printed, or by numeric value (the ground truth keeps currency prefixes such as "RM4.00").

    python tools/eval_fields.py [--limit N] [--ocr-cache DIR] [--show-misses]

`--ocr-cache` keeps each receipt's OCR result on disk, so tuning rules does not re-run OCR; final figures
should come from a run without it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import re
import time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from mcp_docvl.config import Settings
from mcp_docvl.engines.base import PageTranscript
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.extract.parsers import find_dates
from mcp_docvl.features.fields import extract_fields

SROIE = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "sroie"
FIELDS = ("company", "date", "address", "total")


class CachedEngine:
    """The OCR engine with its transcripts kept on disk by image hash (for fast iteration only)."""

    name = "ocr"

    def __init__(self, folder: Path) -> None:
        self._engine = OcrEngine()
        self._folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def warm(self) -> None:
        self._engine.warm()

    def cache_config(self) -> None:
        return None

    def transcribe_page(self, image) -> PageTranscript:
        key = hashlib.sha256(image.tobytes()).hexdigest()[:32]
        path = self._folder / f"{key}.pkl"
        if path.exists():
            return pickle.loads(path.read_bytes())
        transcript = self._engine.transcribe_page(image)
        path.write_bytes(pickle.dumps(transcript))
        return transcript


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", str(text)).casefold()


def _number(text: str) -> Decimal | None:
    digits = re.sub(r"[^\d.]", "", str(text).replace(",", ""))
    try:
        return Decimal(digits) if digits else None
    except InvalidOperation:
        return None


def matches(field: str, truth: str, value: object, printed: str | None) -> bool:
    if value is None:
        return False
    if field == "date":
        iso = [m.value for m in find_dates(truth)]
        return _norm(printed or "") == _norm(truth) or (bool(iso) and value == iso[0])
    if field == "total":
        number = _number(truth)
        return _norm(printed or "") == _norm(truth) or (number is not None and Decimal(str(value)) == number)
    return _norm(str(value)) == _norm(truth)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="Score only the first N receipts.")
    parser.add_argument("--ocr-cache", type=Path, default=None, help="Keep OCR results in this folder.")
    parser.add_argument("--show-misses", action="store_true", help="Print every wrong field.")
    args = parser.parse_args()
    if not (SROIE / "img").is_dir():
        print(f"skipped: evaluation data {SROIE.resolve()} is absent (it lives in ../shared/eval beside the checkout)")
        return 0
    # No disk cache: the figures must come from a clean run.
    settings = Settings.from_env(roots=[SROIE.resolve()], cache_max_bytes=0)
    engine = CachedEngine(args.ocr_cache) if args.ocr_cache else OcrEngine()
    images = sorted((SROIE / "img").glob("*.jpg"))[: args.limit]
    hits = dict.fromkeys(FIELDS, 0)
    seconds = []
    for image in images:
        truth = json.loads((SROIE / "key" / f"{image.stem}.json").read_text())
        start = time.perf_counter()
        result = extract_fields(str(image.resolve()), preset="receipt", settings=settings, engine=engine)
        seconds.append(time.perf_counter() - start)
        for field in FIELDS:
            got = result.fields[field]
            printed = got.citation.text if got.citation else None
            ok = matches(field, truth.get(field, ""), got.value, printed)
            hits[field] += ok
            if not ok and args.show_misses:
                print(f"{image.stem} {field:8} want {truth.get(field)!r}\n{'':13}got  {got.value!r} ({printed!r})")
    count = len(images)
    print(f"receipts: {count}   engine: {engine.name}{' (cached OCR)' if args.ocr_cache else ''}   "
          f"median seconds per receipt: {sorted(seconds)[count // 2]:.2f}")
    for field in FIELDS:
        print(f"{field:8} {hits[field] / count:.3f}  ({hits[field]}/{count})")
    print(f"{'mean':8} {sum(hits.values()) / (count * len(FIELDS)):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
