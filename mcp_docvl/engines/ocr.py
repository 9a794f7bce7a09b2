"""The embedded engine: RapidOCR (PP-OCR ONNX models shipped inside its wheel) on onnxruntime, CPU only."""

from __future__ import annotations

import logging
import threading

import numpy as np
from PIL import Image

from mcp_docvl.documents.model import Word
from mcp_docvl.engines.base import PageTranscript
from mcp_docvl.errors import EngineError


class OcrEngine:
    name = "ocr"

    def __init__(self) -> None:
        self._ocr = None
        # One recognition at a time: onnxruntime already uses every core for one image.
        self._lock = threading.Lock()

    def _engine(self):
        if self._ocr is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:  # pragma: no cover - rapidocr is a hard dependency
                raise EngineError("RapidOCR is not installed.", "pip install rapidocr onnxruntime") from exc
            # No angle classifier: it flips upright lines of receipts and forms more often than it rescues
            # upside-down ones (CER 0.162 -> 0.152 on SROIE), and it costs a model run per line.
            self._ocr = RapidOCR(params={"Global.log_level": "error", "Global.use_cls": False})
            # RapidOCR logs every model path at INFO on its own logger; keep our output clean.
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return self._ocr

    def warm(self) -> None:
        """Load the models now (so the first request does not pay for it)."""
        with self._lock:
            self._engine()

    def transcribe_page(self, image: Image.Image) -> PageTranscript:
        array = np.asarray(image.convert("RGB"))
        with self._lock:
            try:
                result = self._engine()(array, return_word_box=True)
            except Exception as exc:
                raise EngineError(f"OCR failed on the page image ({exc}).", "Check the image.") from exc
        if result.txts is None or len(result.txts) == 0:
            return PageTranscript(words=[], confidence=0.0)
        lines: list[list[Word]] = []
        scores: list[float] = []
        word_results = result.word_results or ()
        for index, (box, text, score) in enumerate(zip(result.boxes, result.txts, result.scores, strict=False)):
            scores.append(float(score))
            line_words = word_results[index] if index < len(word_results) else ()
            words = _line_words(np.asarray(box), text, float(score), line_words)
            if words:
                lines.append(words)
        weights = [len(t) for t in result.txts]
        confidence = float(np.average(scores, weights=weights)) if sum(weights) else 0.0
        return PageTranscript(words=[w for line in lines for w in line], confidence=confidence)


_BOX_HEIGHT_KEPT = 0.65


def _line_words(box: np.ndarray, text: str, score: float, word_boxes) -> list[Word]:
    """Words of one recognised line with their own boxes; the line's box split by characters if none came back."""
    x0, y0 = float(box[:, 0].min()), float(box[:, 1].min())
    x1, y1 = float(box[:, 0].max()), float(box[:, 1].max())
    # The detector pads its boxes by about half a line above and below; undo that so that neighbouring lines of a
    # tightly set page do not overlap and merge into one row.
    pad = (y1 - y0) * (1 - _BOX_HEIGHT_KEPT) / 2
    y0, y1 = y0 + pad, y1 - pad
    height = y1 - y0
    out: list[Word] = []
    tokens = text.split()
    if word_boxes and len(word_boxes) == len(tokens):
        for token, (_, word_score, quad) in zip(tokens, word_boxes, strict=True):
            q = np.asarray(quad, dtype=float)
            out.append(Word(text=token, bbox=(float(q[:, 0].min()), y0, float(q[:, 0].max()), y1),
                            size=height, confidence=min(score, float(word_score))))
        return out
    total = max(len(text), 1)
    cursor = 0
    for token in tokens:
        start = text.index(token, cursor)
        end = start + len(token)
        cursor = end
        out.append(Word(text=token, bbox=(x0 + (x1 - x0) * start / total, y0, x0 + (x1 - x0) * end / total, y1),
                        size=height, confidence=score))
    return out
