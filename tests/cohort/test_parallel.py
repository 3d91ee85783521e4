"""``evaluate_many``: in order, one result per record, bad records as error rows, on processes."""

from __future__ import annotations

import datetime as dt
import io
import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
from rsa_rules.cohort import parallel
from rsa_rules.cohort.records import Record

from ..conftest import RULES, load_example
from .conftest import BAD_RECORDS, expected_signature, result_signature


def _check_against_evaluate(cohort: list[Any], results: list[Any]) -> None:
    assert len(results) == len(cohort)
    assert [r.index for r in results] == list(range(len(cohort)))
    assert [r.line for r in results] == list(range(1, len(cohort) + 1))
    for item, result in zip(cohort, results, strict=True):
        assert result_signature(result) == expected_signature(item), result.index


def test_in_process_keeps_order_and_count_with_bad_records_mixed_in(
    mixed_cohort: list[Any],
) -> None:
    results = list(rsa_rules.evaluate_many(mixed_cohort, chunk_size=16))
    _check_against_evaluate(mixed_cohort, results)
    assert sum(not r.ok for r in results) == len(BAD_RECORDS)


def test_two_processes_keep_order_and_count_with_bad_records_mixed_in(
    mixed_cohort: list[Any],
) -> None:
    # Small chunks: many tasks, finishing out of order on the two workers.
    results = list(rsa_rules.evaluate_many(iter(mixed_cohort), workers=2, chunk_size=7))
    _check_against_evaluate(mixed_cohort, results)
    errors = {r.error_field for r in results if not r.ok}
    assert errors == {field for _, field in BAD_RECORDS}


def test_processes_stream_lazily_and_stop_when_the_consumer_stops() -> None:
    produced = 0

    def endless() -> Iterator[dict[str, Any]]:
        nonlocal produced
        while True:
            produced += 1
            yield {"id": f"p-{produced}", "pregnancy_history": {"loss_count": produced % 4}}

    results = rsa_rules.evaluate_many(endless(), workers=2, chunk_size=10)
    first = [next(results) for _ in range(25)]
    assert [r.patient_id for r in first] == [f"p-{i}" for i in range(1, 26)]
    # A bounded window of chunks is read ahead of what was consumed, never the whole input.
    window = 2 * parallel._IN_FLIGHT_PER_WORKER
    assert produced <= 10 * (3 + window)
    results.close()  # type: ignore[attr-defined]


def test_a_record_that_cannot_be_sent_to_a_worker_is_evaluated_here() -> None:
    lock = threading.Lock()  # cannot be pickled
    cohort: list[Any] = [{"id": "a"}, {"id": "b", "age": lock}, {"id": "c"}]
    results = list(rsa_rules.evaluate_many(cohort, workers=2, chunk_size=1))
    assert [r.patient_id for r in results] == ["a", "b", "c"]
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].error_field == "age"


def test_explain_returns_each_evaluation_with_its_explanations() -> None:
    aps = load_example("aps-three-losses.json")
    [result] = rsa_rules.evaluate_many([aps], explain=True)
    assert result.evaluation == rsa_rules.evaluate(aps).to_dict()


def test_records_keep_their_file_and_line() -> None:
    records = [Record('{"id": "x"}', 10, "a.jsonl"), Record("{}", 12, "a.jsonl")]
    results = list(rsa_rules.evaluate_many(records))
    assert [(r.index, r.line, r.source) for r in results] == [
        (0, 10, "a.jsonl"),
        (1, 12, "a.jsonl"),
    ]


def test_an_empty_cohort_gives_nothing() -> None:
    assert list(rsa_rules.evaluate_many([])) == []


def test_another_knowledge_base_directory(tmp_path: Path) -> None:
    aps = load_example("aps-three-losses.json")
    [result] = rsa_rules.evaluate_many([aps], rules=RULES)
    assert result_signature(result) == expected_signature(aps)
    with pytest.raises(rsa_rules.KnowledgeError):
        rsa_rules.evaluate_many([aps], rules=tmp_path)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, "workers must be a positive integer or None, not 0"),
        ({"workers": True}, "workers must be a positive integer or None, not True"),
        ({"workers": 1.5}, "workers must be a positive integer"),
        ({"chunk_size": 0}, "chunk_size must be a positive integer, not 0"),
        ({"chunk_size": False}, "chunk_size must be a positive integer"),
    ],
)
def test_bad_options_are_refused_at_once(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rsa_rules.evaluate_many([{}], **options)


def test_workers_none_means_one_per_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: None)
    assert parallel._worker_count(None) == 1
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 6)
    assert parallel._worker_count(None) == 6


def test_the_worker_functions_in_this_process() -> None:
    # What a spawned worker runs: its initialiser builds the engine, then chunks arrive pickled.
    parallel._start_worker(None)
    assert parallel.engine_for(None) is rsa_rules.default_engine()
    payload = pickle.dumps([{"id": "w"}, "nope"])
    results = parallel._worker_chunk(40, payload, False, dt.date.today())
    assert [(r.index, r.patient_id, r.ok) for r in results] == [(40, "w", True), (41, None, False)]


def test_one_engine_per_knowledge_base_per_process() -> None:
    assert parallel.engine_for(str(RULES)) is parallel.engine_for(str(RULES))
    assert parallel.engine_for(str(RULES)) is not parallel.engine_for(None)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Closed(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


def test_progress_bar_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    results = list(rsa_rules.evaluate_many([{}] * 30, chunk_size=10, progress=True))
    assert len(results) == 30
    err = capsys.readouterr().err
    assert "30/30" in err
    assert "patient" in err


def test_no_progress_bar_when_not_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(list(rsa_rules.evaluate_many([{}] * 30, chunk_size=10))) == 30
    assert len(list(rsa_rules.evaluate_many([{}] * 30, progress=False))) == 30
    assert capsys.readouterr().err == ""


def test_automatic_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(parallel.sys, "stderr", terminal)
    monkeypatch.setattr(parallel, "_PROGRESS_DELAY_S", 0.0)
    assert len(list(rsa_rules.evaluate_many(({} for _ in range(20)), total=20))) == 20
    assert "20/20" in terminal.getvalue()
    # Without a delay of zero, a short run shows no bar at all.
    monkeypatch.setattr(parallel, "_PROGRESS_DELAY_S", 60.0)
    quiet = _Terminal()
    monkeypatch.setattr(parallel.sys, "stderr", quiet)
    assert len(list(rsa_rules.evaluate_many([{}] * 20))) == 20
    assert quiet.getvalue() == ""


def test_a_closed_or_missing_stderr_means_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel.sys, "stderr", _Closed())
    assert parallel._progress_bar(None, 10) is None
    monkeypatch.setattr(parallel.sys, "stderr", None)
    assert parallel._progress_bar(None, 10) is None
