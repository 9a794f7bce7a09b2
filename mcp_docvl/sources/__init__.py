"""Where documents come from: a local path, an http(s) URL, or bytes the caller holds.

`load_source` turns any of them into a `Source`: the bytes, their media type (sniffed from content) and sha256.
"""

from mcp_docvl.sources.loader import Source, fetch_ahead, load_source

__all__ = ["Source", "fetch_ahead", "load_source"]
