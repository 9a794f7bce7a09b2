import io
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from conftest import RESOURCES, eval_dir
from PIL import Image

from mcp_docvl.config import Settings
from mcp_docvl.errors import DocumentCorrupt, InvalidArgument, PasswordRequired
from mcp_docvl.features.read import read_document
from mcp_docvl.samples import Text, make_pdf, sample_report

SAMPLE = str(RESOURCES / "sample.pdf")


def test_sample_pdf_reads_as_structured_markdown(settings: Settings):
    result = read_document(SAMPLE, settings=settings)
    assert result.document.page_count == 2
    assert result.document.title == "Quarterly Report on Document Access"
    assert [p.method for p in result.pages] == ["text_layer", "text_layer"]
    page = result.pages[0].content
    assert page.startswith("# Quarterly Report on Document Access\n\n## Introduction")
    # The two columns are read one after the other, never interleaved line by line.
    left = page.index("Scanned receipts and born-digital reports reach agents every day.")
    left_end = page.index("multi-column pages intact.")
    right = page.index("The right column starts here and must be read after the left one.")
    assert left < left_end < right
    assert "- Text layers are read directly.\n- Scans go through OCR." in page
    assert not result.truncated and result.next_cursor is None


def test_resources_sample_matches_generator():
    # resources/sample.pdf is what the quick start reads; keep it in step with its generator.
    assert (RESOURCES / "sample.pdf").read_bytes() == sample_report()


def test_page_selection_and_text_format(settings: Settings):
    result = read_document(SAMPLE, pages="2", format="text", settings=settings)
    assert [p.page for p in result.pages] == [2]
    assert result.pages[0].content == (
        "Appendix\n\nThe total amount due is 1,234.56 EUR, payable by 31 January 2027. "
        "Questions go to docs@example.com."
    )


@pytest.mark.parametrize("budget", [40, 137, 400])
def test_cursor_paging_returns_everything_exactly_once(settings: Settings, budget: int):
    full = {p.page: p.content for p in read_document(SAMPLE, settings=settings).pages}
    pieces: dict[int, str] = {}
    cursor = None
    for _ in range(100):
        result = read_document(SAMPLE, max_chars=budget, cursor=cursor, settings=settings)
        assert sum(len(p.content) for p in result.pages) <= budget
        for page in result.pages:
            pieces[page.page] = pieces.get(page.page, "") + page.content
        if not result.truncated:
            break
        assert result.continuation and "cursor" in result.continuation
        cursor = result.next_cursor
    assert pieces == full


def test_page_limit_per_call_gives_a_cursor(settings: Settings):
    settings.max_pages_per_call = 1
    first = read_document(SAMPLE, settings=settings)
    assert [p.page for p in first.pages] == [1] and first.truncated
    assert "per-call page limit" in first.continuation
    second = read_document(SAMPLE, cursor=first.next_cursor, settings=settings)
    assert [p.page for p in second.pages] == [2] and not second.truncated


def test_cursor_of_another_document_is_refused(settings: Settings, tmp_path: Path):
    other = tmp_path / "other.pdf"
    other.write_bytes(make_pdf([[Text(72, 72, "x" * 300)]] * 2))
    cursor = read_document(str(other), max_chars=100, settings=settings).next_cursor
    with pytest.raises(InvalidArgument, match="another document"):
        read_document(SAMPLE, cursor=cursor, settings=settings)


def test_ocr_reads_a_png(settings: Settings):
    result = read_document(str(RESOURCES / "scan.png"), settings=settings)
    page = result.pages[0]
    assert page.method == "ocr" and page.unit == "px" and page.confidence > 0.8
    assert "Appendix" in page.content
    assert "1,234.56 EUR" in page.content
    assert "docs@example.com" in page.content


def _render(pdf_bytes: bytes, index: int, dpi: int = 150) -> Image.Image:
    return pdfium.PdfDocument(pdf_bytes)[index].render(scale=dpi / 72).to_pil().convert("RGB")


