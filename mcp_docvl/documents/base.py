"""What every document type offers the pipeline: page count, metadata, text-layer words, rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from PIL import Image

from mcp_docvl.documents.model import Word


@dataclass(slots=True)
class TextLayer:
    """A page's embedded text, already in the reading frame (upright, top-left origin)."""

    words: list[Word]
    width: float
    height: float
    # Non-whitespace characters on the page and how many of them decode to something readable.
    chars: int
    readable_chars: int
    # Degrees the frame was turned so the text reads upright (0 for almost every page).
    rotation: int = 0
    # Characters left out of the words because they carry no text (control codes from fonts without a Unicode
    # map); they count among `chars` but not among `readable_chars`.
    dropped_chars: int = 0


class Document(Protocol):
    media_type: str
    page_count: int

    def metadata(self) -> dict[str, str]: ...

    def page_size(self, index: int) -> tuple[float, float, Literal["pt", "px"]]:
        """Width and height of page `index` (0-based) as displayed."""
        ...

    def text_layer(self, index: int) -> TextLayer | None:
        """The page's embedded text, or None for documents that have none (images)."""
        ...

    def is_blank(self, index: int) -> bool:
        """True when the page draws nothing at all (no text, image or path), so there is nothing to recognise."""
        ...

    def image_coverage(self, index: int) -> float:
        """Fraction of the page area covered by images (a scan has ~1.0)."""
        ...

    def render(self, index: int, dpi: float) -> Image.Image:
        """The page as an RGB image at `dpi` (images keep their own pixels when dpi is None)."""
        ...

    def close(self) -> None: ...
