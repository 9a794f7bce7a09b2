"""Engine selection by name (`--engine`, `DOCVL_ENGINE`)."""

from __future__ import annotations

from mcp_docvl.config import Settings
from mcp_docvl.engines.base import Engine
from mcp_docvl.errors import InvalidArgument

ENGINE_NAMES = ("ocr", "transformers", "openai")


def create_engine(settings: Settings) -> Engine:
    name = settings.engine.strip().lower()
    if name == "ocr":
        from mcp_docvl.engines.ocr import OcrEngine

        return OcrEngine(settings)
    if name == "transformers":
        # Imported here: torch and transformers are the optional `[vlm]` extra.
        from mcp_docvl.engines.local.transformers_engine import TransformersEngine

        return TransformersEngine(settings)
    if name == "openai":
        from mcp_docvl.engines.openai_engine import OpenAIEngine

        return OpenAIEngine(settings)
    raise InvalidArgument(f"Unknown engine {settings.engine!r}.", f"Choose one of: {', '.join(ENGINE_NAMES)}.")
