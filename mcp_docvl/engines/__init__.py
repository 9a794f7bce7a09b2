"""Recognition engines: turn a page image into text. `ocr` is embedded; VLM engines plug in beside it."""

from mcp_docvl.engines.base import Engine, PageTranscript
from mcp_docvl.engines.registry import create_engine

__all__ = ["Engine", "PageTranscript", "create_engine"]
