"""Filling a JSON Schema from a document: every value typed, cited (page, box, text) and scored, or null with a reason.

Two ways to fill it:
- rules (the embedded engine): layout-aware rules over the recognised lines: a label with its value on the
  same row or just below, the largest amount on a total line, the company name near the top, the address block
  under it, dates and amounts read by the typed parsers;
- a vision-language engine: the model is prompted with the schema and the page text and images; its JSON is
  validated against the schema and, if it fails, asked again once with the validation error. A second reply
  that does not fit either hands the document to the rules, and the result says so (method "rules", a warning,
  and each field the rules leave null names the model's error too).
Either way, a value that does not fit its field's type is dropped (null, with the reason), never returned.
"""

from __future__ import annotations

from typing import Literal

from mcp_docvl.config import Settings
from mcp_docvl.engines import Engine, create_engine
from mcp_docvl.engines.base import GenerativeEngine
from mcp_docvl.features.fields.model_fill import fill_with_model
from mcp_docvl.features.fields.rules import fill_with_rules
from mcp_docvl.features.fields.schema import check_data, nullable, resolve_schema
from mcp_docvl.models import ExtractFieldsResult, FieldResult
from mcp_docvl.pipeline.session import open_session
from mcp_docvl.sources import Source

# Documents whose fields sit on their first pages; reading more only costs time.
_DEFAULT_PAGES = 3
# Pages shown to a vision-language model as images, and their resolution.
_VLM_PAGES = 2
_IMAGE_DPI = 144
# Tokens of one JSON reply: far more than a filled schema takes; DOCVL_VLM_MAX_NEW_TOKENS caps it lower.
_VLM_REPLY_TOKENS = 1024


def extract_fields(source: str | Source, schema: dict | None = None, *,
                   fields: list[dict] | dict[str, str] | None = None, preset: str | None = None,
                   pages: str | None = None, password: str | None = None, settings: Settings | None = None,
                   engine: Engine | None = None) -> ExtractFieldsResult:
    """Fill `schema` (or `fields`, or a `preset`) from the document; see the module docstring."""
    settings = settings or Settings.from_env()
    target = resolve_schema(schema, fields, preset)
    if engine is None:
        engine = create_engine(settings)
    with open_session(source, settings, password=password, engine=engine) as session:
        page_count = session.doc.page_count
        numbers = session.select(pages)[0] if pages else list(range(1, min(page_count, _DEFAULT_PAGES) + 1))
        numbers = numbers[:settings.max_pages_per_call]
        loaded = [page for n in numbers if (page := session.pages.page(n)) is not None]
        info = session.info
        images = [session.image(n, _IMAGE_DPI) for n in numbers[:_VLM_PAGES]] \
            if isinstance(engine, GenerativeEngine) else []
    warnings: list[str] = []
    if page_count > len(numbers) and not pages:
        warnings.append(f"Only pages 1-{len(numbers)} of {page_count} were read; pass `pages` to read others.")
    method: Literal["rules", "vlm"] = "rules"
    results: dict[str, FieldResult] | None = None
    failure = None
    if isinstance(engine, GenerativeEngine):
        filled = fill_with_model(engine, target, loaded, images, min(_VLM_REPLY_TOKENS, settings.vlm_max_new_tokens))
        if isinstance(filled, str):
            failure = filled
        else:
            results, method = filled, "vlm"
    if results is None:
        results = fill_with_rules(target, loaded)
    if failure:
        warnings.append(f"{failure}; the fields were read by the layout rules instead.")
        results = {name: r if r.value is not None else r.model_copy(
            update={"reason": f"{failure}; the layout rules found no value either: {r.reason}"})
            for name, r in results.items()}
    out_schema = nullable(target)
    data = {name: result.value for name, result in results.items()}
    check_data(data, out_schema)  # a failure here is a bug: every value was checked on its own
    return ExtractFieldsResult(document=info, data=data, fields=results, method=method, json_schema=out_schema,
                               pages=numbers, warnings=warnings)


