"""MCP prompts: one per field preset, asking the agent to call extract_fields with it."""

from __future__ import annotations

from collections.abc import Callable

from mcp.server import MCPServer

from mcp_docvl.features.fields.presets import PRESETS


def _preset_prompt(preset: str) -> Callable[[str], str]:
    def prompt(source: str) -> str:
        fields = ", ".join(PRESETS[preset]["properties"])
        return (f"Extract the {preset} fields ({fields}) from the document {source!r}: call the `extract_fields` "
                f"tool with source={source!r} and preset={preset!r}. Report each value with its page, and say which "
                "fields were not found and why; do not fill them in yourself.")

    prompt.__name__ = f"{preset}_prompt"
    return prompt


def _article(noun: str) -> str:
    """ "an invoice", "a receipt": the indefinite article by the noun's first letter."""
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def add_prompts(server: MCPServer) -> None:
    """Register one prompt per preset."""
    for preset_name in PRESETS:
        server.prompt(name=preset_name, title=f"Extract {_article(preset_name)}",
                      description=f"Read {_article(preset_name)} and return its fields as JSON, with citations.")(
            _preset_prompt(preset_name))
