"""rsa-rules: explainable, rule-based clinical decision support for recurrent pregnancy loss.

    >>> import rsa_rules
    >>> evaluation = rsa_rules.evaluate({"pregnancy_history": {"loss_count": 3}})
    >>> [r.rule_id for r in evaluation.recommendations][:2]
    ['RSA-SUPPORT-PRENATAL', 'RSA-TEST-APL']

Patient facts go in (a dict in the documented format, or :class:`PatientFacts`); ranked,
explained recommendations come out. The knowledge base is data (``rules/``), executed by
durable_rules. This is decision support: a clinician reviews the basis of every item.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from . import rendering  # noqa: F401 - it registers the result renderers
from ._version import __version__
from .cohort import evaluate_many
from .engine import Engine, default_engine
from .errors import (
    EngineError,
    FactsError,
    FhirError,
    JsonTextError,
    KnowledgeError,
    RsaRulesError,
    UnknownInterventionError,
)
from .knowledge.loader import KnowledgeBase, load_knowledge
from .models.facts import PatientFacts
from .models.results import (
    Citation,
    Evaluation,
    Evidence,
    Finding,
    Reason,
    Recommendation,
    WhyNot,
)

__all__ = [
    "Citation",
    "Engine",
    "EngineError",
    "Evaluation",
    "Evidence",
    "FactsError",
    "FhirError",
    "Finding",
    "JsonTextError",
    "KnowledgeBase",
    "KnowledgeError",
    "PatientFacts",
    "Reason",
    "Recommendation",
    "RsaRulesError",
    "UnknownInterventionError",
    "WhyNot",
    "__version__",
    "default_engine",
    "evaluate",
    "evaluate_many",
    "load_knowledge",
]


def evaluate(facts: Mapping[str, Any] | PatientFacts, as_of: date | None = None) -> Evaluation:
    """Evaluate one patient with the default knowledge base.

    ``as_of`` is the evaluation date (default: today): a result or loss dated after it is an
    error naming its field.
    """
    return default_engine().evaluate(facts, as_of)
