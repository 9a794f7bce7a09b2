"""Values as found on a page, typed to their field and checked against its schema, with their citation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from mcp_docvl.documents.model import BBox, Page
from mcp_docvl.extract import parsers
from mcp_docvl.features.fields.schema import ValidationError, check_value, field_types
from mcp_docvl.models import Citation, FieldResult


@dataclass(slots=True)
class Found:
    """A value where it was read: page, box, the printed text, and how sure the reading is."""

    value: object
    page: Page
    bbox: BBox
    text: str
    confidence: float
    # How the value follows from what is printed, when it is not printed as such (e.g. cash less change).
    note: str | None = None


def typed(value: object, spec: dict) -> object:
    """`value` converted to the JSON type the field asks for (Decimal to number, etc.); ValueError if it cannot be."""
    types = field_types(spec)
    if isinstance(value, Decimal):
        if "integer" in types and value == value.to_integral_value():
            return int(value)
        if "number" in types:
            return float(value)
        if "string" in types:
            return format(value, "f")
        raise ValueError(f"an amount ({value}) cannot fill a field of type {'/'.join(types)}")
    if isinstance(value, list | dict):
        return json.loads(json.dumps(value, default=lambda d: float(d) if isinstance(d, Decimal) else str(d)))
    if isinstance(value, str):
        if "string" in types:
            return value
        if "boolean" in types:
            parsed = parsers.parse_bool(value)
            if parsed is not None:
                return parsed
        if "number" in types or "integer" in types:
            amounts = parsers.find_amounts(value)
            if len(amounts) == 1:
                return typed(amounts[0].value, spec)
        raise ValueError(f"the text {value!r} is not a {'/'.join(types)}")
    return value


def citation(found: Found) -> Citation:
    return Citation(page=found.page.number, bbox=tuple(round(v, 2) for v in found.bbox), unit=found.page.unit,
                    text=found.text)


def checked(name: str, spec: dict, found: Found | None, missing: str, root: dict | None = None) -> FieldResult:
    """A found value typed and validated against its field's schema (part of the schema `root`), or null with
    the reason."""
    if found is None:
        return FieldResult(value=None, confidence=0.0, reason=missing)
    try:
        value = typed(found.value, spec)
        check_value(value, spec, root)
    except (ValueError, ValidationError) as exc:
        detail = exc.message if isinstance(exc, ValidationError) else str(exc)
        return FieldResult(value=None, citation=citation(found), confidence=0.0,
                           reason=f"Found {found.text!r} but it does not fit the field's schema: {detail}.")
    return FieldResult(value=value, citation=citation(found), confidence=round(found.confidence, 3), note=found.note)
