"""FHIR R4 in: ``rsa_rules.fhir.facts_from_bundle(bundle)`` reads patient facts from FHIR.

See :mod:`rsa_rules.adapters.fhir` for what is read and how; the code lists are data in
``rules/fhir-codes.yaml`` (:mod:`rsa_rules.adapters.codes`). Needs ``rsa-rules[fhir]``.
"""

from __future__ import annotations

from .adapters.codes import CodeBook, load_code_book
from .adapters.fhir import AdapterNote, FhirError, FhirFacts, UnusedResource, facts_from_bundle

__all__ = [
    "AdapterNote",
    "CodeBook",
    "FhirError",
    "FhirFacts",
    "UnusedResource",
    "facts_from_bundle",
    "load_code_book",
]
