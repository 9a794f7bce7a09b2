"""The contract of the tools: pydantic models whose field descriptions become the schema agents read."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Method = Literal["text_layer", "ocr", "vlm"]
Unit = Literal["pt", "px"]
# A region on a page, in the page's unit (see `unit` beside it): the one box type of every result.
BBox = Annotated[tuple[float, float, float, float],
                 Field(description="[x0, y0, x1, y1] in the page's unit, origin top-left.")]
Confidence = Annotated[float, Field(ge=0, le=1)]


class Paging(BaseModel):
    """How a result that can be cut says so: every such result has these three fields, meaning the same."""

    truncated: bool = Field(
        description="True when not everything selected was returned (output budget, cell budget or page limit). "
        "Nothing is dropped silently: call again with `cursor` set to `next_cursor` to get the rest."
    )
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor`, with the same other arguments, to continue where this "
        "result stopped."
    )
    continuation: str | None = Field(default=None, description="In words: what was cut and how to get it.")


class DocumentInfo(BaseModel):
    id: str = Field(description="Stable id of the document: the first 16 hex digits of its sha256.")
    sha256: str = Field(description="SHA-256 of the document bytes.")
    name: str = Field(description="Where it came from: the path, the URL, or 'inline data'.")
    media_type: str = Field(description="Type detected from the content, e.g. application/pdf or image/png.")
    page_count: int = Field(description="Number of pages in the whole document.")
    title: str | None = Field(default=None, description="Title from the document's metadata, if any.")
    author: str | None = Field(default=None, description="Author from the metadata, if any.")
    subject: str | None = Field(default=None, description="Subject from the metadata, if any.")
    creator: str | None = Field(default=None, description="Application that created the document, if recorded.")
    producer: str | None = Field(default=None, description="Application that produced the PDF, if recorded.")
    created: str | None = Field(default=None, description="Creation date as recorded (PDF date format).")
    modified: str | None = Field(default=None, description="Modification date as recorded (PDF date format).")


class PageContent(BaseModel):
    page: int = Field(description="Page number, 1-based.")
    method: Method = Field(
        description="How the text was obtained: 'text_layer' (embedded PDF text), 'ocr' (recognised from the "
        "page image), 'vlm' (transcribed by a vision-language model)."
    )
    confidence: Confidence = Field(
        description="0..1. 1.0 for a clean text layer; mean recognition confidence for OCR/VLM pages."
    )
    width: float = Field(description="Page width as displayed, in `unit`.")
    height: float = Field(description="Page height as displayed, in `unit`.")
    unit: Unit = Field(description="'pt' (1/72 inch) for PDFs, 'px' for images.")
    content: str = Field(description="The page's content in reading order, in the requested format.")
    complete: bool = Field(
        default=True, description="False when this page's content was cut by the output budget (see next_cursor)."
    )
    warnings: list[str] = Field(default_factory=list, description="Anything about this page the reader should know.")


class ReadDocumentResult(Paging):
    document: DocumentInfo = Field(description="What was read.")
    format: Literal["markdown", "text"] = Field(description="Format of every page's `content`.")
    pages: list[PageContent] = Field(description="The pages returned, in order.")
    methods: dict[str, int] = Field(description="How many of the returned pages each method produced.")
    estimated_tokens: int = Field(default=0, description="Estimated LLM tokens of the returned content.")
    warnings: list[str] = Field(default_factory=list, description="Document-level notes.")

    def combined(self, continuation: bool = True) -> str:
        """All returned pages as one string, with page markers, for people and agents (and the continuation)."""
        parts = []
        for page in self.pages:
            marker = f"<!-- page {page.page} -->" if self.format == "markdown" else f"[page {page.page}]"
            parts.append(f"{marker}\n{page.content}" if page.content else marker)
        text = "\n\n".join(parts)
        if continuation and self.continuation:
            text += f"\n\n[{self.continuation}]"
        return text


TableFormat = Literal["json", "csv", "markdown", "html"]


class TableCellResult(BaseModel):
    row: int = Field(description="First row the cell occupies, 0-based (row numbers count from the table's top, "
                                 "also in a paged result).")
    col: int = Field(description="First column the cell occupies, 0-based.")
    row_span: int = Field(description="How many rows the cell covers (>1 for vertically merged cells).")
    col_span: int = Field(description="How many columns the cell covers (>1 for merged header cells).")
    text: str = Field(description="The cell's text; lines of a wrapped cell are joined. Empty for empty cells.")
    bbox: BBox


class TableRef(BaseModel):
    page: int = Field(description="Page number, 1-based.")
    index: int = Field(description="Position of the table on that page, 0-based, top to bottom.")


class TableResult(BaseModel):
    page: int = Field(description="Page number, 1-based.")
    index: int = Field(description="Position of the table on its page, 0-based, top to bottom.")
    method: Method = Field(description="Where the words came from: 'text_layer', 'ocr' or 'vlm'.")
    bbox: BBox
    unit: Unit = Field(description="'pt' (1/72 inch) for PDFs, 'px' for images.")
    n_rows: int = Field(description="Rows of the whole table (including header rows).")
    n_cols: int = Field(description="Columns of the table.")
    header_rows: int = Field(description="How many leading rows are column headers (0 if none were recognised).")
    row_start: int = Field(description="First row included in this result (0 unless the table was paged).")
    row_end: int = Field(description="One past the last row included; equals n_rows when the table is complete.")
    complete: bool = Field(description="False when only rows row_start..row_end-1 are here; see next_cursor.")
    continued_from: TableRef | None = Field(
        default=None, description="The table on the previous page that this one continues (same columns, "
        "running over the page break), if any.")
    cells: list[TableCellResult] = Field(description="Cells of the included rows, row by row. Merged cells "
                                                     "appear once, at their first row and column.")
    content: str = Field(description="The included rows in the requested format. json (an array of rows), csv "
                                     "and markdown repeat a merged cell's text in each slot it covers; html keeps "
                                     "rowspan/colspan. Markdown repeats the header rows on every part of a paged "
                                     "table.")


class ExtractTablesResult(Paging):
    document: DocumentInfo = Field(description="What was read.")
    format: TableFormat = Field(description="Format of every table's `content`.")
    pages: list[int] = Field(description="The pages that were searched for tables in this call.")
    tables: list[TableResult] = Field(description="Tables found, in page order then top to bottom.")
    message: str = Field(description="In words: how many tables were found where, or that there were none.")


class Citation(BaseModel):
    page: int = Field(description="Page number, 1-based.")
    bbox: BBox
    unit: Unit = Field(description="'pt' (1/72 inch) for PDFs, 'px' for images.")
    text: str = Field(description="The text found in that region, quoted as read.")
    score: float | None = Field(default=None, description="Retrieval score (BM25) of this passage, when ranked.")


AnswerMethod = Literal["vlm", "sampling", "retrieval"]


class AnswerResult(BaseModel):
    document: DocumentInfo = Field(description="The document asked about.")
    question: str = Field(description="The question as asked.")
    answer: str | None = Field(
        description="The answer, or null when the document does not say (or no model was available to answer: "
        "see `method` and `reason`). Never guessed."
    )
    citations: list[Citation] = Field(
        description="Where the answer comes from. With `method: retrieval`, the passages most likely to hold it, "
        "best first."
    )
    confidence: Confidence = Field(
        description="0..1. For an answer: how much of it the cited text supports. For retrieval: the share of the "
        "question's terms found in the best passage."
    )
    method: AnswerMethod = Field(
        description="Who answered: 'vlm' (the server's vision-language model), 'sampling' (the client's own model, "
        "via MCP sampling), 'retrieval' (no model: ranked evidence only, `answer` null)."
    )
    model: str | None = Field(default=None, description="The engine or model that produced the answer, if any.")
    reason: str | None = Field(default=None, description="Why `answer` is null, when it is.")
    pages_searched: list[int] = Field(description="The pages that were searched.")
    warnings: list[str] = Field(default_factory=list, description="Anything the caller should know, e.g. pages "
                                "not searched before the call time limit.")


class FieldResult(BaseModel):
    value: object = Field(description="The value, typed as the schema says; null when not found.")
    citation: Citation | None = Field(default=None, description="Where the value was read, when found.")
    confidence: Confidence = Field(description="0..1: how sure the extraction is (0 when not found).")
    reason: str | None = Field(default=None, description="Why the value is null, when it is.")
    note: str | None = Field(
        default=None, description="How the value follows from what is printed, when it is not printed as such "
        "(e.g. a total worked out as the amount tendered less the change).")


class ExtractFieldsResult(BaseModel):
    document: DocumentInfo = Field(description="The document the fields were read from.")
    data: dict[str, object] = Field(
        description="The filled object: validates against `json_schema`; a field not found is null."
    )
    fields: dict[str, FieldResult] = Field(description="Per field: value, citation, confidence, or why it is null.")
    method: Literal["rules", "vlm"] = Field(
        description="'rules' (layout-aware rules on the recognised text) or 'vlm' (the vision-language model, "
        "its JSON validated against the schema)."
    )
    json_schema: dict[str, object] = Field(description="The JSON Schema the data was filled to.")
    pages: list[int] = Field(description="The pages read.")
    warnings: list[str] = Field(default_factory=list, description="Anything the caller should know.")


class OutlineEntry(BaseModel):
    level: int = Field(description="Nesting level, 1 = top.")
    title: str = Field(description="The bookmark's or heading's text.")
    page: int | None = Field(description="1-based page it points to or stands on; None when the PDF gives none.")


class PageSummary(BaseModel):
    page: int = Field(description="Page number, 1-based.")
    method: Method | None = Field(
        description="How the page's text is obtained; None when it needs recognition that was not run "
        "(call with recognise=true, or read the page)."
    )
    estimated_tokens: int | None = Field(description="Estimated LLM tokens of the page as Markdown; None if unknown.")
    headings: int = Field(description="Headings on the page.")
    tables: int = Field(description="Tables detected on the page.")
    uri: str = Field(description="Resource URI of the page's Markdown.")


class DocumentOutline(Paging):
    document: DocumentInfo = Field(description="What was outlined.")
    uri: str = Field(description="Resource URI of the document; pass it as `source` to any tool.")
    title: str | None = Field(description="Metadata title, else the first top-level heading, else the first bookmark.")
    bookmarks: list[OutlineEntry] = Field(description="The PDF's own table of contents, in order (may be empty).")
    headings: list[OutlineEntry] = Field(description="Headings found on the outlined pages, in reading order.")
    pages: list[PageSummary] = Field(description="One summary per outlined page.")
    estimated_tokens: int = Field(description="Sum of the known per-page estimates.")
    unrecognised_pages: list[int] = Field(description="Pages that need recognition, not run for this outline.")
