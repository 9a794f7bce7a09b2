"""Command line: `mcp-docvl serve` (the MCP server), `mcp-docvl read SOURCE` (the library, no MCP),
`mcp-docvl warmup SOURCE` (precompute a static document's vision embeddings) and `mcp-docvl model fetch ID`
(download a model and the code repositories it references, for offline serving)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from mcp.server.auth.settings import AuthSettings

from mcp_docvl.cache import DiskCache, cache_dir
from mcp_docvl.cache.registry import DocumentRegistry
from mcp_docvl.config import Settings
from mcp_docvl.errors import DocvlError, InvalidArgument
from mcp_docvl.features.read import read_document
from mcp_docvl.features.warmup import warmup
from mcp_docvl.mcp.auth import IntrospectionTokenVerifier, StaticTokenVerifier, read_token_file
from mcp_docvl.mcp.server import build_server
from mcp_docvl.mcp.transport import HttpOptions, check_exposure, serve_http, serve_stdio
from mcp_docvl.version import __version__


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", action="append", metavar="DIR",
                        help="Directory whose files may be read (repeatable). Default: none for serve (only URLs "
                             "and inline data are read), any local path you name for read and warmup. Also "
                             "DOCVL_ROOTS.")
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
    limits = parser.add_argument_group("safety limits (each also a DOCVL_* variable)")
    limits.add_argument("--allow-url-host", action="append", metavar="HOST",
                        help="Fetch URLs only from these hosts (repeatable; *.example.com for subdomains).")
    limits.add_argument("--allow-url-network", action="append", metavar="CIDR[:PORT]",
                        help="Allow URL sources in this internal network, e.g. 10.1.2.0/24, or only one port of "
                             "it, e.g. 10.1.2.3:8443 or [fd00::/8]:443 (repeatable).")
    limits.add_argument("--max-fetches", type=int, help="URL downloads in flight at once, on threads of their own "
                                                        "(default 8).")
    limits.add_argument("--allow-hard-links", action="store_true", default=None,
                        help="Read files under the roots that have more than one hard link (refused by default: "
                             "another name may lie outside the roots).")
    limits.add_argument("--max-pages", type=int, help="Most pages one call processes (default 200).")
    limits.add_argument("--max-page-pixels", type=int, help="Most pixels of one page image (default 40,000,000).")
    limits.add_argument("--fetch-timeout", type=float, help="Seconds for a whole URL download (default 120).")
    limits.add_argument("--call-timeout", type=float, help="Seconds one tool call may take (default 300).")
    limits.add_argument("--page-timeout", type=float, help="Seconds to parse/recognise one page (default 120).")
    limits.add_argument("--no-isolation", dest="isolate", action="store_false", default=None,
                        help="Parse and recognise in the server process instead of worker processes.")
    limits.add_argument("--workers", type=int, help="Worker processes for parsing and recognition (default 2).")
    limits.add_argument("--worker-memory-mb", type=int, help="Address space per worker, MiB (default 4096).")


def _settings(args: argparse.Namespace, default_roots: list[Path] | None = None) -> Settings:
    roots = [Path(r) for r in args.root] if args.root else default_roots
    return Settings.from_env(roots=roots, engine=args.engine, max_bytes=args.max_bytes,
                             allow_private_urls=args.allow_private_urls, cache_dir=args.cache_dir,
                             cache_max_bytes=args.cache_max_bytes, vlm_model=args.model,
                             vlm_cache_dir=getattr(args, "vision_cache_dir", None),
                             url_allowed_hosts=args.allow_url_host,
                             url_allowed_networks=args.allow_url_network, max_pages_per_call=args.max_pages,
                             max_page_pixels=args.max_page_pixels, fetch_total_timeout=args.fetch_timeout,
                             call_timeout=args.call_timeout, page_timeout=args.page_timeout, isolate=args.isolate,
                             workers=args.workers, worker_memory_mb=args.worker_memory_mb,
                             max_concurrent_fetches=args.max_fetches, allow_hard_links=args.allow_hard_links)


def _warn_missing_roots(settings: Settings) -> None:
    """A root that does not exist is most likely a typo in the host's config: say so where its log shows it."""
    for root in settings.roots:
        if not root.is_dir():
            print(f"warning: root {root} does not exist or is not a directory; no file under it can be read. "
                  "Check --root / DOCVL_ROOTS.", file=sys.stderr)


def _cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    _warn_missing_roots(settings)
    if args.http:
        verifier, auth = _auth(args)
        options = HttpOptions(host=args.host, port=args.port, auth=verifier is not None,
                              insecure_no_auth=args.insecure_no_auth, allowed_hosts=args.allowed_host or [],
                              allowed_origins=args.allowed_origin or [], max_request_bytes=args.max_request_bytes,
                              max_concurrency=args.max_concurrency, header_timeout=args.header_timeout,
                              max_connections=args.max_connections, max_sessions=args.max_sessions)
        check_exposure(options)  # before loading anything: a refused start should be quick
        server = build_server(settings, token_verifier=verifier, auth=auth)
        print(f"mcp-docvl {__version__}: streamable HTTP on http://{args.host}:{args.port}/mcp "
              f"(health: /health; auth: {'on' if verifier else 'off'}); "
              f"roots: {', '.join(map(str, settings.roots))}",
              file=sys.stderr)
        serve_http(server, options, verifier)
    else:
        server = build_server(settings)
        serve_stdio(server, args.max_request_bytes)
    return 0


