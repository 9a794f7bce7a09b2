from __future__ import annotations

from pathlib import Path

import pytest

from mcp_docvl.config import Settings

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"
EVAL = (ROOT / ".." / "shared" / "eval").resolve()


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
    return Settings.from_env(roots=roots)
