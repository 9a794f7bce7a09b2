"""Command line: `mcp-docvl serve` (the MCP server), `mcp-docvl read SOURCE` (the library, no MCP) and
`mcp-docvl warmup SOURCE` (precompute a static document's vision embeddings)."""

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
    parser.add_argument("--engine", help="Recognition engine for pages without text: ocr (default), transformers "
                                         "(a local vision-language model) or openai (an OpenAI-compatible server). "
                                         "Also DOCVL_ENGINE.")
    parser.add_argument("--model", help="Vision-language model: a Hugging Face id or local directory (transformers), "
                                        "the served model name (openai). Also DOCVL_VLM_MODEL.")
    parser.add_argument("--max-bytes", type=int, help="Largest document accepted, in bytes (default 100 MiB).")
    parser.add_argument("--allow-private-urls", action="store_true", default=None,
                        help="Allow URL sources on private, loopback and link-local addresses.")
    parser.add_argument("--cache-dir", type=Path, help="Where pages, OCR results and images are cached "
                                                       "(default: DOCVL_CACHE_DIR, else the user cache dir).")
    parser.add_argument("--cache-max-bytes", type=int, help="Size cap of the cache (default 2 GiB; 0 turns it off).")


def _settings(args: argparse.Namespace, default_roots: list[Path] | None = None) -> Settings:
    roots = [Path(r) for r in args.root] if args.root else default_roots
    return Settings.from_env(roots=roots, engine=args.engine, max_bytes=args.max_bytes,
                             allow_private_urls=args.allow_private_urls, cache_dir=args.cache_dir,
                             cache_max_bytes=args.cache_max_bytes, vlm_model=args.model,
                             vlm_cache_dir=getattr(args, "vision_cache_dir", None))


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


def _cmd_warmup(args: argparse.Namespace) -> int:
    from mcp_docvl.errors import InvalidArgument
    from mcp_docvl.warmup import warmup

    if args.engine is None:
        args.engine = "transformers"
    settings = _settings(args, default_roots=[Path.cwd(), Path(Path.cwd().anchor)])
    if settings.vlm_cache_dir is None:
        raise InvalidArgument("Warmup needs a cache directory: embeddings kept in memory vanish when it exits.",
                              "Pass --vision-cache-dir DIR (or set DOCVL_VLM_CACHE_DIR), and give the server the same.")
    result = warmup(args.source, pages=args.pages, password=args.password, settings=settings)
    print(f"{result.pages} pages: {result.encoded} encoded now, {result.pages - result.encoded} were cached already "
          f"(in {settings.vlm_cache_dir})")
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    from mcp_docvl.cache import DiskCache, cache_dir

    settings = Settings.from_env(cache_dir=args.cache_dir)
    cache = DiskCache(cache_dir(settings), settings.cache_max_bytes)
    if args.action == "clear":
        from mcp_docvl.cache.registry import DocumentRegistry

        removed = cache.clear()
        forgotten = DocumentRegistry(cache).clear()
        print(f"removed {removed} entries and {forgotten} document records from {cache.directory}")
        return 0
    stats = cache.stats()
    print(f"directory: {stats.directory}\nentries:   {stats.entries}\nsize:      {stats.bytes / 2**20:.1f} MiB "
          f"of {stats.max_bytes / 2**20:.0f} MiB")
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

    warm = sub.add_parser("warmup", help="Precompute vision embeddings of a static document (transformers engine).")
    warm.add_argument("source", help="Path, http(s) URL, or data: URI.")
    _add_common(warm)
    warm.add_argument("--pages", help='Pages, e.g. "1-3,7" (default: all).')
    warm.add_argument("--password", help="Password of an encrypted PDF.")
    warm.add_argument("--vision-cache-dir", type=Path, help="Where embeddings are stored (also "
                                                            "DOCVL_VLM_CACHE_DIR); serve with the same setting.")
    warm.set_defaults(func=_cmd_warmup)

    cache = sub.add_parser("cache", help="Show or empty the page cache.")
    cache.add_argument("action", choices=["stats", "clear"])
    cache.add_argument("--cache-dir", type=Path, help="Cache directory (default: DOCVL_CACHE_DIR, else the user "
                                                      "cache dir).")
    cache.set_defaults(func=_cmd_cache)
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
