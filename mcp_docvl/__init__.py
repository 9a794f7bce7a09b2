"""mcp-docvl: documents to structured content for agents.

The library API (each call loads the source once, reads pages through one shared page cache, and returns a
pydantic model; see README "Using the library without MCP"):

    from mcp_docvl import Settings, read_document
    result = read_document("report.pdf", pages="1-2", settings=Settings.from_env(roots=["."]))

`mcp_docvl.mcp` adapts the same functions to MCP. Layers, bottom to top (tools/check_layers.py enforces them):
core modules (config, errors, models, ...) < sources < documents < extract < engines < cache < pipeline <
features < mcp < this package's API and the CLI.
"""

from mcp_docvl.config import Settings
from mcp_docvl.errors import DocvlError
from mcp_docvl.features.answers import answer_about
from mcp_docvl.features.fields import extract_fields
from mcp_docvl.features.outline import document_outline
from mcp_docvl.features.read import read_document
from mcp_docvl.features.tables import extract_tables
from mcp_docvl.pipeline.session import Session, open_session
from mcp_docvl.version import __version__

__all__ = [
    "DocvlError",
    "Session",
    "Settings",
    "__version__",
    "answer_about",
    "document_outline",
    "extract_fields",
    "extract_tables",
    "open_session",
    "read_document",
]
