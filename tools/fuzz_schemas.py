"""Fuzz extract_fields' JSON Schema handling with random schemas full of references, and prove nothing is fetched.

Hypothesis writes random JSON Schemas (nested objects, arrays, anyOf/allOf, `$defs`) whose `$ref` / `$dynamicRef` /
`$recursiveRef` / `$id` / `$schema` / `$anchor` values mix local pointers (valid, dangling, looping) with references
that point elsewhere: `http://` URLs of a loopback server started here that records every request it gets,
`file://` URLs of a canary file outside any root, relative names, `urn:`s and metaschema URLs. Each schema goes
through the same checks as the tool (`resolve_schema`, then `check_value` on each field and `check_data` on random
data against the nullable schema), and every `--full-every`-th one through `extract_fields` on a generated invoice.

A finding is any exception other than the anticipated ones (InvalidArgument for a refused schema, ValidationError
for data that does not fit), any request reaching the loopback server, or the canary's text appearing in a message.

    python tools/fuzz_schemas.py --seconds 180
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import http.server
import json
import sys
import tempfile
import threading
import time
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mcp_docvl import samples  # noqa: E402
from mcp_docvl.config import Settings  # noqa: E402
from mcp_docvl.errors import InvalidArgument  # noqa: E402
from mcp_docvl.features.fields import extract_fields  # noqa: E402
from mcp_docvl.features.fields.schema import (  # noqa: E402
    ValidationError,
    check_data,
    check_value,
    nullable,
    resolve_schema,
)

CANARY = "CANARY-4f1d9c-secret-do-not-echo"


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every request with a schema, and records it: one recorded request fails the run."""

    seen: typing.ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Recorder.seen.append(f"{self.command} {self.path}")
        body = json.dumps({"type": "string", "description": CANARY}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/schema+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_HEAD = do_GET

    def log_message(self, *args: object) -> None:
        pass


def remote_refs(port: int, canary: Path) -> st.SearchStrategy[str]:
    base = f"http://127.0.0.1:{port}"
    return st.one_of(
        st.sampled_from([f"{base}/schema.json", f"{base}/a#/defs/x", f"//127.0.0.1:{port}/x", f"file://{canary}",
                         f"file://{canary}#/x", str(canary), "other.json", "other.json#/$defs/x", "../x.json",
                         "urn:example:x", "https://json-schema.org/draft/2020-12/schema",
                         "http://json-schema.org/draft-07/schema#", f"{base}/redirect", "#", "#/", "#foo",
                         "#/$defs/a", "#/$defs/b", "#/properties/a", "#/definitions/x", "#/$defs/%61", "#/$defs/~1"]),
        st.text(max_size=20).map(lambda s: f"#/$defs/{s}"),
        st.text(max_size=30),
    )


def schemas(port: int, canary: Path) -> st.SearchStrategy[dict]:
    refs = remote_refs(port, canary)
    ref_keyword = st.sampled_from(["$ref", "$dynamicRef", "$recursiveRef", "$id", "$schema", "$anchor",
                                   "$dynamicAnchor", "id"])
    leaf = st.one_of(
        st.fixed_dictionaries({"type": st.sampled_from(["string", "number", "integer", "boolean", "null"])},
                              optional={"format": st.sampled_from(["date", "email", "uri", "uri-reference", "ipv4",
                                                                   "regex", "date-time", "idn-hostname"])}),
        st.builds(lambda k, v: {k: v}, ref_keyword, refs),
        st.booleans(),
    )

    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(
            st.builds(lambda props: {"type": "object", "properties": props},
                      st.dictionaries(st.sampled_from(["a", "b", "$ref", "id", "total"]), children, max_size=3)),
            st.builds(lambda items: {"type": "array", "items": items}, children),
            st.builds(lambda xs, kw: {kw: xs}, st.lists(children, min_size=1, max_size=3),
                      st.sampled_from(["anyOf", "allOf", "oneOf"])),
            st.builds(lambda child, k, v: {**(child if isinstance(child, dict) else {}), k: v}, children, ref_keyword,
                      refs),
        )

    sub = st.recursive(leaf, extend, max_leaves=12)
    return st.builds(
        lambda props, defs, top: {"type": "object", "properties": props, "$defs": defs,
                                  "definitions": {"x": defs.get("a", {"type": "string"})}, **top},
        st.dictionaries(st.sampled_from(["a", "b", "total", "date"]), sub, min_size=1, max_size=4),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), sub, max_size=3),
        st.dictionaries(ref_keyword, refs, max_size=2),
    )


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
                           max_leaves=6)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--full-every", type=int, default=200, help="every n-th schema also runs extract_fields")
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    outside = Path(tempfile.mkdtemp(prefix="docvl-canary-"))
    canary = outside / "secret.json"
    canary.write_text(json.dumps({"type": "string", "description": CANARY}))
    work = Path(tempfile.mkdtemp(prefix="docvl-fuzz-schemas-"))
    invoice = work / "invoice.pdf"
    invoice.write_bytes(samples.sample_report())
    config = Settings.from_env(roots=[work], cache_max_bytes=0, isolate=False)

    outcomes: collections.Counter[str] = collections.Counter()
    crashes: list[str] = []
    echoed: list[str] = []
    count = 0

    @settings(max_examples=500, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(schema=schemas(port, canary), values=st.lists(json_values, min_size=1, max_size=4))
    def one(schema: dict, values: list) -> None:
        nonlocal count
        count += 1
        try:
            target = resolve_schema(schema)
            for spec, value in zip(target["properties"].values(), values * 4, strict=False):
                if isinstance(spec, dict):
                    with contextlib.suppress(ValidationError):
                        check_value(value, spec, target)
            data = dict(zip(target["properties"], values * 4, strict=False))
            with contextlib.suppress(ValidationError):
                check_data(data, nullable(target))
            if count % args.full_every == 0:
                extract_fields(str(invoice), schema, settings=config)
                outcomes["extract_fields ran"] += 1
            outcomes["accepted"] += 1
        except InvalidArgument as exc:
            outcomes["refused (InvalidArgument)"] += 1
            if CANARY in str(exc):
                echoed.append(str(exc)[:300])
        except Exception as exc:  # every other exception is a finding
            crashes.append(f"{type(exc).__name__}: {str(exc)[:200]} <- {json.dumps(schema)[:300]}")

    started = time.monotonic()
    rounds = 0
    while time.monotonic() - started < args.seconds:
        one()
        rounds += 1
    server.shutdown()
    print(f"schemas: {count} in {time.monotonic() - started:.0f} s ({rounds} hypothesis rounds)")
    for name, n in sorted(outcomes.items()):
        print(f"  {name}: {n}")
    print(f"crashes (unexpected exceptions): {len(crashes)}")
    for line in collections.Counter(c.split(" <- ")[0] for c in crashes).most_common(10):
        print(f"  {line}")
    for line in crashes[:5]:
        print(f"  e.g. {line}")
    print(f"requests recorded by the loopback server on port {port}: {len(Recorder.seen)}")
    for line in Recorder.seen[:10]:
        print(f"  {line}")
    print(f"messages echoing the canary file's text: {len(echoed)}")
    return 1 if crashes or Recorder.seen or echoed else 0


if __name__ == "__main__":
    sys.exit(main())
