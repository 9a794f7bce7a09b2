"""The embedded engine: RapidOCR (PP-OCR ONNX models shipped inside its wheel) on onnxruntime, CPU only."""

from __future__ import annotations

import copy
import importlib.util
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from rapidocr import RapidOCR
from rapidocr.ch_ppocr_det import TextDetector
from rapidocr.ch_ppocr_det.utils import DetPreProcess
from rapidocr.ch_ppocr_rec import TextRecInput, TextRecognizer, TextRecOutput
from rapidocr.main import RapidOCRError

from mcp_docvl.config import OCR_RUNTIMES, Settings
from mcp_docvl.documents.model import Word
from mcp_docvl.engines.base import PageTranscript
from mcp_docvl.errors import EngineError, InvalidArgument


@dataclass(frozen=True)
class OcrSettings:
    # Recognition runs as this many streams side by side, one thread each, each taking every n-th line of the page
    # (in order of width, so each gets a like share of the work); never more than the cores this process may use.
    # A batch of line images (6 x 48 x ~500 px) is too small for one inference to keep two cores busy: the threads
    # of one inference meet at every layer and wait for the slower one, while separate streams never wait for each
    # other. The detector still runs on every core (one large image divides well).
    # 1 (one recogniser on every core) until a quiet machine shows the gain: on the shared 2-core machine (load
    # average 5-8) two streams were no faster (a page's lines: min-of-4 wall 3.4 s one vs 4.1 s two).
    rec_streams: int = 1


OCR = OcrSettings()


class OcrEngine:
    name = "ocr"

    def __init__(self, settings: Settings | None = None, ocr: OcrSettings = OCR) -> None:
        self._ocr = None
        self._streams = max(1, min(ocr.rec_streams, usable_cores()))
        self._requested = (settings or Settings.from_env()).ocr_runtime
        self._runtime = resolve_runtime(self._requested)
        # One recognition at a time: the runtime already uses every core for one image.
        self._lock = threading.Lock()

    @property
    def runtime(self) -> str:
        """The inference runtime that runs the models: "openvino" or "onnxruntime"."""
        return self._runtime

    def _engine(self):
        if self._ocr is None:
            # No angle classifier: it flips upright lines of receipts and forms more often than it rescues
            # upside-down ones (CER 0.162 -> 0.152 on SROIE), and it costs a model run per line.
            params: dict[str, Any] = {"Global.log_level": "error", "Global.use_cls": False}
            if self._runtime == "openvino":
                try:
                    params |= _openvino_params()
                except EngineError as exc:
                    if self._requested.strip().lower() != "auto":
                        raise
                    logging.getLogger(__name__).warning("%s OCR runs on onnxruntime instead (slower).", exc.problem)
                    self._runtime = "onnxruntime"
            self._ocr = _EmbeddedOcr(params, self._streams)
            # RapidOCR logs every model path at INFO on its own logger; keep our output clean.
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return self._ocr

    def warm(self) -> None:
        """Load the models now (so the first request does not pay for it)."""
        with self._lock:
            self._engine()

    def cache_config(self) -> None:
        """Nothing beyond the name shapes a transcript (the models ship with the package version)."""
        return None

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
            words = _line_words(np.asarray(box), _ascii_forms(text), float(score), line_words)
            if words:
                lines.append(words)
        colons = lone_colons(np.asarray(image.convert("L")), [np.asarray(b, dtype=float) for b in result.boxes])
        weights = [len(t) for t in result.txts]
        confidence = float(np.average(scores, weights=weights)) if sum(weights) else 0.0
        return PageTranscript(words=[w for line in lines for w in line] + colons, confidence=confidence)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the OS has one, else every core)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


