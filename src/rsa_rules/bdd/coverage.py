"""Which rules the scenarios cover: the rule-id tags of ``.feature`` files.

A scenario covers a rule when it is tagged with the rule id in identifier-safe form
(``RSA-ANTICOAG-APS`` is ``@rsa_anticoag_aps``), on the scenario itself, on its ``Rule:``
block or on one of its ``Examples:`` tables. A tag on the whole ``Feature:`` covers nothing:
it would tag every scenario of the file. ::

    report = check_coverage(["features"], rsa_rules.default_engine().knowledge)
    report.problems()  # one line per problem; empty when every rule is covered

Reading feature files needs pytest-bdd (its Gherkin parser).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..knowledge.loader import KnowledgeBase
from .vocabulary import rule_tag

__all__ = ["CoverageReport", "TaggedScenario", "check_coverage", "read_scenarios", "rule_tags"]


@dataclass(frozen=True)
class TaggedScenario:
    """One scenario (or outline) of a feature file and the tags that apply to it."""

    file: str
    line: int
    name: str
    tags: frozenset[str]
    feature_tags: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return f"{self.file}:{self.line} ({self.name})"


@dataclass(frozen=True)
class CoverageReport:
    """Rules without a tagged scenario, tags that name no rule, and other mistakes."""

    scenarios: tuple[TaggedScenario, ...]
    covered: dict[str, tuple[TaggedScenario, ...]]
    uncovered: tuple[str, ...]
    unknown_tags: dict[str, tuple[TaggedScenario, ...]] = field(default_factory=dict)
    feature_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    duplicate_names: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        """Each problem as one readable line; empty when every rule is covered."""
        out = [f"rule {rule} has no scenario tagged @{rule_tag(rule)}" for rule in self.uncovered]
        for tag, where in sorted(self.unknown_tags.items()):
            places = ", ".join(str(s) for s in where)
            out.append(f"tag @{tag} names no rule of the knowledge base (used at {places})")
        for file, tags in sorted(self.feature_tags.items()):
            out.append(
                f"{file}: rule tags on the Feature line ({', '.join('@' + t for t in tags)}) "
                "cover nothing; tag the scenarios that check the rule"
            )
        out.extend(
            f"{name}: two scenarios share this name (pytest-bdd would run only one)"
            for name in self.duplicate_names
        )
        return out


def rule_tags(knowledge: KnowledgeBase) -> dict[str, str]:
    """Tag -> rule id, for every rule of the knowledge base."""
    return {rule_tag(rule.id): rule.id for rule in knowledge.rules}


def read_scenarios(paths: Iterable[str | Path]) -> tuple[list[TaggedScenario], list[str]]:
    """Every scenario in the feature files (directories searched), and duplicate names."""
    from pytest_bdd.gherkin_parser import get_gherkin_document

    files: list[Path] = []
    for path in map(Path, paths):
        files.extend(sorted(path.rglob("*.feature")) if path.is_dir() else [path])
    scenarios: list[TaggedScenario] = []
    duplicates: list[str] = []
    for file in files:
        document = get_gherkin_document(str(file.resolve()))
        feature = document.feature
        if feature is None:  # pragma: no cover - an empty file
            continue
        feature_tags = frozenset(t.name.lstrip("@") for t in feature.tags)
        seen: set[str] = set()
        children = [(c, frozenset[str]()) for c in feature.children]
        while children:
            child, inherited = children.pop(0)
            if child.rule is not None:
                tags = inherited | {t.name.lstrip("@") for t in child.rule.tags}
                children[:0] = [(c, tags) for c in child.rule.children]
                continue
            scenario = child.scenario
            if scenario is None:
                continue
            tags = inherited | {t.name.lstrip("@") for t in scenario.tags}
            for examples in scenario.examples:
                tags |= {t.name.lstrip("@") for t in examples.tags}
            if scenario.name in seen:
                duplicates.append(f"{file}:{scenario.location.line} {scenario.name!r}")
            seen.add(scenario.name)
            scenarios.append(
                TaggedScenario(str(file), scenario.location.line, scenario.name, tags, feature_tags)
            )
    return scenarios, duplicates


def check_coverage(
    paths: Sequence[str | Path], knowledge: KnowledgeBase, *, other_tags: Iterable[str] = ()
) -> CoverageReport:
    """Check that every rule has a tagged scenario and every rule-like tag names a rule.

    ``other_tags`` are tags the features may use besides rule ids (e.g. ``wip``).
    """
    known = rule_tags(knowledge)
    allowed = set(other_tags)
    scenarios, duplicates = read_scenarios(paths)
    covered: dict[str, list[TaggedScenario]] = {}
    unknown: dict[str, list[TaggedScenario]] = {}
    feature_level: dict[str, set[str]] = {}
    for scenario in scenarios:
        for tag in scenario.tags:
            if tag in known:
                covered.setdefault(known[tag], []).append(scenario)
            elif tag not in allowed:
                unknown.setdefault(tag, []).append(scenario)
        for tag in scenario.feature_tags:
            if tag in known:
                feature_level.setdefault(scenario.file, set()).add(tag)
            elif tag not in allowed:
                unknown.setdefault(tag, []).append(scenario)
    uncovered = tuple(rule.id for rule in knowledge.rules if rule.id not in covered)
    return CoverageReport(
        scenarios=tuple(scenarios),
        covered={k: tuple(v) for k, v in covered.items()},
        uncovered=uncovered,
        unknown_tags={k: tuple(v) for k, v in unknown.items()},
        feature_tags={k: tuple(sorted(v)) for k, v in feature_level.items()},
        duplicate_names=tuple(duplicates),
    )
