"""Loading the golden cases (``tests/cases/golden/*.json``), shared by the case and KB tests.

One file per case::

    {
      "name": "...",                       # the file's stem
      "description": "...",                # the clinical situation in one sentence
      "xfail_reason": "...",               # optional: the engine disagrees with CLINICAL.md
      "facts": {...},                      # a facts document (CONTRACT.md)
      "expect": {
        "recommendations": [{"rule_id", "action", "intervention", "alert"}, ...],
        "findings": ["finding-id", ...],
        ...optional checks, see EXPECT_KEYS
      }
    }

Expectations are written from CLINICAL.md. A case the engine gets wrong keeps the answer of the
specification and carries ``xfail_reason``; it is then expected to fail (strict xfail).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

CASE_KEYS = frozenset({"name", "description", "xfail_reason", "facts", "expect"})
REQUIRED_CASE_KEYS = frozenset({"name", "description", "facts", "expect"})

# Every key "expect" may hold, with what it checks (an unknown key is an error, so that a
# misspelt check cannot silently check nothing).
EXPECT_KEYS: dict[str, str] = {
    "recommendations": "the complete list, in the engine's order",
    "findings": "the complete list of finding ids, in the engine's order",
    "absent_interventions": "interventions that no recommendation may offer (any action but avoid)",
    "cautions_from": "caution rules whose cautions appear on every matching heparin recommendation",
    "why_not": '{"intervention": ..., "rules": {"RULE-ID": status}} against why_not()',
    "due": '{"RULE-ID": "YYYY-MM-DD" or null}: the due date of that rule\'s recommendation',
    "conflicts": '{"RULE-ID": [source ids]}: sources among the conflicting evidence',
    "contradicted_claims": '{"RULE-ID": [source ids]}: claims flagged as contradicted',
    "blocked": '{"RULE-ID": [rule ids]}: the recommendations a safety rule names as blocked',
    "not_yet_done": '{"RULE-ID": [labels]}: the tests listed as not yet done',
    "optional_not_yet_done": '{"RULE-ID": [labels]}: the optional tests not yet done',
    "finding_values": '{"finding-id": value}: the value a finding carries',
    "alert_certainty": '{"RULE-ID": "stated" | "inferred"}: the certainty of that rule\'s alert',
    "data_notes": "the input paths of the data notes, in order",
    "text_contains": '[{"rule_id" | "finding" | "anywhere", "text"}]: explanation wording',
}


@dataclass(frozen=True)
class GoldenCase:
    """One golden case file."""

    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def facts(self) -> dict[str, Any]:
        facts: dict[str, Any] = self.data["facts"]
        return facts

    @property
    def expect(self) -> dict[str, Any]:
        expect: dict[str, Any] = self.data["expect"]
        return expect

    @property
    def xfail_reason(self) -> str | None:
        reason = self.data.get("xfail_reason")
        return None if reason is None else str(reason)


@cache
def load_cases() -> tuple[GoldenCase, ...]:
    """Every golden case, sorted by file name."""
    return tuple(
        GoldenCase(path, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(GOLDEN_DIR.glob("*.json"))
    )


def passing_cases() -> tuple[GoldenCase, ...]:
    """The cases the engine is expected to get right (no ``xfail_reason``)."""
    return tuple(case for case in load_cases() if case.xfail_reason is None)