class _DetPreProcess(DetPreProcess):
    """RapidOCR's detector input (resized, normalised, channels first) with the normalising done in one OpenCV
    call: numpy's three float passes over a 3-megapixel page took ~90 ms of single-threaded CPU a page, this ~12."""

    def __call__(self, img: np.ndarray) -> np.ndarray | None:
        std = np.asarray(self.std, dtype=float)
        if not np.allclose(std, std[0]):  # one scale factor for all channels only
            return super().__call__(img)
        resized = self.resize(img)
        if resized is None:
            return None
        mean = tuple(float(m) * 255 for m in self.mean)
        return cv2.dnn.blobFromImage(resized, scalefactor=1 / (255 * float(std[0])), mean=mean, swapRB=False)


class _TextDetector(TextDetector):
    def get_preprocess(self) -> DetPreProcess:
        return _DetPreProcess(self.limit_side_len, self.limit_type, self.mean, self.std)


class _EmbeddedOcr(RapidOCR):
    """RapidOCR with a faster detector input (_DetPreProcess) and, with `streams` > 1, line recognition run as
    that many single-threaded recognisers side by side (OcrSettings.rec_streams says why). Cropping and word boxes
    are RapidOCR's own."""

    def __init__(self, params: dict[str, Any], streams: int) -> None:
        super().__init__(params=params)
        self.cfg.Det.engine_cfg = self.cfg.EngineConfig[self.cfg.Det.engine_type.value]
        self.cfg.Det.model_root_dir = self.cfg.Global.model_root_dir
        self.text_det = _TextDetector(self.cfg.Det)
        self._streams = streams
        if streams < 2:
            return
        cfg = copy.deepcopy(self.cfg.Rec)
        runtime = copy.deepcopy(self.cfg.EngineConfig[cfg.engine_type.value])
        # One thread per recogniser (OpenVINO's and onnxruntime's names for it).
        runtime.inference_num_threads = 1
        runtime.intra_op_num_threads = 1
        runtime.inter_op_num_threads = 1
        cfg.engine_cfg = runtime
        cfg.font_path = self.cfg.Global.font_path
        cfg.model_root_dir = self.cfg.Global.model_root_dir
        self._recognisers = [TextRecognizer(cfg) for _ in range(streams)]
        self._pool = ThreadPoolExecutor(streams, thread_name_prefix="docvl-ocr")

    def recognize_txt(self, img: list[np.ndarray]) -> TextRecOutput:
        count = min(self._streams, len(img))
        if count < 2:
            return super().recognize_txt(img)
        by_width = [int(i) for i in np.argsort([crop.shape[1] / max(crop.shape[0], 1) for crop in img], kind="stable")]
        shares = [by_width[k::count] for k in range(count)]
        outputs = list(self._pool.map(lambda rec, share: self._recognise(rec, img, share),
                                      self._recognisers[:count], shares))
        txts: list[str] = [""] * len(img)
        scores: list[float] = [0.0] * len(img)
        words: list[Any] = [None] * len(img)
        for share, out in zip(shares, outputs, strict=True):
            for position, index in enumerate(share):
                txts[index] = out.txts[position]
                scores[index] = out.scores[position]
                words[index] = out.word_results[position]
        return TextRecOutput(imgs=img, txts=tuple(txts), scores=scores, word_results=tuple(words),
                             elapse=max(out.elapse or 0.0 for out in outputs), viser=outputs[0].viser)

    def _recognise(self, recogniser: TextRecognizer, img: list[np.ndarray], share: list[int]) -> TextRecOutput:
        out = recogniser(TextRecInput(img=[img[i] for i in share], return_word_box=self.return_word_box))
        if out.txts is None:
            raise RapidOCRError("The text recognize result is empty")
        return out


def resolve_runtime(name: str) -> str:
    """The runtime `name` ("auto", "openvino", "onnxruntime") stands for on this machine."""
    wanted = name.strip().lower()
    if wanted not in OCR_RUNTIMES:
        raise InvalidArgument(f"Unknown OCR runtime {name!r}.",
                              f"Set DOCVL_OCR_RUNTIME to one of: {', '.join(OCR_RUNTIMES)}.")
    installed = importlib.util.find_spec("openvino") is not None
    if wanted == "openvino" and not installed:
        raise EngineError("The OCR runtime 'openvino' is not installed.",
                          "pip install openvino, or set DOCVL_OCR_RUNTIME=onnxruntime.")
    if wanted == "auto":
        return "openvino" if installed else "onnxruntime"
    return wanted


