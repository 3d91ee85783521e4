"""A YAML file of the knowledge base: its data, and the line of every node by its path, so
that every problem found in it is reported at its file and line.

A key given twice in one mapping (YAML keeps the last silently) is recorded, for the loader
to refuse; an alias bomb is refused before the document is composed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from .yaml_guard import refuse_aliases

__all__ = ["YamlDocument"]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlDocument:
    """One YAML file: its data and the line of every node, by path."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        refuse_aliases(text)  # before composing: an alias bomb is refused, never expanded
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            self.data: Any = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
        self.lines: dict[tuple[Any, ...], int] = {}
        self.repeated_keys: list[tuple[tuple[Any, ...], str, int]] = []
        if node is not None:
            self._index(node, ())

    def _index(self, node: yaml.Node, path: tuple[Any, ...]) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key, value in node.value:
                line = key.start_mark.line + 1
                if key.value in seen:
                    # YAML would keep the last value silently: a knowledge base refuses it.
                    self.repeated_keys.append((path, str(key.value), line))
                    continue
                seen.add(key.value)
                key_path = (*path, key.value)  # not lines[(*path, ...)]: mypy on 3.10 refuses it
                self.lines[key_path] = line
                self._index(value, key_path)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._index(item, (*path, index))

    def line(self, path: Sequence[Any]) -> int | None:
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get(())
