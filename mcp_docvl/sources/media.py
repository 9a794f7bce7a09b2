"""Media-type detection from content, never from the file name (names lie; bytes do not)."""

from __future__ import annotations

from mcp_docvl.errors import UnsupportedFormat

PDF = "application/pdf"
IMAGE_TYPES = {"image/png", "image/jpeg", "image/tiff", "image/webp", "image/bmp", "image/gif"}

# Formats we recognise but do not read, with the advice a user needs.
_NOT_READ = [
    (b"PK\x03\x04", "a ZIP container (DOCX, XLSX, PPTX, EPUB or plain ZIP)", "Export it to PDF first."),
    (b"\xd0\xcf\x11\xe0", "an OLE2 file (legacy DOC, XLS or PPT)", "Export it to PDF first."),
    (b"{\\rtf", "an RTF document", "Export it to PDF first."),
]


def sniff_media_type(data: bytes) -> str:
    """Return the media type of `data`, or raise `UnsupportedFormat` saying what it looks like."""
    if not data:
        raise UnsupportedFormat("The document is empty (0 bytes).", "Check the file or URL; it holds no data.")
    head = data[:2048]
    # PDF readers accept junk before the header; so do we, within the first 1 KiB.
    if b"%PDF-" in head[:1024]:
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "image/tiff"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    for magic, what, fix in _NOT_READ:
        if head.startswith(magic):
            raise UnsupportedFormat(f"The document is {what}, which mcp-docvl does not read.", fix)
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html")) or b"<html" in stripped[:512]:
        raise UnsupportedFormat(
            "The source is an HTML page, not a document.",
            "Give the URL of the PDF or image itself (an HTML page often links to it).",
        )
    raise UnsupportedFormat(
        "The source is not a PDF or a supported image (PNG, JPEG, TIFF, WebP, BMP, GIF).",
        "Check that it is the document itself and not a page about it; convert other formats to PDF.",
    )
