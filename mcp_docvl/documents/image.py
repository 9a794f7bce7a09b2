"""Image documents: PNG, JPEG, WebP, BMP, GIF, and TIFF with any number of pages."""

from __future__ import annotations

import io
import struct
import threading
import warnings
from typing import Literal

from PIL import Image, ImageOps

from mcp_docvl.errors import DocumentCorrupt, LimitExceeded


class ImageDocument:
    def __init__(self, data: bytes, media_type: str, max_page_pixels: int = 40_000_000) -> None:
        self.media_type = media_type
        self._max_page_pixels = max_page_pixels
        self._lock = threading.Lock()
        try:
            with warnings.catch_warnings():
                # Pillow warns on decompression bombs and on damaged metadata; our own limit and errors apply instead.
                warnings.simplefilter("ignore")
                self._image = Image.open(io.BytesIO(data))
                # The size is in the header: refuse a bomb before a single pixel is decoded.
                w, h = self._image.size
                if w * h > max_page_pixels:
                    raise _too_big((w, h), max_page_pixels)
                self._image.load()
        except Image.DecompressionBombError:
            raise _too_big(None, max_page_pixels) from None
        except LimitExceeded:
            raise
        except Exception as exc:  # Pillow raises many types for damaged files
            raise DocumentCorrupt(
                f"The image cannot be decoded ({type(exc).__name__}: {exc}).", "The file is damaged or truncated."
            ) from None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # Counting frames walks the TIFF's directory chain (Pillow stops at loops). An APNG's count is a header
            # field: only frames whose control chunk is really in the file count.
            self.page_count = getattr(self._image, "n_frames", 1)
            if media_type == "image/png" and self.page_count > 1:
                self.page_count = max(1, min(self.page_count, _png_frame_controls(data)))
        # GIF frames are animation, not pages: read the first only.
        if media_type == "image/gif":
            self.page_count = 1

    def metadata(self) -> dict[str, str]:
        return {"format": self._image.format or ""}

    def page_size(self, index: int) -> tuple[float, float, Literal["pt", "px"]]:
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._image.seek(index)
            w, h = self._image.size
        return float(w), float(h), "px"

    def bookmarks(self, limit: int = 1000) -> list[tuple[int, str, int | None]]:
        return []

    def vector_rulings(self, index: int, rotation: int = 0) -> None:
        return None

    def text_layer(self, index: int) -> None:
        return None

    def is_blank(self, index: int) -> bool:
        return False

    def image_coverage(self, index: int) -> float:
        return 1.0

    def render(self, index: int, dpi: float | None = None) -> Image.Image:
        """The frame as RGB at its own resolution (`dpi` is ignored: an image's pixels are its page)."""
        with self._lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                self._image.seek(index)
                w, h = self._image.size
                if w * h > self._max_page_pixels:
                    raise _too_big((w, h), self._max_page_pixels)
                frame = ImageOps.exif_transpose(self._image.copy())
                return frame.convert("RGB")
            except LimitExceeded:
                raise
            except Exception as exc:
                raise DocumentCorrupt(
                    f"Page {index + 1} of the image cannot be decoded ({exc}).", "The file is damaged or truncated."
                ) from None

    def close(self) -> None:
        self._image.close()


def _png_frame_controls(data: bytes) -> int:
    """How many frame-control (fcTL) chunks the PNG holds: walks the chunk headers only, bounded by the file."""
    count, offset = 0, 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        if kind == b"fcTL":
            count += 1
        elif kind == b"IEND":
            break
        offset += 12 + length
    return count


def _too_big(size: tuple[int, int] | None, limit: int) -> LimitExceeded:
    what = f"{size[0]}x{size[1]} pixels" if size else "too many pixels"
    return LimitExceeded(
        f"The image is {what}, over the limit of {limit:,} pixels per page.",
        "Raise it with --max-page-pixels (or DOCVL_MAX_PAGE_PIXELS) if the image is genuine, or downscale it.",
    )
