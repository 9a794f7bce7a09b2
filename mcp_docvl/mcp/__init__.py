"""The MCP surface: server and lifespan, the five tools, call dispatch, presentation, resources, prompts, auth and
transport. It only adapts: the work happens in mcp_docvl.features."""
