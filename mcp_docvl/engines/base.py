"""The interfaces engines implement, so tools never care which one runs.

Every engine transcribes pages (`Engine`). Generative engines (vision-language models, local or remote) also
answer free-form prompts over page images (`GenerativeEngine.generate`); the tools build their prompts for
answers, tables and fields on that one primitive, so a new model only has to implement `generate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

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


@runtime_checkable
class GenerativeEngine(Engine, Protocol):
    def generate(self, prompt: str, images: Sequence[Image.Image], max_new_tokens: int = 512) -> str:
        """The model's reply to `prompt` about `images` (in order), as plain text."""
        ...
