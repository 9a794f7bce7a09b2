"""Whether a page's text layer can be read as it is, or is garbage to be recognised from the picture instead.

A font without a Unicode map (no ToUnicode, no usable encoding) makes PDFium pass its raw glyph codes through:
control codes, private-use code points, U+FFFD. Such a layer looks like text to a program and is junk to a reader,
so the page is recognised (OCR) instead. A layer with only a little junk (a bullet font, a ligature glyph without
a mapping) is kept: the junk is already left out of its words, and the page says how much.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcp_docvl.documents.base import TextLayer


@dataclass(frozen=True, slots=True)
class TextQualitySettings:
    # Below this share of readable characters the layer is mostly garbage and the page is recognised. A good
    # layer is ~1.0 (a few bullets or icons from private-use fonts); a layer with one box or one heading set in a
    # font without a Unicode map (a sixth of a page in a real brochure) keeps its exact text for the rest, which
    # recognition would only approximate at a hundred times the cost; its junk is left out and the page says so.
    min_readable_share: float = 0.5


TEXT_QUALITY = TextQualitySettings()


@dataclass(frozen=True, slots=True)
class TextLayerVerdict:
    """What the pipeline does with a page's text layer."""

    # The layer may be used (it holds text and enough of it is readable).
    usable: bool
    # Said to the caller with the page, or None when there is nothing to say.
    warning: str | None = None


def judge_text_layer(layer: TextLayer, settings: TextQualitySettings = TEXT_QUALITY) -> TextLayerVerdict:
    """Usable or garbage, with the warning the page should carry."""
    if layer.chars == 0:
        return TextLayerVerdict(usable=False)
    share = layer.readable_chars / layer.chars
    if share < settings.min_readable_share:
        return TextLayerVerdict(
            usable=False,
            warning=(f"The embedded text is unreadable ({1 - share:.0%} of its characters are control or private-use "
                     "codes from fonts without a Unicode map); the page was recognised from its image instead."),
        )
    if layer.dropped_chars:
        return TextLayerVerdict(
            usable=True,
            warning=(f"{layer.dropped_chars} character(s) of the embedded text were left out: their font has no "
                     "Unicode map, so they carry no readable text (the page image still shows them)."),
        )
    return TextLayerVerdict(usable=True)
