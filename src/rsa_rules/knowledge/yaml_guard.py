"""Refuse YAML anchors and aliases before a document is built.

An alias repeats a node by reference: a few hundred bytes of nested aliases (a "billion
laughs" document) stand for billions of nodes, and anything that walks the data as a tree
expands them. A knowledge base has no need for them, so a document that uses one is refused,
naming its line, before it is composed: the check reads the parser's events once (linear in
the text) and expands nothing.
"""

from __future__ import annotations

import yaml

__all__ = ["AliasError", "refuse_aliases"]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class AliasError(yaml.MarkedYAMLError):
    """A YAML anchor (``&name``) or alias (``*name``) where none is allowed."""


def refuse_aliases(text: str) -> None:
    """Raise :class:`AliasError` at the first anchor or alias in ``text``.

    Other syntax errors are left for the real load to report. A text with neither ``&`` nor
    ``*`` has no anchor or alias and is not parsed twice.
    """
    if "&" not in text and "*" not in text:
        return
    loader = _Loader(text)
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            if isinstance(event, yaml.AliasEvent):
                what = f"alias *{event.anchor}"
            elif isinstance(event, yaml.NodeEvent) and event.anchor is not None:
                what = f"anchor &{event.anchor}"
            else:
                continue
            raise AliasError(
                problem=(
                    f"YAML {what}: anchors and aliases are not allowed here "
                    "(write the value out in full)"
                ),
                problem_mark=event.start_mark,
            )
    finally:
        loader.dispose()
