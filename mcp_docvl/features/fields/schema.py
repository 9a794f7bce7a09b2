"""The schema a document is filled to: from a JSON Schema, a flat field list or a preset; checked, made nullable,
and every value validated against it (the one place jsonschema is called).

A caller's schema is data, never a reason to read or fetch anything: references must stay inside it (`#...`),
`$id` may only name a local anchor, `$schema` must be a metaschema jsonschema ships, and every validator is built
on a `referencing.Registry` whose `retrieve` refuses, so even a reference this check missed cannot leave the
process (the bundled metaschemas are all it knows besides the schema itself).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from jsonschema.validators import validator_for

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.features.fields.presets import PRESETS

# Keywords whose value is a URI reference the validator would follow or use as a base: each must be local.
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
_BASES = ("$id",)
_LOCAL_FIX = ("Keep every referenced schema inside this one (under `$defs`) and refer to it locally, e.g. "
              '{"$ref": "#/$defs/address"}; the server never reads files or URLs named by a schema.')


def _refuse_fetch(uri: str) -> referencing.Resource:
    """The registry's `retrieve`: a reference that names something outside the schema is never looked up."""
    raise referencing.exceptions.NoSuchResource(ref=uri)


# Knows nothing but what it is given (the schema itself) and the metaschemas jsonschema combines in; never fetches.
_REGISTRY: referencing.Registry = referencing.Registry(retrieve=_refuse_fetch)  # type: ignore[call-arg]


def _walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """Every (path, key, value) of every object inside `node` (iteratively: a deep schema cannot overflow)."""
    stack: list[tuple[tuple[str, ...], Any]] = [(path, node)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                yield where, str(key), value
                stack.append(((*where, str(key)), value))
        elif isinstance(item, list):
            stack.extend(((*where, str(i)), value) for i, value in enumerate(item))


def _check_local(schema: dict) -> None:
    """Refuse every reference, base URI or metaschema that points outside the schema (problem, where, fix)."""
    for where, key, value in _walk(schema):
        at = "/".join(where) or "the top level"
        if key in _REFERENCES and isinstance(value, str) and not value.startswith("#"):
            raise InvalidArgument(f"The JSON Schema's {key} at {at} points outside the schema ({value[:200]!r}).",
                                  _LOCAL_FIX)
        if key in _BASES and isinstance(value, str) and not value.startswith("#"):
            raise InvalidArgument(f"The JSON Schema's {key} at {at} sets a base URI ({value[:200]!r}); references "
                                  "against it could point outside the schema.",
                                  f"Remove {key} (anchors may use `$anchor`). " + _LOCAL_FIX)
        if key == "$schema" and isinstance(value, str) and (where or validator_for({key: value}, default=None) is None):
            raise InvalidArgument(f"The JSON Schema's $schema at {at} ({value[:200]!r}) is not a metaschema the "
                                  "server knows" + (" (and only the top level may name one)." if where else "."),
                                  "Use a standard one, e.g. https://json-schema.org/draft/2020-12/schema, at the top "
                                  "level, or leave $schema out.")


def _validator(schema: dict | bool) -> jsonschema.protocols.Validator:
    cls = validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, registry=_REGISTRY, format_checker=jsonschema.FormatChecker())


def _check_references_resolve(schema: dict) -> None:
    """Every local reference names a part of the schema, and no chain of bare references loops."""
    resolver = _validator(schema)._resolver  # the validator's own resolver, rooted at `schema`
    for where, key, value in _walk(schema):
        if key not in _REFERENCES or not isinstance(value, str):
            continue
        at = "/".join(where) or "the top level"
        seen: set[str] = set()
        target: Any = value
        while isinstance(target, str):  # follow a chain of bare references: it must end in a real subschema
            if target in seen:
                raise InvalidArgument(f"The JSON Schema's {key} at {at} ({value[:200]!r}) leads back to itself.",
                                      "Point the reference at a subschema that says something (a type, properties).")
            seen.add(target)
            try:
                contents = resolver.lookup(target).contents
            except referencing.exceptions.Unresolvable:
                raise InvalidArgument(f"The JSON Schema's {key} at {at} ({target[:200]!r}) names no part of the "
                                      "schema.", "Point it at a subschema that exists, e.g. #/$defs/<name>.") from None
            target = contents.get("$ref") if isinstance(contents, dict) else None


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
    _check_local(schema)
    try:
        validator_for(schema).check_schema(schema)
        _check_references_resolve(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the top level"
        raise InvalidArgument(f"The JSON Schema is invalid at {where}: {exc.message[:500]}.",
                              "Fix the schema (see json-schema.org), or pass a flat list of fields.") from None
    except RecursionError:
        raise _too_deep() from None
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
    for name, spec in out["properties"].items():
        if isinstance(spec, bool):  # `true` allows null already; `false` (no value fits) leaves only null
            out["properties"][name] = True if spec else {"type": "null"}
            continue
        if not isinstance(spec, dict):
            continue  # refused by check_schema before it gets here
        if "type" in spec and not _COMPOSED.intersection(spec):
            types = field_types(spec)
            if "null" not in types:
                spec["type"] = [*types, "null"]
            if isinstance(spec.get("enum"), list) and None not in spec["enum"]:
                spec["enum"] = [*spec["enum"], None]
        else:  # a composed field (or one without a type) allows null as one more alternative
            out["properties"][name] = {"anyOf": [{"type": "null"}, spec]}
    return out


# Keywords that constrain a field beyond its `type`: adding "null" to the type would not let null through them.
_COMPOSED = frozenset({"allOf", "anyOf", "oneOf", "not", "$ref", "$dynamicRef", "$recursiveRef", "const", "if"})


def _too_deep() -> InvalidArgument:
    return InvalidArgument("The JSON Schema nests (or its references loop) too deeply to check.",
                           "Flatten the schema, and make sure no reference leads back to itself without a "
                           "keyword in between.")


def _validate(value: object, validator: jsonschema.protocols.Validator) -> None:
    error = jsonschema.exceptions.best_match(_errors(value, validator))
    if error is not None:
        raise error


def _errors(value: object, validator: jsonschema.protocols.Validator) -> Iterator[jsonschema.ValidationError]:
    try:
        yield from validator.iter_errors(value)
    except RecursionError:
        raise _too_deep() from None
    except referencing.exceptions.Unresolvable as exc:
        raise InvalidArgument(f"A reference of the JSON Schema cannot be followed ({type(exc).__name__}).",
                              _LOCAL_FIX) from None


def check_value(value: object, spec: dict, root: dict | None = None) -> None:
    """Raise jsonschema.ValidationError when `value` does not fit the field schema `spec` (formats included);
    `spec`'s local references resolve against `root`, the whole schema it is part of."""
    validator = _validator(root if root is not None else spec)
    _validate(value, validator.evolve(schema=spec) if root is not None else validator)


def check_data(data: dict, schema: dict) -> None:
    """Raise jsonschema.ValidationError when the filled object `data` does not fit `schema`."""
    _validate(data, _validator(schema))


ValidationError = jsonschema.ValidationError
