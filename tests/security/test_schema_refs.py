"""extract_fields schemas are data: no reference leaves the schema, nothing is fetched or read, and no internal
failure's text reaches the caller (finding 1 of issue 14)."""

from __future__ import annotations

import logging
import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import hostile
import pytest
from hostile import SAMPLE, SECRET, assert_serves, make_server
from http_fixtures import serve_handler
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from mcp_docvl.config import Settings
from mcp_docvl.mcp.dispatch import dispatch

FIELD = {"type": "object", "properties": {"total": {"type": "number"}}}


class Recorder(BaseHTTPRequestHandler):
    """Serves a schema to anyone who asks, and records that they asked: one request fails the test."""

    requests: list[str] = []  # noqa: RUF012  # shared by the handler instances, one a request

    def do_GET(self) -> None:
        Recorder.requests.append(self.path)
        body = b'{"type": "string", "description": "' + SECRET.encode() + b'"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def recorder():
    with serve_handler(Recorder) as base:
        yield base


@pytest.fixture
def canary(tmp_path_factory) -> Path:
    outside = tmp_path_factory.mktemp("outside-the-roots") / "credentials.json"
    outside.write_text('{"type": "string", "description": "' + SECRET + '"}')
    return outside


def hostile_schemas(base: str, canary: Path) -> dict[str, tuple[dict, str]]:
    """name -> (schema, what the refusal must say)."""
    prop = lambda spec: {"type": "object", "properties": {"total": spec}}  # noqa: E731
    return {
        "file-ref-outside-roots": (prop({"$ref": f"file://{canary}"}), r"\$ref at properties/total points outside"),
        "http-ref-loopback": (prop({"$ref": f"{base}/schema.json"}), r"\$ref at properties/total points outside"),
        "relative-ref-name": (prop({"$ref": "credentials.json#/x"}), "points outside the schema"),
        "id-sets-remote-base": ({**prop({"$ref": "schema.json"}), "$id": f"{base}/"}, r"\$id at the top level"),
        "remote-metaschema": ({**prop({"type": "number"}), "$schema": f"{base}/meta"}, "not a metaschema"),
        "nested-schema-keyword": (prop({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                        "type": "number"}), "only the top level"),
        "dynamic-ref-remote": (prop({"$dynamicRef": f"{base}/x#meta"}), r"\$dynamicRef at properties/total"),
        "ref-inside-defs": ({**prop({"$ref": "#/$defs/a"}), "$defs": {"a": {"$ref": f"file://{canary}"}}},
                            r"\$ref at \$defs/a points outside"),
        "dangling-local-pointer": (prop({"$ref": "#/$defs/missing"}), "names no part of the schema"),
        "reference-loop": ({**prop({"$ref": "#/$defs/a"}), "$defs": {"a": {"$ref": "#/$defs/b"},
                                                                      "b": {"$ref": "#/$defs/a"}}}, "leads back"),
    }


@pytest.mark.parametrize("name", ["file-ref-outside-roots", "http-ref-loopback", "relative-ref-name",
                                  "id-sets-remote-base", "remote-metaschema", "nested-schema-keyword",
                                  "dynamic-ref-remote", "ref-inside-defs", "dangling-local-pointer",
                                  "reference-loop"])
async def test_schema_reference_is_refused_and_nothing_is_fetched(name: str, recorder: str, canary: Path):
    schema, pattern = hostile_schemas(recorder, canary)[name]
    Recorder.requests.clear()
    server = make_server([], isolate=False)  # in-process too: the refusal does not depend on the worker
    async with Client(server) as client:
        result = await client.call_tool("extract_fields", {"source": SAMPLE, "json_schema": schema})
        text = result.content[0].text
        assert result.is_error, text
        assert re.search(pattern, text), text
        assert SECRET not in text and "Traceback" not in text and "Internal error" not in text
        assert "#/$defs/" in text or "metaschema" in text or "subschema" in text  # the fix is named
        ok = await client.call_tool("extract_fields", {"source": SAMPLE, "json_schema": {
            **FIELD, "properties": {"total": {"$ref": "#/$defs/money"}}, "$defs": {"money": {"type": "number"}}}})
        assert not ok.is_error, ok.content[0].text
        await assert_serves(client)
    assert Recorder.requests == []


async def test_unexpected_failure_text_never_reaches_the_caller(caplog):
    """In-process and in a worker: the caller gets a reference; the log gets the details under that reference."""
    for isolate in (False, True):
        settings = Settings.from_env(roots=[hostile.RESOURCES], isolate=isolate)
        with caplog.at_level(logging.ERROR, logger="mcp_docvl"), pytest.raises(ToolError) as raised:
            await dispatch(settings, hostile.leak_secret, None, settings=settings)
        message = str(raised.value)
        assert SECRET not in message and "RuntimeError" not in message, message
        reference = re.search(r"Internal error \(ref ([0-9a-f]{12})\)", message).group(1)
        logged = [r for r in caplog.records if reference in r.getMessage()]
        assert logged and SECRET in (logged[0].exc_text or str(logged[0].exc_info[1])), caplog.text
    async with Client(make_server([])) as client:
        await assert_serves(client)
