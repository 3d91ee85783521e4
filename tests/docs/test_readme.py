"""The README's examples run: its Python block executes, and its shown output is real."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ..conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def test_the_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    blocks = _blocks("python")
    assert blocks, "the README has a Python example"
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - our own README
    assert "Why not heparin-plus-low-dose-aspirin?" in capsys.readouterr().out


def test_the_shown_output_is_what_the_main_command_prints() -> None:
    shell = _blocks("sh")
    main = next(b for b in shell if "rsa-rules evaluate" in b).strip()
    example = main.split()[-1]
    done = subprocess.run(
        [sys.executable, "-m", "rsa_rules", "evaluate", example],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    shown = _blocks("text")[0]
    for line in shown.splitlines():
        text = line.rstrip()
        if not text:
            continue
        # A line abbreviated in the README ("...") is compared up to the abbreviation.
        text = text.removesuffix("...").rstrip()
        # The knowledge base's digest changes with every edit of rules/: compare the rest.
        text = re.sub(r"\([0-9a-f]{12}\)$", "", text).rstrip()
        assert text in done.stdout, text


def test_the_readme_names_the_three_commands() -> None:
    shell = "\n".join(_blocks("sh"))
    # The define reaches the step that compiles durable-rules (an assignment before the venv
    # step would end with it), and pip's cache cannot hand back a wheel built without it.
    setup = (
        "python3 -m venv .venv && CPPFLAGS=-DPyEval_CallObject=PyObject_CallObject "
        '.venv/bin/pip install --no-cache-dir -e ".[dev]"'
    )
    assert setup in shell.splitlines()
    assert "rsa-rules evaluate examples/" in shell
    assert "python -m pytest" in shell
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"SETUP='{setup}'" in ci.splitlines()
    assert "python -m pytest" in ci
