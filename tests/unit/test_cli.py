"""The ``rsa-rules`` command line: in-process through ``main()``, and a few real processes.

Exit status: 0 on success, 1 when lint finds errors, 2 on invalid input, with a message that
names the field and no traceback.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
import weakref
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
from rsa_rules import cli
from rsa_rules.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
RULES = ROOT / "rules"
EXAMPLE_IDS = [path.stem for path in EXAMPLES]

APS_EXAMPLE = ROOT / "examples" / "aps-three-losses.json"
UNEXPLAINED_EXAMPLE = ROOT / "examples" / "unexplained-recurrent-loss.json"


def run_main(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    """Run the CLI in this process: (exit status, stdout, stderr)."""
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_process(*argv: str | Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a real process, with this interpreter (works in any virtualenv)."""
    return subprocess.run(
        [sys.executable, "-m", "rsa_rules", *(str(arg) for arg in argv)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_clean_input_error(err: str) -> None:
    """A user-facing message on stderr: prefixed, no traceback."""
    assert err.startswith("rsa-rules"), err
    assert "Traceback" not in err


def test_examples_exist() -> None:
    assert len(EXAMPLES) >= 4


# -- evaluate ------------------------------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_evaluate_text_names_every_rule(capsys: pytest.CaptureFixture[str], example: Path) -> None:
    expected = rsa_rules.evaluate(json.loads(example.read_text(encoding="utf-8")))
    assert expected.recommendations
    code, out, err = run_main(capsys, "evaluate", example)
    assert code == 0, err
    assert err == ""
    for recommendation in expected.recommendations:
        assert recommendation.rule_id in out
        assert recommendation.summary in out
    assert "decision support" in out


@pytest.mark.parametrize("example", EXAMPLES, ids=EXAMPLE_IDS)
def test_evaluate_json_has_recommendations(
    capsys: pytest.CaptureFixture[str], example: Path
) -> None:
    doc = json.loads(example.read_text(encoding="utf-8"))
    code, out, err = run_main(capsys, "evaluate", example, "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["patient_id"] == doc["id"]
    assert result["recommendations"]
    expected = rsa_rules.evaluate(doc)
    assert [r["rule_id"] for r in result["recommendations"]] == [
        r.rule_id for r in expected.recommendations
    ]
    for recommendation in result["recommendations"]:
        assert recommendation["citations"], recommendation["rule_id"]
        assert len(recommendation["summary"]) < 140
    assert result == json.loads(expected.to_json())


def test_evaluate_reads_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(APS_EXAMPLE.read_text(encoding="utf-8")))
    code, out, err = run_main(capsys, "evaluate", "-", "--format", "json")
    assert code == 0, err
    rule_ids = [r["rule_id"] for r in json.loads(out)["recommendations"]]
    assert "RSA-ANTICOAG-APS" in rule_ids


def test_invalid_facts_from_standard_input(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        sys, "stdin", io.StringIO('{"current_pregnancy": {"gestational_weeks": 46}}')
    )
    code, out, err = run_main(capsys, "evaluate", "-")
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert "current_pregnancy.gestational_weeks" in err


def test_evaluate_with_explicit_rules_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    code, out, err = run_main(capsys, "evaluate", APS_EXAMPLE, "--rules", rules)
    assert code == 0, err
    assert "RSA-ANTICOAG-APS" in out


# -- why-not -------------------------------------------------------------------------------


def test_why_not_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(
        capsys, "why-not", UNEXPLAINED_EXAMPLE, "heparin-plus-low-dose-aspirin"
    )
    assert code == 0, err
    assert "heparin-plus-low-dose-aspirin" in out
    # The rules that could produce it are named, with what happened to each.
    for rule_id in ("RSA-ANTICOAG-APS", "RSA-ANTICOAG-UNEXPLAINED", "RSA-ANTICOAG-INHERITED"):
        assert rule_id in out
    assert "not met" in out


def test_why_not_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(
        capsys, "why-not", APS_EXAMPLE, "heparin-plus-low-dose-aspirin", "--format", "json"
    )
    assert code == 0, err
    answer = json.loads(out)
    assert answer["intervention"] == "heparin-plus-low-dose-aspirin"
    assert [r["rule_id"] for r in answer["produced"]] == ["RSA-ANTICOAG-APS"]
    assert answer["produced"][0]["action"] == "recommend"


def test_why_not_unknown_intervention_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "why-not", APS_EXAMPLE, "heparin-plus-aspirin")
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert "unknown intervention 'heparin-plus-aspirin'" in err
    assert "did you mean 'heparin-plus-low-dose-aspirin'?" in err


def test_why_not_invalid_facts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = write(tmp_path, "bad.json", '{"treatments": [{"intervention": "ivig", "status": "x"}]}')
    code, _, err = run_main(capsys, "why-not", facts, "ivig")
    assert code == 2
    assert_clean_input_error(err)
    assert "treatments.0.status" in err


# -- schema --------------------------------------------------------------------------------


def test_schema_is_a_json_schema_with_descriptions(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "schema")
    assert code == 0, err
    schema = json.loads(out)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["description"]
    for name in ("pregnancy_history", "antiphospholipid", "current_pregnancy", "treatments"):
        assert name in schema["properties"]
    assert schema["properties"]["age"]["description"]
    loss = schema["$defs"]["PregnancyLoss"]["properties"]
    assert "description" in loss["kind"]
    assert "weeks" in json.dumps(loss["gestational_weeks"])
    treatment = schema["$defs"]["Treatment"]["properties"]
    kb = rsa_rules.default_engine().knowledge
    assert treatment["intervention"]["enum"] == list(kb.interventions)
    assert treatment["status"]["enum"] == ["proposed", "ordered", "active", "completed"]
    for name in ("intervention", "status"):
        del treatment[name]["enum"]  # the vocabulary's ids, added to the model's own schema
    kind = schema["$defs"]["PregnancyLoss"]["properties"]["kind"]["anyOf"][0]
    assert kind.pop("enum") == list(kb.loss_kinds)
    assert schema == rsa_rules.PatientFacts.model_json_schema()


# -- bad input files -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "message"),
    [
        pytest.param(
            '{"pregnancy_history": {"losses": [{}, {}, {"gestational_weeks": -2}]}}',
            "pregnancy_history.losses.2.gestational_weeks",
            "greater than or equal to 0",
            id="negative-weeks",
        ),
        pytest.param('{"age": "three"}', "age", "valid integer", id="age-word"),
        pytest.param(
            '{"antiphospholipid": {"resluts": []}}',
            "antiphospholipid.resluts",
            "unknown field",
            id="unknown-field",
        ),
        pytest.param("[1, 2]", "(document)", "facts must be a JSON object", id="json-list"),
        pytest.param('"patient"', "(document)", "facts must be a JSON object", id="json-string"),
    ],
)
def test_invalid_facts_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, path: str, message: str
) -> None:
    facts = write(tmp_path, "facts.json", text)
    code, out, err = run_main(capsys, "evaluate", facts)
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert f"{path}: " in err
    assert message in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("age: 34\n", "not valid JSON: Expecting value (line 1, column 1)", id="yaml"),
        pytest.param("", "not valid JSON", id="empty"),
        pytest.param('{"age": 34,}', "not valid JSON", id="trailing-comma"),
        pytest.param('{"age": NaN}', "NaN is not allowed in a facts document", id="nan"),
        pytest.param(
            '{"current_pregnancy": {"gestational_weeks": Infinity}}',
            "Infinity is not allowed",
            id="infinity",
        ),
        pytest.param('{"age": -Infinity}', "-Infinity is not allowed", id="minus-infinity"),
    ],
)
def test_unreadable_json_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, message: str
) -> None:
    facts = write(tmp_path, "facts.json", text)
    code, out, err = run_main(capsys, "evaluate", facts)
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert message in err


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.json"
    code, out, err = run_main(capsys, "evaluate", missing)
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert f"cannot read {missing}" in err
    assert "No such file" in err


