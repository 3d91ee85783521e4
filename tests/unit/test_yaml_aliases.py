"""A knowledge base may not use YAML anchors or aliases: an alias bomb is refused, unexpanded.

The bomb below is 550 bytes and stands for 9**9 (387 million) strings once expanded. Before
the guard, walking it for line numbers grew ``rsa-rules lint`` and ``Engine()`` to gigabytes.
The refusal is run in a child process with a memory ceiling and a time limit, so that a
regression fails here instead of taking the machine down; ``benchmarks/bench_scaling.py``
prints how long the refusal takes.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from rsa_rules import KnowledgeError
from rsa_rules.knowledge.loader import load_knowledge
from rsa_rules.knowledge.yaml_guard import AliasError, refuse_aliases

RULES = Path(__file__).resolve().parents[2] / "rules"


def alias_bomb() -> str:
    names = "abcdefghi"
    lines = ["lol: &a [" + ", ".join(['"lol"'] * 9) + "]"]
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


BOMB = alias_bomb()


def broken_copy(tmp_path: Path) -> tuple[Path, int]:
    root = tmp_path / "rules"
    shutil.copytree(RULES, root)
    path = root / "support.yaml"
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + BOMB, encoding="utf-8")
    return root, text.count("\n") + 1


def test_the_bomb_is_small_and_would_expand_enormously() -> None:
    assert len(BOMB.encode()) <= 560
    assert BOMB.count("*") == 8 * 9


def test_an_alias_bomb_in_a_rules_file_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    root, line = broken_copy(tmp_path)
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(root)
    [problem] = info.value.problems
    assert problem.file == "support.yaml"
    assert problem.line == line
    assert "anchor &a" in problem.message
    assert "not allowed" in problem.message


_CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    from rsa_rules import Engine, KnowledgeError
    from rsa_rules.knowledge.lint import lint_knowledge
    report = lint_knowledge(sys.argv[1])
    try:
        Engine(sys.argv[1])
    except KnowledgeError as error:
        print(json.dumps({"lint_ok": report.ok, "engine": str(error)}))
    """
)


def test_lint_and_engine_refuse_the_bomb_within_a_memory_ceiling(tmp_path: Path) -> None:
    root, line = broken_copy(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(root)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["lint_ok"] is False
    assert f"support.yaml:{line}" in result["engine"]


@pytest.mark.parametrize(
    ("text", "what", "line"),
    [
        pytest.param("a: 1\nb: &x 2\n", "anchor &x", 2, id="anchor-on-a-scalar"),
        pytest.param("a: [1]\nb:\n  - c: *x\n", "alias *x", 3, id="alias-alone"),
        pytest.param("a: &r [*r]\n", "anchor &r", 1, id="recursive"),
    ],
)
def test_anchors_and_aliases_are_named_with_their_line(text: str, what: str, line: int) -> None:
    with pytest.raises(AliasError) as info:
        refuse_aliases(text)
    assert what in str(info.value)
    assert info.value.problem_mark is not None
    assert info.value.problem_mark.line + 1 == line


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n",
        'text: "R&D and 5 * 3"\n',
        "# a & b * c\nkey: value\n",
    ],
)
def test_ampersands_and_stars_in_plain_text_are_not_aliases(text: str) -> None:
    refuse_aliases(text)
    assert yaml.safe_load(text)


def test_broken_yaml_is_a_yaml_error_not_an_alias_error() -> None:
    with pytest.raises(yaml.YAMLError) as info:
        refuse_aliases("a: 'x * y\n")
    assert not isinstance(info.value, AliasError)
