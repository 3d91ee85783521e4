"""The public API is small, sorted and pinned: outside users depend on it."""

from __future__ import annotations

import rsa_rules

EXPECTED = [
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


def test_exported_names_are_pinned_and_sorted() -> None:
    assert rsa_rules.__all__ == EXPECTED
    assert sorted(rsa_rules.__all__) == rsa_rules.__all__
    for name in rsa_rules.__all__:
        assert hasattr(rsa_rules, name), name


def test_errors_are_value_errors_where_the_contract_says() -> None:
    assert issubclass(rsa_rules.FactsError, ValueError)
    assert issubclass(rsa_rules.KnowledgeError, ValueError)
    for error in (rsa_rules.FhirError, rsa_rules.JsonTextError):
        assert issubclass(error, rsa_rules.RsaRulesError)
        assert issubclass(error, ValueError)
    from rsa_rules.adapters.fhir import FhirError
    from rsa_rules.jsontext import JsonTextError

    assert (FhirError, JsonTextError) == (rsa_rules.FhirError, rsa_rules.JsonTextError)
    assert issubclass(rsa_rules.UnknownInterventionError, ValueError)
    assert issubclass(rsa_rules.EngineError, rsa_rules.RsaRulesError)


def test_the_package_is_typed() -> None:
    from importlib.resources import files

    assert files("rsa_rules").joinpath("py.typed").is_file()


def test_the_knowledge_base_is_package_data() -> None:
    from importlib.resources import files

    assert files("rsa_rules.rules").joinpath("pack.yaml").is_file()
