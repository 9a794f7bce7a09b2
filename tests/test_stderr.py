"""`mcp-docvl serve` as a host runs it: a subprocess on stdio whose stderr a host shows its user. Nothing may
appear there on start, on a sampling round trip (answer_about asking the client's model) or at shutdown; a root
that does not exist is warned about once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import RESOURCES
from mcp import Client, StdioServerParameters
from mcp_types import CreateMessageRequestParams, CreateMessageResult, TextContent

ROOT = Path(__file__).resolve().parents[1]


def _server(stderr: Path, *args: str) -> StdioServerParameters:
    """The server, its stderr sent to a file (the SDK's stdio client would pass it through to ours)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("DOCVL_ROOTS", None)
    return StdioServerParameters(command="/bin/sh", args=["-c", 'exec "$0" -m mcp_docvl serve "$@" 2>"$ERRLOG"',
                                                          sys.executable, *args], env={**env, "ERRLOG": str(stderr)})


async def test_stderr_is_clean_on_start_sampling_and_shutdown(tmp_path: Path):
    stderr = tmp_path / "stderr.txt"

    async def sampling(context, params: CreateMessageRequestParams) -> CreateMessageResult:
        return CreateMessageResult(role="assistant", model="client-model", stop_reason="endTurn",
                                   content=TextContent(type="text", text=json.dumps({"answer": "1,234.56 EUR",
                                                                                     "passages": [1]})))

    async with Client(_server(stderr, "--root", str(RESOURCES)), sampling_callback=sampling) as client:
        started = stderr.read_text()
        result = await client.call_tool("answer_about", {"source": "sample.pdf",
                                                         "question": "What is the total amount due?"})
        assert not result.is_error and result.structured_content["method"] == "sampling"
        assert result.structured_content["answer"] == "1,234.56 EUR"
    # The client closed stdin and waited for the server to exit: its whole stderr is in the file.
    assert started == ""
    assert stderr.read_text() == ""


def test_a_root_that_does_not_exist_is_warned_about_at_start(tmp_path: Path):
    missing = tmp_path / "no-such-folder"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    run = subprocess.run([sys.executable, "-m", "mcp_docvl", "serve", "--no-isolation", "--root", str(missing)],
                         input=b"", capture_output=True, env=env, timeout=120)
    assert f"warning: root {missing} does not exist" in run.stderr.decode()
    assert "--root / DOCVL_ROOTS" in run.stderr.decode()
