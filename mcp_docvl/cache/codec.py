"""Typed values to and from cache bytes: pages, OCR transcripts, images, JSON."""

from __future__ import annotations

import io
import json
import zlib
from typing import Any

from PIL import Image

from mcp_docvl.documents.model import Block, Line, Page, Table, TableCell, Word
from mcp_docvl.engines.base import PageTranscript

# What decoding an entry written by another build can raise (damage is caught earlier, by the store's checksum).
DECODE_ERRORS = (ValueError, KeyError, IndexError, TypeError, zlib.error)


def dumps_json(value: Any) -> bytes:
    # Level 1: most of zlib's gain on repetitive JSON at a fraction of its time.
    return zlib.compress(json.dumps(value, separators=(",", ":")).encode(), 1)


def loads_json(data: bytes) -> Any:
    return json.loads(zlib.decompress(data))


def _word(w: Word) -> list:
    return [w.text, list(w.bbox), w.size, w.bold, w.confidence, w.italic, w.font, w.rtl]


def _unword(raw: list) -> Word:
    return Word(text=raw[0], bbox=tuple(raw[1]), size=raw[2], bold=raw[3], confidence=raw[4], italic=raw[5],
                font=raw[6], rtl=raw[7])


def _line(line: Line) -> dict:
    return {"w": [_word(w) for w in line.words], "b": list(line.bbox), "s": line.size, "bo": line.bold,
            "r": line.row_segments}


def _unline(raw: dict) -> Line:
    return Line(words=[_unword(w) for w in raw["w"]], bbox=tuple(raw["b"]), size=raw["s"], bold=raw["bo"],
                row_segments=raw["r"])


def _table(table: Table | None) -> dict | None:
    # The words a table consumed are left out: they only matter while the page's blocks are laid out.
    if table is None:
        return None
    return {"b": list(table.bbox), "r": table.n_rows, "c": table.n_cols, "h": table.header_rows,
            "cells": [[c.row, c.col, c.row_span, c.col_span, c.text, list(c.bbox)] for c in table.cells]}


def _untable(raw: dict | None) -> Table | None:
    if raw is None:
        return None
    cells = [TableCell(row=r, col=c, row_span=rs, col_span=cs, text=text, bbox=tuple(bbox))
             for r, c, rs, cs, text, bbox in raw["cells"]]
    return Table(bbox=tuple(raw["b"]), n_rows=raw["r"], n_cols=raw["c"], cells=cells, header_rows=raw["h"])


def page_to_bytes(page: Page) -> bytes:
    # Blocks own their lines; page.lines are the same objects, stored once here and referenced by index.
    index = {id(line): i for i, line in enumerate(page.lines)}
    blocks = []
    for block in page.blocks:
        refs = [index.get(id(line)) for line in block.lines]
        own = None if all(r is not None for r in refs) else [_line(line) for line in block.lines]
        blocks.append({"k": block.kind, "b": list(block.bbox), "l": block.level, "m": block.markdown,
                       "r": None if own else refs, "o": own, "t": _table(block.table), "ro": block.role})
    return dumps_json({
        "n": page.number, "w": page.width, "h": page.height, "u": page.unit, "m": page.method,
        "c": page.confidence, "lines": [_line(line) for line in page.lines], "blocks": blocks,
        "warn": page.warnings,
    })


def page_from_bytes(data: bytes) -> Page:
    raw = loads_json(data)
    lines = [_unline(line) for line in raw["lines"]]
    blocks = []
    for b in raw["blocks"]:
        block_lines = [lines[i] for i in b["r"]] if b["r"] is not None else [_unline(line) for line in b["o"]]
        blocks.append(Block(kind=b["k"], lines=block_lines, bbox=tuple(b["b"]), level=b["l"], markdown=b["m"],
                            table=_untable(b["t"]), role=b.get("ro")))
    return Page(number=raw["n"], width=raw["w"], height=raw["h"], unit=raw["u"], method=raw["m"],
                confidence=raw["c"], lines=lines, blocks=blocks, warnings=raw["warn"])


def transcript_to_bytes(transcript: PageTranscript) -> bytes:
    return dumps_json({"w": [_word(w) for w in transcript.words], "c": transcript.confidence,
                       "m": transcript.markdown})


def transcript_from_bytes(data: bytes) -> PageTranscript:
    raw = loads_json(data)
    return PageTranscript(words=[_unword(w) for w in raw["w"]], confidence=raw["c"], markdown=raw["m"])


def image_to_png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def image_from_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
