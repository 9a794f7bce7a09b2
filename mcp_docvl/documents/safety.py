"""Parser failures become clear errors: a hostile or damaged file must end in a DocvlError, not a traceback.

PDFium and Pillow raise a zoo of exception types on bad input (PdfiumError, SyntaxError, TypeError,
UnicodeDecodeError, struct.error...), at open time and later when a page is touched. Rather than catching them at
every call site, `contain_parser_errors` wraps the public methods of a document class once, so methods added
later are covered too and `isinstance` checks keep working.
"""

from __future__ import annotations

import functools
import inspect
import logging
import struct
from collections.abc import Callable
from typing import Any, TypeVar

import pypdfium2 as pdfium

from mcp_docvl.errors import DocumentCorrupt, DocvlError, LimitExceeded

log = logging.getLogger(__name__)
C = TypeVar("C", bound=type)

# What parsers raise on bad bytes. Deliberately not `Exception`: a bug in our own code (AttributeError, NameError)
# must stay visible as an internal error rather than be blamed on the document.
PARSER_ERRORS: tuple[type[BaseException], ...] = (
    pdfium.PdfiumError, OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, EOFError, struct.error,
    ZeroDivisionError, OverflowError, RecursionError,
)


def _corrupt(exc: BaseException, where: str) -> DocvlError:
    if isinstance(exc, MemoryError):
        return LimitExceeded(
            f"The document needed more memory than allowed while {where}.",
            "It is probably a decompression bomb; if it is genuine, raise --worker-memory-mb (DOCVL_WORKER_MEMORY_MB).",
        )
    log.debug("parser failure while %s", where, exc_info=exc)
    return DocumentCorrupt(
        f"The document is damaged: the parser failed while {where} ({type(exc).__name__}: {str(exc)[:200]}).",
        "Repair or re-export the file (e.g. `qpdf in.pdf out.pdf`, or re-save the image) and try again.",
    )


def _wrap(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    where = "opening it" if name == "__init__" else f"running {name}"

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except DocvlError:
            raise
        except (*PARSER_ERRORS, MemoryError) as exc:
            raise _corrupt(exc, where) from None

    wrapper.__docvl_contained__ = True  # type: ignore[attr-defined]
    return wrapper


def contain_parser_errors(cls: C) -> C:
    """Wrap `cls.__init__` and its public methods so parser exceptions become DocumentCorrupt / LimitExceeded."""
    for name, member in list(vars(cls).items()):
        if not (name == "__init__" or not name.startswith("_")):
            continue
        if not inspect.isfunction(member) or getattr(member, "__docvl_contained__", False):
            continue
        if inspect.isgeneratorfunction(member):
            continue
        setattr(cls, name, _wrap(name, member))
    return cls
