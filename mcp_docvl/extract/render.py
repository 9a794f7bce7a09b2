"""Blocks to Markdown or plain text."""

from __future__ import annotations

import re
from typing import Literal

from mcp_docvl.documents.model import Block

Format = Literal["markdown", "text"]

_BULLET_CHARS = re.compile(r"^[•·▪◦‣⁃●○■□►▶–—-]\s*")
# Characters that would change the meaning of a line in Markdown if left bare at its start.
_MD_LINE_START = re.compile(r"^(#{1,6}\s|[>|]|[-+*]\s|\d+[.)]\s|={3,}|-{3,}|`{3,})")


def join_lines(lines: list[str]) -> str:
    """Join wrapped lines into running text, undoing end-of-line hyphenation."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if not out:
            out = line
        elif out.endswith("-") and len(out) > 1 and out[-2].isalpha() and line[:1].islower():
            out = out[:-1] + line
        elif out.endswith("-") and len(out) > 1 and out[-2].isalnum() and line[:1].isalnum():
            # A compound broken after its own hyphen ("High-" / "Performance", "1990-" / "2000"): no space.
            out += line
        else:
            out += " " + line
    return out


def _escape(text: str) -> str:
    return "\\" + text if _MD_LINE_START.match(text) else text


def render_block(block: Block, fmt: Format) -> str:
    if block.markdown is not None:
        # Blocks written by a VLM have markdown but no lines: their text is the markdown itself.
        return block.markdown if fmt == "markdown" else (block.text or block.markdown)
    text = join_lines([line.text for line in block.lines])
    if block.kind == "heading":
        return f"{'#' * max(1, min(block.level, 6))} {text}" if fmt == "markdown" else text
    if block.kind == "list_item":
        if fmt == "markdown":
            return "- " + _BULLET_CHARS.sub("", text) if _BULLET_CHARS.match(text) else text
        return text
    return _escape(text) if fmt == "markdown" else text


def render_blocks(blocks: list[Block], fmt: Format, include_furniture: bool = False) -> str:
    """The blocks as Markdown or text; page furniture and figure text only when `include_furniture`."""
    parts: list[str] = []
    previous = None
    for block in blocks:
        if block.is_furniture and not include_furniture:
            continue
        rendered = render_block(block, fmt)
        if not rendered:
            continue
        # Consecutive list items form one list: no blank line between them.
        if previous is not None and previous.kind == "list_item" and block.kind == "list_item":
            parts[-1] += "\n" + rendered
        else:
            parts.append(rendered)
        previous = block
    return "\n\n".join(parts)
