"""Command line: `mcp-docvl serve` (the MCP server) and `mcp-docvl read SOURCE` (the library, no MCP)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from mcp_docvl import __version__
from mcp_docvl.config import Settings
from mcp_docvl.errors import DocvlError


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", action="append", metavar="DIR",
                        help="Directory whose files may be read (repeatable). Default: the current directory "
                             "(serve), any local path you name (read). Also DOCVL_ROOTS.")
    parser.add_argument("--engine", help="Recognition engine for pages without text: ocr (default).")
    parser.add_argument("--max-bytes", type=int, help="Largest document accepted, in bytes (default 100 MiB).")
    parser.add_argument("--allow-private-urls", action="store_true", default=None,
                        help="Allow URL sources on private, loopback and link-local addresses.")


def _settings(args: argparse.Namespace, default_roots: list[Path] | None = None) -> Settings:
    roots = [Path(r) for r in args.root] if args.root else default_roots
    return Settings.from_env(roots=roots, engine=args.engine, max_bytes=args.max_bytes,
                             allow_private_urls=args.allow_private_urls)


def _cmd_serve(args: argparse.Namespace) -> int:
    from mcp_docvl.server import build_server

    settings = _settings(args)
    server = build_server(settings)
    if args.http:
        print(f"mcp-docvl {__version__}: streamable HTTP on http://{args.host}:{args.port}/mcp "
              f"(health: /health); roots: {', '.join(map(str, settings.roots))}", file=sys.stderr)
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run()
    return 0


def _cmd_read(args: argparse.Namespace) -> int:
    from mcp_docvl.reader import read_document

    # On the command line the user names the file themselves, so any local path is allowed unless --root narrows it.
    settings = _settings(args, default_roots=[Path.cwd(), Path(Path.cwd().anchor)])
    result = read_document(args.source, pages=args.pages, format=args.format, max_chars=args.max_chars,
                           password=args.password, cursor=args.cursor, settings=settings)
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        print(result.combined())
        if result.next_cursor:
            print(f"\n(continue with: --cursor {result.next_cursor})", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mcp-docvl", description="MCP server for agentic document access.")
    parser.add_argument("--version", action="version", version=f"mcp-docvl {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="Run the MCP server (stdio by default).")
    _add_common(serve)
    serve.add_argument("--http", action="store_true", help="Serve streamable HTTP instead of stdio.")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP host (default 127.0.0.1).")
    serve.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000).")
    serve.set_defaults(func=_cmd_serve)

    read = sub.add_parser("read", help="Print a document's content (no MCP involved).")
    read.add_argument("source", help="Path, http(s) URL, or data: URI.")
    _add_common(read)
    read.add_argument("--pages", help='Pages, e.g. "1-3,7".')
    read.add_argument("--format", choices=["markdown", "text"], default="markdown")
    read.add_argument("--max-chars", type=int, default=1_000_000, help="Cut the output after this many characters.")
    read.add_argument("--password", help="Password of an encrypted PDF.")
    read.add_argument("--cursor", help="Continue a cut output.")
    read.add_argument("--json", action="store_true", help="Print the full structured result as JSON.")
    read.set_defaults(func=_cmd_read)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # bare `mcp-docvl` is what MCP hosts run: serve on stdio
        args = parser.parse_args(["serve", *(argv or [])])
    try:
        return args.func(args)
    except DocvlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
