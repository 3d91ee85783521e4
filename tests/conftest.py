"""Shared fixtures: one engine per test session (durable_rules wants one host per process)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
from rsa_rules.knowledge.loader import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RULES = ROOT / "rules"


@pytest.fixture(scope="session", autouse=True)
def _private_data_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test writes to the user's data directory (the service's default database is there)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


@pytest.fixture(scope="session")
def engine() -> rsa_rules.Engine:
    return rsa_rules.default_engine()


@pytest.fixture(scope="session")
def kb(engine: rsa_rules.Engine) -> KnowledgeBase:
    return engine.knowledge


def load_example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data
