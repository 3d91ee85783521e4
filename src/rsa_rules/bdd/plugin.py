"""pytest plugin (entry point pytest11): the rsa-rules step library, when pytest-bdd is present.

With ``rsa-rules[bdd]`` installed, pytest loads this plugin by itself. It

- registers the step library (:mod:`rsa_rules.bdd.steps`), so a project's own ``.feature``
  files run against the engine with no step code of their own;
- registers every rule id of the knowledge base as a marker in identifier-safe form
  (``@rsa_anticoag_aps`` for ``RSA-ANTICOAG-APS``), so ``--strict-markers`` accepts rule tags,
  and stops with a clear message at a rule-like tag that names no rule;
- reports a failed check as a clinician reads it: the scenario, its steps, the failed step,
  what was expected and what the engine answered, with its explanation
  (``--tb=long`` or ``--tb=native`` keep pytest's Python traceback instead);
- with the ini option ``rsa_rules_collect_features = true``, collects ``.feature`` files
  directly, so a project needs no Python file at all.

The ini option ``rsa_rules_knowledge`` names another knowledge-base directory (relative to
the rootdir). Without pytest-bdd the plugin does nothing, and pytest runs as usual.
"""

from __future__ import annotations

import os
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

try:
    import pytest_bdd  # noqa: F401 - only to know whether it is installed
except ImportError:  # pragma: no cover - exercised in a subprocess without pytest-bdd
    HAVE_PYTEST_BDD = False
else:
    HAVE_PYTEST_BDD = True

if TYPE_CHECKING:
    from ..knowledge.loader import KnowledgeBase

__all__ = ["HAVE_PYTEST_BDD"]

_RULE_LIKE = re.compile(r"^(?:rsa_|RSA-)", re.IGNORECASE)
_STEP_KEY = pytest.StashKey["_FailedStep"]()
_TAGS_KEY = pytest.StashKey[dict[str, str]]()
_BROKEN_KEY = pytest.StashKey[str]()
_CONFIGS: list[pytest.Config] = []


class _FailedStep:
    """Where a scenario failed: enough to tell a clinician which step and why."""

    def __init__(self, feature: Any, scenario: Any, step: Any, exception: BaseException) -> None:
        self.feature = feature
        self.scenario = scenario
        self.step = step
        self.exception = exception


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "rsa_rules_knowledge",
        "rsa-rules: knowledge-base directory the BDD steps evaluate against "
        "(relative to the rootdir; default: the knowledge base bundled with rsa-rules)",
        default="",
    )
    parser.addini(
        "rsa_rules_collect_features",
        "rsa-rules: collect .feature files directly, with no Python test module",
        type="bool",
        default=False,
    )


def _knowledge(config: pytest.Config) -> KnowledgeBase:
    from ..knowledge.loader import load_knowledge

    configured = str(config.getini("rsa_rules_knowledge") or "")
    if not configured:
        return load_knowledge()
    path = Path(configured)
    return load_knowledge(path if path.is_absolute() else config.rootpath / path)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not HAVE_PYTEST_BDD:  # pragma: no cover - exercised in a subprocess without pytest-bdd
        return
    from ..errors import RsaRulesError
    from . import steps
    from .coverage import rule_tags

    if not config.pluginmanager.is_registered(steps):
        config.pluginmanager.register(steps, "rsa_rules.bdd.steps")
    _CONFIGS.append(config)
    try:
        knowledge = _knowledge(config)
    except RsaRulesError as error:
        # Never break a pytest run over this: say so where a rule tag or the engine is used.
        config.stash[_BROKEN_KEY] = str(error)
        return
    tags = rule_tags(knowledge)
    titles = {rule.id: rule.spec.title for rule in knowledge.rules}
    for tag, rule_id in tags.items():
        config.addinivalue_line(
            "markers", f"{tag}: scenario covers rule {rule_id}: {titles[rule_id]}"
        )
    config.stash[_TAGS_KEY] = tags


