"""Nothing lost, nothing left behind: hostile, huge and broken records, and runs that are
interrupted or killed.

* every record of a cohort with bad, huge and hostile records mixed in gives exactly one
  row set, in order, and a value Parquet cannot store is an error row naming its field;
* worker processes end when their parent ends, however it ends (checked by PID, on the
  children of a process this test started);
* no ``.partial`` file outlives a run; Ctrl-C exits 130 with one line; a closed pipe ends
  the command quietly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from rsa_rules.cli import main
from rsa_rules.cohort import evaluate_many
from rsa_rules.cohort.audit import remove_stale_partials
from rsa_rules.limits import MAX_DOCUMENT_BYTES, MAX_LIST_ITEMS, MAX_OBJECT_FIELDS
from rsa_rules.synthetic import synthetic_patients

from ..conftest import EXAMPLES, ROOT

LONE_SURROGATE = '{"id": "\\ud800"}'

# (JSON Lines text of one record, the field its error row names; None: evaluated)
HOSTILE: list[tuple[str, str | None]] = [
    (LONE_SURROGATE, "id"),
    (
        '{"id": "ok", "treatments": [{"intervention": "ivig", "status": "\\udfff"}]}',
        "treatments.0.status",
    ),
    (json.dumps({"id": "esc\x1b[2J\x1b]0;x\x07"}), None),
    (
        json.dumps(
            {
                "id": "many",
                "antiphospholipid": {
                    "results": [
                        {"test": "lupus-anticoagulant", "date": "2026-01-01", "result": "positive"}
                    ]
                    * (MAX_LIST_ITEMS + 1)
                },
            }
        ),
        "antiphospholipid.results",
    ),
    (json.dumps({f"unknown_{i}": i for i in range(MAX_OBJECT_FIELDS + 1)}), ""),
    (
        json.dumps({"pregnancy_history": {"losses": [{"gestational_weeks": "x"}] * 500}}),
        "pregnancy_history.losses.0.gestational_weeks",
    ),
    ("[" * 100_000 + "]" * 100_000, ""),
    ('{"age": 1' + "0" * 5000 + "}", ""),
    (
        json.dumps(
            {
                "antiphospholipid": {
                    "results": [
                        {"test": "lupus-anticoagulant", "date": "9999-12-30", "result": "positive"}
                    ]
                }
            }
        ),
        "antiphospholipid.results.0.date",  # after the evaluation date: refused
    ),
    ('"just a string"', ""),
]


def _huge_line() -> str:
    return json.dumps({"id": "x" * (MAX_DOCUMENT_BYTES + 10)})


def _cohort_lines() -> tuple[list[str], list[str | None]]:
    """The cohort (one record a line) and, per record, the error field expected (or None)."""
    lines: list[str] = []
    expected: list[str | None] = []
    hostile = [*HOSTILE, (_huge_line(), "")]
    for index, doc in enumerate(synthetic_patients(60, seed=5)):
        lines.append(json.dumps(doc))
        expected.append(None)
        if index % 5 == 0 and hostile:
            text, field = hostile.pop(0)
            lines.append(text)
            expected.append(field)
    assert not hostile
    return lines, expected


@pytest.mark.parametrize("workers", [1, 2])
def test_a_cohort_with_hostile_records_loses_nothing_and_keeps_its_order(
    tmp_path: Path, workers: int, capsys: pytest.CaptureFixture[str]
) -> None:
    lines, expected = _cohort_lines()
    cohort = tmp_path / "cohort.jsonl"
    cohort.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "audit.parquet"
    code = main(["audit", str(cohort), "--out", str(out), "--workers", str(workers)])
    assert code == 0, capsys.readouterr().err
    table = pq.read_table(out).to_pydict()
    # One row set per record, in input order: the first row of each line, then its others.
    assert list(dict.fromkeys(table["line"])) == list(range(1, len(lines) + 1))
    assert table["line"] == sorted(table["line"])
    firsts: dict[int, int] = {}
    for row, line in enumerate(table["line"]):
        firsts.setdefault(line, row)
    for line, field in enumerate(expected, 1):
        row = firsts[line]
        if field is None:
            assert table["status"][row] != "error", (line, table["error"][row])
        else:
            assert table["status"][row] == "error", line
            assert table["error_field"][row] == field, (line, table["error"][row])
    assert not list(tmp_path.glob("*.partial"))


def test_the_lone_surrogate_record_is_an_error_row_and_the_audit_completes(
    tmp_path: Path,
) -> None:
    cohort = tmp_path / "cohort.jsonl"
    cohort.write_text('{"id": "a"}\n' + LONE_SURROGATE + '\n{"id": "b"}\n', encoding="utf-8")
    out = tmp_path / "audit.parquet"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rsa_rules",
            "audit",
            str(cohort),
            "--out",
            str(out),
            "--workers",
            "1",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    table = pq.read_table(out).to_pydict()
    rows = [
        (line, status, field)
        for line, status, field in zip(
            table["line"], table["status"], table["error_field"], strict=True
        )
        if status == "error"
    ]
    assert rows == [(2, "error", "id")]
    assert set(table["patient_id"]) == {"a", "b", None}


def test_in_memory_strings_that_are_not_unicode_are_error_rows() -> None:
    results = list(evaluate_many([{"id": "\ud800"}, {"id": "fine", "age": 30}]))
    assert [r.ok for r in results] == [False, True]
    assert results[0].error_field == "id"
    assert results[0].patient_id is None


# -- processes ending --------------------------------------------------------------------

_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    from rsa_rules.cohort import evaluate_many
    from rsa_rules.synthetic import synthetic_patients

    def slow(n):
        for doc in synthetic_patients(n, seed=3):
            time.sleep(0.001)
            yield doc

    if __name__ == "__main__":
        results = evaluate_many(slow(10**7), workers=2, chunk_size=8, progress=False)
        for i, _ in enumerate(results):
            if i == 16:
                print("running", flush=True)
    """
)


