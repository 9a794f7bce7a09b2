"""The interface every engine implements, so tools never care which one runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

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


class Engine(Protocol):
    name: str

    def transcribe_page(self, image: Image.Image) -> PageTranscript: ...
