"""Engine selection by name (`--engine`, `DOCVL_ENGINE`)."""

from __future__ import annotations

from mcp_docvl.config import Settings
from mcp_docvl.engines.base import Engine
from mcp_docvl.errors import InvalidArgument

ENGINE_NAMES = ("ocr",)


def create_engine(settings: Settings) -> Engine:
    name = settings.engine.strip().lower()
    if name == "ocr":
        from mcp_docvl.engines.ocr import OcrEngine

        return OcrEngine()
    raise InvalidArgument(f"Unknown engine {settings.engine!r}.", f"Choose one of: {', '.join(ENGINE_NAMES)}.")
