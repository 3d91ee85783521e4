"""CDS Hooks cards from evaluations, checked against the CDS Hooks 2.0 response rules."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.servicerequest import ServiceRequest

import rsa_rules
from rsa_rules.adapters.cds_hooks import (
    HOOKS,
    bundle_references,
    discovery_document,
    draft_orders,
    parse_hook_request,
    prefetch_templates,
    services,
)
from rsa_rules.adapters.codes import load_code_book
from rsa_rules.fhir import facts_from_bundle
from rsa_rules.knowledge.loader import KnowledgeBase
from rsa_rules.rendering.cards import data_card, evaluation_to_cards, order_cards, prune

from ..conftest import EXAMPLES, load_example
from .cds_rules import check_card, empty_values
from .fhirdata import (
    ATC,
    LOINC,
    aps_bundle,
    bundle,
    condition,
    ivig_order,
    lupus,
    medication_request,
    miscarriage,
    observation,
    patient,
    service_request,
)

TODAY = date(2026, 5, 1)


def _two_losses(**extra: Any) -> dict[str, Any]:
    return {
        "pregnancy_history": {
            "losses": [
                {"gestational_weeks": 6, "kind": "miscarriage"},
                {"gestational_weeks": 8, "kind": "miscarriage"},
            ]
        },
        **extra,
    }


def _by_topic(cards: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {card["source"]["topic"]["code"]: card for card in cards if "topic" in card["source"]}


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_every_example_gives_cards_that_follow_the_rules(example: str) -> None:
    evaluation = rsa_rules.evaluate(load_example(example))
    for include_avoid in (False, True):
        cards = evaluation.to_cds_cards(include_avoid=include_avoid, patient_id="p1")
        assert cards
        for card in cards:
            check_card(card)
    everything = evaluation.to_cds_cards(include_avoid=True)
    assert len(everything) == len(evaluation.recommendations)


def test_the_cards_worth_showing_leave_out_avoid_advice_nobody_asked_about() -> None:
    evaluation = rsa_rules.evaluate(_two_losses())
    cards = evaluation.to_cds_cards()
    shown = {(c["source"]["topic"]["code"]) for c in cards}
    avoid = {r.rule_id for r in evaluation.recommendations if r.action == "avoid" and not r.alert}
    assert avoid
    assert not (avoid & shown)
    assert len(cards) == len(evaluation.recommendations) - len(avoid)


def test_an_alert_is_a_warning_with_override_reasons() -> None:
    stated = {"intervention": "ivig", "status": "proposed", "reason": "recurrent-pregnancy-loss"}
    inferred = rsa_rules.evaluate(
        _two_losses(treatments=[{"intervention": "ivig", "status": "proposed"}])
    )
    quiet = _by_topic(inferred.to_cds_cards())["RSA-IMMUNO-IVIG"]
    assert quiet["indicator"] == "info"  # no reason stated: it may be for another indication
    assert quiet["summary"].startswith("If this is to prevent miscarriage: ")
    assert quiet["overrideReasons"]
    evaluation = rsa_rules.evaluate(_two_losses(treatments=[stated]))
    cards = evaluation.to_cds_cards()
    card = _by_topic(cards)["RSA-IMMUNO-IVIG"]
    check_card(card)
    assert cards[0] is card  # alerts first
    assert card["indicator"] == "warning"
    codes = {reason["code"] for reason in card["overrideReasons"]}
    assert {"research-protocol", "informed-patient-choice", "data-incorrect"} <= codes
    assert all(
        r["system"] == "urn:rsa-rules:cds-hooks:override-reason" for r in card["overrideReasons"]
    )
    assert "Category 2b" in card["detail"]
    info = [c for c in cards if c is not card]
    assert all(c["indicator"] == "info" and "overrideReasons" not in c for c in info)


def test_a_card_explains_itself_and_links_its_sources() -> None:
    evaluation = rsa_rules.evaluate(load_example("aps-three-losses.json"))
    card = _by_topic(evaluation.to_cds_cards())["RSA-ANTICOAG-APS"]
    detail = card["detail"]
    assert detail.startswith(
        "**Recommend: heparin plus low-dose aspirin** (rule `RSA-ANTICOAG-APS` v2"
    )
    for part in ("**Why**", "**Cautions**", "**Sources**", "[empson-2005]", "knowledge base"):
        assert part.lower() in detail.lower(), part
    assert "`antiphospholipid.results.0`" in detail
    assert card["source"]["label"].startswith("How does heparin help")
    assert "url" not in card["source"]  # the seed page has no public address: topic only
    assert card["source"]["topic"]["display"].startswith("Heparin plus low-dose aspirin")
    assert {link["url"] for link in card["links"]} >= {"https://doi.org/10.1093/hropen/hoad002"}


def test_conflicting_evidence_and_contradicted_claims_are_in_the_detail() -> None:
    inherited = rsa_rules.evaluate(
        _two_losses(inherited_thrombophilia={"factor_v_leiden": "heterozygous"})
    )
    card = _by_topic(inherited.to_cds_cards())["RSA-ANTICOAG-INHERITED"]
    assert "**Conflicting evidence**" in card["detail"]
    assert "[alife2-2023]" in card["detail"]
    lit = rsa_rules.evaluate(load_example("lymphocyte-immunotherapy-proposed.json"))
    card = _by_topic(lit.to_cds_cards())["RSA-IMMUNO-LIT"]
    assert "**Contradicted claims**" in card["detail"]
    assert "[seed-lit-clinic]" in card["detail"]
    assert card["source"]["url"].startswith("https://")


def test_a_blocked_recommendation_is_a_warning_naming_what_it_blocks() -> None:
    facts = load_example("aps-three-losses.json")
    facts["contraindications"]["heparin_allergy"] = True
    cards = rsa_rules.evaluate(facts).to_cds_cards()
    card = _by_topic(cards)["RSA-SAFETY-CONTRAINDICATION"]
    check_card(card)
    assert card["indicator"] == "warning"
    assert card["overrideReasons"]
    assert "**Blocked by this safety rule**" in card["detail"]
    assert "`RSA-ANTICOAG-APS`" in card["detail"]


def test_test_recommendations_suggest_orders_for_the_tests_not_yet_done() -> None:
    facts = _two_losses(
        antiphospholipid={
            "results": [
                {"test": "anticardiolipin-igg", "date": "2026-01-05", "value": 45, "unit": "GPL"}
            ]
        }
    )
    cards = _by_topic(rsa_rules.evaluate(facts).to_cds_cards(patient_id="p9"))
    screening = cards["RSA-TEST-APL"]
    check_card(screening)
    labels = [s["label"] for s in screening["suggestions"]]
    assert labels == [
        "Order anticardiolipin IgM",
        "Order anti-beta2-glycoprotein-I IgG",
        "Order anti-beta2-glycoprotein-I IgM",
    ]
    assert [s["isRecommended"] for s in screening["suggestions"]] == [True, False, False]
    assert screening["selectionBehavior"] == "any"
    assert "No order is suggested for lupus anticoagulant" in screening["detail"]
    for suggestion in screening["suggestions"]:
        (action,) = suggestion["actions"]
        resource = ServiceRequest.model_validate(action["resource"])
        assert resource.subject is not None
        assert resource.subject.reference == "Patient/p9"
        assert resource.status == "draft"
        assert resource.code is not None
    igm = screening["suggestions"][0]["actions"][0]["resource"]["code"]["coding"][0]
    assert igm == {"system": "http://loinc.org", "code": "3182-3", "display": "Cardiolipin IgM Ab"}
    repeat = cards["RSA-TEST-APL-REPEAT"]
    check_card(repeat)
    (suggestion,) = repeat["suggestions"]
    assert repeat["selectionBehavior"] == "at-most-one"
    resource = suggestion["actions"][0]["resource"]
    assert resource["code"]["coding"][0]["code"] == "3181-5"
    assert resource["occurrencePeriod"] == {"start": "2026-03-30"}


def test_no_order_suggestions_without_a_patient_or_for_advice_against() -> None:
    facts = _two_losses(
        antiphospholipid={
            "results": [
                {"test": "anticardiolipin-igg", "date": "2026-01-05", "value": 45, "unit": "GPL"}
            ]
        }
    )
    evaluation = rsa_rules.evaluate(facts)
    assert not any("suggestions" in c for c in evaluation.to_cds_cards())
    cards = _by_topic(evaluation.to_cds_cards(patient_id="p1", include_avoid=True))
    assert "suggestions" not in cards["RSA-TEST-INHERITED-NOT-ROUTINE"]


def test_inherited_testing_to_consider_suggests_the_panel_not_recommended() -> None:
    facts = {
        "pregnancy_history": {
            "losses": [{"gestational_weeks": 14, "kind": "miscarriage"}, {"gestational_weeks": 8}]
        },
    }
    card = _by_topic(rsa_rules.evaluate(facts).to_cds_cards(patient_id="p1"))[
        "RSA-TEST-INHERITED-CONSIDER"
    ]
    check_card(card)
    codes = [s["actions"][0]["resource"]["code"]["coding"][0]["code"] for s in card["suggestions"]]
    assert codes == ["21667-1", "24476-4", "27818-4", "31102-7", "27811-9"]
    assert not any(s["isRecommended"] for s in card["suggestions"])


def test_rh_status_testing_orders_the_rh_type() -> None:
    facts = {"current_miscarriage": {"gestational_weeks": 13}}
    card = _by_topic(rsa_rules.evaluate(facts).to_cds_cards(patient_id="p1"))[
        "RSA-ACUTE-RH-UNKNOWN"
    ]
    (suggestion,) = card["suggestions"]
    assert suggestion["actions"][0]["resource"]["code"]["coding"][0]["code"] == "10331-7"


def test_cards_from_fhir_cite_resources_and_say_how_data_was_read() -> None:
    read = facts_from_bundle(aps_bundle(), today=TODAY)
    evaluation = read.evaluate()
    cards = evaluation_to_cards(evaluation, fhir=read)
    card = _by_topic(cards)["RSA-ANTICOAG-APS"]
    check_card(card)
    assert "`Condition/aps`" in card["detail"]
    assert "`Condition/m-1`" in card["detail"]
    assert "pregnancy\\_history.losses" not in card["detail"]
    assert "**How the FHIR data was read**" in card["detail"]
    cytogenetic = _by_topic(cards)["RSA-WORKUP-CYTOGENETIC"]
    assert "How the FHIR data was read" in cytogenetic["detail"]


def test_an_alert_from_fhir_names_the_orders_it_concerns() -> None:
    read = facts_from_bundle(
        bundle(
            patient(),
            miscarriage("m1", "2024-01-01"),
            miscarriage("m2", "2025-01-01"),
            ivig_order("a", status="active"),
            ivig_order("b", status="draft"),
            ivig_order("old", status="completed"),
        ),
        today=TODAY,
    )
    cards = evaluation_to_cards(read.evaluate(), fhir=read)
    alert = _by_topic(cards)["RSA-IMMUNO-IVIG"]
    assert "Orders concerned: `MedicationRequest/a`, `MedicationRequest/b`" in alert["detail"]
    assert "MedicationRequest/old" not in alert["detail"]


def test_a_knowledge_base_of_its_own_is_used_to_name_tests(kb: KnowledgeBase) -> None:
    facts = _two_losses()
    evaluation = rsa_rules.evaluate(facts)
    with_kb = _by_topic(evaluation_to_cards(evaluation, patient_id="p", knowledge=kb))
    assert len(with_kb["RSA-TEST-APL"]["suggestions"]) == 4
    foreign = evaluation.model_copy(
        update={"knowledge": evaluation.knowledge.model_copy(update={"digest": "0" * 64})}
    )
    unknown_kb = _by_topic(evaluation_to_cards(foreign, patient_id="p"))
    assert "suggestions" not in unknown_kb["RSA-TEST-APL"]


def test_a_due_date_and_tests_without_an_order_code_are_spelled_out() -> None:
    evaluation = rsa_rules.evaluate(_two_losses())
    screening = next(r for r in evaluation.recommendations if r.rule_id == "RSA-TEST-APL")
    changed = screening.model_copy(
        update={
            "detail": None,
            "due": date(2026, 9, 1),
            "not_yet_done": [
                "lupus anticoagulant",
                "age",
                "anticardiolipin IgM",
                "anticardiolipin IgM",
            ],
            "optional_not_yet_done": [],
        }
    )
    (card,) = evaluation_to_cards(
        evaluation.model_copy(update={"recommendations": [changed]}), patient_id="p"
    )
    check_card(card)
    assert "Due on or after 2026-09-01." in card["detail"]
    assert "No order is suggested for lupus anticoagulant" in card["detail"]
    assert [s["label"] for s in card["suggestions"]] == ["Order anticardiolipin IgM"]
    assert card["suggestions"][0]["actions"][0]["resource"]["occurrencePeriod"] == {
        "start": "2026-09-01"
    }


def test_markdown_in_the_data_is_escaped() -> None:
    read = facts_from_bundle(
        bundle(patient(), observation("x", (LOINC, "21667-1"), valueString="<b>*het*</b>_")),
        today=TODAY,
    )
    card = data_card(read)
    assert card is not None
    assert "\\<b\\>\\*het\\*\\</b\\>\\_" in card["detail"]
    assert "<b>" not in card["detail"]


def test_long_summaries_are_cut_under_140_characters() -> None:
    evaluation = rsa_rules.evaluate(_two_losses())
    recommendation = evaluation.recommendations[0]
    long = recommendation.model_copy(update={"summary": "word " * 28})
    cut = evaluation.model_copy(update={"recommendations": [long]})
    (card,) = evaluation_to_cards(cut)
    assert len(card["summary"]) < 140
    assert card["summary"].endswith("…")
    check_card(card)


def test_prune_drops_every_null_and_empty_value() -> None:
    assert prune(
        {"a": None, "b": "", "c": [], "d": {}, "e": [None, {"f": ""}], "g": 0, "h": False}
    ) == {
        "g": 0,
        "h": False,
    }
    assert empty_values({"a": [1, {"b": None}]}) == ["$.a[1].b"]


# -- orders ------------------------------------------------------------------------------------


def _order_case(*resources: dict[str, Any], drafts: list[str]) -> tuple[list[dict[str, Any]], Any]:
    read = facts_from_bundle(bundle(patient(), *resources), today=TODAY)
    evaluation = read.evaluate()
    cards = order_cards(evaluation, draft_orders(read, drafts), fhir=read)
    return cards, read


def test_an_ivig_draft_order_without_a_reason_is_info_with_a_removal_suggestion() -> None:
    cards, _ = _order_case(
        miscarriage("m1", "2024-01-01"),
        miscarriage("m2", "2025-01-01"),
        ivig_order("ivig-1"),
        drafts=["MedicationRequest/ivig-1"],
    )
    (card,) = cards
    check_card(card)
    assert card["indicator"] == "info"  # inferred: the order states no reason
    assert card["overrideReasons"]
    assert card["source"]["topic"]["code"] == "RSA-IMMUNO-IVIG"
    (suggestion,) = card["suggestions"]
    assert card["selectionBehavior"] == "at-most-one"
    assert suggestion["isRecommended"] is True
    assert suggestion["actions"] == [
        {
            "type": "delete",
            "description": "Remove the draft order MedicationRequest/ivig-1",
            "resourceId": "MedicationRequest/ivig-1",
        }
    ]
    assert "Order concerned: `MedicationRequest/ivig-1`" in card["detail"]


def test_an_ivig_order_without_recurrent_loss_or_a_reason_gets_no_card() -> None:
    # IVIg has other indications (immune thrombocytopenia): outside this engine's context.
    cards, _ = _order_case(ivig_order("ivig-1"), drafts=["MedicationRequest/ivig-1"])
    assert cards == []


def test_heparin_without_a_confirmed_thrombophilia_is_info_and_with_aps_is_silent() -> None:
    heparin = medication_request("hep", (ATC, "B01AB05", "enoxaparin"), status="draft")
    aspirin = medication_request("asa", (ATC, "B01AC06", "aspirin"), status="draft")
    losses = (miscarriage("m1", "2024-01-01"), miscarriage("m2", "2025-01-01"))
    cards, _ = _order_case(
        *losses, heparin, aspirin, drafts=["MedicationRequest/hep", "MedicationRequest/asa"]
    )
    assert {c["source"]["topic"]["code"] for c in cards} == {
        "RSA-ANTICOAG-ALERT-HEPARIN",
        "RSA-ANTICOAG-ALERT-ASPIRIN",
    }
    assert all(c["indicator"] == "info" for c in cards)  # no reason stated on the orders
    aps = [
        e["resource"] for e in aps_bundle()["entry"] if e["resource"]["resourceType"] != "Patient"
    ]
    quiet, _ = _order_case(
        *aps, heparin, aspirin, drafts=["MedicationRequest/hep", "MedicationRequest/asa"]
    )
    assert quiet == []


def test_heparin_with_a_contraindication_or_a_thrombosis_relates_to_the_order() -> None:
    facts = load_example("aps-three-losses.json")
    facts["contraindications"]["heparin_allergy"] = True
    facts["treatments"] = [{"intervention": "heparin", "status": "proposed"}]
    evaluation = rsa_rules.evaluate(facts)
    orders = list(_drafts("heparin"))
    (card,) = order_cards(evaluation, orders)
    assert card["source"]["topic"]["code"] == "RSA-SAFETY-CONTRAINDICATION"
    assert card["indicator"] == "warning"
    assert "suggestions" not in card  # the draft has no resource reference to remove
    facts = _two_losses(
        thrombosis_history=True, treatments=[{"intervention": "heparin", "status": "proposed"}]
    )
    (review,) = order_cards(rsa_rules.evaluate(facts), orders)
    assert review["source"]["topic"]["code"] == "RSA-ANTICOAG-VTE-REVIEW"
    assert review["indicator"] == "info"
    assert "overrideReasons" not in review


def _drafts(intervention: str) -> list[Any]:
    from rsa_rules.adapters.cds_hooks import DraftOrder

    return [DraftOrder("urn:uuid:draft", intervention, "treatments.0")]


def test_lymphocyte_immunotherapy_service_request_is_always_a_card() -> None:
    cards, _ = _order_case(
        service_request("lit", text="Partner lymphocyte immunisation", status="draft"),
        drafts=["ServiceRequest/lit"],
    )
    (card,) = cards
    assert card["source"]["topic"]["code"] == "RSA-IMMUNO-LIT"
    assert card["indicator"] == "info"  # always alerted; inferred, as the order states no reason


def test_draft_orders_are_only_the_resources_named() -> None:
    read = facts_from_bundle(
        bundle(patient(), ivig_order("a"), ivig_order("b", status="active")), today=TODAY
    )
    assert [(o.reference, o.intervention) for o in draft_orders(read, ["MedicationRequest/a"])] == [
        ("MedicationRequest/a", "ivig")
    ]


def test_the_data_card_reports_what_could_not_be_used() -> None:
    read = facts_from_bundle(
        bundle(
            patient(),
            medication_request("hep", (LOINC, "5224")),
            medication_request(
                "rx", ("http://www.nlm.nih.gov/research/umls/rxnorm", "5224"), status="draft"
            ),
            condition("dvt", ("http://snomed.info/sct", "128053003", "DVT")),
            *(condition(f"c{i}", ("http://snomed.info/sct", str(1000 + i))) for i in range(22)),
            observation("rh1", (LOINC, "10331-7"), valueString="RhD positive"),
            observation("rh2", (LOINC, "10331-7"), valueString="RhD negative"),
        ),
        today=TODAY,
    )
    card = data_card(read, orders=["MedicationRequest/rx"], evaluation=read.evaluate())
    assert card is not None
    check_card(card)
    assert card["indicator"] == "info"  # never a warning: the order itself was not read
    assert card["summary"] == "A draft order could not be checked (heparin): it could not be read"
    assert "`MedicationRequest/rx`" in card["detail"]
    assert "**Values that disagree**" in card["detail"]
    assert "and 3 more" in card["detail"]  # 23 unrecognised (the DVT is read from its text)
    assert "Knowledge base rsa-default" in card["detail"]
    quiet = data_card(read)
    assert quiet is not None
    assert quiet["indicator"] == "info"
    assert quiet["summary"].endswith("could not be used for this advice")
    conflict_only = facts_from_bundle(
        bundle(
            patient(),
            observation("rh1", (LOINC, "10331-7"), valueString="RhD positive"),
            observation("rh2", (LOINC, "10331-7"), valueString="RhD negative"),
        ),
        today=TODAY,
    )
    card = data_card(conflict_only)
    assert card is not None
    assert card["summary"].startswith("2 FHIR resources")
    clean = facts_from_bundle(aps_bundle(), today=TODAY)
    assert data_card(clean) is None


# -- discovery and requests -------------------------------------------------------------------


def test_discovery_lists_three_services_with_prefetch_templates() -> None:
    document = discovery_document()
    assert empty_values(document) == []
    assert [s["hook"] for s in document["services"]] == list(HOOKS)
    for service in document["services"]:
        assert set(service) == {
            "hook",
            "title",
            "description",
            "id",
            "prefetch",
            "usageRequirements",
        }
        assert service["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    templates = prefetch_templates(load_code_book())
    assert "http://loinc.org|3181-5" in templates["observations"]
    assert "http://loinc.org|3284-7" in templates["observations"]  # searched, read only with text
    assert templates["medications"].endswith("&status=draft,active,on-hold")
    assert templates["conditions"] == "Condition?patient={{context.patientId}}"  # see docstring
    assert "http://snomed.info/sct|714812005" in templates["procedures"]
    assert [s.id for s in services()] == [s["id"] for s in document["services"]]


def test_conditions_can_be_narrowed_to_the_codes_of_the_code_lists() -> None:
    book = load_code_book()
    whole = prefetch_templates(book)
    narrowed = prefetch_templates(book, narrow_conditions=True)
    assert {k: v for k, v in narrowed.items() if k != "conditions"} == {
        k: v for k, v in whole.items() if k != "conditions"
    }
    query = narrowed["conditions"]
    assert query.startswith("Condition?patient={{context.patientId}}&code=")
    tokens = query.split("&code=", 1)[1].split(",")
    assert len(tokens) == len(set(tokens))
    # SNOMED CT by system and code; ICD-10 (written under two URIs) by the code alone, the
    # category and every code under it that the code list names.
    assert "http://snomed.info/sct|102878001" in tokens
    for code in ("O03", "O03.9", "O03.0", "O26.20", "N96", "D68.01", "D69.41", "I82.401", "M81.0"):
        assert code in tokens, code
    assert not any(token.startswith("http://hl7.org/fhir/sid/icd-10") for token in tokens)
    assert len(query) < 2048  # a GET line most servers accept
    document = discovery_document(book, narrow_conditions=True)
    assert {s["prefetch"]["conditions"] for s in document["services"]} == {query}
    assert {s.prefetch["conditions"] for s in services(book)} == {whole["conditions"]}


def _request(hook: str = "patient-view", **context: Any) -> dict[str, Any]:
    return {
        "hook": hook,
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {"userId": "Practitioner/1", "patientId": "p1", **context},
    }


def test_hook_requests_are_validated_with_clear_messages() -> None:
    assert parse_hook_request(_request(), "patient-view").context["patientId"] == "p1"
    anonymous = {**_request(), "context": {"patientId": "p1"}}
    assert (
        parse_hook_request(anonymous, "patient-view").context_text("userId", required=False) is None
    )
    drafts = bundle(ivig_order())
    ok = parse_hook_request(
        _request("order-select", draftOrders=drafts, selections=["MedicationRequest/ivig-1"]),
        "order-select",
    )
    assert ok.hook == "order-select"
    bad: list[tuple[Any, str, str]] = [
        ([], "patient-view", "must be a JSON object"),
        ({"hook": "patient-view"}, "patient-view", "hookInstance: Field required"),
        (_request(), "order-sign", "answers the order-sign hook, not 'patient-view'"),
        ({**_request(), "context": {"userId": "x"}}, "patient-view", "context.patientId"),
        (
            {**_request(), "context": {"patientId": "p", "userId": 5}},
            "patient-view",
            "context.userId",
        ),
        (_request("order-sign"), "order-sign", "draftOrders must be a FHIR Bundle"),
        (_request("order-select", draftOrders=drafts), "order-select", "context.selections"),
        (
            _request("order-select", draftOrders=drafts, selections=[""]),
            "order-select",
            "context.selections",
        ),
        ({**_request(), "fhirServer": "ftp://x"}, "patient-view", r"must be an http\(s\) URL"),
        (
            {
                **_request(),
                "fhirAuthorization": {
                    "access_token": "t",
                    "token_type": "Bearer",
                    "expires_in": 60,
                    "scope": "s",
                    "subject": "c",
                },
            },
            "patient-view",
            "fhirAuthorization is given without fhirServer",
        ),
    ]
    for document, hook, message in bad:
        with pytest.raises(ValueError, match=message):
            parse_hook_request(document, hook)


def test_bundle_references_name_resources_as_the_adapter_does() -> None:
    drafts = bundle(ivig_order("x"), lupus("la", "positive"))
    drafts["entry"].append(
        {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "MedicationRequest"}}
    )
    drafts["entry"].append({"resource": {"resourceType": "MedicationRequest"}})
    drafts["entry"].append("not an entry")
    assert bundle_references(drafts) == ["MedicationRequest/x", "Observation/la", "urn:uuid:1"]


def test_the_order_services_name_every_intervention_they_check() -> None:
    """The order services' descriptions come from the code lists' order checks, each named by
    the knowledge base's label: none is left out, none written in code."""
    book = load_code_book()
    kb = rsa_rules.default_engine().knowledge
    by_hook = {service.hook: service.description for service in services(book)}
    for hook in ("order-sign", "order-select"):
        for intervention in book.cds.order_checks:
            assert kb.interventions[intervention].label in by_hook[hook], (hook, intervention)