def test_directory_instead_of_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run_main(capsys, "evaluate", tmp_path)
    assert code == 2
    assert_clean_input_error(err)
    assert f"cannot read {tmp_path}" in err


def test_non_utf8_file_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = tmp_path / "latin1.json"
    facts.write_bytes('{"id": "Fran\u00e7oise"}'.encode("latin-1"))
    code, _, err = run_main(capsys, "evaluate", facts)
    assert code == 2
    assert_clean_input_error(err)
    assert "is not UTF-8 text" in err


def test_deeply_nested_json_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = write(tmp_path, "deep.json", "[" * 100_000 + "]" * 100_000)
    code, out, err = run_main(capsys, "evaluate", facts)
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert "deep.json" in err


def test_huge_integer_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = write(tmp_path, "huge.json", '{"age": 1' + "0" * 5000 + "}")
    code, out, err = run_main(capsys, "evaluate", facts)
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert "age" in err or "huge.json" in err


def test_duplicate_json_key_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    facts = write(tmp_path, "twice.json", '{"rh": "negative", "age": 30, "rh": "positive"}')
    code, _, err = run_main(capsys, "evaluate", facts)
    assert code == 2
    assert_clean_input_error(err)
    assert "rh" in err


# -- bad arguments -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param([], "required: command", id="no-command"),
        pytest.param(["diagnose", "x.json"], "invalid choice: 'diagnose'", id="unknown-command"),
        pytest.param(["evaluate"], "required: file", id="evaluate-without-file"),
        pytest.param(
            ["evaluate", str(APS_EXAMPLE), "--format", "xml"],
            "invalid choice: 'xml'",
            id="bad-format",
        ),
        pytest.param(
            ["why-not", str(APS_EXAMPLE)], "required: intervention", id="why-not-no-intervention"
        ),
        pytest.param(
            ["evaluate", str(APS_EXAMPLE), "--colour"],
            "unrecognized arguments: --colour",
            id="unknown-option",
        ),
        pytest.param(["lint", "a", "b"], "unrecognized arguments: b", id="lint-two-dirs"),
    ],
)
def test_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "usage: rsa-rules" in err
    assert message in err
    assert "Traceback" not in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"rsa-rules {rsa_rules.__version__}"


