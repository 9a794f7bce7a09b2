"""The interfaces engines implement, so tools never care which one runs.

Every engine transcribes pages (`Engine`). Generative engines (vision-language models, local or remote) also
answer free-form prompts over page images (`GenerativeEngine.generate`); the tools build their prompts for
answers, tables and fields on that one primitive, so a new model only has to implement `generate`. Every engine
also says how to warm it and what shapes its output (for cache keys); an engine that keeps vision embeddings
(`VisionEncoder`) can precompute them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from PIL import Image

from mcp_docvl.documents.model import Word


@dataclass(slots=True)
class PageTranscript:
    """What an engine saw on one page image.

    `words` are in the image's pixel coordinates. Engines that write structured text themselves (VLMs) also fill
    `markdown`; the pipeline then prefers it over laying out the words.
    """

    words: list[Word] = field(default_factory=list)
    confidence: float = 0.0
    markdown: str | None = None


@runtime_checkable
class Engine(Protocol):
    name: str

    def transcribe_page(self, image: Image.Image) -> PageTranscript: ...

    def warm(self) -> None:
        """Load models and check connections now, so the first request pays for neither."""
        ...

    def cache_config(self) -> dict[str, Any] | None:
        """What beyond the engine's name shapes a transcript (model, prompt, limits), for cache keys; None when
        nothing does."""
        ...


@runtime_checkable
class GenerativeEngine(Engine, Protocol):
    def generate(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512) -> str:
        """The model's reply to `prompt` about `images` (in order), as plain text."""
        ...


@runtime_checkable
class VisionEncoder(Protocol):
    def encode_images(self, images: Sequence[Image.Image]) -> int:
        """Run the vision encoder over `images` into the engine's embedding cache; how many were not cached yet."""
        ...
