"""``rsa-rules audit``: JSON Lines in, Parquet rows (every record appears) and a summary out."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import rsa_rules
from rsa_rules.cli import main
from rsa_rules.cohort import audit as audit_module
from rsa_rules.cohort.frames import DTYPES, cohort_frame, read_audit
from rsa_rules.cohort.records import ROW_COLUMNS, AdherenceSummary, Record

from ..conftest import EXAMPLES, ROOT

EXAMPLE_COHORT = EXAMPLES / "cohort-example.jsonl"


def _write_cohort(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def cohort_file(tmp_path: Path, mixed_cohort: list[Any]) -> Path:
    lines = []
    for item in mixed_cohort:
        if isinstance(item, bytes):
            continue  # written below, as bytes
        lines.append(item if isinstance(item, str) else json.dumps(item))
    lines.insert(4, "")  # a blank line: skipped, but counted in the line numbers
    path = _write_cohort(tmp_path / "cohort.jsonl", lines)
    with path.open("ab") as stream:
        stream.write(b'{"id": "latin-1", "rh": "n\xe9gative"}\n')
    return path


def test_every_record_appears_with_its_line_and_error_rows_name_the_field(
    tmp_path: Path, cohort_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "audit.parquet"
    assert main(["audit", str(cohort_file), "--out", str(out), "--workers", "1"]) == 0
    frame = read_audit(out)
    assert list(frame.columns) == list(ROW_COLUMNS)
    assert dict(frame.dtypes.astype(str)) == DTYPES
    raw_lines = cohort_file.read_bytes().splitlines()
    record_lines = [n for n, raw in enumerate(raw_lines, 1) if raw.strip()]
    # Every record appears, in order; one row per recommendation, one for the others.
    assert list(dict.fromkeys(frame["line"])) == record_lines
    firsts = frame.drop_duplicates("line")
    assert (firsts["status"] != "recommendation").sum() + (firsts["rank"] == 1).sum() == len(
        record_lines
    )
    assert set(frame["source"]) == {str(cohort_file)}
    # The rows of each line are what evaluate_many gives for that line.
    records = [
        Record(raw, n, str(cohort_file)) for n, raw in enumerate(raw_lines, 1) if raw.strip()
    ]
    expected = cohort_frame(rsa_rules.evaluate_many(records))
    assert frame.equals(expected)
    errors = frame[frame["status"] == "error"]
    assert "pregnancy_history.losses.0.gestational_weeks" in set(errors["error_field"])
    latin = errors[errors["patient_id"].isna() & (errors["line"] == len(raw_lines))]
    assert list(latin["error"]) == ["(document): not UTF-8 text"]
    out_text = capsys.readouterr().out
    summary = AdherenceSummary.from_rows(frame)
    assert out_text == (
        summary.to_text()
        + f"\nwrote the audit of {summary.records:,} records from {cohort_file} to {out}\n"
    )


def test_the_parquet_file_records_its_provenance(tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    assert main(["audit", str(EXAMPLE_COHORT), "--out", str(out), "--workers", "1"]) == 0
    metadata = pq.read_schema(out).metadata
    knowledge = json.loads(metadata[b"rsa_rules.knowledge"])
    engine = rsa_rules.default_engine()
    assert knowledge == {
        "name": engine.knowledge.name,
        "version": engine.knowledge.version,
        "digest": engine.knowledge.digest,
    }
    assert metadata[b"rsa_rules.version"].decode() == rsa_rules.__version__
    assert metadata[b"rsa_rules.source"].decode() == str(EXAMPLE_COHORT)


def test_the_bundled_example_cohort(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "example.parquet"
    assert main(["audit", str(EXAMPLE_COHORT), "--out", str(out), "--workers", "1"]) == 0
    frame = read_audit(out)
    lit = frame[frame["patient_id"] == "example-lit"]
    assert ("RSA-IMMUNO-LIT", True) in set(zip(lit["rule_id"], lit["alert"], strict=True))
    text = capsys.readouterr().out
    assert text.startswith("Adherence summary: 27 records\n")
    assert "  invalid facts (error rows)          " in text
    assert "Alerts (patients; % of 24 evaluated)" in text


def test_standard_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = b'{"id": "a", "pregnancy_history": {"loss_count": 3}}\n\n{"id": "b"}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = tmp_path / "stdin.parquet"
    assert main(["audit", "-", "--out", str(out), "--workers", "1"]) == 0
    frame = read_audit(out)
    assert list(dict.fromkeys(zip(frame["line"], frame["patient_id"], strict=True))) == [
        (1, "a"),
        (3, "b"),
    ]
    assert frame["source"].isna().all()
    assert pq.read_schema(out).metadata[b"rsa_rules.source"] == b"-"
    assert "records from standard input to" in capsys.readouterr().out


def test_an_empty_cohort_writes_an_empty_file_with_the_schema(tmp_path: Path) -> None:
    source = _write_cohort(tmp_path / "empty.jsonl", [""])
    out = tmp_path / "empty.parquet"
    assert main(["audit", str(source), "--out", str(out), "--workers", "1"]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 0
    assert table.schema.names == list(ROW_COLUMNS)


@pytest.mark.parametrize(("patients", "batches"), [(12, 3), (10, 2)])
def test_a_large_cohort_is_written_in_several_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patients: int, batches: int
) -> None:
    monkeypatch.setattr(audit_module, "_ROWS_PER_BATCH", 5)
    lines = [json.dumps({"id": f"p{i}"}) for i in range(patients)]  # one row each
    source = _write_cohort(tmp_path / "c.jsonl", lines)
    out = tmp_path / "c.parquet"
    summary = audit_module.audit_jsonl(source, out, workers=1)
    assert summary.records == patients
    assert pq.ParquetFile(out).metadata.num_row_groups == batches
    assert list(read_audit(out)["patient_id"]) == [f"p{i}" for i in range(patients)]


def test_the_audit_runs_on_two_worker_processes(tmp_path: Path) -> None:
    out_one, out_two = tmp_path / "one.parquet", tmp_path / "two.parquet"
    assert main(["audit", str(EXAMPLE_COHORT), "--out", str(out_one), "--workers", "1"]) == 0
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rsa_rules",
            "audit",
            str(EXAMPLE_COHORT),
            "--out",
            str(out_two),
            "--workers",
            "2",
            "--chunk-size",
            "3",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert read_audit(out_two).equals(read_audit(out_one))


def test_engine_failures_are_rows_and_exit_status_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = rsa_rules.default_engine()
    real = engine.evaluate

    def flaky(facts: Any, as_of: Any = None) -> Any:
        if isinstance(facts, dict) and facts.get("id") == "p1":
            raise rsa_rules.EngineError("boom")
        return real(facts, as_of)

    monkeypatch.setattr(engine, "evaluate", flaky)
    source = _write_cohort(tmp_path / "c.jsonl", [json.dumps({"id": f"p{i}"}) for i in range(3)])
    out = tmp_path / "c.parquet"
    assert main(["audit", str(source), "--out", str(out), "--workers", "1"]) == 1
    frame = read_audit(out)
    failed = frame[frame["status"] == "error"]
    assert list(failed["patient_id"]) == ["p1"]
    assert failed["error_field"].isna().all()
    captured = capsys.readouterr()
    assert "engine errors (error rows)" in captured.out
    assert "the engine failed on 1 records" in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.jsonl", "--out", "{tmp}/x.parquet"], "cannot use missing.jsonl: No such file"),
        (["{cohort}", "--out", "{tmp}/no/such/dir/x.parquet"], "the directory {tmp}/no/such/dir"),
        (["{cohort}", "--out", "{tmp}"], "is a directory, not a file to write"),
        (["{tmp}", "--out", "{tmp}/x.parquet"], "cannot use {tmp}: Is a directory"),
        (["{cohort}", "--out", "{tmp}/x.parquet", "--rules", "{tmp}"], "invalid knowledge base"),
    ],
)
def test_invalid_input_exits_2_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    cohort = _write_cohort(tmp_path / "c.jsonl", ["{}"])
    args = [a.format(tmp=tmp_path, cohort=cohort) for a in argv]
    assert main(["audit", *args, "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rsa-rules: ")
    assert message.format(tmp=tmp_path) in err
    assert "Traceback" not in err
    assert not (tmp_path / "x.parquet").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--workers", "0", "'0' is not a positive number"),
        ("--workers", "two", "'two' is not a whole number"),
        ("--chunk-size", "-5", "'-5' is not a positive number"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, message: str
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["audit", "c.jsonl", "--out", str(tmp_path / "x.parquet"), option, value])
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_a_failed_run_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*args: Any, **kwargs: Any) -> Any:
        yield from ()
        raise KeyboardInterrupt

    monkeypatch.setattr(audit_module, "evaluate_many", interrupted)
    out = tmp_path / "x.parquet"
    with pytest.raises(KeyboardInterrupt):
        audit_module.audit_jsonl(EXAMPLE_COHORT, out, workers=1)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_result_file_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "x.parquet"
    out.write_text("old")
    audit_module.audit_jsonl(EXAMPLE_COHORT, out, workers=1)
    assert len(read_audit(out)) > 27
    assert [p.name for p in tmp_path.iterdir()] == ["x.parquet"]