def test_console_script_is_declared() -> None:
    scripts = {ep.name: ep.value for ep in entry_points(group="console_scripts")}
    assert scripts.get("rsa-rules") == "rsa_rules.cli:main"


# -- lint ----------------------------------------------------------------------------------


def test_lint_bundled_knowledge_base(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "lint")
    assert code == 0, err
    assert out.startswith("ok: bundled knowledge base")
    assert "no patient gets opposite actions" in out
    assert "error" not in err


def test_lint_rules_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    code, out, err = run_main(capsys, "lint", rules)
    assert code == 0, err
    assert out.startswith(f"ok: {rules}")


def _broken_copy(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / "immunotherapy.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count("{fact: reason_ivig, eq: recurrent-pregnancy-loss}") == 1
    path.write_text(
        text.replace(
            "{fact: reason_ivig, eq: recurrent-pregnancy-loss}",
            "{fact: reason_ivigg, eq: recurrent-pregnancy-loss}",
        ),
        encoding="utf-8",
    )
    return rules


def test_lint_broken_copy_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rules = _broken_copy(tmp_path)
    code, out, err = run_main(capsys, "lint", rules)
    assert code == 1
    assert "ok:" not in out
    assert err.startswith("error: immunotherapy.yaml:")
    assert "rule RSA-IMMUNO-IVIG" in err
    assert "field when.any.1.all.1.fact" in err
    assert "unknown fact 'reason_ivigg'; did you mean 'reason_ivig'?" in err
    assert "Traceback" not in err


def test_lint_missing_directory_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run_main(capsys, "lint", tmp_path / "no-such-rules")
    assert code == 1
    assert "ok:" not in out
    assert "pack.yaml: file not found" in err


def test_evaluate_with_broken_rules_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rules = _broken_copy(tmp_path)
    code, out, err = run_main(capsys, "evaluate", APS_EXAMPLE, "--rules", rules)
    assert code == 2
    assert out == ""
    assert_clean_input_error(err)
    assert "invalid knowledge base" in err
    assert "rule RSA-IMMUNO-IVIG" in err


# -- real processes ------------------------------------------------------------------------


def test_process_evaluate_example() -> None:
    done = run_process("evaluate", APS_EXAMPLE, "--format", "json")
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["recommendations"][0]["rule_id"] == "RSA-ANTICOAG-APS"
    assert "Traceback" not in done.stderr


def test_process_invalid_facts_no_traceback(tmp_path: Path) -> None:
    facts = write(
        tmp_path,
        "bad.json",
        '{"pregnancy_history": {"losses": [{"gestational_weeks": 7}, {"date": "2026-02-30"}]}}',
    )
    done = run_process("evaluate", facts)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "pregnancy_history.losses.1.date" in done.stderr
    assert "is not a real calendar date" in done.stderr
    assert "Traceback" not in done.stderr


def test_process_standard_input_nan() -> None:
    done = run_process("evaluate", "-", stdin='{"age": NaN}')
    assert done.returncode == 2
    assert "NaN is not allowed" in done.stderr
    assert "Traceback" not in done.stderr


def test_process_standard_input_valid() -> None:
    done = run_process("evaluate", "-", stdin=UNEXPLAINED_EXAMPLE.read_text(encoding="utf-8"))
    assert done.returncode == 0, done.stderr
    assert "RSA-ANTICOAG-UNEXPLAINED" in done.stdout


def test_process_bad_arguments() -> None:
    done = run_process("evaluate", APS_EXAMPLE, "--format", "yaml")
    assert done.returncode == 2
    assert "usage: rsa-rules" in done.stderr
    assert "Traceback" not in done.stderr


def test_process_lint_broken_copy(tmp_path: Path) -> None:
    done = run_process("lint", _broken_copy(tmp_path))
    assert done.returncode == 1
    assert "RSA-IMMUNO-IVIG" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("interruption", [cli._Terminated, KeyboardInterrupt])
def test_an_interruption_dropped_inside_a_weakref_callback_is_delivered_again(
    interruption: type[BaseException], capsys: pytest.CaptureFixture[str]
) -> None:
    """Python drops an exception raised in a weakref callback ("Exception ignored"): when the
    signal handler's exception lands there, the command must still stop."""

    class Owner:
        pass

    def callback(_: object) -> None:
        raise interruption

    hook = sys.unraisablehook

    def drop_and_wait(holder: list[Owner]) -> None:
        holder.clear()  # the callback raises; Python drops it, and it is raised again
        for _ in range(1_000):
            time.sleep(0.001)

    with cli._terminate_as_exception():
        holder = [Owner()]
        ref = weakref.ref(holder[0], callback)
        with pytest.raises(interruption):
            drop_and_wait(holder)
        assert ref() is None
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is hook


@pytest.mark.parametrize(
    ("command", "module", "extra"),
    [
        (["serve", "--no-auth"], "uvicorn", "service"),
        (["audit", "cohort.jsonl", "--out", "out.parquet"], "pyarrow", "cohort"),
    ],
)
def test_a_missing_extra_is_one_line_naming_the_install_command(
    command: list[str], module: str, extra: str, tmp_path: Path
) -> None:
    # A fresh interpreter where importing the module fails as if it were not installed.
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        f"from rsa_rules.cli import main; sys.exit(main({command!r}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 2
    assert done.stderr == (
        f"rsa-rules: {command[0]} needs the {extra} extra (module {module} is not installed): "
        f'pip install "rsa-rules[{extra}]"\n'
    )