def test_an_interruption_while_the_pool_starts_propagates_and_ends_the_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C or SIGTERM inside the first submit: the manager thread exists, never started."""
    from concurrent.futures import process

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    workers: list[psutil.Process] = []

    def interrupted(self: object) -> None:
        spawned = [p for p in psutil.Process().children() if p.pid not in before]
        workers.extend(p for p in spawned if "resource_tracker" not in " ".join(p.cmdline()))
        raise KeyboardInterrupt

    monkeypatch.setattr(process._ExecutorManagerThread, "start", interrupted)
    results = evaluate_many(synthetic_patients(20, seed=1), workers=2, chunk_size=4)
    with pytest.raises(KeyboardInterrupt):
        list(results)
    assert workers, "the pool spawned its workers before the interruption"
    for worker in workers:
        assert _gone(worker.pid), worker.cmdline()


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_for_workers(parent: psutil.Process, count: int) -> list[psutil.Process]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = [
            p
            for p in parent.children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())
        ]
        if len(workers) >= count:
            return workers
        time.sleep(0.1)
    raise AssertionError(f"{count} workers did not start")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_workers_end_when_their_parent_ends(tmp_path: Path, how: signal.Signals) -> None:
    script = tmp_path / "run_cohort.py"
    script.write_text(_SCRIPT, encoding="utf-8")
    with subprocess.Popen(  # this test's own child; its workers are checked by PID
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "running"
            parent = psutil.Process(process.pid)
            workers = _wait_for_workers(parent, 2)
            everything = parent.children(recursive=True)  # workers and resource tracker
            assert len(workers) == 2
            process.send_signal(how)
            process.wait(timeout=30)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not all(_gone(p.pid) for p in everything):
                time.sleep(0.1)
            alive = [p.pid for p in everything if not _gone(p.pid)]
            assert alive == [], f"still alive after the parent ended by {how.name}: {alive}"
        finally:
            if process.poll() is None:
                process.kill()


def _audit_command(cohort: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rsa_rules",
        "audit",
        str(cohort),
        "--out",
        str(out),
        "--workers",
        "2",
        "--chunk-size",
        "16",
        "--no-progress",
    ]


def _large_cohort(path: Path, count: int) -> Path:
    with path.open("w", encoding="utf-8") as stream:
        for doc in synthetic_patients(count, seed=8):
            stream.write(json.dumps(doc) + "\n")
    return path


def _wait_for_partial(folder: Path, process: subprocess.Popen[str]) -> Path:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(folder.glob(".*.partial"))
        if found:
            return found[0]
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    raise AssertionError("the audit never started writing")


def test_no_partial_file_outlives_a_killed_run_once_a_new_run_is_made(tmp_path: Path) -> None:
    cohort = _large_cohort(tmp_path / "cohort.jsonl", 60_000)
    out = tmp_path / "audit.parquet"
    with subprocess.Popen(
        _audit_command(cohort, out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        partial = _wait_for_partial(tmp_path, process)
        process.kill()
        process.wait(timeout=30)
    assert partial.exists()  # SIGKILL: nothing could clean up
    small = tmp_path / "small.jsonl"
    small.write_text('{"id": "a"}\n', encoding="utf-8")
    done = subprocess.run(
        _audit_command(small, out), capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob("*.partial"))
    assert pq.read_table(out).num_rows == 1


def test_a_partial_file_of_a_live_process_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "audit.parquet"
    mine = tmp_path / f".audit.parquet.{os.getpid()}.partial"
    mine.write_bytes(b"")
    other = tmp_path / ".other.parquet.1.partial"
    other.write_bytes(b"")
    assert remove_stale_partials(out) == []
    assert mine.exists()
    assert other.exists()


def test_ctrl_c_stops_an_audit_with_one_line_exit_130_and_no_partial(tmp_path: Path) -> None:
    cohort = _large_cohort(tmp_path / "cohort.jsonl", 60_000)
    out = tmp_path / "audit.parquet"
    with subprocess.Popen(
        _audit_command(cohort, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        _wait_for_partial(tmp_path, process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=180)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["rsa-rules: interrupted"]
    assert not list(tmp_path.glob("*.partial"))
    assert not out.exists()


def test_sigterm_stops_an_audit_with_one_line_exit_143_and_no_partial(tmp_path: Path) -> None:
    cohort = _large_cohort(tmp_path / "cohort.jsonl", 60_000)
    out = tmp_path / "audit.parquet"
    with subprocess.Popen(
        _audit_command(cohort, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        _wait_for_partial(tmp_path, process)
        process.terminate()
        _, stderr = process.communicate(timeout=180)
    assert process.returncode == 143, stderr
    assert stderr.strip().splitlines() == ["rsa-rules: terminated"]
    assert not list(tmp_path.glob("*.partial"))


def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path) -> None:
    facts = json.loads((EXAMPLES / "aps-three-losses.json").read_text(encoding="utf-8"))
    facts["pregnancy_history"]["losses"] *= 2_000  # an output far larger than a pipe holds
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(facts), encoding="utf-8")
    with subprocess.Popen(
        [sys.executable, "-m", "rsa_rules", "evaluate", str(path), "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.read(10)
        process.stdout.close()  # like `| head -c 10`
        stderr = process.stderr.read()
        process.wait(timeout=180)
    assert stderr == b""
    assert process.returncode == 141


def test_a_signal_while_a_worker_starts_is_delivered_once_it_has_started() -> None:
    from rsa_rules.cohort import parallel

    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
    try:
        with parallel._signals_deferred():
            signal.raise_signal(signal.SIGTERM)
            assert seen == []  # held while the step runs
        assert seen == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, previous)
