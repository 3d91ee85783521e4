"""Strict reading of JSON text, the same for the command line, cohorts and the service.

Python's ``json`` module accepts ``NaN`` and ``Infinity``, keeps the last value of a key
given twice (silently dropping the first), and fails in unhelpful ways on deep nesting or
numbers too long to read. Here each of those is an error with a message naming it.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from .errors import JsonTextError
from .limits import lone_surrogate

__all__ = ["MAX_DEPTH", "JsonTextError", "loads_strict"]


# A \uD800-\uDFFF escape (half of a surrogate pair, or a lone one) in the text.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE_CHAR = re.compile("[\ud800-\udfff]")


def loads_strict(text: str | bytes | bytearray, *, what: str = "a facts document") -> Any:
    """Parse ``text``; raise :class:`JsonTextError` for anything not strictly JSON.

    ``what`` names the document in messages (e.g. "a CDS Hooks request").
    """

    def reject_constant(name: str) -> NoReturn:
        raise JsonTextError(f"{name} is not allowed in {what} (JSON has no {name})")

    try:
        document = json.loads(text, parse_constant=reject_constant, object_pairs_hook=_no_repeats)
    except JsonTextError:
        raise
    except json.JSONDecodeError as error:
        raise JsonTextError(
            f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from None
    except RecursionError:
        raise JsonTextError(f"nested too deeply to be {what}") from None
    except UnicodeDecodeError:
        raise JsonTextError("not UTF-8 text") from None
    except ValueError as error:  # e.g. an integer with more digits than Python will read
        raise JsonTextError(f"cannot be read: {error}") from None
    if _deeper_than(text, document, MAX_DEPTH):
        raise JsonTextError(f"nested too deeply to be {what} (more than {MAX_DEPTH} levels)")
    if _may_hold_surrogate(text):
        path = lone_surrogate(document)
        if path is not None:
            raise JsonTextError(
                f"{path or '(document)'}: a lone UTF-16 surrogate escape (such as \\ud800) "
                "is not Unicode text",
                path,
            )
    return document


# How deep a document may nest. Python's own limit depends on its version (3.10 to 3.12 fail
# near 1,000 levels, 3.13 reads 5,000): this one makes every version answer alike.
MAX_DEPTH = 500


def _deeper_than(text: str | bytes | bytearray, value: Any, limit: int) -> bool:
    opening = (
        text.count("[") + text.count("{")
        if isinstance(text, str)
        else text.count(b"[") + text.count(b"{")
    )
    if opening <= limit:  # the usual case: too few brackets to nest that deep
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return True
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return False


def _may_hold_surrogate(text: str | bytes | bytearray) -> bool:
    if isinstance(text, str):
        return bool(_SURROGATE_CHAR.search(text)) or (
            "\\u" in text and bool(_SURROGATE_ESCAPE.search(text.encode("utf-8", "replace")))
        )
    return bool(_SURROGATE_ESCAPE.search(text))


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonTextError(f"the key {key!r} appears twice in one JSON object")
        out[key] = value
    return out
