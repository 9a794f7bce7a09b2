"""The MCP side of document resources: docvl:// URIs and their completions.

Only adapts: the content comes from `mcp_docvl.features.resources`.
"""

import functools
from collections.abc import Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceLink,
    ResourceTemplateReference,
)

from mcp_docvl.config import Settings
from mcp_docvl.engines import Engine
from mcp_docvl.errors import DocvlError, EngineError, LimitExceeded, SourceNotFound
from mcp_docvl.features import resources
from mcp_docvl.models import ReadDocumentResult

DOCUMENT = "docvl://documents/{id}"
PAGE = "docvl://documents/{id}/pages/{n}"
PAGE_IMAGE = "docvl://documents/{id}/pages/{n}/image"
TABLE = "docvl://documents/{id}/pages/{n}/tables/{k}"


def resource_links(result: ReadDocumentResult) -> list[ResourceLink]:
    """Links a tool result carries so the agent can fetch more of the document without re-sending it."""
    return [ResourceLink(uri=uri, name=name, mime_type=mime, description=description)
            for uri, name, mime, description in resources.document_links(result)]


def _as_resource_error(func: Callable[..., Any]) -> Callable[..., Any]:
    """Errors the caller caused (no such document, page or table; a malformed part of the URI) are answered as
    invalid params (-32602) with the message; only failures on our side stay internal errors (-32603)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SourceNotFound as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except (EngineError, LimitExceeded) as exc:
            raise ResourceError(str(exc)) from None
        except DocvlError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None
    return wrapper


def add_document_resources(server: MCPServer, settings: Settings, engine: Callable[[], Engine | None]) -> None:
    """Register the docvl://documents resources and their completions."""

    @server.resource("docvl://documents", name="documents", title="Recently opened documents",
                     mime_type="application/json")
    @_as_resource_error
    def recent() -> str:
        """Documents opened recently (newest first), with their ids and URIs."""
        return resources.recent_documents(settings)

    @server.resource(DOCUMENT, name="document", title="Document outline", mime_type="application/json")
    @_as_resource_error
    def document(id: str) -> str:
        """A document's metadata, bookmarks, headings and per-page token estimates."""
        return resources.document_summary(id, settings, engine())

    @server.resource(PAGE, name="page", title="Page as Markdown", mime_type="text/markdown")
    @_as_resource_error
    def page(id: str, n: str) -> str:
        """One page of a document as Markdown, in reading order."""
        return resources.page_markdown(id, n, settings, engine())

    @server.resource(PAGE_IMAGE, name="page_image", title="Page image", mime_type="image/png")
    @_as_resource_error
    def page_image(id: str, n: str) -> bytes:
        """One page of a document as a PNG image."""
        return resources.page_image(id, n, settings)

    @server.resource(TABLE, name="table", title="Table as CSV", mime_type="text/csv")
    @_as_resource_error
    def table(id: str, n: str, k: str) -> str:
        """Table k (0-based, top to bottom) of page n as CSV; merged cells repeat their text."""
        return resources.table_csv(id, n, k, settings, engine())

    @server.completion()
    async def complete(ref: ResourceTemplateReference | PromptReference, argument: CompletionArgument,
                       context: CompletionContext | None) -> Completion | None:
        if not isinstance(ref, ResourceTemplateReference) or not ref.uri.startswith("docvl://documents/"):
            return None
        if argument.name == "id":
            values, total = resources.complete_ids(argument.value, settings)
        elif argument.name == "n":
            doc_id = (context.arguments or {}).get("id") if context else None
            values, total = resources.complete_pages(doc_id, argument.value, settings)
        else:
            return None
        return Completion(values=values, total=total, has_more=total > len(values))