def test_image_only_pdf_goes_through_ocr(settings: Settings, tmp_path: Path):
    image = _render(sample_report(), 0)
    pdf = pdfium.PdfDocument.new()
    page = pdf.new_page(612, 792)
    obj = pdfium.PdfImage.new(pdf)
    obj.set_bitmap(pdfium.PdfBitmap.from_pil(image))
    obj.set_matrix(pdfium.PdfMatrix().scale(612, 792))
    page.insert_obj(obj)
    page.gen_content()
    buffer = io.BytesIO()
    pdf.save(buffer)
    (tmp_path / "scan.pdf").write_bytes(buffer.getvalue())

    result = read_document(str(tmp_path / "scan.pdf"), settings=settings)
    content = result.pages[0].content
    assert result.pages[0].method == "ocr" and result.pages[0].unit == "pt"
    assert "Quarterly Report on Document Access" in content
    # OCR keeps the column order too.
    assert content.index("reach agents every day") < content.index("The right column starts here")


def test_multipage_tiff(settings: Settings, tmp_path: Path):
    pages = [_render(make_pdf([[Text(72, 72, f"This is page number {n}", 24)]]), 0, 100) for n in (1, 2)]
    pages[0].save(tmp_path / "two.tiff", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    result = read_document(str(tmp_path / "two.tiff"), settings=settings)
    assert result.document.page_count == 2 and result.document.media_type == "image/tiff"
    assert "page number 1" in result.pages[0].content and "page number 2" in result.pages[1].content


def test_encrypted_pdf_needs_its_password(settings: Settings):
    path = str(eval_dir("realworld-pdfs") / "password-example.pdf")
    with pytest.raises(PasswordRequired, match=r"encrypted\. Pass its `password`"):
        read_document(path, settings=settings)
    with pytest.raises(PasswordRequired, match="wrong"):
        read_document(path, password="nope", settings=settings)
    result = read_document(path, password="test", settings=settings)
    assert "Backup4all" in result.pages[0].content


def test_corrupt_and_truncated_pdfs_are_named(settings: Settings, tmp_path: Path):
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\nthis is not a pdf body at all")
    with pytest.raises(DocumentCorrupt, match="cannot be parsed"):
        read_document(str(tmp_path / "bad.pdf"), settings=settings)
    (tmp_path / "cut.png").write_bytes((RESOURCES / "scan.png").read_bytes()[:300])
    with pytest.raises(DocumentCorrupt, match="damaged or truncated"):
        read_document(str(tmp_path / "cut.png"), settings=settings)


def test_bad_arguments_are_named(settings: Settings):
    with pytest.raises(InvalidArgument, match="out of range: the document has 2 pages"):
        read_document(SAMPLE, pages="3", settings=settings)
    with pytest.raises(InvalidArgument, match="Unknown format"):
        read_document(SAMPLE, format="docx", settings=settings)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="malformed"):
        read_document(SAMPLE, cursor="garbage", settings=settings)


def test_text_running_up_a_rotated_page_is_read_upright(settings: Settings):
    # eu-015 has /Rotate 90 and its text drawn running up the page: it must read as words, not one letter a line.
    path = str(eval_dir("icdar2013") / "eu-015.pdf")
    page = read_document(path, pages="1", settings=settings).pages[0]
    # Both headings are set in bold at 14.5 and 14 pt: one heading style, one level.
    assert page.content.startswith("## Topics\n\n## Enquiries by topic")
    assert "| EU Institutions | 3.597 |" in page.content
    assert page.width > page.height  # the upright frame of a portrait page turned a quarter
    assert any("read upright" in w for w in page.warnings)


def test_a_page_of_twenty_thousand_tiny_words_reads_in_full(settings: Settings, tmp_path: Path):
    # A page of tens of thousands of tiny words (as garbage fonts produce) still reads in full.
    items = [Text(10 + (i % 10) * 40, 10 + (i // 10) * 3.8, f"w{i}", 1.5) for i in range(20_000)]
    (tmp_path / "dense.pdf").write_bytes(make_pdf([items], size=(612, 7700)))
    result = read_document(str(tmp_path / "dense.pdf"), format="text", settings=settings, max_chars=10**7)
    words = set(result.pages[0].content.split())
    assert {f"w{i}" for i in range(0, 20_000, 997)} <= words
    assert len(words & {f"w{i}" for i in range(20_000)}) > 19_000
