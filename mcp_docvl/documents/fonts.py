"""Which fonts are bold or italic, from what a PDF says about them: the name, the descriptor flags, the weight.

The declared weight alone is a poor witness: PDFium derives it from the descriptor's StemV, which many producers
leave at 0 (so Helvetica-Bold and Times-Bold read as weight 0) or set wildly (ArialMT at 1340, MyriadPro-Regular
at 720). The PostScript name is what producers get right, because it names the font file they embedded: the style
follows the family after a '-', ',' or '.' ("Arial-BoldMT", "TimesNewRoman,Bold", "AdvOTcbc12aaa.B"), or is
glued to it ("KoPubDotumBold"), or, for TeX's Computer Modern and cm-super, is coded in the letters ("CMBX12").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# PDF font descriptor flags (PDF 32000-1, table 123): bit 7 Italic, bit 19 ForceBold.
FLAG_ITALIC = 1 << 6
# Bit 6 Nonsymbolic: the font's glyphs are of the standard Latin character set (a text font).
FLAG_NONSYMBOLIC = 1 << 5
FLAG_FORCE_BOLD = 1 << 18
# Bits 17 AllCap and 18 SmallCap: the font has no lowercase glyphs; its lowercase codes draw capitals.
FLAG_ALL_CAP = 1 << 16
FLAG_SMALL_CAP = 1 << 17

# A subset font's name starts with six capitals and '+' (PDF 32000-1, 9.6.4).
_SUBSET_TAG = re.compile(r"^[A-Z]{6}\+")
# The style part: after the last separator producers put between family and style.
_STYLE_SEPARATOR = re.compile(r"[-,.]")
# Weight words spelled out: anywhere in the style part, or glued to the family when there is no separator.
# Semibold/Demibold (600) count: producers use them for headings and emphasis, not for running text. Medium (500)
# does not: it is the body weight of many designs (Gotham, Helvetica Neue Md in brochures).
_BOLD_WORDS = re.compile(r"bold|black|heavy|demi|extrab|ultrab", re.IGNORECASE)
# Adobe's and URW's abbreviated style tokens, matched as whole camel-case tokens of the style part: Bd (bold),
# Blk (black), Hv (heavy), XBd (extra bold), Sb/SmBd (semibold), B (a style of one letter: bold), and URW's
# "Medi", the cut of Nimbus Roman No9 L that stands in for Times-Bold.
_BOLD_TOKENS = frozenset({"Bd", "BD", "Blk", "Hv", "XBd", "Sb", "SmBd", "B", "Medi", "Bl"})
_ITALIC_WORDS = re.compile(r"italic|oblique|ital|slanted|inclined|kursiv", re.IGNORECASE)
_ITALIC_TOKENS = frozenset({"It", "I", "Obl", "Ita", "BI", "Slant"})
_CAMEL_TOKEN = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+|\d+")
# TeX's Computer Modern and cm-super/EC names: family letters then design size (CMBX12, SFTI1000, ECRM1095).
_TEX_NAME = re.compile(r"(?:CM|SF|EC|TC)([A-Z]+)(\d+)")
# Bold in those letters: BX (bold extended), SX (sans bold extended), B first (CMB, CMBSY), MIB (math italic
# bold), SSDC (sans demibold condensed), XC (bold caps).
_TEX_BOLD = re.compile(r"BX|SX|^B|MIB|SSDC|XC")
# Italic or slanted: TI (text italic), SL (slanted), MI (math italic), SI (sans italic), BI, IT (italic typewriter).
_TEX_ITALIC = re.compile(r"TI|SL|MI|SI|BI|IT")
# Caps and small caps: CSC (Computer Modern, CMCSC10), CC (EC/cm-super, ECCC1000).
_TEX_CAPS = re.compile(r"CSC|^CC")
# A declared weight is believed only inside the range of real weights (CSS/OpenType 100..900, with slack):
# above it the StemV behind it is garbage.
_BOLD_WEIGHT = 600
_MAX_WEIGHT = 1000


@dataclass(frozen=True, slots=True)
class FontStyle:
    """What the layout needs to know about a font: its name and whether it is bold or italic."""

    name: str
    bold: bool
    italic: bool
    # Lowercase codes draw capitals (small caps or all caps): the text a reader sees is upper case.
    caps: bool = False


def base_font_name(raw: str) -> str:
    """The PostScript name without a subset tag ("ABCDEF+Arial-BoldMT" -> "Arial-BoldMT")."""
    return _SUBSET_TAG.sub("", raw.strip())


def font_style(raw_name: str, flags: int, weight: int, italic_angle: float) -> FontStyle:
    name = base_font_name(raw_name)
    bold = is_bold_font(name, flags, weight)
    return FontStyle(name=name, bold=bold, italic=is_italic_font(name, flags, italic_angle),
                     caps=is_caps_font(name, flags))


def is_caps_font(name: str, flags: int) -> bool:
    """Whether the font draws its lowercase codes as capitals: the AllCap or SmallCap flag, or a TeX caps code.

    Only these: a name ending in "SC" says small caps in one family (TimesTen-RomanSC) and Simplified Chinese
    in another (NotoSansSC), whose Latin letters are ordinary.
    """
    if flags & (FLAG_ALL_CAP | FLAG_SMALL_CAP):
        return True
    tex = _TEX_NAME.fullmatch(name)
    return tex is not None and _TEX_CAPS.search(tex.group(1)) is not None


def is_bold_font(name: str, flags: int, weight: int) -> bool:
    """Whether text in this font reads as bold.

    In order: a bold word or token in the name, a TeX bold code, the ForceBold flag (set only for bold faces) say
    bold. A name that states a style without a bold word says not bold, whatever the weight. A name that is a real
    family name (letters, no digits) with no style at all is the regular face ("ArialMT", "Garamond"). Only names
    that carry nothing (generated ids like "MSTT31c6fa00", "F1", "22") leave the decision to the declared weight.
    """
    family, style = _split_style(name)
    if _BOLD_WORDS.search(style if style else family) or _has_token(style, _BOLD_TOKENS):
        return True
    tex = _TEX_NAME.fullmatch(name)
    if tex:
        return _TEX_BOLD.search(tex.group(1)) is not None
    if flags & FLAG_FORCE_BOLD:
        return True
    if style or _is_family_name(family):
        return False
    return _BOLD_WEIGHT <= weight <= _MAX_WEIGHT


def is_italic_font(name: str, flags: int, italic_angle: float) -> bool:
    """Whether text in this font reads as italic: the Italic flag, a slanted italic angle, or the name."""
    if flags & FLAG_ITALIC or abs(italic_angle) >= 5.0:  # a few degrees: some upright fonts declare -0.5 or 1
        return True
    family, style = _split_style(name)
    if _ITALIC_WORDS.search(style if style else family) or _has_token(style, _ITALIC_TOKENS):
        return True
    tex = _TEX_NAME.fullmatch(name)
    return tex is not None and _TEX_ITALIC.search(tex.group(1)) is not None


def _split_style(name: str) -> tuple[str, str]:
    parts = _STYLE_SEPARATOR.split(name)
    if len(parts) == 1:
        return name, ""
    return "".join(parts[:-1]), parts[-1]


def _has_token(style: str, tokens: frozenset[str]) -> bool:
    if not style:
        return False
    if style in tokens:
        return True
    # "BoldItalicMT" -> Bold, Italic, MT; "BdCn" -> Bd, Cn; "MediItal" -> Medi, Ital.
    return any(token in tokens for token in _CAMEL_TOKEN.findall(style))


def _is_family_name(family: str) -> bool:
    letters = sum(c.isalpha() for c in family)
    return letters >= 4 and not any(c.isdigit() for c in family)
