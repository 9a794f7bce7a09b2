"""What every document type offers the pipeline: page count, metadata, bookmarks, text-layer words, vector rules,
rendering. Callers use these methods only; none asks which kind of document it holds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from PIL import Image

from mcp_docvl.documents.model import Word
from mcp_docvl.documents.rulings import Rulings


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

    def bookmarks(self, limit: int = 1000) -> list[tuple[int, str, int | None]]:
        """The document's own table of contents as (depth from 0, title, 1-based page or None); [] if none."""
        ...

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

    def vector_rulings(self, index: int, rotation: int = 0) -> Rulings | None:
        """The rules drawn by the page's vector paths, in the text layer's frame; None when the document draws
        no vectors (images: their rules are found in the pixels)."""
        ...

    def render(self, index: int, dpi: float | None) -> Image.Image:
        """The page as an RGB image at `dpi` (images keep their own pixels when dpi is None)."""
        ...

    def close(self) -> None: ...
