"""Errors a caller can act on.

Every error carries what went wrong and what to do about it; the MCP layer turns it into a tool error
and the CLI prints it, so neither ever shows a traceback for bad input.
"""

from __future__ import annotations


class DocvlError(Exception):
    """Base for every anticipated failure: a problem with the input, the configuration or a limit."""

    def __init__(self, problem: str, fix: str | None = None) -> None:
        self.problem = problem
        self.fix = fix
        super().__init__(f"{problem} {fix}" if fix else problem)


class SourceNotFound(DocvlError):
    """The path or URL names nothing we can read."""


class AccessDenied(DocvlError):
    """The source lies outside what the configuration allows (roots, URL policy)."""


class FetchError(DocvlError):
    """A URL could not be fetched (network, status, timeout)."""


class UnsupportedFormat(DocvlError):
    """The bytes are not a document type we read."""


class DocumentCorrupt(DocvlError):
    """The bytes claim a known type but cannot be parsed."""


class PasswordRequired(DocvlError):
    """The PDF is encrypted and no (or a wrong) password was given."""


class InvalidArgument(DocvlError):
    """A tool argument is malformed (page range, format, cursor...)."""


class LimitExceeded(DocvlError):
    """A configured limit (bytes, pages, pixels, time) was hit."""


class EngineError(DocvlError):
    """The recognition engine failed or is not available."""


class ServerFault(DocvlError):
    """A failure on our side, not the caller's to fix: an unexpected error (answered by reference) or a cancelled
    call."""
