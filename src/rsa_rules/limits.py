"""Engineering limits on the size of input: every request and every patient costs a bounded
amount of time and memory.

These are not clinical knowledge (no patient has ten thousand test results); they only keep a
careless batch job or a hostile request from tying a process up for minutes or exhausting its
memory. A document beyond any of them is refused before it is validated, with a message that
names the limit and where it was exceeded. They are documented in the facts format (README,
"Limits").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "MAX_FHIR_RESOURCES",
    "MAX_LIST_ITEMS",
    "MAX_OBJECT_FIELDS",
    "MAX_PROBLEMS",
    "MAX_VALUES",
    "SizeProblem",
    "lone_surrogate",
    "oversize",
]

#: A facts document as JSON text (a file on the command line, one cohort record), in bytes.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024

#: Items in any one list of a facts document (losses, antiphospholipid results, treatments).
MAX_LIST_ITEMS = 10_000

#: Fields in any one JSON object of a facts document (the widest in the format has 12).
MAX_OBJECT_FIELDS = 64

#: Values in a whole facts document: every object, list, string, number, boolean and null.
MAX_VALUES = 200_000

#: FHIR resources (and Bundle entries) read for one patient, in all the Bundles of a read.
MAX_FHIR_RESOURCES = 20_000

#: Problems listed in one error; the error says how many more there were.
MAX_PROBLEMS = 100

SizeProblem = tuple[str, str]


_Entry = tuple[Any, str, Any]
"""A value reached in a document: (the entry of its container, or None; its key; the value).
Its path is spelled only when a problem is reported."""


def oversize(document: Any) -> SizeProblem | None:
    """The first limit this (parsed) document exceeds, as ``(path, message)``, or ``None``.

    A string that is not Unicode text (a lone UTF-16 surrogate such as ``"\\ud800"``, which
    JSON's escapes can spell but no UTF-8 file, Parquet column or HTTP response can hold) is
    refused the same way, naming its field. Reads each value at most once and stops at the
    first problem: linear, bounded by :data:`MAX_VALUES`.
    """
    if not isinstance(document, Mapping | list | tuple):
        if isinstance(document, str) and not _is_text(document):
            return "", _SURROGATE
        return None
    count = 1  # values reached so far, counted when first reached: the stack stays bounded
    stack: list[_Entry] = [(None, "", document)]
    while stack:
        entry = stack.pop()
        node = entry[2]
        if isinstance(node, Mapping):
            if len(node) > MAX_OBJECT_FIELDS:
                return _path(entry), (
                    f"an object with {len(node):,} fields; at most {MAX_OBJECT_FIELDS} are "
                    "allowed (the facts format has far fewer)"
                )
            for key in node:
                if isinstance(key, str) and not _is_text(key):
                    return _shown(_join(_path(entry), key)), _SURROGATE
            items: Any = node.items()
        else:
            if len(node) > MAX_LIST_ITEMS:
                return _path(entry), (
                    f"a list of {len(node):,} items; at most {MAX_LIST_ITEMS:,} are allowed"
                )
            items = enumerate(node)
        count += len(node)
        if count > MAX_VALUES:
            return "", f"the document holds more than {MAX_VALUES:,} values (the limit)"
        for key, value in items:
            if type(value) in _PLAIN:
                continue
            if isinstance(value, str):
                if not _is_text(value):
                    return _path((entry, str(key), value)), _SURROGATE
            elif isinstance(value, Mapping | list | tuple):
                stack.append((entry, str(key), value))
    return None


_PLAIN = frozenset((int, float, bool, type(None)))
"""Types of values with nothing inside to check (exact types: a subclass is looked into)."""


def _path(entry: _Entry) -> str:
    parts: list[str] = []
    while entry[0] is not None:
        parts.append(entry[1])
        entry = entry[0]
    return ".".join(reversed(parts))


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


_SURROGATE = (
    "holds a lone UTF-16 surrogate (such as \\ud800), which is not Unicode text and "
    "cannot be stored or sent on"
)


def lone_surrogate(document: Any) -> str | None:
    """The path of the first string (value or key) in ``document`` that holds a lone
    surrogate, or ``None``. A key in the path that is not text is shown escaped."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, str):
            if not _is_text(node):
                return path
        elif isinstance(node, Mapping):
            for key, value in node.items():
                where = _join(path, str(key))
                if isinstance(key, str) and not _is_text(key):
                    return _shown(where)
                stack.append((where, value))
        elif isinstance(node, list | tuple):
            stack.extend((_join(path, str(i)), item) for i, item in enumerate(node))
    return None


def _is_text(value: str) -> bool:
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(path: str) -> str:
    """A path that can be printed and sent: lone surrogates written as ``\\udXXX``."""
    return path.encode("utf-8", "backslashreplace").decode("utf-8")
