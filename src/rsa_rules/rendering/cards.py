"""CDS Hooks 2.0 cards: recommendations as cards, with their explanation as Markdown.

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
confirmed code. The hook's requests, discovery and draft orders are read by
:mod:`rsa_rules.adapters.cds_hooks`; the code systems for override reasons and topics, the
tests that can be ordered and how draft orders relate to recommendations are data
(``rules/fhir-codes.yaml``, ``cds_hooks``).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..adapters.cds_hooks import SUMMARY_LIMIT, DraftOrder, Indicator, shorten
from ..adapters.codes import CodeBook, CodeEntry, Concept, load_code_book
from ..engine.explain import knowledge_of
from ..models.results import Citation, Evaluation, Reason, Recommendation

if TYPE_CHECKING:
    from ..adapters.fhir_facts import FhirFacts
    from ..knowledge.loader import KnowledgeBase

__all__ = ["data_card", "evaluation_to_cards", "order_cards", "prune"]

_FOOTER = (
    "_Decision support from rsa-rules: a clinician reviews the basis of every item. "
    "Knowledge base {name} {version}._"
)


@dataclass
class _Context:
    evaluation: Evaluation
    codes: CodeBook
    fhir: FhirFacts | None
    patient: str | None
    labels: Mapping[str, str]  # fact label -> fact name
    knowledge: KnowledgeBase | None

    def word(self, action: str) -> str:
        """How a card names an action (the vocabulary's label)."""
        item = self.knowledge.actions.get(action) if self.knowledge else None
        return item.label if item is not None else action.capitalize()

    def against(self, action: str) -> bool:
        """Whether the action advises against its intervention (unknown: not)."""
        item = self.knowledge.actions.get(action) if self.knowledge else None
        return item is not None and item.stance == "against"


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
    ``include_avoid``: also give cards for advice against (``avoid``, an action whose stance
    is ``against``) about things no one proposed.
    ``knowledge``: the knowledge base that evaluated (default: the bundled one), used to name
    the tests a card suggests ordering.
    """
    context = _context(evaluation, fhir, patient_id, codes, knowledge)
    cards: list[dict[str, Any]] = []
    for recommendation in evaluation.recommendations:
        if (
            context.against(recommendation.action)
            and not recommendation.alert
            and not include_avoid
        ):
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
                orders=_current_orders(recommendation, context),
                unordered=unordered,
            )
        )
    return cards


def _current_orders(recommendation: Recommendation, context: _Context) -> list[DraftOrder]:
    """For an alert: the resources that propose, order or give what it advises against (its
    treatments under way; every one when the knowledge base that evaluated is not known)."""
    fhir = context.fhir
    if not recommendation.alert or fhir is None:
        return []
    under_way = context.knowledge.under_way if context.knowledge is not None else None
    orders: list[DraftOrder] = []
    for index, treatment in enumerate(fhir.facts.treatments or ()):
        current = under_way is None or treatment.status in under_way
        if treatment.intervention == recommendation.intervention and current:
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
    return _Context(evaluation, codes or load_code_book(), fhir, patient, labels, knowledge)


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
        "label": shorten(primary.dated_title, 100),
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
                "label": shorten(citation.dated_title, 120),
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
    word = context.word(r.action)
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
            [f"{_citeshorten(c.citation)}: {_md(c.finding)}" for c in r.evidence.conflicts],
        ),
        (
            "Contradicted claims",
            [
                f"{_citeshorten(c.citation)}: {_md(c.claim)} (contradicted by "
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


def _citeshorten(citation: Citation) -> str:
    return f"[{citation.id}] {_md(citation.dated_title)}"


def _cite_long(citation: Citation) -> str:
    text = f"{_citeshorten(citation)}: {_md(citation.note)}"
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
        "label": shorten(f"Order {concept.label}", 100),
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
            "label": shorten(
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


def _summary(text: str) -> str:
    """A summary under ``SUMMARY_LIMIT`` characters (CDS Hooks: "<140")."""
    return shorten(text, SUMMARY_LIMIT - 1)


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
