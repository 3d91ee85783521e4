"""Strict reading of JSON text, the same for the command line, cohorts and the service.

Python's ``json`` module accepts ``NaN`` and ``Infinity``, keeps the last value of a key
given twice (silently dropping the first), and fails in unhelpful ways on deep nesting or
numbers too long to read. Here each of those is an error with a message naming it.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

__all__ = ["JsonTextError", "loads_strict"]


class JsonTextError(ValueError):
    """JSON text that cannot be read as one strict JSON document; the message says why."""


def loads_strict(text: str | bytes | bytearray, *, what: str = "a facts document") -> Any:
    """Parse ``text``; raise :class:`JsonTextError` for anything not strictly JSON.

    ``what`` names the document in messages (e.g. "a CDS Hooks request").
    """

    def reject_constant(name: str) -> NoReturn:
        raise JsonTextError(f"{name} is not allowed in {what} (JSON has no {name})")

    try:
        return json.loads(text, parse_constant=reject_constant, object_pairs_hook=_no_repeats)
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


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise JsonTextError(f"the key {key!r} appears twice in one JSON object")
        out[key] = value
    return out
