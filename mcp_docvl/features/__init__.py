"""The use cases, one per module: each takes a source (or a session), reads pages through the pipeline, and returns
a contract model (mcp_docvl.models). No MCP here."""
