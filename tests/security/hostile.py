"""Hostile inputs written by the tests, the servers they run against, and functions the worker tests send."""

from __future__ import annotations

import functools
import os
import re
import struct
import time
import zlib
from pathlib import Path

from mcp import Client

from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine
from mcp_docvl.mcp.server import build_server
from mcp_docvl.samples import assemble_pdf

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
SAMPLE = str(RESOURCES / "sample.pdf")
EVAL = (ROOT / ".." / "shared" / "eval").resolve()


@functools.cache
def shared_engine() -> OcrEngine:
    """One OCR engine for every in-process server of the suite (loading it is the slow part of a start)."""
    return OcrEngine()


def make_server(roots: list[Path], **overrides: object):
    settings = Settings.from_env(roots=[*roots, RESOURCES], **overrides)
    return build_server(settings, engine=shared_engine())


async def refused_then_ok(server, arguments: dict, pattern: str) -> str:
    """Call read_document with hostile `arguments`: it must fail with a message matching `pattern` (and a fix),
    and the same server must then read the sample document normally."""
    async with Client(server) as client:
        result = await client.call_tool("read_document", arguments)
        text = result.content[0].text
        assert result.is_error, f"expected a refusal, got: {text[:300]}"
        assert re.search(pattern, text, re.I), text
        assert "Traceback" not in text
        await assert_serves(client)
    return text


async def handled_then_ok(server, arguments: dict) -> dict:
    """Call read_document: it may succeed or fail, but only with a clear tool error; then a normal read works."""
    async with Client(server) as client:
        result = await client.call_tool("read_document", arguments)
        text = result.content[0].text
        assert "Traceback" not in text and "Internal error" not in text, text
        await assert_serves(client)
    return {"is_error": result.is_error, "text": text, "data": result.structured_content}


async def assert_serves(client: Client) -> None:
    ok = await client.call_tool("read_document", {"source": SAMPLE, "pages": "2", "format": "text"})
    assert not ok.is_error and "1,234.56 EUR" in ok.content[0].text, ok.content[0].text


# --------------------------------------------------------------------------------------------- raw documents

def raw_pdf(objects: list[bytes], trailer: bytes = b"") -> bytes:
    """A PDF from object bodies (object i+1 is objects[i]; object 1 is the catalog) with a correct xref."""
    return assemble_pdf(objects, trailer)


def stream(data: bytes, extra: bytes = b"", compress: bool = False) -> bytes:
    if compress:
        data, extra = zlib.compress(data, 9), extra + b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def text_page_pdf(text: str, catalog_extra: bytes = b"", page_extra: bytes = b"",
                  more: list[bytes] | None = None) -> bytes:
    """One page showing `text` in Helvetica; extra entries for the catalog and page; extra objects after 5."""
    content = f"BT /F1 14 Tf 72 700 Td ({text}) Tj ET".encode("latin-1")
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R " + page_extra + b">>",
        stream(content),
        FONT,
        *(more or []),
    ])


def png_header_bomb(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with a tiny (invalid) body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def tiff(width: int, height: int, next_ifd: int | None = 0, pixels: bytes = b"\0") -> bytes:
    """A little-endian one-strip 8-bit grey TIFF; `next_ifd` may point back at its own directory (a loop)."""
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 1, 8), (259, 3, 1, 1), (262, 3, 1, 1),
               (273, 4, 1, 8), (277, 3, 1, 1), (278, 4, 1, height), (279, 4, 1, len(pixels))]
    ifd_offset = 8 + len(pixels) + (len(pixels) % 2)
    head = b"II*\x00" + struct.pack("<I", ifd_offset) + pixels + b"\0" * (len(pixels) % 2)
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in entries:
        ifd += struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3
                                                       else struct.pack("<I", value))
    ifd += struct.pack("<I", ifd_offset if next_ifd is None else next_ifd)
    return head + ifd


# ------------------------------------------------------------------------------ functions run in worker processes

def crash(progress=None, **_kwargs) -> None:
    """Dies as a native crash would: no exception, no reply, the process is gone."""
    os.abort()


def spin(progress=None, **_kwargs) -> None:
    """A parser stuck in a loop that no Python timeout inside the process could break."""
    while True:
        pass


def stuck_on_second_page(progress=None, **_kwargs) -> None:
    progress(1, 3)
    while True:
        time.sleep(0.05)


def hog(progress=None, **_kwargs) -> bytes:
    """Allocates like a decompression bomb."""
    return bytearray(64 * 1024**3)


def sample_text(settings: Settings, progress=None, engine=None) -> str:
    from mcp_docvl.features.read import read_document

    result = read_document(SAMPLE, pages="2", format="text", settings=settings, engine=engine, progress=progress)
    return result.combined()


def apng_frame_bomb(frames_claimed: int = 2**31 - 1) -> bytes:
    """A 1x1 APNG (about 125 bytes) whose acTL header claims `frames_claimed` frames; it holds one."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    control = struct.pack(">IIIIIHHBB", 0, 1, 1, 0, 0, 1, 1, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
            + chunk(b"acTL", struct.pack(">II", frames_claimed, 0)) + chunk(b"fcTL", control)
            + chunk(b"IDAT", zlib.compress(b"\0\0")) + chunk(b"IEND", b""))


SECRET = "secret-7c1e-from-a-file-outside-the-roots"


def leak_secret(progress=None, **_kwargs) -> None:
    """An unexpected failure whose message quotes something the caller must never see."""
    raise RuntimeError(f"validator with schema: {{'description': '{SECRET}'}}")


def rss_bytes() -> int:
    """This process's resident memory now (Linux /proc; 0 elsewhere, which makes the RSS checks vacuous)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0
