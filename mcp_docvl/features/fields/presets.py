"""Ready-made JSON Schemas for common documents, used by `extract_fields(preset=...)` and the MCP prompts."""

from __future__ import annotations

_ITEMS = {
    "type": "array",
    "description": "Line items: what was bought, in the order printed.",
    "items": {
        "type": "object",
        "properties": {
            "description": {"type": "string", "description": "The item as printed."},
            "quantity": {"type": ["number", "null"], "description": "How many, when printed."},
            "amount": {"type": "number", "description": "The line's amount."},
        },
        "required": ["description", "amount"],
    },
}

PRESETS: dict[str, dict] = {
    "receipt": {
        "title": "Receipt",
        "type": "object",
        "properties": {
            "company": {"type": "string", "description": "The shop or company that issued the receipt."},
            "date": {"type": "string", "format": "date", "description": "Date of the purchase (ISO 8601)."},
            "address": {"type": "string", "description": "The issuer's address, as printed."},
            "total": {"type": "number", "description": "The total amount paid (after rounding)."},
            "tax": {"type": "number", "description": "The tax amount (GST, VAT, SST, sales tax)."},
            "items": _ITEMS,
        },
        "required": ["company", "date", "total"],
    },
    "invoice": {
        "title": "Invoice",
        "type": "object",
        "properties": {
            "company": {"type": "string", "description": "The seller (vendor) issuing the invoice."},
            "invoice_number": {"type": "string", "description": "The invoice number or id."},
            "date": {"type": "string", "format": "date", "description": "Invoice date (ISO 8601)."},
            "due_date": {"type": "string", "format": "date", "description": "Payment due date (ISO 8601)."},
            "address": {"type": "string", "description": "The seller's address, as printed."},
            "total": {"type": "number", "description": "The total amount due."},
            "tax": {"type": "number", "description": "The tax amount (VAT, GST, sales tax)."},
            "currency": {"type": "string", "description": "Currency of the amounts, as printed."},
            "items": _ITEMS,
        },
        "required": ["company", "invoice_number", "date", "total"],
    },
}
