"""The core never loads the in-process engine (or torch) unless that engine is chosen."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(statement: str) -> dict[str, bool]:
    code = (f"import sys, json\n{statement}\n"
            "print(json.dumps({'local': any(m == 'mcp_docvl.engines.local' or m.startswith('mcp_docvl.engines.local.')"
            " for m in sys.modules), 'torch': 'torch' in sys.modules, 'transformers': 'transformers' in sys.modules}))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True,
                         timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("statement", [
    "import mcp_docvl.mcp.server",
    "import mcp_docvl",
    "import mcp_docvl.cli",
    "from mcp_docvl.engines.ocr import OcrEngine",
    "from mcp_docvl.engines.openai_engine import OpenAIEngine",
    "from mcp_docvl.config import Settings\nfrom mcp_docvl.engines import create_engine\n"
    "create_engine(Settings(engine='openai')).close()",
])
def test_core_imports_leave_the_local_engine_and_torch_alone(statement: str) -> None:
    loaded = _loaded_after(statement)
    assert loaded == {"local": False, "torch": False, "transformers": False}, statement


def test_choosing_the_local_engine_loads_it() -> None:
    pytest.importorskip("torch")
    loaded = _loaded_after("from mcp_docvl.config import Settings\nfrom mcp_docvl.engines import create_engine\n"
                           "create_engine(Settings(engine='transformers'))")
    assert loaded["local"]
