"""A one-way house: no module imports from a layer above its own, and none imports the
package root (``rsa_rules/__init__.py`` is the front door, for users only).

Layers, lowest first: the base (errors, limits, text helpers), models, knowledge, engine,
rendering and adapters, and the applications (service, cohort, bdd, command line). Every
``import`` counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "rsa_rules"

LAYERS: dict[str, int] = {
    "_compat": 0,
    "_version": 0,
    "errors": 0,
    "limits": 0,
    "jsontext": 0,
    "textsafe": 0,
    "synthetic": 0,
    "models": 1,
    "knowledge": 2,
    "rules": 2,
    "engine": 3,
    "rendering": 4,
    "adapters": 4,
    "fhir": 4,
    "service": 5,
    "cohort": 5,
    "bdd": 5,
    "cli": 5,
    "__main__": 5,
}
NAMES = ["base", "models", "knowledge", "engine", "rendering and adapters", "applications"]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int]]:
    """The rsa_rules modules (or names) this file imports, with their lines."""
    module = _module(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(text: str, package: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("rsa_rules")]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] == "rsa_rules":
                found.append((target, node.lineno))
    return sorted(found, key=lambda item: item[1])


def _layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1]] if len(parts) > 1 else len(NAMES)


FILES = sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer() -> None:
    for path in FILES:
        module = _module(path)
        if module != "rsa_rules":
            assert module.split(".")[1] in LAYERS, f"{module}: add it to a layer"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down_only(path: Path) -> None:
    module = _module(path)
    if module == "rsa_rules":
        return  # the front door imports what it offers
    problems = []
    for target, line in _imports(path):
        if target == "rsa_rules":
            problems.append(f"line {line}: imports the package root; import the module instead")
        elif _layer(target) > _layer(module):
            problems.append(
                f"line {line}: {NAMES[_layer(module)]} imports {target} "
                f"({NAMES[_layer(target)]}, above it)"
            )
    assert not problems, f"{module}: " + "; ".join(problems)


def test_the_result_models_reach_their_renderers_by_registration() -> None:
    """Evaluation.to_text, to_cds_cards, to_frame and _repr_html_ are public API on a model:
    the renderers above register with the models instead of being imported by them."""
    import rsa_rules  # noqa: F401 - the package registers the renderers
    from rsa_rules.models import results

    assert set(results._RENDERERS) == {"text", "why-not text", "cds cards", "frame", "html"}


def test_the_check_sees_an_upward_import_and_the_root() -> None:
    text = "def f():\n    from ..service.app import create_app\nimport rsa_rules\n"
    imports = _imports_in(text, "rsa_rules.models")  # as if in rsa_rules/models/probe.py
    assert imports == [("rsa_rules.service.app", 2), ("rsa_rules", 3)]
    assert _layer("rsa_rules.service.app") > _layer("rsa_rules.models.probe")


def test_no_renderer_builds_an_engine() -> None:
    """Renderers take values and knowledge: none builds or reaches an engine."""
    found: list[str] = []
    for path in sorted((PACKAGE / "rendering").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names}
                if names & {"Engine", "default_engine", "evaluate"}:
                    found.append(f"{path.name}:{node.lineno}")
            elif isinstance(node, ast.Name | ast.Attribute):
                name = node.id if isinstance(node, ast.Name) else node.attr
                if name in ("default_engine", "Engine"):
                    found.append(f"{path.name}:{node.lineno}")
    assert not found, found