def _openvino_params() -> dict[str, Any]:
    """RapidOCR settings that run its own ONNX models (shipped in its wheel) on OpenVINO instead of onnxruntime.

    The files are the ones the onnxruntime engine would load: OpenVINO reads ONNX directly, so nothing is
    converted or downloaded. OpenVINO's CPU plugin computes in bfloat16 where the CPU has it in hardware (AMX,
    AVX-512 BF16) and in float32 elsewhere.
    """
    try:
        import rapidocr
        from rapidocr import EngineType
        from rapidocr.inference_engine.base import FileInfo, InferSession
        from rapidocr.utils.parse_parameters import ParseParams

        defaults = ParseParams.load(Path(rapidocr.__file__).parent / "config.yaml")
        models = Path(rapidocr.__file__).parent / "models"
        tasks = {task: InferSession.get_model_url(FileInfo(
            engine_type=EngineType.ONNXRUNTIME, ocr_version=defaults[task].ocr_version,
            task_type=defaults[task].task_type, lang_type=defaults[task].lang_type,
            model_type=defaults[task].model_type)) for task in ("Det", "Rec")}
    except (ImportError, AttributeError, KeyError, ValueError) as exc:
        raise EngineError(f"This rapidocr version cannot run its models on OpenVINO ({exc}).",
                          "pip install -U rapidocr, or set DOCVL_OCR_RUNTIME=onnxruntime.") from exc
    params: dict[str, Any] = {}
    for task, info in tasks.items():
        path = models / Path(info["model_dir"]).name
        if not path.is_file():
            raise EngineError(f"RapidOCR's {task} model {path} is missing.",
                              "Reinstall rapidocr, or set DOCVL_OCR_RUNTIME=onnxruntime.")
        params[f"{task}.engine_type"] = EngineType.OPENVINO
        params[f"{task}.model_path"] = str(path)
    return params


