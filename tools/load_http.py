"""Load test of the streamable HTTP transport: many concurrent MCP clients, mixed tool calls, every answer checked.

Starts `mcp-docvl serve --http` on loopback (its own process, with worker processes as in production), then runs
--clients concurrent MCP sessions that make --calls tool calls in all:
  - repeated reads of the same pages (served from the page cache after the first),
  - reads of a document no call has seen (a fresh PDF per call, inline base64, with a unique token to find in
    the answer: a response meant for another call would not contain it),
  - OCR of a scan, extract_fields and answer_about on the sample,
  - extract_table on a fresh price list per call (its unique token must come back in the right cell),
  - calls that must fail (missing file, outside the roots, page out of range).
Each response is checked against what its own request should give: a lost (no answer / transport error) or
mismatched response is counted. Prints p50/p99 latency per kind and the server's RSS (process + workers) at
start and end. With --auth, the server requires a bearer token: the clients send it, and --unauth raw requests
without a token (or with a wrong one) must all get 401. With --slowloris N (implies --auth), N unauthenticated
connections are held open all the while, each sending one header line every 3 s and never finishing its
request (reconnecting whenever the server drops it), as a slowloris attack does; every authenticated call must
still be answered.

    python tools/load_http.py                       # 50 clients, 2,000 calls
    python tools/load_http.py --auth --unauth 200
    python tools/load_http.py --slowloris 250 --clients 20 --calls 500
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import httpx
import httpx2
import psutil
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp_docvl.samples import Text, make_pdf  # noqa: E402

RESOURCES = ROOT / "resources"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(proc: psutil.Process) -> float:
    procs = [proc, *proc.children(recursive=True)]
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def pick_call(rnd: random.Random) -> tuple[str, str, dict, list[str]]:
    """(kind, tool, arguments, strings the answer must contain); errors expect is_error and their message."""
    r = rnd.random()
    if r < 0.45:
        page = rnd.choice(["1", "2"])
        expect = "Quarterly Report on Document Access" if page == "1" else "1,234.56 EUR"
        return "read-repeat", "read_document", {"source": "sample.pdf", "pages": page}, [expect]
    if r < 0.75:
        token = f"TOKEN{secrets.token_hex(6).upper()}"
        pdf = make_pdf([[Text(72, 72, f"Unique document {token}", 14), Text(72, 100, "Body line for the load test.")]])
        source = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
        return "read-new", "read_document", {"source": source}, [token]
    if r < 0.78:
        return "ocr-scan", "read_document", {"source": "scan.png"}, ["docs@example.com"]
    if r < 0.83:
        return "fields", "extract_fields", {"source": "sample.pdf", "fields": [
            {"name": "total", "description": "total amount due", "type": "string"}]}, ["1,234.56"]
    if r < 0.88:
        return "answer", "answer_about", {"source": "sample.pdf", "question": "What is the total amount due?"}, \
            ["1,234.56"]
    if r < 0.93:
        token = f"TOKEN{secrets.token_hex(6).upper()}"
        rows = [("Item", "Qty", "Price"), ("Apples", "3", "1.20"), (token, "5", "2.50"), ("Dates", "2", "4.00")]
        cells = [Text(x, 100 + i * 16, text, 10) for i, row in enumerate(rows) for x, text in zip((72, 250, 400), row,
                                                                                                   strict=True)]
        pdf = make_pdf([[Text(72, 60, "Price list", 14, bold=True), *cells]])
        source = "data:application/pdf;base64," + base64.b64encode(pdf).decode()
        return "table", "extract_table", {"source": source, "format": "csv"}, [f"{token},5,2.50"]
    kind = rnd.choice(["missing", "outside", "bad-page"])
    if kind == "missing":
        return "error", "read_document", {"source": f"missing-{rnd.randint(0, 10**6)}.pdf"}, ["!No file at"]
    if kind == "outside":
        return "error", "read_document", {"source": "/etc/passwd"}, ["!outside the allowed roots"]
    return "error", "read_document", {"source": "sample.pdf", "pages": "99"}, ["!out of range"]


async def client_task(url: str, token: str | None, calls: int, seed: int, results: list) -> None:
    rnd = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    http = httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(300))
    try:
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            for _ in range(calls):
                kind, tool, args, expects = pick_call(rnd)
                started = time.perf_counter()
                try:
                    result = await client.call_tool(tool, args)
                except Exception as exc:  # a lost response: transport error, timeout, protocol error
                    results.append((kind, time.perf_counter() - started, "lost", f"{type(exc).__name__}: {exc}"))
                    continue
                elapsed = time.perf_counter() - started
                text = result.content[0].text if result.content else ""
                if expects[0].startswith("!"):
                    ok = result.is_error and expects[0][1:] in text
                else:
                    ok = not result.is_error and all(e in text for e in expects)
                results.append((kind, elapsed, "ok" if ok else "mismatch", "" if ok else text[:200]))
    except Exception as exc:
        results.append(("session", 0.0, "lost", f"session failed: {type(exc).__name__}: {exc}"))


def unauthenticated(url: str, count: int, good_token: str) -> Counter:
    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "load", "version": "1"}}}
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": "read_document", "arguments": {"source": "sample.pdf"}}}
    base = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    statuses: Counter = Counter()
    with httpx.Client(timeout=30) as http:
        for i in range(count):
            headers = dict(base)
            if i % 3 == 1:
                headers["Authorization"] = "Bearer " + secrets.token_hex(24)
            elif i % 3 == 2:
                headers["Authorization"] = "Bearer " + good_token[:-1]
            statuses[http.post(url, json=init if i % 2 else call, headers=headers).status_code] += 1
    return statuses


class Slowloris:
    """`count` connections that send a request line and then one header line every `interval` seconds, forever."""

    def __init__(self, port: int, count: int, interval: float = 3.0) -> None:
        self.port, self.count, self.interval = port, count, interval
        self.opened = self.dropped = self.refused = 0
        self.open_now = 0
        self.statuses: Counter = Counter()

    async def run(self) -> None:
        await asyncio.gather(*(self._one(i) for i in range(self.count)))

    async def _one(self, index: int) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                self.refused += 1
                await asyncio.sleep(self.interval)
                continue
            self.opened += 1
            self.open_now += 1
            try:
                writer.write(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n".encode())
                line = 0
                while True:
                    await writer.drain()
                    try:  # what the server says (if anything) before it closes the connection
                        reply = await asyncio.wait_for(reader.read(64), timeout=self.interval)
                    except TimeoutError:
                        reply = None
                    if reply is not None:
                        if reply:
                            self.statuses[reply.split(b" ", 2)[1].decode(errors="replace")] += 1
                        break
                    line += 1
                    writer.write(f"X-Slow-{index}-{line}: {'a' * 20}\r\n".encode())
            except (OSError, IndexError):
                pass
            finally:
                self.open_now -= 1
                self.dropped += 1
                writer.close()


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else float("nan")


async def run(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="docvl-load-"))
    token = None
    cmd = [sys.executable, "-m", "mcp_docvl", "serve", "--http", "--port", str(port := free_port()),
           "--root", str(RESOURCES), "--workers", str(args.workers)]
    if args.auth:
        token = secrets.token_hex(32)
        (work / "tokens").write_text(token + "\n")
        cmd += ["--auth-token-file", str(work / "tokens")]
    # A fresh cache: the user's own is never touched, and the first read of each page is real work.
    env = dict(os.environ, PYTHONPATH=str(ROOT), DOCVL_CACHE_DIR=str(work / "cache"))
    log = (work / "server.log").open("w")  # closed with the process below
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None:
                print((work / "server.log").read_text(), file=sys.stderr)
                return 1
            await asyncio.sleep(0.2)
        proc = psutil.Process(server.pid)
        rss_start = rss_mib(proc)
        results: list = []
        per_client = [args.calls // args.clients + (1 if i < args.calls % args.clients else 0)
                      for i in range(args.clients)]
        started = time.perf_counter()
        samples: list[tuple[int, float]] = []

        async def sample_rss() -> None:
            while True:
                await asyncio.sleep(2)
                samples.append((len(results), rss_mib(proc)))

        sampler = asyncio.create_task(sample_rss())
        slowloris = Slowloris(port, args.slowloris) if args.slowloris else None
        attack = asyncio.create_task(slowloris.run()) if slowloris else None
        if slowloris:
            await asyncio.sleep(5)  # every slow connection open (and some already sending headers) before calls start
            print(f"slowloris: {slowloris.open_now} slow connections open before the first call")
            started = time.perf_counter()
        await asyncio.gather(*(client_task(f"{base}/mcp", token, n, seed=i, results=results)
                               for i, n in enumerate(per_client)))
        if attack is not None:
            open_at_end = slowloris.open_now
            attack.cancel()
        sampler.cancel()
        wall = time.perf_counter() - started
        rss_end = rss_mib(proc)
        statuses = unauthenticated(f"{base}/mcp", args.unauth, token) if args.auth and args.unauth else None
        alive = server.poll() is None
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    outcomes = Counter(r[2] for r in results)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for kind, elapsed, outcome, _ in results:
        if outcome != "lost":
            by_kind[kind].append(elapsed)
    every = [e for values in by_kind.values() for e in values]
    print(f"server: {' '.join(cmd[1:6])} ... workers={args.workers} auth={'on' if args.auth else 'off'}")
    print(f"{args.clients} clients, {len(results)} calls answered or lost of {args.calls} in {wall:.1f} s "
          f"({len(results) / wall:.1f} calls/s)")
    print(f"ok {outcomes['ok']}, mismatched {outcomes['mismatch']}, lost {outcomes['lost']}")
    print(f"latency all: p50 {percentile(every, 0.5) * 1000:.0f} ms, p99 {percentile(every, 0.99) * 1000:.0f} ms")
    for kind in sorted(by_kind):
        values = by_kind[kind]
        print(f"  {kind:12s} n={len(values):5d}  p50 {percentile(values, 0.5) * 1000:7.0f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:7.0f} ms  mean {statistics.mean(values) * 1000:7.0f} ms")
    print(f"server RSS (process + workers): start {rss_start:.0f} MiB, end {rss_end:.0f} MiB; "
          f"still running: {alive}")
    marks = [next((rss for done, rss in samples if done >= args.calls * q), rss_end) for q in (0.25, 0.5, 0.75)]
    print("server RSS after 25% / 50% / 75% / 100% of the calls: "
          + " / ".join(f"{m:.0f}" for m in [*marks, rss_end]) + " MiB")
    for kind, _, outcome, detail in results:
        if outcome != "ok":
            print(f"  {outcome}: {kind}: {detail}")
            break
    failed = outcomes["mismatch"] + outcomes["lost"] + (args.calls - len(results))
    if slowloris is not None:
        print(f"slowloris: {args.slowloris} slow unauthenticated connections held (one header line every 3 s); "
              f"{slowloris.opened} opened in all, {slowloris.dropped} dropped by the server "
              f"(replies: {dict(slowloris.statuses) or 'none'}), {slowloris.refused} connects refused, "
              f"{open_at_end} open when the last call finished")
    if statuses is not None:
        print(f"unauthenticated requests: {sum(statuses.values())}, HTTP statuses: {dict(statuses)}")
        failed += sum(v for k, v in statuses.items() if k != 401)
    return 1 if failed or not alive else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes (--workers)")
    parser.add_argument("--auth", action="store_true", help="require a bearer token (and test refusals)")
    parser.add_argument("--unauth", type=int, default=200, help="with --auth: requests sent without a valid token")
    parser.add_argument("--slowloris", type=int, default=0, metavar="N",
                        help="hold N slow unauthenticated connections open during the run (implies --auth)")
    args = parser.parse_args()
    args.auth = args.auth or bool(args.slowloris)
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
