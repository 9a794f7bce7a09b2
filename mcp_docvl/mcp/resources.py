"""The MCP side of document resources: docvl:// URIs and their completions.

Only adapts: the content comes from `mcp_docvl.features.resources`, computed through `run_call` like the tools'
(so every parse behind a resource runs in a worker, within the call's time and memory limits), and document text
comes back fenced as data.
"""

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
from mcp_docvl.errors import DocvlError, EngineError, LimitExceeded, ServerFault, SourceNotFound
from mcp_docvl.features import resources
from mcp_docvl.mcp.dispatch import run_call, without_progress
from mcp_docvl.mcp.presentation import fence_json
from mcp_docvl.models import ReadDocumentResult
from mcp_docvl.untrusted import fence, one_line

DOCUMENT = "docvl://documents/{id}"
PAGE = "docvl://documents/{id}/pages/{n}"
PAGE_IMAGE = "docvl://documents/{id}/pages/{n}/image"
TABLE = "docvl://documents/{id}/pages/{n}/tables/{k}"


def resource_links(result: ReadDocumentResult) -> list[ResourceLink]:
    """Links a tool result carries so the agent can fetch more of the document without re-sending it."""
    return [ResourceLink(uri=uri, name=one_line(name), mime_type=mime, description=one_line(description, 500))
            for uri, name, mime, description in resources.document_links(result)]


async def _read(settings: Settings, func: Callable[..., Any], **kwargs: Any) -> Any:
    """A resource's content, computed like a tool's: through `run_call` (a worker process with the call's time
    limits and memory cap wherever the tools get one).

    Errors the caller caused (no such document, page or table; a malformed part of the URI) are answered as
    invalid params (-32602) with the message; failures on our side (the engine, a limit, a ServerFault) stay
    resource errors (-32603)."""
    try:
        return await run_call(settings, without_progress(func), None, settings=settings, **kwargs)
    except SourceNotFound as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except (EngineError, LimitExceeded, ServerFault) as exc:
        raise ResourceError(str(exc)) from None
    except DocvlError as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from None


def add_document_resources(server: MCPServer, settings: Settings, engine: Callable[[], Engine | None]) -> None:
    """Register the docvl://documents resources and their completions."""

    @server.resource("docvl://documents", name="documents", title="Recently opened documents",
                     mime_type="application/json")
    async def recent() -> str:
        """Documents opened recently (newest first), with their ids and URIs."""
        listing = await _read(settings, resources.recent_documents)
        return fence_json("Documents opened recently; names and titles are quoted from the documents", listing)

    @server.resource(DOCUMENT, name="document", title="Document outline", mime_type="application/json")
    async def document(id: str) -> str:
        """A document's metadata, bookmarks, headings and per-page token estimates."""
        summary = await _read(settings, resources.document_summary, doc_id=id, engine=engine())
        return fence_json(f"Outline of document {one_line(id, 16)}", summary)

    @server.resource(PAGE, name="page", title="Page as Markdown", mime_type="text/markdown")
    async def page(id: str, n: str) -> str:
        """One page of a document as Markdown, in reading order."""
        text = await _read(settings, resources.page_markdown, doc_id=id, n=n, engine=engine())
        return fence(f"Page {one_line(n, 12)} of document {one_line(id, 16)}.", text)

    @server.resource(PAGE_IMAGE, name="page_image", title="Page image", mime_type="image/png")
    async def page_image(id: str, n: str) -> bytes:
        """One page of a document as a PNG image."""
        return await _read(settings, resources.page_image, doc_id=id, n=n)

    @server.resource(TABLE, name="table", title="Table as CSV", mime_type="text/csv")
    async def table(id: str, n: str, k: str) -> str:
        """Table k (0-based, top to bottom) of page n as CSV; merged cells repeat their text."""
        csv = await _read(settings, resources.table_csv, doc_id=id, n=n, k=k, engine=engine())
        return fence(f"Table {one_line(k, 12)} of page {one_line(n, 12)} of document {one_line(id, 16)}, as CSV.",
                     csv)

    @server.completion()
    async def complete(ref: ResourceTemplateReference | PromptReference, argument: CompletionArgument,
                       context: CompletionContext | None) -> Completion | None:
        # Completions read the registry only (ids, page counts) and count page numbers arithmetically: no parse.
        if not isinstance(ref, ResourceTemplateReference) or not ref.uri.startswith("docvl://documents/"):
            return None
        if argument.name == "id":
            values, total = await _read(settings, resources.complete_ids, prefix=argument.value)
        elif argument.name == "n":
            doc_id = (context.arguments or {}).get("id") if context else None
            values, total = await _read(settings, resources.complete_pages, doc_id=doc_id, prefix=argument.value)
        else:
            return None
        return Completion(values=values, total=total, has_more=total > len(values))
