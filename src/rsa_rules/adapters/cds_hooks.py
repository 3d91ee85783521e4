"""CDS Hooks 2.0: the services' discovery entries (with their prefetch templates), and
requests in: a hook request read and checked, its draft orders, an OperationOutcome's text.

The cards out, and which recommendations are worth one, are :mod:`rsa_rules.rendering.cards`.
Which orders each service checks and how FHIR statuses read are data
(``rules/fhir-codes.yaml``, ``cds_hooks`` and ``statuses``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..engine import default_engine
from .codes import CodeBook, load_code_book

if TYPE_CHECKING:
    from .fhir_facts import FhirFacts

__all__ = [
    "HOOKS",
    "SUMMARY_LIMIT",
    "USAGE_REQUIREMENTS",
    "DraftOrder",
    "HookRequest",
    "ServiceDefinition",
    "bundle_references",
    "discovery_document",
    "draft_orders",
    "operation_outcome_text",
    "parse_hook_request",
    "prefetch_templates",
    "services",
    "shorten",
]

HOOKS = ("patient-view", "order-sign", "order-select")
SUMMARY_LIMIT = 140  # a summary has fewer characters than this
Indicator = Literal["info", "warning", "critical"]

USAGE_REQUIREMENTS = (
    "Sign each call with a JWT from an issuer this service trusts (its JWK Set configured, or "
    "a jku on its allow-list). Send the prefetch data, or a fhirServer on this service's "
    "allow-list with an access token that can read Patient, Condition, Observation, "
    "Procedure, AllergyIntolerance, MedicationRequest and ServiceRequest. Browser clients: "
    "from an origin the service allows (CORS)."
)


# -- services and discovery -------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceDefinition:
    """One CDS Service of the discovery document."""

    id: str
    hook: str
    title: str
    description: str
    prefetch: Mapping[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "hook": self.hook,
            "title": self.title,
            "description": self.description,
            "id": self.id,
            "prefetch": dict(self.prefetch),
            "usageRequirements": USAGE_REQUIREMENTS,
        }


def prefetch_templates(
    codes: CodeBook | None = None, *, narrow_conditions: bool = False
) -> dict[str, str]:
    """The prefetch templates: the patient, conditions, the coded observations and procedures,
    allergies, and requests.

    Observations and procedures are narrowed by token searches on every code of the code lists
    (confirmed or not: an unconfirmed code is read only with its text, but the search must
    still find it), within the query subset of CDS Hooks 2.0 (token equality).

    Conditions are fetched whole unless ``narrow_conditions``: some concepts are read from
    their text alone (heparin-induced thrombocytopenia, PCOS, a loss recorded without a code),
    and no token search can find them, so narrowing would leave a contraindication unknown.
    Narrowed, the search names every code of the Condition code lists, and for an ICD-10
    category (a token search matches whole codes only; ``:below`` is outside the subset) the
    category code and every code under it that the code list names (``search``).
    """
    book = codes or load_code_book()

    uris = {system.id: system.uris for system in book.spec.systems}

    def token(system: str, code: str) -> str:
        # A code system written under several URIs (ICD-10 and ICD-10-CM) is searched by the
        # code alone, which matches it under any of them.
        return code if len(uris[system]) > 1 else f"{book.system_uri[system]}|{code}"

    def coded(resource: str) -> str:
        return ",".join(
            dict.fromkeys(
                token(entry.system, code)
                for concept in book.spec.concepts
                if concept.resource == resource
                for entry in concept.codes
                if entry.match == "exact" or resource == "Condition"
                for code in (entry.code, *entry.search)
            )
        )

    observation_codes = coded("Observation")
    procedure_codes = coded("Procedure")
    observation_statuses = ",".join(book.statuses.observation)
    under_way = default_engine().knowledge.under_way
    current = {
        kind: ",".join(status for status, mapped in mapping.items() if mapped in under_way)
        for kind, mapping in book.statuses.requests.items()
    }
    patient = "{{context.patientId}}"
    return {
        "patient": f"Patient/{patient}",
        "conditions": (
            f"Condition?patient={patient}&code={coded('Condition')}"
            if narrow_conditions
            else f"Condition?patient={patient}"
        ),
        "observations": (
            f"Observation?patient={patient}&code={observation_codes}&status={observation_statuses}"
        ),
        "medications": f"MedicationRequest?patient={patient}&status={current['MedicationRequest']}",
        "services": f"ServiceRequest?patient={patient}&status={current['ServiceRequest']}",
        "procedures": f"Procedure?patient={patient}&code={procedure_codes}",
        "allergies": f"AllergyIntolerance?patient={patient}",
    }


def services(
    codes: CodeBook | None = None, *, narrow_conditions: bool = False
) -> tuple[ServiceDefinition, ...]:
    """The three services: patient-view, order-sign and order-select. The orders checked
    are the code lists' (``cds_hooks.order_checks``), named by the knowledge base."""
    book = codes or load_code_book()
    prefetch = prefetch_templates(book, narrow_conditions=narrow_conditions)
    checked = _named(book.cds.order_checks)
    return (
        ServiceDefinition(
            "rsa-rules-patient-view",
            "patient-view",
            "Recurrent pregnancy loss: explained recommendations",
            "Reads pregnancy losses, antiphospholipid and thrombophilia results, Rh type and "
            "current treatments, and returns explained recommendations for recurrent pregnancy "
            "loss (tests, treatments, what to avoid), each with its evidence and sources.",
            prefetch,
        ),
        ServiceDefinition(
            "rsa-rules-order-sign",
            "order-sign",
            "Recurrent pregnancy loss: check orders before signing",
            f"Checks draft orders of {checked} against the evidence for recurrent pregnancy "
            "loss: an order the guidance advises against returns a card saying why.",
            prefetch,
        ),
        ServiceDefinition(
            "rsa-rules-order-select",
            "order-select",
            "Recurrent pregnancy loss: check selected orders",
            f"Checks the selected orders of {checked} against the evidence for recurrent "
            "pregnancy loss, as they are chosen.",
            prefetch,
        ),
    )


