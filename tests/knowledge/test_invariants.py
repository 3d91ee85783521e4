"""Invariants of the loaded knowledge base, and its coverage by the golden cases.

These walk ``rules/`` as the engine loaded it (the ``kb`` fixture), plus the raw YAML where
the loader would hide a problem (a duplicate id is dropped with an error, so the raw files are
counted too).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import yaml

import rsa_rules
from rsa_rules.engine import facts_json_schema, validate_facts
from rsa_rules.knowledge.loader import KnowledgeBase, Rule, reason_fact, treatment_fact
from rsa_rules.models.facts import INTERVENTION_ID

from ..cases.golden_cases import load_cases, passing_cases
from ..conftest import EXAMPLES, RULES

RULE_ID = re.compile(r"^RSA-[A-Z0-9]+(-[A-Z0-9]+)+$")

# The finding ids of CLINICAL.md section 4 (part of the public contract).
CLINICAL_FINDINGS = (
    "reproductive-age",
    "pregnancy-losses",
    "recurrent-pregnancy-loss",
    "aps-laboratory-criterion",
    "aps-positive-unconfirmed",
    "aps-clinical-criterion",
    "aps-confirmed",
    "aps-excluded",
    "inherited-thrombophilia-confirmed",
    "thrombophilia-confirmed",
    "unexplained-recurrent-loss",
    "data-conflict",
    "advanced-maternal-age",
    "pcos",
    "uterine-or-cervical-problem",
)
# The source ids of CLINICAL.md section 1.
CLINICAL_SOURCES = (
    "seed-heparin",
    "seed-ivig",
    "seed-medlineplus",
    "seed-lit-clinic",
    "empson-2005",
    "kaandorp-2010",
    "alife2-2023",
    "eshre-2022",
    "rcog-2023",
    "asrm-2012",
    "acog-pb197-2018",
    "acog-pb132-2012",
    "sydney-2006",
    "ober-1999",
    "wong-2014",
    "fda-lit-2002",
    "promise-2015",
    "prism-2019",
    "yamada-2022",
)
ACTIONS = ("recommend", "consider", "avoid", "test", "refer")


def sources_named(rule: Rule) -> Iterator[tuple[str, str]]:
    """(where, source id) for every source a rule names."""
    spec = rule.spec
    for i, citation in enumerate(spec.citations):
        yield f"citations.{i}", citation.source
    for i, conflict in enumerate(spec.evidence.conflicts):
        yield f"evidence.conflicts.{i}", conflict.source
    for i, claim in enumerate(spec.evidence.contradicted_claims):
        yield f"evidence.contradicted_claims.{i}", claim.source
        for source in claim.contradicted_by:
            yield f"evidence.contradicted_claims.{i}.contradicted_by", source


# -- identity -----------------------------------------------------------------------------
def test_rule_ids_are_unique_in_the_rule_files() -> None:
    pack = yaml.safe_load((RULES / "pack.yaml").read_text(encoding="utf-8"))
    ids = [
        rule["id"]
        for name in pack["rule_files"]
        for rule in yaml.safe_load((RULES / name).read_text(encoding="utf-8"))["rules"]
    ]
    duplicates = sorted(rule_id for rule_id, n in Counter(ids).items() if n > 1)
    assert duplicates == []


def test_loaded_rule_ids_are_unique_and_well_formed(kb: KnowledgeBase) -> None:
    ids = [rule.id for rule in kb.rules]
    assert len(ids) == len(set(ids))
    assert [rule_id for rule_id in ids if not RULE_ID.match(rule_id)] == []


def test_retired_ids_are_not_reused(kb: KnowledgeBase) -> None:
    assert {item.id for item in kb.retired}.isdisjoint(kb.rules_by_id)


# -- references -----------------------------------------------------------------------------
def test_every_source_a_rule_names_is_in_the_bibliography(kb: KnowledgeBase) -> None:
    unresolved = [
        f"{rule.id} {where}: {source}"
        for rule in kb.rules
        for where, source in sources_named(rule)
        if source not in kb.sources
    ]
    assert unresolved == []


def test_every_parameter_source_is_in_the_bibliography(kb: KnowledgeBase) -> None:
    unresolved = [
        f"{parameter.id}: {source}"
        for parameter in kb.parameters.values()
        for source in parameter.sources
        if source not in kb.sources
    ]
    assert unresolved == []


def test_every_source_has_a_doi_url_or_note(kb: KnowledgeBase) -> None:
    bare = [s.id for s in kb.sources.values() if not (s.doi or s.url or (s.note or "").strip())]
    assert bare == []


def test_the_bibliography_holds_the_sources_of_the_specification(kb: KnowledgeBase) -> None:
    assert set(CLINICAL_SOURCES) <= set(kb.sources)


def test_every_rule_has_a_citation_with_a_note(kb: KnowledgeBase) -> None:
    for rule in kb.rules:
        assert rule.spec.citations, rule.id
        assert all(c.note.strip() for c in rule.spec.citations), rule.id


def test_every_intervention_and_action_used_is_in_the_vocabulary(kb: KnowledgeBase) -> None:
    used: list[tuple[str, str, str]] = []
    for rule in kb.rules:
        used += [(rule.id, out.action, out.intervention) for out in rule.spec.then]
        applies = rule.spec.applies_to
        if applies is not None:
            used += [
                (rule.id, action, intervention)
                for action in applies.actions
                for intervention in applies.interventions
            ]
    assert used, "no rule produces anything"
    unknown = [
        item for item in used if item[1] not in kb.actions or item[2] not in kb.interventions
    ]
    assert unknown == []


def test_every_recommendation_rule_produces_something(kb: KnowledgeBase) -> None:
    for rule in kb.rules:
        if rule.kind == "recommendation":
            assert rule.spec.then, rule.id
            assert rule.spec.when is not None, rule.id


def test_safety_rules_block_only_known_rules(kb: KnowledgeBase) -> None:
    for rule in kb.rules:
        for blocked in rule.spec.blocks:
            assert blocked in kb.rules_by_id, f"{rule.id} blocks unknown {blocked}"
            assert kb.rules_by_id[blocked].blockers, f"{blocked} has no unless to be blocked by"


# -- findings -----------------------------------------------------------------------------
@pytest.mark.parametrize("finding", CLINICAL_FINDINGS)
def test_each_clinical_finding_is_defined_by_exactly_one_rule(
    kb: KnowledgeBase, finding: str
) -> None:
    defining = [rule.id for rule in kb.rules if rule.spec.finding == finding]
    assert len(defining) == 1, defining
    assert kb.rules_by_id[defining[0]].kind == "finding"


def test_finding_rules_define_only_vocabulary_findings(kb: KnowledgeBase) -> None:
    defined = {rule.spec.finding for rule in kb.rules if rule.spec.finding}
    assert defined == set(kb.finding_labels) == set(CLINICAL_FINDINGS)


# -- vocabulary and the facts model -------------------------------------------------------
def test_every_intervention_id_has_the_facts_format_and_the_schema_lists_them(
    kb: KnowledgeBase,
) -> None:
    """The facts model reads an intervention id by its form; the vocabulary says which exist
    (no list of ids in the model), and the published schema lists the vocabulary's."""
    assert all(re.fullmatch(INTERVENTION_ID, key) for key in kb.interventions)
    schema = facts_json_schema(kb)
    assert schema["$defs"]["Treatment"]["properties"]["intervention"]["enum"] == list(
        kb.interventions
    )


