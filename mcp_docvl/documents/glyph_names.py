"""The text of glyphs that PDFium gives as control codes, from the glyph names of the font's encoding.

A simple font without a ToUnicode map says what each code draws only through its /Encoding: a base encoding and a
/Differences array naming glyphs. Layout programs name their ligature glyphs by the Adobe Glyph List convention
for ligatures, components joined by underscores ("f_i", "f_f_l", "T_h"), and PDFium, which knows only the single
glyph names of the list, passes such a code through as it is: a control code, which the text layer leaves out
("signi cant", "uorescence"). The names say the text: this module reads them (pypdf, only for a page that has
such codes) and maps each font's code to its letters. Only names whose every component is a single letter or
digit, a uniXXXX/uXXXX value or a standard ligature name are read; anything else stays left out.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import pypdf
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

# The AGL's own ligature names (Unicode's alphabetic presentation forms), as their letters.
_LIGATURES = {"fi": "fi", "fl": "fl", "ff": "ff", "ffi": "ffi", "ffl": "ffl", "st": "st"}
_SUBSET_PREFIX = re.compile(r"^[A-Z]{6}\+")
_UNI = re.compile(r"^uni((?:[0-9A-F]{4})+)$")
_U = re.compile(r"^u([0-9A-F]{4,6})$")


@dataclass(frozen=True, slots=True)
class GlyphNameSettings:
    # Form XObjects nest; fonts are looked for this many levels down from the page (a page drawing a placed
    # PDF or a grouped frame has them one or two levels down), so a hostile file cannot make the walk deep.
    max_form_depth: int = 3


GLYPH_NAMES = GlyphNameSettings()


def glyph_text(name: str) -> str | None:
    """The text a glyph name stands for, by the AGL's rules for ligature and uniXXXX names, or None."""
    name = name.split(".", 1)[0]  # a suffix names a variant (".sc", ".alt") of the same text
    if not name:
        return None
    if "_" in name:
        parts = [glyph_text(part) for part in name.split("_")]
        return "".join(parts) if all(parts) else None  # type: ignore[arg-type]
    if len(name) == 1 and name.isascii() and name.isalnum():
        return name
    if name in _LIGATURES:
        return _LIGATURES[name]
    if m := _UNI.match(name):
        values = [int(m.group(1)[i:i + 4], 16) for i in range(0, len(m.group(1)), 4)]
        return "".join(map(chr, values)) if all(v < 0xD800 or v > 0xDFFF for v in values) else None
    if (m := _U.match(name)) and int(m.group(1), 16) <= 0x10FFFF and not 0xD800 <= int(m.group(1), 16) <= 0xDFFF:
        return chr(int(m.group(1), 16))
    return None


class GlyphNames:
    """A document's font encodings, read on first use (a second parse of the file, only for pages that need
    it) and kept for its other pages."""

    def __init__(self, data: bytes, password: str | None, settings: GlyphNameSettings = GLYPH_NAMES) -> None:
        self._data, self._password, self._settings = data, password, settings
        self._reader: pypdf.PdfReader | None = None
        self._failed = False

    def control_code_texts(self, index: int) -> dict[tuple[str, int], str]:
        """For page `index`: (base font name without subset prefix, code below 32) -> text, for codes whose
        encoding names a glyph with a known text. A code whose names differ between two fonts of one base name is
        left out (it cannot be told which font PDFium meant). Empty when the file cannot be read this way."""
        if self._failed:
            return {}
        found: dict[tuple[str, int], set[str]] = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                logging.getLogger("pypdf").setLevel(logging.ERROR)
                if self._reader is None:
                    self._reader = pypdf.PdfReader(io.BytesIO(self._data), password=self._password)
                page = self._reader.pages[index]
                for font in _fonts(page.get("/Resources"), self._settings.max_form_depth):
                    for key, text in _control_codes(font):
                        found.setdefault(key, set()).add(text)
        except Exception:  # a second reader failing only means the names stay unread
            self._failed = self._reader is None
            return {}
        return {key: texts.pop() for key, texts in found.items() if len(texts) == 1}


def _fonts(resources: object, depth: int) -> Iterator[DictionaryObject]:
    resources = _resolve(resources)
    if not isinstance(resources, DictionaryObject):
        return
    fonts = _resolve(resources.get("/Font"))
    if isinstance(fonts, DictionaryObject):
        for font in fonts.values():
            font = _resolve(font)
            if isinstance(font, DictionaryObject):
                yield font
    objects = _resolve(resources.get("/XObject"))
    if depth > 0 and isinstance(objects, DictionaryObject):
        for obj in objects.values():
            obj = _resolve(obj)
            if isinstance(obj, DictionaryObject) and obj.get("/Subtype") == "/Form":
                yield from _fonts(obj.get("/Resources"), depth - 1)


def _control_codes(font: DictionaryObject) -> Iterator[tuple[tuple[str, int], str]]:
    encoding = _resolve(font.get("/Encoding"))
    base = font.get("/BaseFont")
    if not isinstance(encoding, DictionaryObject) or not isinstance(base, NameObject):
        return
    differences = _resolve(encoding.get("/Differences"))
    if not isinstance(differences, ArrayObject):
        return
    name = _SUBSET_PREFIX.sub("", str(base)[1:])
    code = 0
    for item in differences:
        item = _resolve(item)
        if isinstance(item, NumberObject):
            code = int(item)
        elif isinstance(item, NameObject):
            if 0 < code < 0x20 and (text := glyph_text(str(item)[1:])):
                yield (name, code), text
            code += 1


def _resolve(obj: object) -> object:
    return obj.get_object() if hasattr(obj, "get_object") else obj
