"""Score table extraction on ICDAR 2013 (../shared/eval/icdar2013): structure by the adjacency-relation metric,
detection against the -reg.xml regions, and seconds per page.

    python tools/eval_tables.py               # digital path: text layer + vector rules
    python tools/eval_tables.py --as-images   # every page rendered at 150 dpi, OCR + image rules
    python tools/eval_tables.py -v            # per-document figures

Adjacency relations (Göbel et al., ICDAR 2013): for each non-empty cell, its nearest non-empty neighbour to the
right (sharing a row) and below (sharing a column), each with both contents normalised (case-folded, letters and
digits only). Precision/recall/F1 are micro-averaged over all ground-truth tables; a ground-truth table that was
not detected contributes all its relations as misses; detected tables that match no ground truth are counted in
detection precision, not in the structure figures.

Detection: a ground-truth region counts as found when one predicted table on its page covers at least half of it
and lies at least half inside it (completeness and purity by area).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mcp_docvl.documents import open_document
from mcp_docvl.documents.model import Word
from mcp_docvl.extract.tables.grid import find_tables
from mcp_docvl.extract.tables.page import image_page_tables

EVAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval" / "icdar2013"
DPI = 150


@dataclass
class GtTable:
    page: int
    bbox: tuple[float, float, float, float]  # PDF points, origin bottom-left
    cells: list[tuple[int, int, int, int, str]]  # r0, c0, r1, c1, text


def normalise(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def relations(cells: list[tuple[int, int, int, int, str]]) -> Counter:
    filled = [(r0, c0, r1, c1, normalise(t)) for r0, c0, r1, c1, t in cells if normalise(t)]
    out: Counter = Counter()
    for r0, c0, r1, c1, text in filled:
        right = [c for c in filled if c[1] > c1 and c[0] <= r1 and c[2] >= r0]
        if right:
            nearest = min(c[1] for c in right)
            for c in right:
                if c[1] == nearest:
                    out[(text, c[4], "R")] += 1
        below = [c for c in filled if c[0] > r1 and c[1] <= c1 and c[3] >= c0]
        if below:
            nearest = min(c[0] for c in below)
            for c in below:
                if c[0] == nearest:
                    out[(text, c[4], "D")] += 1
    return out


def load_ground_truth(name: str) -> list[GtTable]:
    structure = ET.parse(EVAL / f"{name}-str.xml").getroot()
    regions = ET.parse(EVAL / f"{name}-reg.xml").getroot()
    boxes: dict[tuple[str, int], tuple[int, tuple[float, ...]]] = {}
    for table in regions.iter("table"):
        for k, region in enumerate(table.iter("region")):
            bb = region.find("bounding-box")
            boxes[(table.get("id"), k)] = (int(region.get("page")), tuple(float(bb.get(a)) for a in
                                                                          ("x1", "y1", "x2", "y2")))
    out: list[GtTable] = []
    for table in structure.iter("table"):
        for k, region in enumerate(table.iter("region")):
            cells = []
            for cell in region.iter("cell"):
                r0, c0 = int(cell.get("start-row")), int(cell.get("start-col"))
                r1, c1 = int(cell.get("end-row", r0)), int(cell.get("end-col", c0))
                cells.append((r0, c0, r1, c1, cell.findtext("content") or ""))
            page, bbox = boxes.get((table.get("id"), k), (int(region.get("page")), (0, 0, 0, 0)))
            out.append(GtTable(page=page, bbox=bbox, cells=cells))  # type: ignore[arg-type]
    return out


def overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0) * max(h, 0)


def area(b) -> float:
    return max(b[2] - b[0], 0) * max(b[3] - b[1], 0)


def predict(path: Path, as_images: bool, engine) -> tuple[dict[int, list], int, float, float]:
    """Predicted tables per page (bboxes in PDF points, bottom-left origin), page count, wall and CPU seconds."""
    doc = open_document(path.read_bytes(), "application/pdf")
    out: dict[int, list] = {}
    start, cpu = time.perf_counter(), time.process_time()
    try:
        for index in range(doc.page_count):
            if as_images:
                width, height, _ = doc.page_size(index)
                image = doc.render(index, DPI)
                sx, sy = width / image.width, height / image.height
                words = [Word(text=w.text, bbox=(w.bbox[0] * sx, w.bbox[1] * sy, w.bbox[2] * sx, w.bbox[3] * sy),
                              size=w.size * sy, confidence=w.confidence)
                         for w in engine.transcribe_page(image).words]
                tables = image_page_tables(image, words, (sx, sy))
            else:
                layer = doc.text_layer(index)
                height = layer.height
                tables = find_tables(layer.words, doc.vector_rulings(index, layer.rotation))
            out[index + 1] = [((t.bbox[0], height - t.bbox[3], t.bbox[2], height - t.bbox[1]), t) for t in tables]
        return out, doc.page_count, time.perf_counter() - start, time.process_time() - cpu
    finally:
        doc.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--as-images", action="store_true", help="render pages at 150 dpi and use the scanned path")
    parser.add_argument("-v", "--verbose", action="store_true", help="per-document figures")
    parser.add_argument("--only", help="substring of the document names to run")
    args = parser.parse_args()
    if not EVAL.is_dir():
        print(f"ICDAR 2013 data not found at {EVAL.resolve()}; nothing to score.")
        return 2
    engine = None
    if args.as_images:
        from mcp_docvl.engines.ocr import OcrEngine

        engine = OcrEngine()
        engine.warm()
    names = sorted(p.name[:-8] for p in EVAL.glob("*-str.xml") if not args.only or args.only in p.name)
    tp = fp = fn = 0
    found = gt_count = pred_count = pred_matched = 0
    pages = 0
    seconds = cpu_seconds = 0.0
    for name in names:
        truth = load_ground_truth(name)
        predicted, n_pages, secs, cpu = predict(EVAL / f"{name}.pdf", args.as_images, engine)
        pages += n_pages
        seconds += secs
        cpu_seconds += cpu
        d_tp = d_fp = d_fn = 0
        d_found = 0
        taken: set[tuple[int, int]] = set()
        for gt in truth:
            gt_rel = relations(gt.cells)
            best, best_key = None, None
            for k, (box, table) in enumerate(predicted.get(gt.page, [])):
                if (gt.page, k) in taken:
                    continue
                inter = overlap(box, gt.bbox)
                if inter >= 0.5 * area(gt.bbox) and inter >= 0.5 * area(box) and (
                        best is None or inter > overlap(best[0], gt.bbox)):
                    best, best_key = (box, table), (gt.page, k)
            if best is None:
                d_fn += sum(gt_rel.values())
                continue
            taken.add(best_key)  # type: ignore[arg-type]
            d_found += 1
            table = best[1]
            pred_rel = relations([(c.row, c.col, c.row + c.row_span - 1, c.col + c.col_span - 1, c.text)
                                  for c in table.cells])
            hit = sum((gt_rel & pred_rel).values())
            d_tp += hit
            d_fp += sum(pred_rel.values()) - hit
            d_fn += sum(gt_rel.values()) - hit
        n_pred = sum(len(v) for v in predicted.values())
        tp, fp, fn = tp + d_tp, fp + d_fp, fn + d_fn
        found += d_found
        gt_count += len(truth)
        pred_count += n_pred
        pred_matched += len(taken)
        if args.verbose:
            p = d_tp / (d_tp + d_fp) if d_tp + d_fp else 0.0
            r = d_tp / (d_tp + d_fn) if d_tp + d_fn else 0.0
            print(f"{name:8s} tables {d_found}/{len(truth)} found, {n_pred} predicted; adjacency P {p:.3f} "
                  f"R {r:.3f} ({d_tp} correct, {d_fp} wrong, {d_fn} missed); {secs / n_pages * 1000:.0f} ms/page",
                  flush=True)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    path = f"page images at {DPI} dpi (OCR + image rules)" if args.as_images else "digital (text layer + vector rules)"
    print(f"ICDAR 2013, {len(names)} documents, {pages} pages, {gt_count} tables; path: {path}")
    print(f"adjacency relations: precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  "
          f"({tp} correct, {fp} wrong, {fn} missed)")
    print(f"detection: recall {found / gt_count:.3f} ({found}/{gt_count})  "
          f"precision {pred_matched / pred_count if pred_count else 0:.3f} ({pred_matched}/{pred_count})")
    # CPU time as well as wall time: on a shared machine the wall clock also counts other people's work.
    print(f"seconds per page: {seconds / pages:.4f} wall, {cpu_seconds / pages:.4f} CPU "
          f"({seconds:.1f} s wall, {cpu_seconds:.1f} s CPU for {pages} pages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
