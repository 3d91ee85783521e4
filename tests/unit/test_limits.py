"""Input limits: an oversize facts document is refused before validation, with a message that
names the limit and where; an error lists at most MAX_PROBLEMS problems and says how many
more there were; text output shows control characters escaped; the command line ends with
one line and a conventional status on Ctrl-C, SIGTERM and a closed pipe."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

import rsa_rules
from rsa_rules import cli
from rsa_rules.cli import main
from rsa_rules.errors import FactsError
from rsa_rules.jsontext import JsonTextError, loads_strict
from rsa_rules.limits import (
    MAX_DOCUMENT_BYTES,
    MAX_LIST_ITEMS,
    MAX_OBJECT_FIELDS,
    MAX_PROBLEMS,
    MAX_VALUES,
    lone_surrogate,
    oversize,
)
from rsa_rules.textsafe import terminal_safe

LA = {"test": "lupus-anticoagulant", "date": "2026-01-05", "result": "positive"}


def refused(facts: object) -> FactsError:
    with pytest.raises(FactsError) as info:
        rsa_rules.evaluate(facts)  # type: ignore[arg-type]
    return info.value


def test_the_limits_admit_the_largest_benchmark_patient() -> None:
    losses = [{"gestational_weeks": 6, "kind": "miscarriage"}] * MAX_LIST_ITEMS
    facts = {
        "pregnancy_history": {"losses": losses},
        "antiphospholipid": {"results": [LA] * MAX_LIST_ITEMS},
    }
    assert oversize(facts) is None
    assert rsa_rules.evaluate(facts).finding("pregnancy-losses") is not None


def test_a_list_over_the_limit_is_refused_naming_it() -> None:
    error = refused({"antiphospholipid": {"results": [LA] * (MAX_LIST_ITEMS + 1)}})
    assert error.problems == [
        (
            "antiphospholipid.results",
            f"a list of {MAX_LIST_ITEMS + 1:,} items; at most {MAX_LIST_ITEMS:,} are allowed",
        )
    ]


def test_an_object_with_too_many_fields_is_refused_before_validation() -> None:
    error = refused({f"unknown_{i}": i for i in range(5 * MAX_OBJECT_FIELDS)})
    [(path, message)] = error.problems
    assert path == ""
    assert f"at most {MAX_OBJECT_FIELDS}" in message


def test_too_many_values_in_all_are_refused() -> None:
    per_list = MAX_LIST_ITEMS
    nested = {"treatments": [[[0] * 50] * per_list]}
    assert 50 * per_list > MAX_VALUES
    error = refused(nested)
    assert error.problems[0][0] == ""
    assert f"more than {MAX_VALUES:,} values" in error.problems[0][1]


def test_an_error_lists_at_most_max_problems_and_says_how_many_more() -> None:
    losses = [{"gestational_weeks": "x"}] * (MAX_PROBLEMS + 250)
    error = refused({"pregnancy_history": {"losses": losses}})
    assert len(error.problems) == MAX_PROBLEMS
    assert error.more == 250
    text = str(error)
    assert f"({MAX_PROBLEMS + 250:,} problems)" in text
    assert f"... and 250 more (only the first {MAX_PROBLEMS} are listed)" in text
    assert text.count("\n") == MAX_PROBLEMS + 1


def test_a_short_error_has_nothing_more() -> None:
    error = refused({"age": "thirty"})
    assert error.more == 0
    assert "more" not in str(error)


@pytest.mark.parametrize(
    ("facts", "path"),
    [
        ({"id": "\ud800"}, "id"),
        ({"treatments": [{"intervention": "ivig", "status": "x\udfff"}]}, "treatments.0.status"),
        ({"id": "a", "\udc80": 1}, "\\udc80"),
    ],
)
def test_strings_that_are_not_unicode_are_refused_naming_the_field(
    facts: dict[str, object], path: str
) -> None:
    [(where, message)] = refused(facts).problems
    assert where == path
    assert "lone UTF-16 surrogate" in message


def test_lone_surrogates_are_found_anywhere_and_pairs_are_text() -> None:
    assert lone_surrogate({"a": [1, {"b": "\U0001f600"}]}) is None
    assert lone_surrogate({"a": [1, {"b": "x\ud83d"}]}) == "a.1.b"
    assert lone_surrogate("\udfff") == ""


@pytest.mark.parametrize("text", ['{"id": "\\ud800"}', b'{"id": "\\uDBFF"}', '{"id": "\ud800"}'])
def test_json_text_with_a_lone_surrogate_is_refused(text: str | bytes) -> None:
    with pytest.raises(JsonTextError) as info:
        loads_strict(text)
    assert info.value.path == "id"


def test_json_text_with_a_surrogate_pair_is_read() -> None:
    assert loads_strict('{"id": "\\ud83d\\ude00"}') == {"id": "\U0001f600"}


def test_a_facts_file_over_the_size_limit_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps({"id": "x" * MAX_DOCUMENT_BYTES}), encoding="utf-8")
    assert main(["evaluate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"larger than {MAX_DOCUMENT_BYTES:,} bytes" in err
    assert "Traceback" not in err


def test_text_output_escapes_control_characters_in_the_id() -> None:
    hostile = "p\x1b]0;title\x07\x1b[2J\u202eevil\r"
    text = rsa_rules.evaluate({"id": hostile}).to_text()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert "\u202e" not in text
    assert "\r" not in text
    assert "p\\x1b]0;title\\x07\\x1b[2J\\u202eevil\\x0d" in text.splitlines()[0]


def test_why_not_text_is_escaped_too() -> None:
    answer = rsa_rules.evaluate({"id": "x"}).why_not("ivig")
    assert terminal_safe(answer.to_text()) == answer.to_text()


@pytest.mark.parametrize(
    ("text", "shown"),
    [("a\tb", "a\\x09b"), ("line\nnext", "line\nnext"), ("\x7f\x9b", "\\x7f\\x9b"), ("é", "é")],
)
def test_terminal_safe(text: str, shown: str) -> None:
    assert terminal_safe(text) == shown


def test_a_fhir_read_over_the_resource_limit_is_refused_before_parsing() -> None:
    from rsa_rules.fhir import FhirError, facts_from_bundle
    from rsa_rules.limits import MAX_FHIR_RESOURCES

    entry = {"resource": {"resourceType": "Observation", "status": "final"}}
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [entry] * MAX_FHIR_RESOURCES}
    bundle["entry"].append({})
    with pytest.raises(FhirError) as info:
        facts_from_bundle(bundle)
    assert f"more than {MAX_FHIR_RESOURCES:,} resources" in str(info.value)


# -- how the command line ends -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "code", "line"),
    [
        (KeyboardInterrupt, 130, "rsa-rules: interrupted\n"),
        (cli._Terminated, 143, "rsa-rules: terminated\n"),
        (BrokenPipeError, 141, ""),
    ],
)
def test_the_command_line_ends_with_one_line_and_its_status(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    raised: type[BaseException],
    code: int,
    line: str,
) -> None:
    def interrupted(argv: object) -> int:
        raise raised

    monkeypatch.setattr(cli, "_run", interrupted)
    before = signal.getsignal(signal.SIGTERM)
    assert main(["schema"]) == code
    assert capsys.readouterr().err == line
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back


def test_sigterm_during_a_command_raises_in_the_main_thread(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def terminated(argv: object) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this
        return 0

    monkeypatch.setattr(cli, "_run", terminated)
    assert main(["schema"]) == 143
    assert capsys.readouterr().err == "rsa-rules: terminated\n"


def test_a_command_run_off_the_main_thread_leaves_signals_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_run", lambda argv: 0)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(main(["schema"])))
    thread.start()
    thread.join()
    assert codes == [0]


def test_the_parent_watch_keeps_a_worker_while_its_parent_lives() -> None:
    from rsa_rules.cohort import parallel

    parallel.watch_parent(os.getppid())  # this process's parent is alive: nothing happens
    names = [t.name for t in threading.enumerate()]
    assert "rsa-rules-parent-watch" in names
