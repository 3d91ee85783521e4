"""The durable_rules traps, guarded: threads, sessions, action errors, memory, floats."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import Any

import pytest

import rsa_rules
from rsa_rules.engine import validate_facts
from rsa_rules.synthetic import synthetic_patients

from ..conftest import EXAMPLES

PATIENTS: list[dict[str, Any]] = [
    *(json.loads(p.read_text(encoding="utf-8")) for p in sorted(EXAMPLES.glob("*.json"))),
    *synthetic_patients(60, seed=7),
]


def _signature(evaluation: rsa_rules.Evaluation) -> tuple[Any, ...]:
    return (
        tuple((r.rule_id, r.action, r.intervention, r.alert) for r in evaluation.recommendations),
        tuple((f.id, f.value) for f in evaluation.findings),
    )


def test_creating_the_engine_starts_no_thread() -> None:
    code = (
        "import threading, rsa_rules\n"
        "before = threading.active_count()\n"
        "rsa_rules.evaluate({'pregnancy_history': {'loss_count': 2}})\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.slow
def test_eight_threads_give_the_sequential_results() -> None:
    engine = rsa_rules.default_engine()
    expected = [_signature(engine.evaluate(p)) for p in PATIENTS]
    per_thread = 5_000
    failures: list[str] = []

    def work(offset: int) -> None:
        try:
            for i in range(per_thread):
                index = (i + offset) % len(PATIENTS)
                if _signature(engine.evaluate(PATIENTS[index])) != expected[index]:
                    failures.append(f"thread {offset}, patient {index}")
        except Exception as error:  # noqa: BLE001 - reported below, with the thread
            failures.append(f"thread {offset}: {error!r}")

    threads = [threading.Thread(target=work, args=(n * 7,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


# Measured in a fresh process: in the test session's own, what earlier tests left behind
# (threads, caches, freed arenas) moved RSS by several MB either way on Python 3.10 and 3.13.
_MEMORY = """
import json, sys
import psutil
import rsa_rules
from rsa_rules.synthetic import synthetic_patients
from pathlib import Path
patients = [
    *(json.loads(p.read_text(encoding="utf-8")) for p in sorted(Path(sys.argv[1]).glob("*.json"))),
    *synthetic_patients(60, seed=7),
]
engine = rsa_rules.default_engine()
process = psutil.Process()
for i in range(5_000):  # warm up caches and allocator pools first
    engine.evaluate(patients[i % len(patients)])
before = process.memory_info().rss
for i in range(100_000):
    engine.evaluate(patients[i % len(patients)])
print((process.memory_info().rss - before) / 2**20)
"""


@pytest.mark.slow
def test_100k_evaluations_stay_within_the_session_limit_and_a_few_mb() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MEMORY, str(EXAMPLES)],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr
    grown_mb = float(done.stdout.strip())
    assert grown_mb < 5, f"RSS grew by {grown_mb:.1f} MB over 100,000 evaluations"


@pytest.mark.parametrize("dispatch", ["direct", "host"])
def test_an_action_error_is_raised_and_the_session_is_freed(dispatch: str) -> None:
    engine = rsa_rules.default_engine()
    derived = engine.derive(validate_facts(PATIENTS[0]))

    def explode(rule: str) -> None:
        raise ZeroDivisionError(f"in the action of {rule}")

    for _ in range(1_100):  # more than the 1,024 live sessions a ruleset allows
        with pytest.raises(rsa_rules.EngineError, match="ZeroDivisionError"):
            engine.run_rules(derived, dispatch=dispatch, on_fire=explode)  # type: ignore[arg-type]
    assert engine.run_rules(derived, dispatch=dispatch)  # type: ignore[arg-type]


def test_tiny_and_fractional_weeks_reach_durable_rules_safely() -> None:
    for weeks in (0.00001, 1e-9, 9.999999, 12.0, 44.99):
        doc = {"current_miscarriage": {"gestational_weeks": weeks}, "rh": "negative"}
        evaluation = rsa_rules.evaluate(doc)
        rh = [r for r in evaluation.recommendations if r.rule_id == "RSA-ACUTE-RH"]
        assert bool(rh) == (weeks >= 12)


@pytest.mark.parametrize(
    "weeks", [11.9999999, 11.999999999999998, 12.0, 12.000000000001, 0.00005, 1e-12]
)
@pytest.mark.parametrize("dispatch", ["direct", "host"])
def test_a_number_near_a_threshold_gets_one_answer_from_both_readings(
    weeks: float, dispatch: str
) -> None:
    """durable_rules decides what fires, the explanation re-reads the conditions: both see the
    exact value (no rounding), so they agree at every distance from the threshold."""
    engine = rsa_rules.default_engine()
    doc = {"current_miscarriage": {"gestational_weeks": weeks}, "rh": "negative"}
    derived = engine.derive(validate_facts(doc))
    fired = engine.run_rules(derived, dispatch=dispatch)  # type: ignore[arg-type]
    assert ("RSA-ACUTE-RH" in fired) == (weeks >= 12)
    evaluation = engine.evaluate(doc)
    assert json.loads(json.dumps(evaluation.to_dict()))  # the explanation agrees, or it raises
    why_not = evaluation.why_not("rh-immunoglobulin")
    assert bool(why_not.produced) == (weeks >= 12)


def test_tiny_numbers_reach_durable_rules_exactly() -> None:
    """A value below 1e-4 (written with an exponent by json.dumps, which durable_rules
    rejects) is written out in full, never rounded to 0."""
    from rsa_rules.engine._durable import DurableRuleset

    probe = DurableRuleset(
        "probe-tiny-numbers",
        {
            "probe-session": {"all": [{"m": {"probe": "s1"}}]},
            "above-zero": {"all": [{"m": {"$and": [{"probe": "s1"}, {"$gt": {"x": 0}}]}}]},
            "below-0.0001": {"all": [{"m": {"$and": [{"probe": "s1"}, {"$lt": {"x": 0.0001}}]}}]},
        },
        [("s1", {}, ["x"], [None, None, None])],
        "probe-session",
        "probe",
    )
    for dispatch in ("direct", "host"):
        for x, expected in (
            (5e-05, {"above-zero", "below-0.0001"}),
            (1e-300, {"above-zero", "below-0.0001"}),
            (0.0, {"below-0.0001"}),
            (0.0001, {"above-zero"}),
        ):
            fired = set(probe.run({"x": x}, dispatch=dispatch))  # type: ignore[arg-type]
            assert fired - {"probe-session"} == expected, (dispatch, x)
    with pytest.raises(rsa_rules.EngineError, match="finite number below"):
        probe.run({"x": 1e16})


def test_two_engines_share_one_registered_ruleset() -> None:
    first = rsa_rules.Engine()
    second = rsa_rules.Engine()
    doc = PATIENTS[0]
    assert _signature(first.evaluate(doc)) == _signature(second.evaluate(doc))
