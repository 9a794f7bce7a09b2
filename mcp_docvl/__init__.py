"""mcp-docvl: documents to structured content for agents.

The library is usable on its own (see `mcp_docvl.reader.read_document`); `mcp_docvl.server` adapts it to MCP.
"""

__version__ = "0.1.0"