def pytest_unconfigure(config: pytest.Config) -> None:
    if config in _CONFIGS:
        _CONFIGS.remove(config)


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_bdd_apply_tag(tag: str, function: Callable[..., object]) -> object:
    """Stop at a rule-like tag that names no rule (misspelt, or not identifier-safe)."""
    if not _CONFIGS or not _RULE_LIKE.match(tag):
        return None
    config = _CONFIGS[-1]
    known = config.stash.get(_TAGS_KEY, {})
    registered = {line.split(":")[0].split("(")[0].strip() for line in config.getini("markers")}
    if tag in known or tag in registered:
        return None
    broken = config.stash.get(_BROKEN_KEY, None)
    if broken is not None:
        pytest.fail(f"the tag @{tag} cannot be checked: {broken}", pytrace=False)
    from .vocabulary import rule_tag

    safe = rule_tag(tag)
    if safe in known:
        hint = f"write rule tags in identifier-safe form: @{safe} (for {known[safe]})"
    else:
        import difflib

        close = difflib.get_close_matches(safe, list(known), n=1, cutoff=0.6)
        hint = f"did you mean @{close[0]}?" if close else "see `pytest --markers` for rule tags"
    pytest.fail(f"the tag @{tag} names no rule of the knowledge base; {hint}", pytrace=False)


@pytest.hookimpl(optionalhook=True)
def pytest_bdd_step_error(
    request: pytest.FixtureRequest,
    feature: Any,
    scenario: Any,
    step: Any,
    step_func: Callable[..., object],
    step_func_args: dict[str, object],
    exception: Exception,
) -> None:
    request.node.stash[_STEP_KEY] = _FailedStep(feature, scenario, step, exception)
    from .vocabulary import ScenarioError

    if isinstance(exception, ScenarioError) and not _python_tracebacks(request.config):
        # The readable report replaces pytest's traceback; without the step library's frames
        # pytest does not parse their source for a traceback nobody will see.
        exception.with_traceback(None)


def _python_tracebacks(config: pytest.Config) -> bool:
    return config.getoption("tbstyle", "auto") in ("long", "native")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    failed = item.stash.get(_STEP_KEY, None)
    if (
        failed is None
        or call.when != "call"
        or call.excinfo is None
        or call.excinfo.value is not failed.exception
        or _python_tracebacks(item.config)
    ):
        return report
    from .vocabulary import ScenarioError

    if isinstance(failed.exception, ScenarioError):
        report.longrepr = _readable(item, failed)
    return report


def _readable(item: pytest.Item, failed: _FailedStep) -> str:
    """The failure as a clinician reads it: scenario, steps, the failed one, and why."""
    scenario, step = failed.scenario, failed.step
    file = os.path.relpath(failed.feature.filename, item.config.rootpath)
    lines = [
        f"Scenario: {scenario.name}",
        f"  in {file}, line {scenario.line_number} (Feature: {failed.feature.name})",
    ]
    callspec = getattr(item, "callspec", None)
    example = callspec.params.get("_pytest_bdd_example") if callspec is not None else None
    if example:
        lines.append("  example: " + ", ".join(f"{k} = {v}" for k, v in example.items()))
    lines.append("")
    reached = False
    for each in scenario.steps:
        if each is step:
            marker, note, reached = ">>> ", "   <- this step failed", True
        else:
            marker, note = "    ", "   (not run)" if reached else ""
        lines.append(f"{marker}{each.keyword} {each.name}{note}")
    lines += ["", f"Failed step (line {step.line_number}): {step.keyword} {step.name}"]
    lines += [str(failed.exception), "", "(Run pytest with --tb=long to see the Python traceback.)"]
    return "\n".join(lines)


# -- collecting .feature files directly (ini option rsa_rules_collect_features) -----------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if (
        HAVE_PYTEST_BDD
        and file_path.suffix == ".feature"
        and parent.config.getini("rsa_rules_collect_features")
    ):
        return FeatureFile.from_parent(parent, path=file_path)
    return None


class FeatureFile(pytest.Module):
    """A ``.feature`` file collected as if a test module bound all its scenarios."""

    def _getobj(self) -> types.ModuleType:
        module = types.ModuleType(f"rsa_rules_feature_{self.path.stem}")
        module.__file__ = str(self.path)
        code = compile(
            "from pytest_bdd import scenarios\n"
            "scenarios(__feature__, features_base_dir=__feature_dir__)\n",
            str(self.path),
            "exec",
        )
        namespace = module.__dict__
        namespace["__feature__"] = str(self.path)
        namespace["__feature_dir__"] = str(self.path.parent)
        exec(code, namespace)  # noqa: S102 - fixed code: pytest-bdd binds the scenarios here
        return module
