"""Nemotron Nano VL / InternVL-style tiling of a page, done here from the model's processor settings.

The published image processor cannot be trusted to tile under transformers 5: its `_process_image` override (a 2x
pre-upscale) is silently skipped there (the hook was renamed `process_image`), which changes the pixels and, for
some page sizes, the tile grid (a 1000 x 700 page: 7 tiles instead of 13). Its tile budget is also one attribute of
a shared processor object, which concurrent callers would overwrite. So the engine tiles pages itself, per call:

1. the remote processor's own `_process_image` override, when it has one, runs first (`old_process_hook`);
2. `grid` picks columns x rows as the model's `dynamic_preprocess` does: among grids of at most `max_tiles` tiles,
   the best product of a size factor (tile area over page area, capped at 0.6) and the aspect-ratio closeness;
3. the page is resized to that grid and cut into tiles, plus a thumbnail of the whole page when there is more than
   one tile; each tile is scaled to [0, 1] and normalised with the processor's mean and std.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

# Nemotron's find_closest_aspect_ratio: a grid's size factor (its pixels over the page's) counts up to this cap, so
# beyond it only the aspect ratio decides and a small page is not blown up to 12 tiles.
SIZE_FACTOR_CAP = 0.6
# CLIP's normalisation, the default of the published processor.
_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class TileSpec:
    """The processor settings tiling depends on (the budget is not one: it is given per call)."""

    tile: int
    thumbnail: bool
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_processor(cls, processor: Any, model_config: Any = None) -> TileSpec:
        tile = getattr(processor, "image_size", None) or getattr(model_config, "force_image_size", None) or 512
        if isinstance(tile, dict):  # {"height": 512, "width": 512}
            tile = tile.get("height") or tile.get("shortest_edge")
        mean = getattr(processor, "norm_mean", None) or getattr(processor, "image_mean", None) or _CLIP_MEAN
        std = getattr(processor, "norm_std", None) or getattr(processor, "image_std", None) or _CLIP_STD
        return cls(tile=int(tile), thumbnail=bool(getattr(processor, "use_thumbnail", True)),
                   mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std))


def candidate_grids(max_tiles: int) -> list[tuple[int, int]]:
    """Every (columns, rows) of 1 to `max_tiles` tiles, fewest tiles first. Built as the model's code builds it, so
    grids of one area come in the same order (the first of equal scores wins)."""
    grids = {(c, r) for n in range(1, max_tiles + 1) for c in range(1, n + 1) for r in range(1, n + 1)
             if 1 <= c * r <= max_tiles}
    return sorted(grids, key=lambda g: g[0] * g[1])


def grid(width: int, height: int, tile: int, max_tiles: int) -> tuple[int, int]:
    """Columns x rows for a `width` x `height` page (see the module docstring, step 2)."""
    aspect, area = width / height, width * height
    best, best_score = (1, 1), float("-inf")
    for cols, rows in candidate_grids(max_tiles):
        size_factor = min(cols * rows * tile * tile / area, SIZE_FACTOR_CAP)
        closeness = min(cols / rows / aspect, aspect * rows / cols)
        score = size_factor * closeness
        if score > best_score:
            best, best_score = (cols, rows), score
    return best


def split(page: Image.Image, spec: TileSpec, max_tiles: int) -> list[Image.Image]:
    """The page's tiles in reading order, then its thumbnail when there is more than one tile."""
    cols, rows = grid(page.width, page.height, spec.tile, max_tiles)
    side = spec.tile
    resized = page.resize((side * cols, side * rows))
    tiles = [resized.crop((c * side, r * side, (c + 1) * side, (r + 1) * side)) for r in range(rows)
             for c in range(cols)]
    if spec.thumbnail and len(tiles) > 1:
        tiles.append(page.resize((side, side)))
    return tiles


def pixel_values(tiles: list[Image.Image], spec: TileSpec) -> np.ndarray:
    """(tiles, 3, tile, tile) float32, normalised."""
    mean = np.asarray(spec.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(spec.std, dtype=np.float32)[:, None, None]
    return np.stack([(np.asarray(t, dtype=np.float32).transpose(2, 0, 1) / 255.0 - mean) / std for t in tiles])


def old_process_hook(processor: Any) -> Callable[[Image.Image], Image.Image] | None:
    """The processor's own `_process_image` (the per-image hook of transformers 4), when its model's code overrides
    it, as a function from page to page; None when it has none (transformers' own classes define no such hook)."""
    for klass in type(processor).__mro__:
        if "_process_image" in vars(klass) and not klass.__module__.startswith("transformers."):
            method = processor._process_image
            return lambda page: to_image(method(page))
    return None


def to_image(value: Any) -> Image.Image:
    """A hook's output (PIL image, or a channels-first or channels-last uint8 array / tensor) as an RGB image."""
    if isinstance(value, Image.Image):
        return value.convert("RGB")
    array = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[-1] not in (1, 3):
        array = np.moveaxis(array, 0, -1)
    if array.dtype != np.uint8:
        array = np.clip(array * (255.0 if array.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array.squeeze(-1) if array.shape[-1] == 1 else array)).convert("RGB")
