"""The package's imports point down its layers and form no cycle (tools/check_layers.py, run here in CI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _checker():
    spec = importlib.util.spec_from_file_location("check_layers", ROOT / "tools" / "check_layers.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_layers"] = module
    spec.loader.exec_module(module)
    return module


def test_imports_point_down_and_form_no_cycle():
    assert _checker().check() == []


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "mcp_docvl"
    for name, body in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
    return root


def test_an_upward_import_is_reported(tmp_path: Path):
    root = _package(tmp_path, {"documents/__init__.py": "", "features/__init__.py": "",
                               "documents/pdf.py": "from mcp_docvl.features.read import read_document\n",
                               "features/read.py": "def read_document(): ...\n"})
    problems = _checker().check(root)
    assert problems == ["upward import: mcp_docvl.documents.pdf (documents) imports mcp_docvl.features.read "
                        "(features)"]


def test_a_cycle_is_reported_even_through_a_function_level_import(tmp_path: Path):
    root = _package(tmp_path, {"cache/__init__.py": "",
                               "cache/registry.py": "def load():\n    from mcp_docvl.cache import pages\n",
                               "cache/pages.py": "from mcp_docvl.cache.registry import load\n"})
    assert _checker().check(root) == ["import cycle: mcp_docvl.cache.pages <-> mcp_docvl.cache.registry"]
