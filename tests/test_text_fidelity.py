"""Text-layer fidelity on pages the project writes (samples.py): ligatures, line-end hyphens, right-to-left script,
characters outside the BMP, control codes from fonts without a Unicode map, bold by font name, garbage layers."""

from __future__ import annotations

import re

import pytest

from mcp_docvl import samples
from mcp_docvl.config import Settings
from mcp_docvl.documents import open_document
from mcp_docvl.documents.fonts import FLAG_ALL_CAP, FLAG_FORCE_BOLD, FLAG_ITALIC, FLAG_SMALL_CAP, font_style
from mcp_docvl.features.read import read_document

PDF = "application/pdf"


def _read(tmp_path, data: bytes, name: str):
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    settings = Settings(roots=[tmp_path], cache_max_bytes=0, isolate=False)
    return read_document(str(path), settings=settings).pages[0]


def _no_control_characters(text: str) -> bool:
    return not re.search(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\ufffe\uffff\ud800-\udfff]", text)


def test_ligature_pieces_and_line_end_hyphen_join_words(tmp_path):
    page = _read(tmp_path, samples.ligature_hyphen_sample(), "ligatures")
    assert page.method == "text_layer"
    assert page.content == "We are confident that the appointments were not too difficult to fix."


def test_ligature_glyph_is_one_word_with_one_box():
    doc = open_document(samples.ligature_hyphen_sample(), PDF)
    words = [w for w in doc.text_layer(0).words if w.text.startswith("confident")]
    assert len(words) == 1
    x0, _, x1, _ = words[0].bbox
    # Eight letters drawn as seven glyphs of 5.5 pt.
    assert x1 - x0 == pytest.approx(8 * 5.5, abs=0.5)


@pytest.mark.parametrize(("sample", "expected"), [
    # Each accent drawn over a letter makes one precomposed letter with it; the one in its own slot stays.
    (samples.separate_accents_sample, "José López met Žurn and Müller at x´ today."),
    # "f_i", "f_f_l", "T_h" at control codes: the glyph names of the font's encoding say the letters.
    (samples.named_ligatures_sample, "The shuffle was significant and baffles us."),
    # The names are set in a small-caps font whose lowercase codes draw capitals; the rest is ordinary.
    (samples.small_caps_sample, "MILLOTTE J.-P. (1959) Le trésor de Carnac."),
])
def test_text_reads_as_drawn(tmp_path, sample, expected):
    page = _read(tmp_path, sample(), sample.__name__)
    assert page.content == expected
    assert not page.warnings  # nothing was left out


def test_scripts_inside_words_are_set_off_by_spaces(tmp_path):
    page = _read(tmp_path, samples.scripts_sample(), "scripts")
    # Sub- and superscripts (smaller, off the baseline) are their own tokens; small capitals stay in the word.
    assert page.content == "the order x 4 , x 3 and Ca 2+ ions in BONN."
    words = open_document(samples.scripts_sample(), PDF).text_layer(0).words
    assert "x 4 ," in [w.text for w in words]  # one word (one box) for the layout, spaced in its text


def test_bold_by_font_name_makes_a_heading(tmp_path):
    page = _read(tmp_path, samples.bold_by_name_sample(), "bold")
    first, rest = page.content.split("\n\n", 1)
    assert re.fullmatch(r"#+ Results by Region", first)
    assert rest.startswith("Sales grew in every region")


def test_bold_by_font_name_on_the_words():
    words = open_document(samples.bold_by_name_sample(), PDF).text_layer(0).words
    heading = [w for w in words if w.text in ("Results", "Region")]
    body = [w for w in words if w.text == "Sales"]
    assert heading and all(w.bold and w.font == "Inter-Bold" and not w.italic for w in heading)
    assert body and not body[0].bold and body[0].font == "Inter-Regular"
    assert heading[0].size == pytest.approx(11.0)


def test_arabic_reads_in_logical_order(tmp_path):
    page = _read(tmp_path, samples.arabic_sample(), "arabic")
    # Words whole and from the right; the lam-alef ligature's letters in reading order; Latin words inside the
    # Arabic line keep their place in the reading order.
    assert page.content == "تحسين الإنتاجية بلغة R و Python"


def test_characters_outside_the_bmp_and_control_codes(tmp_path):
    page = _read(tmp_path, samples.non_bmp_sample(), "nonbmp")
    assert page.method == "text_layer"
    assert page.content.startswith("Grade \U0001d400 and smile \U0001f600 here \U000f0854 end")
    # The unmapped ligature glyph is left out, the word stays whole, and the page says what was dropped.
    assert page.content.endswith("high anity probe")
    assert _no_control_characters(page.content)
    assert any("1 character(s)" in w and "Unicode map" in w for w in page.warnings)


def test_garbage_text_layer_is_recognised_instead(tmp_path):
    layer = open_document(samples.garbage_text_sample(), PDF).text_layer(0)
    assert layer.readable_chars < 0.5 * layer.chars
    page = _read(tmp_path, samples.garbage_text_sample(), "garbage")
    assert page.method == "ocr"
    assert any("unreadable" in w for w in page.warnings)
    assert _no_control_characters(page.content)
    assert "INVOICE 2041" in page.content
    assert "99.50" in page.content


@pytest.mark.parametrize(("name", "flags", "weight", "bold", "italic"), [
    ("Helvetica-Bold", 32, 0, True, False),  # the weight PDFium derives from a missing StemV
    ("ABCDEF+Arial-BoldMT", 32, 0, True, False),
    ("TimesNewRoman,BoldItalic", 96, 700, True, True),
    ("MyriadPro-Semibold", 32, 400, True, False),
    ("NimbusRomNo9L-Medi", 4, 700, True, False),
    ("AdvOTcbc12aaa.B", 32, 0, True, False),
    ("CMBX12", 4, 545, True, False),
    ("CMTI10", 4, 345, False, True),
    ("KoPubDotumBold", 6, 400, True, False),
    ("ArialMT", 32, 1340, False, False),  # a StemV past any real weight
    ("MyriadPro-Regular", 4, 720, False, False),  # the name states the style
    ("HelveticaNeueLTStd-Md", 32, 500, False, False),  # medium is not bold
    ("MSTT31c6fa00", 4, 700, True, False),  # a generated name: only the weight tells
    ("MSTT31c6fa01", 4, 415, False, False),
    ("Garamond", FLAG_FORCE_BOLD, 400, True, False),
    ("Garamond", FLAG_ITALIC, 400, False, True),
    ("MinionPro-It", 0, 400, False, True),
])
def test_font_style_from_name_flags_and_weight(name, flags, weight, bold, italic):
    style = font_style(name, flags, weight, 0.0)
    assert (style.bold, style.italic) == (bold, italic)
    assert "+" not in style.name


@pytest.mark.parametrize(("name", "flags", "caps"), [
    ("TimesTen-RomanSC", 32 | FLAG_SMALL_CAP, True),  # the descriptor's SmallCap flag
    ("Futura-Heavy", 32 | FLAG_ALL_CAP, True),
    ("CMCSC10", 4, True),  # TeX's caps and small caps, coded in the name
    ("NotoSansSC", 32, False),  # "SC" here is Simplified Chinese: ordinary Latin letters
    ("CMR10", 4, False),
])
def test_caps_fonts(name, flags, caps):
    assert font_style(name, flags, 400, 0.0).caps is caps
