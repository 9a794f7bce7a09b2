"""Documents the cache, resource and large-document tests write for themselves."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from PIL import Image

from mcp_docvl.samples import Text, make_pdf


def text_pages(count: int, tag: str = "") -> list[list[Text]]:
    """`count` pages, each with a heading and a few sentences naming the page (and `tag`, to make it unique)."""
    pages = []
    for n in range(1, count + 1):
        body = [Text(72, 60, f"Chapter {n} {tag}".strip(), 18, bold=True)]
        body += [Text(72, 100 + 16 * i, f"Page {n} line {i}: the quick brown fox jumps over the lazy dog {tag}.")
                 for i in range(8)]
        pages.append(body)
    return pages


def scanned_pdf(count: int, size: tuple[float, float] = (300.0, 200.0)) -> bytes:
    """An image-only PDF (no text layer): each page a picture of a short text page, so it needs OCR."""
    text = make_pdf([[Text(20, 30, f"Scanned page number {n}", 14, bold=True),
                      Text(20, 70, f"Invoice total {n * 111}.00 EUR", 12)] for n in range(1, count + 1)], size=size)
    pdf = pdfium.PdfDocument(text)
    images = [pdf[i].render(scale=150 / 72).to_pil().convert("RGB") for i in range(count)]
    pdf.close()
    out = io.BytesIO()
    images[0].save(out, format="PDF", save_all=True, append_images=images[1:], resolution=150.0)
    return out.getvalue()


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
