"""What the OCR engine does to the recogniser's text before it becomes words."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from mcp_docvl.engines.ocr import _ascii_forms, _line_words


def test_full_width_punctuation_after_latin_text_becomes_ascii():
    assert _ascii_forms("TOTAL：12.50（RM）！") == "TOTAL:12.50(RM)!"
    # A line with Chinese in it keeps the forms of its script, and plain ASCII is untouched.
    assert _ascii_forms("谢谢惠顾：欢迎再来") == "谢谢惠顾：欢迎再来"
    assert _ascii_forms("GST ID: 000123") == "GST ID: 000123"


def test_word_boxes_stay_where_the_characters_were():
    import numpy as np

    box = np.array([[0, 0], [130, 0], [130, 20], [0, 20]], dtype=float)
    text = _ascii_forms("TOTAL：12.50 RM")
    words = _line_words(box, text, 0.9, None)
    assert [w.text for w in words] == ["TOTAL:12.50", "RM"]
    # 14 characters over 130 px, one for one: "RM" starts at character 12 as it did in the recogniser's text.
    assert abs(words[1].bbox[0] - 130 * 12 / 14) < 1e-6


def _form_row(gap_mark: str) -> Image.Image:
    font = ImageFont.load_default(size=36)
    image = Image.new("RGB", (700, 90), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), "CASHIER", fill="black", font=font)
    if gap_mark:
        draw.text((330, 20), gap_mark, fill=(110, 110, 110), font=font)  # fainter, as on thermal paper
    draw.text((460, 20), "ANNA", fill="black", font=font)
    return image


def test_a_lone_colon_between_label_and_value_is_kept():
    import numpy as np

    from mcp_docvl.engines.ocr import OcrEngine

    engine = OcrEngine()
    image = _form_row(":")
    raw = engine._engine()(np.asarray(image))
    assert not any(":" in text for text in raw.txts)  # the detector alone drops it: this is what is tested
    words = engine.transcribe_page(image).words
    by_x = sorted(words, key=lambda w: w.bbox[0])
    assert [w.text for w in by_x] == ["CASHIER", ":", "ANNA"]
    colon = by_x[1]
    assert 320 < colon.bbox[0] < colon.bbox[2] < 360


def test_no_colon_is_made_up_from_a_dot_or_an_empty_gap():
    from mcp_docvl.engines.ocr import OcrEngine

    engine = OcrEngine()
    for mark in ("", ".", "-"):
        texts = [w.text for w in engine.transcribe_page(_form_row(mark)).words]
        assert ":" not in texts, mark
        assert texts[0] == "CASHIER" and texts[-1] == "ANNA"
