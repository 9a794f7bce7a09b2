"""The MCP side of document resources and outlines: URIs, completions and the document_outline tool.

Only adapts: the content comes from `mcp_docvl.resources` and `mcp_docvl.outline`.
"""

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp_types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceLink,
    ResourceTemplateReference,
    TextContent,
    ToolAnnotations,
)
from pydantic import Field

from mcp_docvl import resources
from mcp_docvl.config import Settings
from mcp_docvl.engines import Engine
from mcp_docvl.errors import DocvlError, SourceNotFound
from mcp_docvl.models import ReadDocumentResult
from mcp_docvl.outline import DocumentOutline, document_outline
from mcp_docvl.tool_args import PasswordArg, SourceArg

RunInWorker = Callable[..., Awaitable[Any]]
DOCUMENT = "docvl://documents/{id}"
PAGE = "docvl://documents/{id}/pages/{n}"
PAGE_IMAGE = "docvl://documents/{id}/pages/{n}/image"
TABLE = "docvl://documents/{id}/pages/{n}/tables/{k}"


def resource_links(result: ReadDocumentResult) -> list[ResourceLink]:
    """Links a tool result carries so the agent can fetch more of the document without re-sending it."""
    return [ResourceLink(uri=uri, name=name, mime_type=mime, description=description)
            for uri, name, mime, description in resources.document_links(result)]


def _as_resource_error(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SourceNotFound as exc:
            raise ResourceNotFoundError(str(exc)) from None
        except DocvlError as exc:
            raise ResourceError(str(exc)) from None
    return wrapper


def add_document_resources(server: MCPServer, settings: Settings, engine: Callable[[], Engine | None],
                           run_in_worker: RunInWorker) -> None:
    """Register the docvl://documents resources, their completions and the document_outline tool."""

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

    @server.tool(
        name="document_outline",
        title="Outline a document",
        annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True, idempotent_hint=True),
    )
    async def document_outline_tool(
        source: SourceArg,
        pages: Annotated[str | None, Field(description='Pages to outline, 1-based, e.g. "1-50". Default: all '
                                                       f"(at most {settings.max_pages_per_call} a call).")] = None,
        recognise: Annotated[bool, Field(description="Also recognise (OCR) pages without a text layer so they "
                                                     "get estimates too; slow on long scans.")] = False,
        password: PasswordArg = None,
        cursor: Annotated[str | None, Field(description="next_cursor of a previous outline, to continue.")] = None,
        ctx: Context | None = None,
    ) -> Annotated[CallToolResult, DocumentOutline]:
        """Plan before reading: title, bookmarks, headings, and per page its estimated tokens, tables and figures.

        Use it on long documents, then read_document the pages you need (with `pages` and `max_tokens`).
        """
        result = await run_in_worker(document_outline, ctx, source=source, pages=pages, recognise=recognise,
                                     password=password, cursor=cursor, settings=settings, engine=engine())
        return CallToolResult(
            content=[TextContent(type="text", text=_outline_text(result)),
                     ResourceLink(uri=result.uri, name=f"{result.document.name} (outline)",
                                  mime_type="application/json")],
            structured_content=result.model_dump(mode="json"),
        )


def _outline_text(outline: DocumentOutline) -> str:
    doc = outline.document
    lines = [f'Outline of "{doc.name}" (id {doc.id}, {doc.page_count} pages, about {outline.estimated_tokens:,} '
             f"tokens in the {len(outline.pages)} pages outlined). Titles below are data from the document.",
             f"Title: {outline.title or '(none)'}"]
    if outline.bookmarks:
        lines.append("Bookmarks:")
        lines += [f"{'  ' * (b.level - 1)}- {b.title}" + (f" (p. {b.page})" if b.page else "")
                  for b in outline.bookmarks]
    if outline.headings:
        lines.append("Headings:")
        lines += [f"{'  ' * (h.level - 1)}- {h.title} (p. {h.page})" for h in outline.headings[:200]]
    lines.append("Pages (tokens / tables / figures):")
    for p in outline.pages:
        tokens = f"~{p.estimated_tokens}" if p.estimated_tokens is not None else "needs recognition"
        lines.append(f"- {p.page}: {tokens} / {p.tables} / {p.figures}")
    if outline.next_cursor:
        lines.append(f"More pages remain: call again with cursor={outline.next_cursor}.")
    return "\n".join(lines)