def _named(interventions: Iterable[str]) -> str:
    """The interventions by their labels in the bundled knowledge base: "a, b and c"."""
    kb = default_engine().knowledge
    labels = [kb.interventions[key].label for key in interventions]
    return ", ".join(labels[:-1]) + f" and {labels[-1]}" if len(labels) > 1 else "".join(labels)


def discovery_document(
    codes: CodeBook | None = None, *, narrow_conditions: bool = False
) -> dict[str, Any]:
    """``GET /cds-services``: every service with its prefetch templates."""
    return {
        "services": [
            service.to_dict() for service in services(codes, narrow_conditions=narrow_conditions)
        ]
    }


# -- requests ---------------------------------------------------------------------------------


class FhirAuthorization(BaseModel):
    """The access token a CDS client may give the service for its FHIR server."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: str = Field(min_length=1)
    token_type: Literal["Bearer"]
    expires_in: int = Field(ge=0)
    scope: str
    subject: str


class HookRequest(BaseModel):
    """A CDS Hooks service call (the JSON body of ``POST /cds-services/{id}``)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    hook: str = Field(min_length=1)
    hookInstance: str = Field(min_length=1)
    fhirServer: str | None = Field(default=None, min_length=1)
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("fhirServer must be an http(s) URL")
        return value

    def context_text(self, name: str, *, required: bool = True) -> str | None:
        value = self.context.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value:
            raise ValueError(f"context.{name} must be a non-empty string")
        return value

    def check_context(self) -> None:
        """Check the hook's context (patientId; draftOrders and selections for orders)."""
        if self.fhirAuthorization is not None and self.fhirServer is None:
            raise ValueError("fhirAuthorization is given without fhirServer")
        self.context_text("patientId")
        self.context_text("userId", required=False)
        if self.hook in ("order-sign", "order-select"):
            draft = self.context.get("draftOrders")
            if not isinstance(draft, dict) or draft.get("resourceType") != "Bundle":
                raise ValueError("context.draftOrders must be a FHIR Bundle")
        if self.hook == "order-select":
            selections = self.context.get("selections")
            if (
                not isinstance(selections, list)
                or not selections
                or not all(isinstance(s, str) and s for s in selections)
            ):
                raise ValueError("context.selections must be a list of resource references")


def parse_hook_request(document: Any, hook: str) -> HookRequest:
    """Validate a request body for ``hook``; ``ValueError`` names what is wrong."""
    if not isinstance(document, dict):
        raise ValueError("the request body must be a JSON object")
    try:
        request = HookRequest.model_validate(document)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(p) for p in item['loc']) or '(body)'}: "
            f"{item['msg'].removeprefix('Value error, ')}"
            for item in error.errors()
        ]
        raise ValueError("; ".join(problems)) from None
    if request.hook != hook:
        raise ValueError(f"this service answers the {hook} hook, not {request.hook!r}")
    request.check_context()
    return request


# -- draft orders -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DraftOrder:
    """A draft order read from the hook context: its resource, intervention and facts path."""

    reference: str
    intervention: str
    path: str


def bundle_references(bundle: Mapping[str, Any]) -> list[str]:
    """The references of a Bundle's resources, as the FHIR adapter names them."""
    references: list[str] = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, Mapping) else None
        if not isinstance(resource, Mapping):
            continue
        kind, resource_id = resource.get("resourceType"), resource.get("id")
        url = entry.get("fullUrl")
        if isinstance(kind, str) and isinstance(resource_id, str) and resource_id:
            references.append(f"{kind}/{resource_id}")
        elif isinstance(url, str) and url:
            references.append(url)
    return references


def draft_orders(fhir: FhirFacts, references: Iterable[str]) -> list[DraftOrder]:
    """The treatments read from these draft resources (others are not orders we check)."""
    wanted = set(references)
    orders: list[DraftOrder] = []
    for index, treatment in enumerate(fhir.facts.treatments or ()):
        path = f"treatments.{index}"
        for reference in fhir.sources.get(path, ()):
            if reference in wanted:
                orders.append(DraftOrder(reference, treatment.intervention, path))
    return orders


# -- FHIR responses ------------------------------------------------------------------------


def operation_outcome_text(outcome: Mapping[str, Any]) -> str:
    """What an OperationOutcome says: its issues' severity, code and text, shortened."""
    parts: list[str] = []
    for issue in outcome.get("issue") or ():
        if not isinstance(issue, Mapping):
            continue
        details = issue.get("details")
        text = issue.get("diagnostics") or (
            details.get("text") if isinstance(details, Mapping) else None
        )
        words = [str(issue.get(k)) for k in ("severity", "code") if isinstance(issue.get(k), str)]
        if isinstance(text, str) and text:
            words.append(text)
        if words:
            parts.append(" ".join(words))
    return shorten("; ".join(parts), 300) or "an OperationOutcome without issues"


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"