def _auth(args: argparse.Namespace) -> tuple[object | None, object | None]:
    """The token verifier and auth settings from the flags (both None when no auth is configured)."""
    token_file = args.auth_token_file or (Path(os.environ["DOCVL_AUTH_TOKEN_FILE"])
                                          if os.environ.get("DOCVL_AUTH_TOKEN_FILE") else None)
    resource = args.resource_url or f"http://{args.host}:{args.port}/mcp"
    if args.oauth_introspection_url:
        if not args.oauth_issuer:
            raise InvalidArgument("--oauth-introspection-url needs --oauth-issuer.", "Name the issuer's URL.")
        verifier = IntrospectionTokenVerifier(args.oauth_introspection_url, args.oauth_client_id,
                                              os.environ.get("DOCVL_OAUTH_CLIENT_SECRET"))
        issuer = args.oauth_issuer
    elif token_file is not None:
        verifier = StaticTokenVerifier(read_token_file(token_file), scopes=args.required_scope)
        issuer = resource  # static tokens have no issuer: we vouch for them ourselves
    else:
        return None, None
    auth = AuthSettings(issuer_url=issuer, resource_server_url=resource, required_scopes=args.required_scope,
                        validate_token_resource=False)
    return verifier, auth


def _cmd_read(args: argparse.Namespace) -> int:
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


def _cmd_model_fetch(args: argparse.Namespace) -> int:
    from mcp_docvl.engines.local import hub

    for repo, path in hub.fetch(args.model_id, cache_dir=args.cache_dir, revision=args.revision):
        print(f"{repo}: {path}")
    print(f"Offline from now on: HF_HUB_OFFLINE=1 mcp-docvl serve --engine transformers --model {args.model_id}")
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    settings = Settings.from_env(cache_dir=args.cache_dir)
    cache = DiskCache(cache_dir(settings), settings.cache_max_bytes)
    if args.action == "clear":
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
    http = serve.add_argument_group("HTTP security")
    http.add_argument("--auth-token-file", type=Path, metavar="FILE",
                      help="Require a bearer token from FILE (one per line). Also DOCVL_AUTH_TOKEN_FILE.")
    http.add_argument("--oauth-issuer", metavar="URL", help="OAuth authorization server that issues our tokens.")
    http.add_argument("--oauth-introspection-url", metavar="URL",
                      help="Its token introspection endpoint (RFC 7662); tokens are checked there.")
    http.add_argument("--oauth-client-id", help="Client id for introspection (with DOCVL_OAUTH_CLIENT_SECRET).")
    http.add_argument("--resource-url", metavar="URL",
                      help="This server's public URL, e.g. https://docs.example.com/mcp (OAuth resource).")
    http.add_argument("--required-scope", action="append", metavar="SCOPE", help="Scope every token must carry.")
    http.add_argument("--insecure-no-auth", action="store_true",
                      help="Serve a non-loopback host without authentication (not recommended).")
    http.add_argument("--allowed-host", action="append", metavar="HOST",
                      help="Host header clients use to reach us (DNS-rebinding protection; repeatable; * for any).")
    http.add_argument("--allowed-origin", action="append", metavar="ORIGIN", help="Allowed Origin header value.")
    http.add_argument("--max-request-bytes", type=int, default=32 * 1024 * 1024,
                      help="Largest HTTP request body, and largest stdio message (default 32 MiB; base64 documents "
                           "count 4/3 of their size).")
    http.add_argument("--max-concurrency", type=int, default=200,
                      help="Authenticated requests served at once before answering 503 (default 200; requests "
                           "without a valid token are answered 401 and take no slot).")
    http.add_argument("--header-timeout", type=float, default=10.0,
                      help="Seconds a client has to send a request's headers before 408 and close (default 10).")
    http.add_argument("--max-connections", type=int, default=768,
                      help="Open HTTP connections; past it the one waiting longest for its headers is dropped "
                           "(default 768).")
    http.add_argument("--max-sessions", type=int, default=1000,
                      help="Open MCP sessions; a request that would open another is answered 503 (default 1000).")
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

    model = sub.add_parser("model", help="Fetch a model for offline use (transformers engine).")
    fetch = model.add_subparsers(dest="action", required=True).add_parser(
        "fetch", help="Download a Hugging Face model and every code repository its config references (auto_map).")
    fetch.add_argument("model_id", help="e.g. nvidia/Llama-3.1-Nemotron-Nano-VL-8B-V1")
    fetch.add_argument("--revision", help="Branch, tag or commit of the model (default: main).")
    fetch.add_argument("--cache-dir", type=Path, help="Hub cache to fill (default: HF_HUB_CACHE / HF_HOME's).")
    fetch.set_defaults(func=_cmd_model_fetch)

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
