"""Filling a schema with a vision-language model: prompted with the schema, the page text and images; its JSON
validated against the schema and, if it fails, asked again once with the validation error."""

from __future__ import annotations

import json
import re

from mcp_docvl.documents.model import BBox, Page
from mcp_docvl.engines.base import GenerativeEngine
from mcp_docvl.features.fields.schema import ValidationError, check_data, nullable
from mcp_docvl.features.fields.values import Found, checked
from mcp_docvl.models import FieldResult

# Characters of page text in the prompt: well inside a 16K-token context with the page images.
_VLM_TEXT_CHARS = 12_000


def _page_text(page: Page) -> str:
    """What the model is told a page says: its recognised lines, or the Markdown a VLM wrote for it."""
    text = "\n".join(ln.text for b in page.blocks for ln in b.lines)
    return text or "\n".join(b.markdown for b in page.blocks if b.markdown)


def fill_with_model(engine: GenerativeEngine, schema: dict, pages: list[Page], images: list,
                     max_new_tokens: int) -> dict[str, FieldResult] | str:
    """The fields as the model fills them, or why it could not (neither reply fitted the schema)."""
    text = "\n\n".join(f"[page {p.number}]\n{_page_text(p)}" for p in pages)
    prompt = (
        "Fill this JSON Schema from the document (page images and text below). Reply with one JSON object only. "
        "Use null for a field the document does not show; copy values as printed, dates as YYYY-MM-DD, amounts as "
        f"plain numbers.\n\nSchema:\n{json.dumps(schema)}\n\nDocument text:\n{text[:_VLM_TEXT_CHARS]}"
    )
    target = nullable(schema)
    data, error = _ask_json(engine, prompt, images, target, max_new_tokens)
    if error is not None:
        data, error = _ask_json(engine, f"{prompt}\n\nYour last reply was not valid: {error}. Reply again.", images,
                                target, max_new_tokens)
    if error is not None:
        return f"The model's reply did not fit the schema twice (last error: {error})"
    results = {}
    for name, spec in schema["properties"].items():
        value = data.get(name)
        if value is None:
            results[name] = FieldResult(value=None, confidence=0.0, reason="The model found no value.")
            continue
        where = _locate(pages, value)
        if where is None:
            # Not found in the text: the model read it from an image (or made it up); it is returned uncited.
            result = checked(name, spec, Found(value, pages[0], (0.0, 0.0, 0.0, 0.0), str(value), 0.5), "", schema)
            results[name] = result.model_copy(update={"citation": None})
        else:
            results[name] = checked(name, spec, Found(value, *where), "", schema)
    return results


def _ask_json(engine: GenerativeEngine, prompt: str, images: list, schema: dict,
              max_new_tokens: int) -> tuple[dict, str | None]:
    reply = engine.generate(prompt, images, max_new_tokens=max_new_tokens)
    found = re.search(r"\{.*\}", reply, re.DOTALL)
    if not found:
        return {}, "no JSON object in the reply"
    try:
        data = json.loads(found.group(0))
    except json.JSONDecodeError as exc:
        return {}, f"invalid JSON ({exc.msg})"
    if not isinstance(data, dict):
        return {}, "the reply is not a JSON object"
    data = {k: v for k, v in data.items() if k in schema["properties"]}
    for name in schema["properties"]:
        data.setdefault(name, None)
    try:
        check_data(data, schema)
    except ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the object"
        return {}, f"{where}: {exc.message}"
    return data, None


def _locate(pages: list[Page], value: object) -> tuple[Page, BBox, str, float] | None:
    """Where a model's value is printed (page, box, text, confidence): the first line holding its text, ignoring
    case and spacing; on a page a VLM transcribed (no word boxes), the Markdown line, cited with the whole page."""
    needle = re.sub(r"\s+", "", str(value)).lower()
    if not needle or isinstance(value, list | dict):
        return None
    for page in pages:
        for line in page.lines:
            if needle in re.sub(r"\s+", "", line.text).lower():
                return page, line.bbox, line.text, 0.8
        if not page.lines:
            for block in page.blocks:
                for text in (block.markdown or "").splitlines():
                    if needle in re.sub(r"\s+", "", text).lower():
                        return page, (0.0, 0.0, page.width, page.height), text.strip(), 0.7
    return None
