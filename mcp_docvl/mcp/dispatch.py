"""Call dispatch: every tool's library call runs here, off the event loop, in a worker process when it can.

One place decides where a call runs (worker process or thread), enforces its time limits, reports its progress,
stops it when the client cancels, and maps its errors to tool errors the agent can act on.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from mcp_docvl.config import Settings
from mcp_docvl.errors import DocvlError, ServerFault
from mcp_docvl.limits import CallClock
from mcp_docvl.mcp.workers import WorkerCancelled, can_isolate, run_isolated
from mcp_docvl.sources import fetch_ahead

log = logging.getLogger("mcp_docvl")
T = TypeVar("T")


class Cancelled(Exception):
    """Raised inside a worker thread when the MCP call it serves was cancelled."""


def without_progress(func: Callable[..., T]) -> Callable[..., T]:
    """`func` (a library function that takes no progress callback) callable the way `dispatch` calls."""

    def call(progress: Callable[[int, int], None], **kwargs: Any) -> T:
        return func(**kwargs)

    call.__name__ = getattr(func, "__name__", "call")
    call.__wrapped__ = func  # type: ignore[attr-defined]  # lets workers.py run `func` itself in a worker
    return call


def _stops_at_deadline(func: Callable[..., Any]) -> bool:
    """Whether the library function takes a `deadline` (and so returns its pages done when time runs out)."""
    return "deadline" in inspect.signature(getattr(func, "__wrapped__", func)).parameters


def internal_error(exc: BaseException, what: str) -> ServerFault:
    """An unexpected failure as the caller sees it: a reference, never the exception's text (which may quote a
    file, a schema or a URL the caller must not see). The details go to the server log under that reference."""
    reference = uuid.uuid4().hex[:12]
    log.error("unexpected failure in %s [ref %s]", what, reference, exc_info=exc)
    return ServerFault(f"Internal error (ref {reference}); the server is still running.",
                      "Retry once; if it fails again, report the reference (the details are in the server's log) "
                      "and the document if you can.")


def caller_settings(settings: Settings) -> Settings:
    """`settings` for this request's caller: on HTTP, the token's principal, so docvl:// ids stay per token."""
    token = get_access_token()
    principal = token.client_id if token is not None else None
    return settings if principal == settings.principal else dataclasses.replace(settings, principal=principal)


async def run_call(settings: Settings, func: Callable[..., T], ctx: Context | None, /, **kwargs: Any) -> T:
    """Run a blocking library call on a worker thread (or process); report its progress; stop it when cancelled.

    A function that takes a `deadline` gets the end of the call time limit, so it returns the pages it has done
    (with a cursor for the rest) instead of being stopped with nothing. Raises DocvlError only: anticipated
    failures as they are, a cancellation and anything unexpected as a ServerFault saying so (see `internal_error`).
    """
    cancelled = threading.Event()
    settings = caller_settings(settings)
    if "settings" in kwargs:
        kwargs["settings"] = settings
    stops_itself = _stops_at_deadline(func)
    if stops_itself:
        kwargs["deadline"] = time.monotonic() + settings.call_timeout

    def progress(done: int, total: int) -> None:
        if cancelled.is_set():
            raise Cancelled
        if ctx is not None and total > 1:
            try:
                anyio.from_thread.run(functools.partial(ctx.report_progress, done, total, f"page {done}/{total}"))
            except Exception:  # progress is best effort: a gone client must not fail the work
                log.debug("progress notification failed", exc_info=True)

    try:
        if "source" in kwargs:  # a URL is downloaded first, on the fetch threads (sources/loader.py)
            kwargs["source"] = await fetch_ahead(kwargs["source"], settings)
        if can_isolate(func, kwargs, settings, kwargs.get("engine")):
            # In a worker process the parent enforces the time limits by killing it (mcp_docvl/mcp/workers.py).
            return await anyio.to_thread.run_sync(
                functools.partial(run_isolated, func, kwargs, settings, progress=progress, cancelled=cancelled),
                abandon_on_cancel=True,
            )
        clocked = CallClock(settings, stops_itself=stops_itself).wrap(progress)
        # abandon_on_cancel: a cancelled call returns at once; the flag set below stops the thread at its next page.
        return await anyio.to_thread.run_sync(functools.partial(func, progress=clocked, **kwargs),
                                              abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        cancelled.set()
        raise
    except DocvlError:
        raise
    except (Cancelled, WorkerCancelled):
        raise ServerFault("The call was cancelled.") from None
    except Exception as exc:
        raise internal_error(exc, getattr(func, "__name__", repr(func))) from None


async def dispatch(settings: Settings, func: Callable[..., T], ctx: Context | None, /, **kwargs: Any) -> T:
    """`run_call` for a tool: every failure becomes a tool error the agent can act on."""
    try:
        return await run_call(settings, func, ctx, **kwargs)
    except DocvlError as exc:
        raise ToolError(str(exc)) from None
