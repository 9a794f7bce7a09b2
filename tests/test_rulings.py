"""Ruling lines from PDF vector paths: which strokes count as rules and where they land in the upright frame."""

from __future__ import annotations

import pypdfium2 as pdfium

from mcp_docvl.documents.rulings import rulings_from_pdf_page
from mcp_docvl.samples import assemble_pdf

# A 200 x 200 pt page; user space has y up, the rulings' frame has y down (y_frame = 200 - y_user).
DRAWING = b"""1 w
10 10 100 50 re S
q 2 0 0 1 0 100 cm 10 10 m 60 10 l 60 40 l h S Q
10 150 m 50 150 l 50 190 l h 70 150 m 110 150 l S
150 150 m 190 190 l S
120 20 m 121 20 l S
10 80 150 1 re f
"""


def rulings_of(content: bytes):
    pdf = pdfium.PdfDocument(assemble_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Count 1 /Kids [3 0 R] >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]))
    try:
        return rulings_from_pdf_page(pdf[0])
    finally:
        pdf.close()


def test_straight_edges_of_paths_become_rules_and_slants_and_specks_do_not():
    rulings = rulings_of(DRAWING)
    assert sorted(rulings.horizontal) == [
        (50.0, 10.0, 50.0),  # the closed figure's base; its closing edge back up is slanted
        (50.0, 70.0, 110.0),  # a second figure in the same path starts afresh at its moveto
        (90.0, 20.0, 120.0),  # the transformed figure: x doubled, moved up by 100
        (119.5, 10.0, 160.0),  # a thin filled rectangle is a rule along its length
        (140.0, 10.0, 110.0),  # the rectangle's top and bottom
        (190.0, 10.0, 110.0),
    ]
    assert sorted(rulings.vertical) == [
        (10.0, 140.0, 190.0),  # the rectangle's sides
        (50.0, 10.0, 50.0),  # the closed figure's right side
        (110.0, 140.0, 190.0),
        (120.0, 60.0, 90.0),  # the transformed figure's right side
    ]

