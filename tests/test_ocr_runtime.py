"""Which inference runtime runs the OCR models, and that the fast one reads what the reference one reads."""

from __future__ import annotations

import importlib.util

import pytest
from conftest import RESOURCES
from PIL import Image
from rapidfuzz.distance import Levenshtein

from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.errors import InvalidArgument

HAVE_OPENVINO = importlib.util.find_spec("openvino") is not None


def test_an_unknown_runtime_is_refused_naming_the_setting():
    with pytest.raises(InvalidArgument, match="DOCVL_OCR_RUNTIME") as raised:
        OcrEngine(Settings.from_env(ocr_runtime="tensorrt"))
    assert "openvino" in raised.value.fix and "onnxruntime" in raised.value.fix


def test_auto_picks_openvino_exactly_when_it_is_installed():
    engine = OcrEngine(Settings.from_env(ocr_runtime="auto"))
    assert engine.runtime == ("openvino" if HAVE_OPENVINO else "onnxruntime")


@pytest.mark.skipif(not HAVE_OPENVINO, reason="openvino is not installed (pip install openvino)")
def test_openvino_reads_the_scan_as_onnxruntime_does():
    image = Image.open(RESOURCES / "scan.png")
    texts = {}
    for runtime in ("onnxruntime", "openvino"):
        transcript = OcrEngine(Settings.from_env(ocr_runtime=runtime)).transcribe_page(image)
        texts[runtime] = " ".join(w.text for w in transcript.words)
        assert transcript.confidence > 0.8
        assert "1,234.56" in texts[runtime] and "docs@example.com" in texts[runtime]
    # bfloat16 arithmetic may flip a character where the recogniser is unsure; the text must stay the same text.
    assert Levenshtein.normalized_distance(texts["onnxruntime"], texts["openvino"]) <= 0.01


def test_the_detector_input_is_rapidocrs_own():
    import numpy as np
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    from mcp_docvl.engines.ocr import _DetPreProcess

    page = np.asarray(Image.open(RESOURCES / "scan.png").convert("RGB"))
    theirs = DetPreProcess(736, "min", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(page)
    ours = _DetPreProcess(736, "min", [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])(page)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert float(np.abs(ours - theirs).max()) < 1e-5


def test_recognition_in_two_streams_reads_what_one_reads():
    from mcp_docvl.engines.ocr import OcrSettings

    image = Image.open(RESOURCES / "scan.png")
    texts = [" ".join(w.text for w in OcrEngine(Settings.from_env(), OcrSettings(rec_streams=streams))
                      .transcribe_page(image).words) for streams in (1, 2)]
    assert "1,234.56" in texts[1] and "docs@example.com" in texts[1]
    # Lines are batched differently (each batch is padded to its widest line), which may flip an unsure character.
    assert Levenshtein.normalized_distance(texts[0], texts[1]) <= 0.01
