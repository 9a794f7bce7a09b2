"""The schema a document is filled to: from a JSON Schema, a flat field list or a preset; checked, made nullable,
and every value validated against it (the one place jsonschema is called)."""

from __future__ import annotations

import copy

import jsonschema
from jsonschema.validators import validator_for

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.features.fields.presets import PRESETS


def field_types(spec: dict) -> list[str]:
    """The JSON types a field allows (its `type`, as a list)."""
    kind = spec.get("type", "string")
    return [kind] if isinstance(kind, str) else list(kind)



def resolve_schema(schema: dict | None = None, fields: list[dict] | dict[str, str] | None = None,
                   preset: str | None = None) -> dict:
    """The JSON Schema to fill, from exactly one of `schema`, `fields` (name -> description) or `preset`."""
    given = [x for x in (schema, fields, preset) if x is not None]
    if len(given) != 1:
        raise InvalidArgument(
            "Give exactly one of `schema`, `fields` or `preset`." if given else "Nothing to extract was named.",
            f"Pass a JSON Schema, a list of fields (name and description), or preset={'|'.join(PRESETS)}.")
    if preset is not None:
        if preset not in PRESETS:
            raise InvalidArgument(f"Unknown preset {preset!r}.", f"Use one of: {', '.join(PRESETS)}.")
        return copy.deepcopy(PRESETS[preset])
    if fields is not None:
        return _schema_from_fields(fields)
    if not isinstance(schema, dict):
        raise InvalidArgument("The schema is not a JSON object.", 'Pass e.g. {"type": "object", "properties": {...}}.')
    try:
        validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise InvalidArgument(f"The JSON Schema is invalid at {where}: {exc.message}.",
                              "Fix the schema (see json-schema.org), or pass a flat list of fields.") from None
    if schema.get("type", "object") != "object" or not isinstance(schema.get("properties"), dict) \
            or not schema["properties"]:
        raise InvalidArgument("The schema must describe an object with `properties` (the fields to fill).",
                              'Use {"type": "object", "properties": {"total": {"type": "number"}}}.')
    return copy.deepcopy(schema)


def _schema_from_fields(fields: list[dict] | dict[str, str]) -> dict:
    items = [{"name": k, "description": v} for k, v in fields.items()] if isinstance(fields, dict) else fields
    properties: dict[str, dict] = {}
    for item in items:
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict) or not str(item.get("name", "")).strip():
            raise InvalidArgument(f"The field {item!r} has no name.",
                                  'Give each field as {"name": "total", "description": "...", "type": "number"}.')
        kind = item.get("type", "string")
        if kind not in ("string", "number", "integer", "boolean"):
            raise InvalidArgument(f"The field {item['name']!r} has type {kind!r}.",
                                  "Flat fields are string, number, integer or boolean; use a JSON Schema for more.")
        spec = {"type": kind, "description": str(item.get("description", ""))}
        if item.get("format"):
            spec["format"] = item["format"]
        properties[str(item["name"]).strip()] = spec
    if not properties:
        raise InvalidArgument("The list of fields is empty.", "Name at least one field.")
    return {"type": "object", "properties": properties}


def nullable(schema: dict) -> dict:
    """The schema with every top-level field allowing null: the shape `data` validates against."""
    out = copy.deepcopy(schema)
    for spec in out["properties"].values():
        if "type" in spec:
            types = field_types(spec)
            if "null" not in types:
                spec["type"] = [*types, "null"]
        else:
            spec.setdefault("anyOf", [{}])
        if "enum" in spec and None not in spec["enum"]:
            spec["enum"] = [*spec["enum"], None]
    return out


def check_value(value: object, spec: dict) -> None:
    """Raise jsonschema.ValidationError when `value` does not fit the field schema `spec` (formats included)."""
    jsonschema.validate(value, spec, format_checker=jsonschema.FormatChecker())


def check_data(data: dict, schema: dict) -> None:
    """Raise jsonschema.ValidationError when the filled object `data` does not fit `schema`."""
    jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())


ValidationError = jsonschema.ValidationError
