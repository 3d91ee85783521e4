"""The compiler is a pure function; its output for the bundled knowledge base is pinned.

After an intended change to rules/ or to the compiler, regenerate the golden file with
``RSA_UPDATE_GOLDEN=1 pytest tests/unit/test_compiler.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rsa_rules.knowledge.compiler import compile_knowledge, encode_record, expression_slots
from rsa_rules.knowledge.lint import DURABLE_SLOT_LIMIT
from rsa_rules.knowledge.loader import KnowledgeBase, load_knowledge

GOLDEN = Path(__file__).parent / "golden" / "compiled-ruleset.json"


def test_compiled_ruleset_matches_the_golden_file(kb: KnowledgeBase) -> None:
    compiled = compile_knowledge(kb).to_json_ready()
    text = json.dumps(compiled, indent=1, sort_keys=True) + "\n"
    if os.environ.get("RSA_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert GOLDEN.exists(), "run with RSA_UPDATE_GOLDEN=1 once to create the golden file"
    assert json.loads(GOLDEN.read_text(encoding="utf-8")) == json.loads(text)


def test_compiling_is_pure_and_repeatable(kb: KnowledgeBase) -> None:
    first = compile_knowledge(kb).to_json_ready()
    second = compile_knowledge(load_knowledge()).to_json_ready()
    assert first == second


def test_every_compiled_rule_fits_durable_rules_limits(kb: KnowledgeBase) -> None:
    compiled = compile_knowledge(kb)
    for name, rule in compiled.ruleset.items():
        assert expression_slots(rule["all"]) <= DURABLE_SLOT_LIMIT, name
        assert set(rule) == {"all", "run"}, name  # durable_rules rejects unknown keys


def test_findings_feed_the_strata_above(kb: KnowledgeBase) -> None:
    compiled = compile_knowledge(kb)
    produced: set[str] = set()
    for stratum in compiled.strata:
        derived_reads = {r for r in stratum.reads if r.startswith(("finding_", "indicated_"))}
        assert derived_reads <= produced, stratum.marker
        produced |= set(stratum.outputs.values())


def test_every_catalogued_fact_is_sent_unknown_when_missing(kb: KnowledgeBase) -> None:
    record = encode_record(kb, {})
    assert set(record) == set(kb.facts)
    for name, spec in kb.facts.items():
        expected = -1 if spec.type in ("integer", "number") else "unknown"
        assert record[name] == expected
    assert encode_record(kb, {"smoking": True, "pcos": False})["smoking"] == "yes"
