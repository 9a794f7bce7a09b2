from __future__ import annotations

import os

# No test may reach a model hub: Hugging Face libraries read this when first imported, and any module may import
# them, so it is set before everything else. Without it a test that names a hub id waits minutes on retries.
os.environ["HF_HUB_OFFLINE"] = "1"

import shutil
import tempfile
from pathlib import Path

import pytest

from mcp_docvl.config import Settings
from mcp_docvl.engines.ocr import OcrEngine

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
EVAL = (ROOT / ".." / "shared" / "eval").resolve()


def pytest_configure(config: pytest.Config) -> None:
    # Nothing a test runs, in this process or a server it starts, may touch the user's cache.
    config._docvl_cache = tempfile.mkdtemp(prefix="docvl-test-cache-")
    os.environ["DOCVL_CACHE_DIR"] = config._docvl_cache


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(getattr(config, "_docvl_cache", ""), ignore_errors=True)


def eval_dir(name: str) -> Path:
    """A folder of ../shared/eval, or skip: a user's clone has no ../shared (CI does)."""
    path = EVAL / name
    if not path.is_dir():
        pytest.skip(f"evaluation data {path} is absent (it lives in ../shared/eval beside the checkout)")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    roots = [tmp_path, RESOURCES]
    if EVAL.is_dir():
        roots.append(EVAL)
    return Settings.from_env(roots=roots, cache_dir=tmp_path / "cache")


class CountingEngine:
    """The real OCR engine, counting how often it is asked to recognise a page."""

    name = "ocr"

    def __init__(self, inner: OcrEngine) -> None:
        self.inner = inner
        self.calls = 0

    def warm(self) -> None:
        self.inner.warm()

    def cache_config(self) -> None:
        return self.inner.cache_config()

    def transcribe_page(self, image):
        self.calls += 1
        return self.inner.transcribe_page(image)


@pytest.fixture(scope="module")
def ocr() -> OcrEngine:
    return OcrEngine()
