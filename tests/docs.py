"""Documents the cache, resource and large-document tests write for themselves."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
from PIL import Image

from mcp_docvl.samples import Text, assemble_pdf, make_pdf


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


def _one_page(ops: list[str], width: float, height: float) -> bytes:
    """A one-page PDF drawing `ops` (content stream operators) with Helvetica as /F1 and Helvetica-Bold as /F2."""
    content = "\n".join(ops).encode()
    objects = [
        b"<< /Type /Catalog /Pages 4 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Pages /Count 1 /Kids [6 0 R] >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        f"<< /Type /Page /Parent 4 0 R /MediaBox [0 0 {width:g} {height:g}] "
        "/Resources << /Font << /F1 2 0 R /F2 3 0 R >> >> /Contents 5 0 R >>".encode(),
    ]
    return assemble_pdf(objects)


# The ruled table of `ruled_table_pdf`: a header row and three rows, four columns.
RULED_ROWS = [["Region", "Units", "Price", "Revenue"], ["North", "120", "9.50", "1140.00"],
              ["South", "85", "9.50", "807.50"], ["West", "240", "8.75", "2100.00"]]


def ruled_table_pdf() -> bytes:
    """A one-page PDF with a heading, a paragraph and a table drawn with vector rules around every cell."""
    width, height = 612, 792
    x0, y0, col, row = 72.0, 160.0, 110.0, 24.0
    ops = ["BT /F2 18 Tf 72 700 Td (Sales by region) Tj ET",
           "BT /F1 11 Tf 72 670 Td (Units sold and revenue per region in the first quarter.) Tj ET",
           "0.8 w"]
    for r in range(len(RULED_ROWS) + 1):  # horizontal rules (PDF y grows upwards)
        y = height - (y0 + r * row)
        ops.append(f"{x0:g} {y:g} m {x0 + 4 * col:g} {y:g} l S")
    for c in range(5):
        x = x0 + c * col
        ops.append(f"{x:g} {height - y0:g} m {x:g} {height - y0 - len(RULED_ROWS) * row:g} l S")
    for r, cells in enumerate(RULED_ROWS):
        for c, text in enumerate(cells):
            font = "F2" if r == 0 else "F1"
            ops.append(f"BT /{font} 10 Tf {x0 + c * col + 6:g} {height - y0 - (r + 1) * row + 8:g} Td ({text}) Tj ET")
    return _one_page(ops, width, height)


# The fields of `ruled_form_pdf`: each label and value as lines (a label or a value may wrap).
FORM_FIELDS = [(["Standard name"], ["Steel billets cast by the continuous method,", "for use in structural steels",
                                    "to the analysis in the annex"]),
               (["Standard number"], ["20300"]),
               (["Issuing body"], ["National standards organisation"]),
               (["Has the producer obtained", "the standard?"], ["Yes"])]


def ruled_form_pdf() -> bytes:
    """A paragraph, a heading and a ruled box of labelled fields below it: labels in bold on the left, values in
    the regular face on the right, some wrapped over several lines; each label line is shaded by a rectangle set
    inside its cell (inset by the cell's padding), as form generators draw a shaded label line by line."""
    width, height = 612, 792
    x0, mid, x1, top, pad, lead = 72.0, 272.0, 532.0, 126.0, 5.0, 14.0
    ops = ["BT /F1 10 Tf 72 722 Td (The product below is admitted to the main market on the terms the committee set.) "
           "Tj ET",
           "BT /F1 10 Tf 72 708 Td (Each field of the admission record is given with the value that was approved.) "
           "Tj ET",
           "BT /F2 12 Tf 72 680 Td (Product standard) Tj ET"]
    rules = [top]
    y = top
    for labels, values in FORM_FIELDS:
        for i, text in enumerate(labels):  # shading first, under the text: one rectangle per label line
            line_top = y + pad + i * lead
            ops.append(f"0.85 g {x0 + pad:g} {height - line_top - lead:g} {mid - x0 - 2 * pad:g} {lead:g} re f 0 g")
            ops.append(f"BT /F2 10 Tf {x0 + pad + 2:g} {height - line_top - 11:g} Td ({text}) Tj ET")
        for i, text in enumerate(values):
            ops.append(f"BT /F1 10 Tf {mid + pad + 2:g} {height - y - pad - i * lead - 11:g} Td ({text}) Tj ET")
        y += 2 * pad + lead * max(len(labels), len(values))
        rules.append(y)
    ops.append("0.8 w")
    ops += [f"{x0:g} {height - r:g} m {x1:g} {height - r:g} l S" for r in rules]
    ops += [f"{x:g} {height - top:g} m {x:g} {height - y:g} l S" for x in (x0, mid, x1)]
    return _one_page(ops, width, height)
