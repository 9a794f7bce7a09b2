"""Tool arguments every tool shares, described once so every schema says the same thing."""

from typing import Annotated

from pydantic import Field

SourceArg = Annotated[str, Field(description="Local path (under the allowed roots), http(s) URL, the document as a "
                                             "data: URI or base64 string, or a docvl://documents/{id} URI from an "
                                             "earlier result.")]
PasswordArg = Annotated[str | None, Field(description="Password of an encrypted PDF.")]
CursorArg = Annotated[str | None, Field(description="next_cursor of a previous, truncated result, to continue where "
                                                    "it stopped.")]
