"""Refit the token estimate of mcp_docvl/tokens.py against real tokenizers.

Needs token counts from a real tokenizer, made outside the project (no vocabulary ships with it), e.g. with
the npm packages @dqbd/tiktoken (cl100k_base, o200k_base encoders included) in node:

    python tools/calibrate_tokens.py dump texts.json          # page texts of ../shared/eval via read_document
    node count.mjs                                             # adds "cl100k"/"o200k" counts to each item
    python tools/calibrate_tokens.py fit counts.json           # prints coefficients and held-out errors
"""

from __future__ import annotations

import glob
import json
import sys
from pathlib import Path

import numpy as np

from mcp_docvl.config import Settings
from mcp_docvl.features.read import read_document
from mcp_docvl.tokens import COEFFICIENTS, features

EVAL = Path(__file__).resolve().parents[1] / ".." / "shared" / "eval"


def dump(out: Path) -> None:
    settings = Settings.from_env(roots=["/"], cache_max_bytes=0)
    items = []
    pdfs = [pdf for folder in ("icdar2013", "realworld-pdfs") for pdf in sorted((EVAL / folder).glob("*.pdf"))]
    for pdf in pdfs:
        try:
            result = read_document(pdf, settings=settings, max_chars=10**7)
        except Exception:  # unreadable files (encrypted, empty) simply give no sample
            continue
        items += [{"src": Path(pdf).name, "page": p.page, "text": p.content}
                  for p in result.pages if p.method == "text_layer" and p.content.strip()]
    for box in sorted(glob.glob(str(EVAL / "sroie" / "box" / "*.csv"))):
        lines = [row.split(",", 8)[8] for row in Path(box).read_text(errors="replace").splitlines()
                 if row.count(",") >= 8]
        items.append({"src": Path(box).name, "page": 1, "text": "\n".join(lines)})
    out.write_text(json.dumps(items))
    print(f"{len(items)} texts written to {out}")


def fit(counts: Path) -> None:
    items = json.loads(counts.read_text())
    x = np.array([features(i["text"]) for i in items], float)
    order = np.random.default_rng(0).permutation(len(items))
    train, test = order[: len(items) * 2 // 3], order[len(items) * 2 // 3:]
    target = np.array([(i["cl100k"] + i["o200k"]) / 2 for i in items], float)
    coef, *_ = np.linalg.lstsq(x[train], target[train], rcond=None)
    print("fitted:", np.round(coef, 2).tolist(), " in use:", list(COEFFICIENTS))
    for name in [k for k in ("cl100k", "o200k", "claude") if k in items[0]]:
        y = np.array([i[name] for i in items], float)
        err = (x[test] @ np.array(COEFFICIENTS) - y[test]) / y[test]
        total = ((x[test] @ np.array(COEFFICIENTS)).sum() - y[test].sum()) / y[test].sum()
        print(f"{name}: {len(test)} held-out pages, median |error| {np.median(abs(err)):.3f}, "
              f"p90 {np.percentile(abs(err), 90):.3f}, error on the total {total:+.3f}")


if __name__ == "__main__":
    {"dump": dump, "fit": fit}[sys.argv[1]](Path(sys.argv[2]))