def test_no_intervention_name_stands_for_two_interventions(kb: KnowledgeBase) -> None:
    owners: dict[str, set[str]] = {}
    for key, item in kb.interventions.items():
        for name in (key, item.label, *item.synonyms):
            owners.setdefault(name.casefold(), set()).add(key)
    assert {name: ids for name, ids in owners.items() if len(ids) > 1} == {}


def test_action_ids_are_exactly_the_five_of_the_specification(kb: KnowledgeBase) -> None:
    assert sorted(kb.actions) == sorted(ACTIONS)


# -- coverage by the golden cases ---------------------------------------------------------
def test_every_rule_has_a_passing_golden_case(kb: KnowledgeBase) -> None:
    covered: set[str] = set()
    for case in passing_cases():
        expect = case.expect
        covered |= {item["rule_id"] for item in expect["recommendations"]}
        covered |= {kb.finding_rules[f].id for f in expect["findings"]}
        covered |= set(expect.get("cautions_from", []))
    assert sorted(set(kb.rules_by_id) - covered) == []


def test_every_clinical_finding_appears_in_a_passing_golden_case() -> None:
    seen = {f for case in passing_cases() for f in case.expect["findings"]}
    assert sorted(set(CLINICAL_FINDINGS) - seen) == []


def test_every_fact_is_derived_for_some_golden_case(
    kb: KnowledgeBase, engine: rsa_rules.Engine
) -> None:
    derived: set[str] = set()
    for case in load_cases():
        facts = engine.derive(validate_facts(case.facts))
        assert set(facts) <= set(kb.facts), (
            f"{case.name}: uncatalogued {set(facts) - set(kb.facts)}"
        )
        derived |= set(facts)
    treatment_facts = {treatment_fact(intervention) for intervention in kb.interventions}
    reason_facts = {reason_fact(intervention) for intervention in kb.interventions}
    assert treatment_facts <= set(kb.facts), "every intervention has its current_* fact"
    assert reason_facts <= set(kb.facts), "every intervention has its reason_* fact"
    # Generated per intervention by one derivation: one of each family is enough here.
    assert derived & reason_facts, "no case derives a reason_* fact"
    never = sorted(set(kb.facts) - derived - treatment_facts - reason_facts)
    assert never == []


def test_recommendations_are_ranked_by_the_vocabulary(kb: KnowledgeBase) -> None:
    """Alerts first, then by the rank the vocabulary gives each action."""
    ranks = {key: item.rank for key, item in kb.actions.items()}
    assert sorted(ranks, key=ranks.__getitem__) == [
        "recommend",
        "refer",
        "test",
        "consider",
        "avoid",
    ]
    for path in sorted(EXAMPLES.glob("*.json")):
        evaluation = rsa_rules.evaluate(json.loads(path.read_text(encoding="utf-8")))
        keys = [(not r.alert, ranks[r.action]) for r in evaluation.recommendations]
        assert keys == sorted(keys), path.name
