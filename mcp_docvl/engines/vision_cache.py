"""Cached vision-encoder output, so a second question on the same page skips the encoder.

The encoder + projector output of a page image depends only on the image's pixels, the model and the tile
settings; the cache key is built from exactly those. Entries live in memory under an LRU bound on their bytes,
and optionally on disk (one file per key) so that `warmup` can precompute a static document's pages once and
every later server process starts warm.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

log = logging.getLogger(__name__)


def image_digest(image: Image.Image) -> str:
    """A content hash of the pixels (not of a file), so the same page rendered twice hashes the same."""
    h = hashlib.sha256()
    h.update(f"{image.mode}:{image.width}x{image.height}:".encode())
    h.update(image.tobytes())
    return h.hexdigest()


def cache_key(digest: str, model_id: str, tile_settings: str) -> str:
    return hashlib.sha256(f"{digest}|{model_id}|{tile_settings}".encode()).hexdigest()


def tile_budget(tiles: int) -> str:
    """The tile settings part of a key: the budget a page was encoded at. The model id stands for the rest (its
    processor's tile size and hooks), so the `openai` engine finds what the local engine's warmup stored."""
    return f"tiles:{tiles}"


def embeds_base64(entry: EncodedImage) -> str:
    """The entry's embeddings as vLLM's chat API takes an `image_embeds` part: base64 of `torch.save(tensor)`,
    shape (image tokens, hidden)."""
    import base64
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(entry.features.detach().to("cpu").contiguous(), buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class EncodedImage:
    """What the language model needs from one image: its token block and the embeddings for its image tokens.

    `extras` holds small per-image tensors some models need beside the embeddings (e.g. Qwen's grid sizes).
    Tensors stay on the model's device in memory; files on disk hold CPU copies, moved to the device when used.
    """

    token_ids: list[int]
    features: Any  # torch.Tensor (image tokens, hidden)
    extras: dict[str, Any] = field(default_factory=dict)
    tiles: int = 1

    def nbytes(self) -> int:
        size = self.features.element_size() * self.features.nelement()
        return size + sum(t.element_size() * t.nelement() for t in self.extras.values()) + 8 * len(self.token_ids)


class VisionCache:
    """LRU of `EncodedImage` by key, bounded in bytes; optional directory for a persistent copy."""

    def __init__(self, max_bytes: int = 2 << 30, directory: str | Path | None = None) -> None:
        self.max_bytes = max_bytes
        self.directory = Path(directory).expanduser() if directory else None
        self._entries: OrderedDict[str, EncodedImage] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: str, count: bool = True) -> EncodedImage | None:
        """The entry for `key` (from memory, else disk) or None; `count=False` keeps it out of the hit counts."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                self.hits += count
                return entry
        entry = self._load(key)
        with self._lock:
            if entry is None:
                self.misses += count
                return None
            self.hits += count
        self._remember(key, entry)
        return entry

    def put(self, key: str, entry: EncodedImage) -> None:
        self._remember(key, entry)
        self._store(key, entry)

    def __len__(self) -> int:
        return len(self._entries)

    def _remember(self, key: str, entry: EncodedImage) -> None:
        size = entry.nbytes()
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes()
            self._entries[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes()

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.pt"

    def _load(self, key: str) -> EncodedImage | None:
        if self.directory is None:
            return None
        path = self._path(key)
        if not path.exists():
            return None
        import torch

        try:
            # weights_only: the file holds tensors and plain lists, nothing that runs code when loaded.
            data = torch.load(path, map_location="cpu", weights_only=True)
            return EncodedImage(token_ids=list(data["token_ids"]), features=data["features"],
                                extras=dict(data["extras"]), tiles=int(data["tiles"]))
        except Exception as exc:  # a torn or foreign file is a miss, never a failure
            log.warning("Ignoring unreadable vision cache file %s (%s)", path, exc)
            return None

    def _store(self, key: str, entry: EncodedImage) -> None:
        if self.directory is None:
            return
        import torch

        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        torch.save({"token_ids": entry.token_ids, "features": entry.features, "extras": entry.extras,
                    "tiles": entry.tiles}, tmp)
        # Rename is atomic: a reader sees the whole file or none.
        tmp.replace(path)
