"""Filling a JSON Schema from a document (the `extract_fields` tool): the schema (schema.py), values typed and
checked (values.py), layout rules (rules.py), the model's fill (model_fill.py), and the use case (extract.py)."""

from mcp_docvl.features.fields.extract import extract_fields

__all__ = ["extract_fields"]
