"""Shared fixtures: one engine per test session (durable_rules wants one host per process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rsa_rules
from rsa_rules.knowledge.loader import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
RULES = ROOT / "rules"


@pytest.fixture(scope="session")
def engine() -> rsa_rules.Engine:
    return rsa_rules.default_engine()


@pytest.fixture(scope="session")
def kb(engine: rsa_rules.Engine) -> KnowledgeBase:
    return engine.knowledge


def load_example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return data
