"""CDS Hooks 2.0: the services' discovery entries, requests in, and cards out.

    >>> cards = evaluation.to_cds_cards()                        # doctest: +SKIP
    >>> cards = evaluation_to_cards(evaluation, fhir=read, patient_id="123")  # doctest: +SKIP

Cards follow the CDS Hooks 2.0 response rules (https://cds-hooks.hl7.org/2.0/): a ``summary``
under 140 characters, an ``indicator`` of ``info``, ``warning`` or ``critical``, a ``source``
with a label and a URL or topic, a ``uuid``, ``selectionBehavior`` whenever there are
suggestions, and no null or empty value anywhere. The detail (GitHub-flavoured Markdown) is
the explanation: the recommendation, why (down to the FHIR resources when the facts came from
FHIR), the evidence and its conflicts, cautions and sources.

Which recommendations are worth a card: every one except an ``avoid`` about something no one
has proposed (``include_avoid=True`` adds those). An alert whose order states that it is to
prevent miscarriage (certainty ``stated``) and a recommendation blocked by a contraindication
are ``warning`` cards with override reasons; an alert inferred (no reason stated, recurrent
loss established) is an ``info`` card with override reasons; the others are ``info``. Test
recommendations suggest draft orders for the tests named, where the code lists hold a
confirmed code.

Code systems for override reasons and topics, the tests that can be ordered and how draft
orders relate to recommendations are data (``rules/fhir-codes.yaml``, ``cds_hooks``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..engine.explain import knowledge_of
from ..models.results import Citation, Evaluation, Reason, Recommendation
from .codes import CodeBook, CodeEntry, Concept, load_code_book

if TYPE_CHECKING:
    from ..knowledge.loader import KnowledgeBase
    from .fhir_facts import FhirFacts

__all__ = [
    "HOOKS",
    "SUMMARY_LIMIT",
    "USAGE_REQUIREMENTS",
    "DraftOrder",
    "HookRequest",
    "ServiceDefinition",
    "bundle_references",
    "data_card",
    "discovery_document",
    "draft_orders",
    "evaluation_to_cards",
    "operation_outcome_text",
    "order_cards",
    "parse_hook_request",
    "prefetch_templates",
    "prune",
    "services",
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

_ACTION_WORDS = {
    "recommend": "Recommend",
    "consider": "Consider",
    "avoid": "Avoid",
    "test": "Test",
    "refer": "Refer",
}
_FOOTER = (
    "_Decision support from rsa-rules: a clinician reviews the basis of every item. "
    "Knowledge base {name} {version}._"
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
    current = {
        kind: ",".join(
            status
            for status, mapped in mapping.items()
            if mapped in ("proposed", "ordered", "active")
        )
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
    """The three services: patient-view, order-sign and order-select."""
    prefetch = prefetch_templates(codes, narrow_conditions=narrow_conditions)
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
            "Checks draft orders of IVIg, lymphocyte immunotherapy, heparin and aspirin against "
            "the evidence for recurrent pregnancy loss: an order the guidance advises against "
            "(no confirmed thrombophilia, unsupported immunotherapy) returns a warning card.",
            prefetch,
        ),
        ServiceDefinition(
            "rsa-rules-order-select",
            "order-select",
            "Recurrent pregnancy loss: check selected orders",
            "Checks the selected orders of IVIg, lymphocyte immunotherapy, heparin and aspirin "
            "against the evidence for recurrent pregnancy loss, as they are chosen.",
            prefetch,
        ),
    )


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


# -- cards ------------------------------------------------------------------------------------


@dataclass
class _Context:
    evaluation: Evaluation
    codes: CodeBook
    fhir: FhirFacts | None
    patient: str | None
    labels: Mapping[str, str]  # fact label -> fact name


def evaluation_to_cards(
    evaluation: Evaluation,
    *,
    fhir: FhirFacts | None = None,
    patient_id: str | None = None,
    include_avoid: bool = False,
    codes: CodeBook | None = None,
    knowledge: KnowledgeBase | None = None,
) -> list[dict[str, Any]]:
    """CDS Hooks 2.0 cards for the recommendations worth one (alerts first).

    ``fhir``: the facts' FHIR provenance (explanations then show resource references, and
    the card notes how the data was read). ``patient_id``: the FHIR patient id, needed for
    suggestions that create orders (default: the patient ``fhir`` was read for).
    ``include_avoid``: also give cards for ``avoid`` advice about things no one proposed.
    ``knowledge``: the knowledge base that evaluated (default: the bundled one), used to name
    the tests a card suggests ordering.
    """
    context = _context(evaluation, fhir, patient_id, codes, knowledge)
    cards: list[dict[str, Any]] = []
    for recommendation in evaluation.recommendations:
        if recommendation.action == "avoid" and not recommendation.alert and not include_avoid:
            continue
        warning = _stated_alert(recommendation) or bool(recommendation.blocked)
        suggestions, unordered = _test_suggestions(recommendation, context)
        cards.append(
            _card(
                recommendation,
                context,
                indicator="warning" if warning else "info",
                suggestions=suggestions,
                override=warning or recommendation.alert,
                orders=_current_orders(recommendation, fhir),
                unordered=unordered,
            )
        )
    return cards


def _current_orders(recommendation: Recommendation, fhir: FhirFacts | None) -> list[DraftOrder]:
    """For an alert: the resources that propose, order or give what it advises against."""
    if not recommendation.alert or fhir is None:
        return []
    orders: list[DraftOrder] = []
    for index, treatment in enumerate(fhir.facts.treatments or ()):
        if (
            treatment.intervention == recommendation.intervention
            and treatment.status != "completed"
        ):
            path = f"treatments.{index}"
            orders.extend(
                DraftOrder(ref, treatment.intervention, path) for ref in fhir.sources[path]
            )
    return orders


def order_cards(
    evaluation: Evaluation,
    orders: Sequence[DraftOrder],
    *,
    fhir: FhirFacts | None = None,
    patient_id: str | None = None,
    codes: CodeBook | None = None,
    knowledge: KnowledgeBase | None = None,
) -> list[dict[str, Any]]:
    """Cards about draft orders: the advice against one (an alert, or a contraindication that
    blocks it) is a ``warning`` with override reasons and a suggestion to remove the order;
    other advice that the order itself triggered (e.g. specialist review of heparin with a
    history of thrombosis) is ``info``."""
    context = _context(evaluation, fhir, patient_id, codes, knowledge)
    checks = context.codes.cds.order_checks
    cards: list[dict[str, Any]] = []
    for recommendation in evaluation.recommendations:
        paths = {path for leaf in _leaves(recommendation.because) for path in leaf.paths}
        warned: list[DraftOrder] = []
        related: list[DraftOrder] = []
        loud = False
        for order in orders:
            concerned = checks.get(order.intervention, (order.intervention,))
            alert = recommendation.alert and recommendation.intervention in concerned
            blocked = any(b.intervention in concerned for b in recommendation.blocked)
            if alert or blocked:
                warned.append(order)
                loud = loud or blocked or _stated_alert(recommendation)
            elif order.path in paths:
                related.append(order)
        if not warned and not related:
            continue
        suggestions = _removal(warned, recommendation) if warned else []
        cards.append(
            _card(
                recommendation,
                context,
                indicator="warning" if loud else "info",
                suggestions=suggestions,
                override=bool(warned),
                orders=warned or related,
            )
        )
    return cards


def _stated_alert(recommendation: Recommendation) -> bool:
    """A ``warning`` needs certainty: the order says it is to prevent miscarriage.

    An alert inferred (no reason stated, recurrent loss established) is ``info``: the order
    may be for another indication (clinical specification 5.1).
    """
    return recommendation.alert and recommendation.alert_certainty == "stated"


def data_card(
    fhir: FhirFacts,
    *,
    orders: Iterable[str] = (),
    evaluation: Evaluation | None = None,
    codes: CodeBook | None = None,
    unavailable: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any] | None:
    """An ``info`` card listing the FHIR resources that were recognised but not used (an
    unreadable draft order of one of the engine's interventions: "could not be checked"),
    values that disagreed and data the client could not provide; None when there are none.

    A resource that is neither recognised by the code lists nor readable (e.g. an unrelated
    draft order that strict R4 parsing rejects) is not about this engine: it gets no card
    and stays in the report."""
    problems = [
        u for u in fhir.unused if u.status == "not-used" or (u.status == "invalid" and u.concept)
    ]
    conflicts = [n for n in fhir.notes if n.kind == "conflict"]
    if not problems and not unavailable:  # a conflict always leaves its resources unused too
        return None
    draft = set(orders)
    unreadable = [u for u in problems if u.reference in draft]
    count = len({u.reference for u in problems})
    if unreadable:
        labels = sorted({u.concept or u.resource_type for u in unreadable})
        summary = f"A draft order could not be checked ({', '.join(labels)}): it could not be read"
    elif unavailable:
        keys = ", ".join(item["prefetch"] for item in unavailable)
        summary = f"Patient data was unavailable ({keys}): advice may be missing"
    else:
        summary = (
            f"{count} FHIR resource{'s' if count != 1 else ''} could not be used for this advice"
        )
    lines = [
        "Unknown is not negative: data that could not be read leaves a fact unknown, so advice "
        "that needs it may be missing.",
        "",
    ]
    if unavailable:
        lines.append("**Unavailable** (the EHR answered with an OperationOutcome)")
        lines.extend(f"- {_md(item['prefetch'])}: {_md(item['reason'])}" for item in unavailable)
        lines.append("")
    if problems:
        lines.append("**Not used**")
        lines.extend(f"- `{u.reference}`: {_md(u.reason)}" for u in problems)
        lines.append("")
    if conflicts:
        lines.append("**Values that disagree**")
        lines.extend(f"- {_md(n.text)}" for n in conflicts)
        lines.append("")
    unrecognised = [
        u.reference
        for u in fhir.unused
        if u.status == "unrecognised" or (u.status == "invalid" and not u.concept)
    ]
    if unrecognised:
        shown = ", ".join(f"`{r}`" for r in unrecognised[:20])
        more = f" and {len(unrecognised) - 20} more" if len(unrecognised) > 20 else ""
        lines.append(
            f"Not recognised by the code lists (not about recurrent pregnancy loss as far as "
            f"this service knows): {shown}{more}."
        )
        lines.append("")
    if evaluation is not None:
        lines.append(_footer(evaluation))
    card = {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(summary),
        "detail": "\n".join(lines).strip(),
        "indicator": "info",
        "source": {
            "label": "rsa-rules FHIR adapter (rules/fhir-codes.yaml)",
            "topic": {
                "system": (codes or load_code_book()).cds.topic_system,
                "code": "fhir-data",
                "display": "FHIR data the service could not use",
            },
        },
    }
    return _pruned(card)


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
    return _short("; ".join(parts), 300) or "an OperationOutcome without issues"


def _context(
    evaluation: Evaluation,
    fhir: FhirFacts | None,
    patient_id: str | None,
    codes: CodeBook | None,
    knowledge: KnowledgeBase | None,
) -> _Context:
    if knowledge is None:
        knowledge = knowledge_of(evaluation)
    labels = {spec.label: name for name, spec in knowledge.facts.items()} if knowledge else {}
    patient = patient_id or (fhir.patient.partition("/")[2] if fhir and fhir.patient else None)
    return _Context(evaluation, codes or load_code_book(), fhir, patient, labels)


def _card(
    recommendation: Recommendation,
    context: _Context,
    *,
    indicator: Indicator,
    suggestions: list[dict[str, Any]],
    override: bool,
    orders: Sequence[DraftOrder] = (),
    unordered: Sequence[str] = (),
) -> dict[str, Any]:
    cds = context.codes.cds
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "summary": _summary(recommendation.summary),
        "detail": _detail(recommendation, context, orders, unordered),
        "indicator": indicator,
        "source": _source(recommendation, cds.topic_system),
    }
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = "any" if len(suggestions) > 1 else "at-most-one"
    if override:
        card["overrideReasons"] = [
            {"code": reason.code, "system": cds.override_reason_system, "display": reason.display}
            for reason in cds.override_reasons
        ]
    card["links"] = _links(recommendation.citations)
    return _pruned(card)


def _source(recommendation: Recommendation, topic_system: str) -> dict[str, Any]:
    primary = recommendation.citations[0]
    source: dict[str, Any] = {
        "label": _short(primary.dated_title, 100),
        "topic": {
            "system": topic_system,
            "code": recommendation.rule_id,
            "display": recommendation.title,
        },
    }
    link = primary.link
    if link and link.startswith(("https://", "http://")):
        source["url"] = link
    return source


def _links(citations: Sequence[Citation]) -> list[dict[str, str]]:
    links: dict[str, dict[str, str]] = {}
    for citation in citations:
        link = citation.link
        if link and link.startswith(("https://", "http://")) and link not in links:
            links[link] = {
                "label": _short(citation.dated_title, 120),
                "url": link,
                "type": "absolute",
            }
    return list(links.values())


def _detail(
    recommendation: Recommendation,
    context: _Context,
    orders: Sequence[DraftOrder],
    unordered: Sequence[str],
) -> str:
    r = recommendation
    word = _ACTION_WORDS[r.action]
    lines = [
        f"**{word}: {_md(r.intervention_label)}** (rule `{r.rule_id}` v{r.rule_version}; "
        f"evidence: {_md(r.evidence.grade)})",
        "",
    ]
    if orders:
        shown = ", ".join(f"`{o.reference}`" for o in orders)
        lines += [f"Order{'s' if len(orders) > 1 else ''} concerned: {shown}", ""]
    if r.detail:
        lines += [_md(r.detail), ""]
    if r.due is not None and r.due.isoformat() not in (r.detail or ""):
        lines += [f"Due on or after {r.due.isoformat()}.", ""]
    if unordered:
        lines += [
            f"No order is suggested for {_md(', '.join(unordered))}: the code lists hold no "
            "confirmed code for it; order it with the local test code.",
            "",
        ]
    because = context.fhir.cite(r.because) if context.fhir else r.because
    if because:
        lines.append("**Why**")
        lines.extend(_reason_lines(because, 0))
        lines.append("")
    for title, items in (
        ("Notes", [_md(n) for n in r.notes + r.evidence.notes]),
        ("Cautions", [_md(c) for c in r.cautions]),
        (
            "Blocked by this safety rule",
            [f"{_md(b.summary)} (`{b.rule_id}`)" for b in r.blocked],
        ),
        (
            "Conflicting evidence",
            [f"{_cite_short(c.citation)}: {_md(c.finding)}" for c in r.evidence.conflicts],
        ),
        (
            "Contradicted claims",
            [
                f"{_cite_short(c.citation)}: {_md(c.claim)} (contradicted by "
                f"{', '.join(x.id for x in c.contradicted_by)})"
                for c in r.evidence.contradicted_claims
            ],
        ),
        ("Sources", [_cite_long(c) for c in r.citations]),
    ):
        if items:
            lines.append(f"**{title}**")
            lines.extend(f"- {item}" for item in items)
            lines.append("")
    if context.fhir is not None:
        paths = {path for leaf in _leaves(r.because) for path in leaf.paths}
        notes = context.fhir.notes_for(paths)
        if notes:
            lines.append("**How the FHIR data was read**")
            lines.extend(f"- {_md(note.text)}" for note in notes)
            lines.append("")
    lines.append(_footer(context.evaluation))
    return "\n".join(lines)


def _footer(evaluation: Evaluation) -> str:
    return _FOOTER.format(name=evaluation.knowledge.name, version=evaluation.knowledge.version)


def _reason_lines(reasons: Sequence[Reason], depth: int) -> list[str]:
    lines: list[str] = []
    for reason in reasons:
        where = f" ({', '.join(f'`{p}`' for p in reason.paths)})" if reason.paths else ""
        lines.append(f"{'  ' * depth}- {_md(reason.text)}{where}")
        if depth < 3:
            lines.extend(_reason_lines(reason.because, depth + 1))
    return lines


def _leaves(reasons: Sequence[Reason]) -> list[Reason]:
    return [leaf for reason in reasons for leaf in reason.leaves()]


def _cite_short(citation: Citation) -> str:
    return f"[{citation.id}] {_md(citation.dated_title)}"


def _cite_long(citation: Citation) -> str:
    text = f"{_cite_short(citation)}: {_md(citation.note)}"
    link = citation.link
    if link and link.startswith(("https://", "http://")):
        text += f" <{link}>"
    elif citation.publisher:
        text += f" ({_md(citation.publisher)})"
    return text


def _test_suggestions(
    recommendation: Recommendation, context: _Context
) -> tuple[list[dict[str, Any]], list[str]]:
    """Draft orders for the tests a recommendation names; and the tests with no order code."""
    if recommendation.action not in ("test", "consider") or context.patient is None:
        return [], []
    cds = context.codes.cds
    wanted: list[tuple[str, bool]] = []
    for label in recommendation.not_yet_done:
        if label in context.labels:
            wanted.append((context.labels[label], True))
    for label in recommendation.optional_not_yet_done:
        if label in context.labels:
            wanted.append((context.labels[label], False))
    if not recommendation.not_yet_done and not recommendation.optional_not_yet_done:
        named = [
            leaf.id
            for leaf in _leaves(recommendation.because)
            if leaf.kind == "fact" and leaf.status == "met" and leaf.id in cds.test_orders
        ]
        named = named or list(cds.intervention_tests.get(recommendation.intervention, ()))
        wanted.extend((fact, True) for fact in named)
    suggestions: list[dict[str, Any]] = []
    unordered: list[str] = []
    seen: set[str] = set()
    for fact, core in wanted:
        concept_id = cds.test_orders.get(fact)
        if concept_id is None or concept_id in seen:
            continue
        seen.add(concept_id)
        concept = context.codes.concepts[concept_id]
        code = concept.order_code
        if code is None:
            unordered.append(concept.label)
            continue
        suggestions.append(_order_suggestion(recommendation, context, concept, code, core))
    return suggestions, unordered


def _order_suggestion(
    recommendation: Recommendation,
    context: _Context,
    concept: Concept,
    code: CodeEntry,
    core: bool,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": f"Patient/{context.patient}"},
        "code": {
            "coding": [
                {
                    "system": context.codes.system_uri[code.system],
                    "code": code.code,
                    "display": code.display,
                }
            ],
            "text": concept.label,
        },
        "reasonCode": [{"text": recommendation.summary}],
    }
    if recommendation.due is not None:
        resource["occurrencePeriod"] = {"start": recommendation.due.isoformat()}
    system_name = context.codes.system_names[code.system]
    return {
        "label": _short(f"Order {concept.label}", 100),
        "uuid": str(uuid.uuid4()),
        "isRecommended": recommendation.action == "test" and core,
        "actions": [
            {
                "type": "create",
                "description": (
                    f"Create a draft order for {concept.label} ({system_name} {code.code})"
                ),
                "resource": resource,
            }
        ],
    }


def _removal(orders: Sequence[DraftOrder], recommendation: Recommendation) -> list[dict[str, Any]]:
    removable = [o for o in orders if re.match(r"^[A-Za-z]+/[A-Za-z0-9\-.]{1,64}$", o.reference)]
    if not removable:
        return []
    label = recommendation.intervention_label
    return [
        {
            "label": _short(
                f"Remove the draft order{'s' if len(removable) > 1 else ''} ({label})", 100
            ),
            "uuid": str(uuid.uuid4()),
            "isRecommended": True,
            "actions": [
                {
                    "type": "delete",
                    "description": f"Remove the draft order {order.reference}",
                    "resourceId": order.reference,
                }
                for order in removable
            ],
        }
    ]


# -- text -------------------------------------------------------------------------------------

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def _md(text: str) -> str:
    """Text safe to put in Markdown: its special characters (and any HTML) escaped."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _short(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def _summary(text: str) -> str:
    """A summary under ``SUMMARY_LIMIT`` characters (CDS Hooks: "<140")."""
    return _short(text, SUMMARY_LIMIT - 1)


def prune(node: Any) -> Any:
    """Drop null and empty values at every level: CDS Hooks allows none."""
    if isinstance(node, dict):
        out = {key: prune(value) for key, value in node.items()}
        return {key: value for key, value in out.items() if not _empty(value)}
    if isinstance(node, list):
        items = [prune(item) for item in node]
        return [item for item in items if not _empty(item)]
    return node


def _pruned(card: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = prune(card)
    return out


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and not value)
