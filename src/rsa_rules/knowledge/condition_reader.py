"""Reading a condition written in YAML into the condition language
(:mod:`rsa_rules.knowledge.conditions`), checking every name it uses against the knowledge
base: facts and their types and values, parameters, findings, definitions and rules. Each
problem is reported at its file, line and field; the nearest known name is suggested.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import schema
from .conditions import OPERATORS, All, Any_, Compare, Condition, FindingRef, Known, Not, Ref
from .yaml_lines import YamlDocument

__all__ = ["ConditionReader", "ProblemSink", "Where", "hint"]


@dataclass
class Where:
    """Where a condition is written: its document, rule, path in the document and field."""

    doc: YamlDocument | None
    rule_id: str | None
    path: tuple[Any, ...]
    field_name: str


class ProblemSink(Protocol):
    """What collects the problems found (the loader's reader)."""

    def problem(
        self,
        doc: YamlDocument | str,
        message: str,
        *,
        rule_id: str | None = None,
        path: Sequence[Any] = (),
        field_name: str | None = None,
    ) -> None: ...


@dataclass(kw_only=True)
class ConditionReader:
    """The names a condition may use, and the reading of one."""

    reader: ProblemSink
    parameters: dict[str, schema.ParameterSpec]
    facts: dict[str, schema.FactSpec]
    finding_ids: set[str] = field(default_factory=set)
    rule_ids: set[str] = field(default_factory=set)
    definition_names: set[str] = field(default_factory=set)

    def fail(self, where: Where, message: str, suffix: Sequence[Any] = ()) -> None:
        path = (*where.path, *suffix)
        field_name = where.field_name + "".join(f".{p}" for p in suffix)
        if where.doc is None:  # pragma: no cover - documents are always known here
            self.reader.problem("?", message, rule_id=where.rule_id, field_name=field_name)
            return
        self.reader.problem(
            where.doc, message, rule_id=where.rule_id, path=path, field_name=field_name
        )

    def condition(self, raw: Any, where: Where) -> Condition | None:
        if not isinstance(raw, dict) or not raw:
            self.fail(where, "a condition is a mapping (fact/finding/ref/all/any/not)")
            return None
        raw = dict(raw)
        if_unknown = raw.pop("if_unknown", None)
        if if_unknown is not None and not isinstance(if_unknown, bool):
            self.fail(where, "if_unknown is true or false", ("if_unknown",))
            return None
        heads = [
            k for k in ("fact", "finding", "ref", "indicated", "all", "any", "not") if k in raw
        ]
        if len(heads) != 1:
            self.fail(
                where,
                "a condition has exactly one of fact, finding, ref, indicated, all, any, not; "
                f"got {sorted(raw)}",
            )
            return None
        head = heads[0]
        if head in ("all", "any"):
            items = raw.pop(head)
            if raw:
                self.fail(where, f"unexpected keys beside {head}: {sorted(raw)}")
                return None
            if not isinstance(items, list) or not items:
                self.fail(where, f"{head} takes a non-empty list of conditions", (head,))
                return None
            parsed = [
                self.condition(
                    item,
                    Where(
                        where.doc,
                        where.rule_id,
                        (*where.path, head, i),
                        f"{where.field_name}.{head}.{i}",
                    ),
                )
                for i, item in enumerate(items)
            ]
            if any(p is None for p in parsed):
                return None
            nodes = tuple(p for p in parsed if p is not None)
            return (All if head == "all" else Any_)(nodes, if_unknown=if_unknown)
        if head == "not":
            inner = self.condition(
                raw.pop("not"),
                Where(where.doc, where.rule_id, (*where.path, "not"), f"{where.field_name}.not"),
            )
            if raw:
                self.fail(where, f"unexpected keys beside not: {sorted(raw)}")
                return None
            return None if inner is None else Not(inner, if_unknown=if_unknown)
        if head == "finding":
            name = raw.pop("finding")
            if raw:
                self.fail(where, f"unexpected keys beside finding: {sorted(raw)}")
                return None
            if name not in self.finding_ids:
                self.fail(
                    where, f"unknown finding {name!r}{hint(name, self.finding_ids)}", ("finding",)
                )
                return None
            # A finding is established or not: referring to one is never UNKNOWN.
            return FindingRef(name, if_unknown=False if if_unknown is None else if_unknown)
        if head in ("ref", "indicated"):
            name = raw.pop(head)
            if raw:
                self.fail(where, f"unexpected keys beside {head}: {sorted(raw)}")
                return None
            known = self.definition_names if head == "ref" else self.rule_ids
            if name not in known:
                what = "definition" if head == "ref" else "rule"
                self.fail(where, f"unknown {what} {name!r}{hint(name, known)}", (head,))
                return None
            if head == "indicated" and if_unknown is None:
                if_unknown = False  # a rule indicates it, or it does not
            return Ref(
                name, kind="definition" if head == "ref" else "indication", if_unknown=if_unknown
            )
        return self.compare(raw, where, if_unknown)

    def compare(
        self, raw: dict[str, Any], where: Where, if_unknown: bool | None
    ) -> Condition | None:
        name = raw.pop("fact")
        spec = self.facts.get(name) if isinstance(name, str) else None
        if spec is None:
            self.fail(where, f"unknown fact {name!r}{hint(str(name), self.facts)}", ("fact",))
            return None
        if "known" in raw:
            known = raw.pop("known")
            if raw or not isinstance(known, bool):
                self.fail(where, "known takes true or false and nothing beside it", ("known",))
                return None
            return Known(name, known, if_unknown=if_unknown)
        ops = [k for k in raw if k in OPERATORS]
        if len(ops) != 1 or len(raw) != 1:
            self.fail(
                where,
                f"a fact condition has one operator of {', '.join(OPERATORS)} or known; "
                f"got {sorted(raw)}",
            )
            return None
        op = ops[0]
        value = raw[op]
        param = None
        if isinstance(value, dict) and set(value) == {"param"}:
            param = value["param"]
            if param not in self.parameters:
                self.fail(
                    where, f"unknown parameter {param!r}{hint(str(param), self.parameters)}", (op,)
                )
                return None
            value = self.parameters[param].value
        if op in ("in", "not_in"):
            if not isinstance(value, list | tuple) or not value:
                self.fail(where, f"{op} takes a non-empty list", (op,))
                return None
            for item in value:
                if not self.value_fits(spec, item, where, op):
                    return None
            return Compare(name, op, tuple(value), param, if_unknown=if_unknown)
        if not self.value_fits(spec, value, where, op):
            return None
        if op in ("lt", "lte", "gt", "gte") and spec.type not in ("integer", "number"):
            self.fail(where, f"{op} needs a numeric fact; {name} is {spec.type}", (op,))
            return None
        return Compare(name, op, value, param, if_unknown=if_unknown)

    def value_fits(self, spec: schema.FactSpec, value: Any, where: Where, op: str) -> bool:
        kind = spec.type
        ok = (
            (kind == "boolean" and isinstance(value, bool))
            or (
                kind in ("integer", "number")
                and isinstance(value, int | float)
                and not isinstance(value, bool)
            )
            or (kind in ("text", "date") and isinstance(value, str))
        )
        if ok and spec.values is not None and value not in spec.values:
            self.fail(
                where,
                f"{value!r} is not a value of {spec.name} ({', '.join(spec.values)})"
                f"{hint(str(value), spec.values)}",
                (op,),
            )
            return False
        if not ok:
            self.fail(where, f"{value!r} does not fit fact {spec.name} of type {kind}", (op,))
        return ok


def hint(word: str, choices: Iterable[str]) -> str:
    """ "; did you mean 'X'?" for the nearest of ``choices``, or nothing."""
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"; did you mean {match[0]!r}?" if match else ""
