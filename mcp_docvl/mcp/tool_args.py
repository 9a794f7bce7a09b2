"""Tool arguments every tool shares, described once so every schema says the same thing; and the one sentence
a refused argument gets instead of a validation dump."""

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError

from mcp_docvl.errors import InvalidArgument
from mcp_docvl.page_ranges import pages_text

SourceArg = Annotated[str, Field(description="Local path (under the allowed roots), http(s) URL, the document as a "
                                             "data: URI or base64 string, or a docvl://documents/{id} URI from an "
                                             "earlier result.")]
PasswordArg = Annotated[str | None, Field(description="Password of an encrypted PDF.")]
CursorArg = Annotated[str | None, Field(description="next_cursor of a previous, truncated result, to continue where "
                                                    "it stopped.")]
# Longest argument value quoted back in a refusal (a base64 document can be megabytes).
_QUOTED_CHARS = 60


def _as_page_text(value: Any) -> str | None:
    """Any accepted form of `pages` as its one string form; a plain sentence for anything else."""
    try:
        return pages_text(value)
    except InvalidArgument as exc:
        raise ValueError(str(exc)) from None


def pages_arg(description: str) -> Any:
    """The `pages` argument: "1-3,7", "5-", "last", a page number (3) or a list of them ([1, 2]); tools get the
    string form. `description` says what the pages are for and the default."""
    return Annotated[str | int | list[int] | None, BeforeValidator(_as_page_text), Field(
        description=f'{description} 1-based: "1-3,7", "5-", "last", a page number like 3, or a list like [1, 2].')]


def _quoted(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _QUOTED_CHARS else text[:_QUOTED_CHARS] + "...'"


def refusal(tool: str, error: ValidationError) -> str:
    """One sentence naming each refused argument, its value and why (the first reason per argument)."""
    reasons: dict[str, str] = {}
    for item in error.errors():
        name = str(item["loc"][0]) if item["loc"] else "arguments"
        if name in reasons:
            continue  # a union reports each member; the first says enough
        if item["type"] == "missing":
            reasons[name] = f"`{name}` is required"
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        reasons[name] = f"`{name}`={_quoted(item.get('input'))} was refused: {message[:1].lower()}{message[1:]}"
    body = "; ".join(reason.rstrip(".") for reason in reasons.values())
    return f"{tool}: {body}. See the tool's input schema for the accepted values."