_BOX_HEIGHT_KEPT = 0.65
# Han, kana, Hangul and CJK punctuation: a line holding any keeps its full-width forms, which belong to that script.
_CJK = re.compile("[\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}


def _ascii_forms(text: str) -> str:
    """Full-width ASCII forms ("：", "，", "（") as ASCII in lines without CJK text.

    The recogniser is trained mostly on Chinese and writes full-width punctuation after Latin letters too
    ("TOTAL：12.50"), which breaks every search for "TOTAL:". One character for one, so word boxes do not move.
    """
    if not any(0xFF01 <= ord(c) <= 0xFF5E for c in text) or _CJK.search(text):
        return text
    return text.translate(_FULL_WIDTH)


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


# Grey levels below the paper's that count as ink when looking for a lone colon.
_INK_CONTRAST = 40


def lone_colons(gray: np.ndarray, boxes: list[np.ndarray]) -> list[Word]:
    """Colons printed on their own between a label and its value ("CASHIER   :   ANNA"), which the detector drops.

    The text detector finds words, not a lone pair of dots, so forms and receipts lose the colon that separates
    each label from its value (125 of the 569 characters our OCR never wrote on the SROIE receipts). Between two
    boxes of one row, the gap is searched for ink: exactly two dot-sized blobs of similar size, one above the
    other, in the middle of the text height, make a colon. Anything else in the gap (a mark, a stray letter,
    noise that survives the size filter) leaves it alone.
    """

    if not boxes or gray.size == 0:
        return []
    spans = np.array([(b[:, 0].min(), b[:, 1].min(), b[:, 0].max(), b[:, 1].max()) for b in boxes], dtype=float)
    heights = spans[:, 3] - spans[:, 1]
    found: list[Word] = []
    for left, height in zip(spans, heights, strict=True):
        # The nearest box to the right on the same row: most of the smaller height shared.
        overlap = np.minimum(left[3], spans[:, 3]) - np.maximum(left[1], spans[:, 1])
        beside = (spans[:, 0] > left[2]) & (overlap >= 0.6 * np.minimum(height, heights))
        if not beside.any():
            continue
        right = spans[np.flatnonzero(beside)[np.argmin(spans[beside, 0])]]
        text = min(height, right[3] - right[1]) * _BOX_HEIGHT_KEPT  # the detector pads boxes above and below
        # Clamped to the image: detector boxes may reach past its edges (a negative start would wrap around).
        x0, x1 = max(0, int(np.ceil(left[2])) + 1), min(gray.shape[1], int(np.floor(right[0])) - 1)
        y0, y1 = max(0, int(max(left[1], right[1]))), min(gray.shape[0], int(np.ceil(min(left[3], right[3]))))
        if x1 - x0 < 0.25 * text or y1 - y0 < text or text < 6:
            continue
        gap = gray[y0:y1, x0:x1]
        if gap.size == 0:
            continue
        # Ink against this gap's own paper: lone colons are often printed fainter than the words (thermal paper),
        # so a page-wide threshold set by the dark text misses them.
        colon = _colon_in(gap < np.median(gap) - _INK_CONTRAST, text)
        if colon is not None:
            cx0, _, cx1, _ = colon
            middle = (y0 + y1) / 2
            found.append(Word(text=":", bbox=(x0 + cx0, middle - text / 2, x0 + cx1, middle + text / 2), size=text,
                              confidence=0.9))
    return found


def _colon_in(ink: np.ndarray, text: float) -> tuple[float, float, float, float] | None:
    """The box of the one colon in `ink` (a gap between words, text `text` px high), or None."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    speck = max(2.0, (0.05 * text) ** 2)
    blobs = [stats[i] for i in range(1, count) if stats[i][cv2.CC_STAT_AREA] >= speck]
    if len(blobs) != 2:
        return None
    upper, lower = sorted(blobs, key=lambda b: b[cv2.CC_STAT_TOP])
    for blob in (upper, lower):
        w, h = blob[cv2.CC_STAT_WIDTH], blob[cv2.CC_STAT_HEIGHT]
        if not (0.05 * text <= w <= 0.4 * text and 0.05 * text <= h <= 0.4 * text and 0.4 <= w / h <= 2.5):
            return None
    area_up, area_low = upper[cv2.CC_STAT_AREA], lower[cv2.CC_STAT_AREA]
    if not 0.4 <= area_up / area_low <= 2.5:
        return None
    centre_up = upper[cv2.CC_STAT_LEFT] + upper[cv2.CC_STAT_WIDTH] / 2
    centre_low = lower[cv2.CC_STAT_LEFT] + lower[cv2.CC_STAT_WIDTH] / 2
    if abs(centre_up - centre_low) > max(upper[cv2.CC_STAT_WIDTH], lower[cv2.CC_STAT_WIDTH]):
        return None
    gap = lower[cv2.CC_STAT_TOP] - (upper[cv2.CC_STAT_TOP] + upper[cv2.CC_STAT_HEIGHT])
    span = lower[cv2.CC_STAT_TOP] + lower[cv2.CC_STAT_HEIGHT] - upper[cv2.CC_STAT_TOP]
    if gap < 0.5 * min(upper[cv2.CC_STAT_HEIGHT], lower[cv2.CC_STAT_HEIGHT]) or not 0.25 * text <= span <= 0.9 * text:
        return None
    left = min(upper[cv2.CC_STAT_LEFT], lower[cv2.CC_STAT_LEFT])
    right = max(upper[cv2.CC_STAT_LEFT] + upper[cv2.CC_STAT_WIDTH], lower[cv2.CC_STAT_LEFT] + lower[cv2.CC_STAT_WIDTH])
    return float(left), float(upper[cv2.CC_STAT_TOP]), float(right), float(lower[cv2.CC_STAT_TOP]
                                                                         + lower[cv2.CC_STAT_HEIGHT])
