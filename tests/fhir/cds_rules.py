"""The CDS Hooks 2.0 response rules, as checks every card in the tests must pass.

From the specification (https://cds-hooks.hl7.org/2.0/): a card has a ``summary`` of fewer
than 140 characters, an ``indicator`` of info, warning or critical, a ``source`` with a
``label`` (and a ``url`` or ``topic`` here), a ``uuid``; ``selectionBehavior`` (``at-most-one``
or ``any``) whenever there are suggestions, and at most one suggestion under ``at-most-one``;
every action has a type and a description, a resource for create/update and a resourceId for
delete; override reasons and topics are Codings with a display; links have a label, a URL and
a type. No JSON value anywhere is null, "", [] or {}.
"""

from __future__ import annotations

import uuid
from typing import Any

CARD_FIELDS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
}


def empty_values(node: Any, path: str = "$") -> list[str]:
    """Paths of every null or empty value (CDS Hooks forbids them)."""
    if node is None or (isinstance(node, (str, list, dict)) and not node):
        return [path]
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in empty_values(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in empty_values(value, f"{path}[{i}]")]
    return []


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _check_coding(coding: Any, *, display: bool) -> None:
    assert isinstance(coding, dict)
    assert isinstance(coding.get("code"), str)
    assert coding["code"]
    assert isinstance(coding.get("system"), str)
    assert coding["system"]
    if display:
        assert isinstance(coding.get("display"), str)
        assert coding["display"]


def check_card(card: dict[str, Any]) -> None:
    assert set(card) <= CARD_FIELDS, set(card) - CARD_FIELDS
    assert empty_values(card) == []
    assert _is_uuid(card["uuid"])
    summary = card["summary"]
    assert isinstance(summary, str)
    assert 0 < len(summary) < 140, summary
    assert card["indicator"] in ("info", "warning", "critical")
    if "detail" in card:
        assert isinstance(card["detail"], str)
    source = card["source"]
    assert isinstance(source.get("label"), str)
    assert source["label"]
    assert "url" in source or "topic" in source
    if "url" in source:
        assert source["url"].startswith(("https://", "http://"))
    if "topic" in source:
        _check_coding(source["topic"], display=False)
    suggestions = card.get("suggestions")
    if suggestions is not None:
        assert card.get("selectionBehavior") in ("at-most-one", "any")
        if card["selectionBehavior"] == "at-most-one":
            assert len(suggestions) == 1
        for suggestion in suggestions:
            assert isinstance(suggestion.get("label"), str)
            assert suggestion["label"]
            assert _is_uuid(suggestion["uuid"])
            assert isinstance(suggestion.get("isRecommended", False), bool)
            for action in suggestion["actions"]:
                assert action["type"] in ("create", "update", "delete")
                assert isinstance(action.get("description"), str)
                assert action["description"]
                if action["type"] in ("create", "update"):
                    assert isinstance(action["resource"].get("resourceType"), str)
                else:
                    assert isinstance(action["resourceId"], str)
                    assert "/" in action["resourceId"]
    else:
        assert "selectionBehavior" not in card
    for reason in card.get("overrideReasons", ()):
        _check_coding(reason, display=True)
    for link in card.get("links", ()):
        assert isinstance(link.get("label"), str)
        assert link["label"]
        assert link["url"].startswith(("https://", "http://"))
        assert link["type"] in ("absolute", "smart")
        if link["type"] == "absolute":
            assert "appContext" not in link


def check_response(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Check a whole service response; its cards."""
    assert set(body) <= {"cards", "systemActions", "extension"}
    assert isinstance(body["cards"], list)
    for key, value in body.items():
        if key != "cards":
            assert empty_values(value) == [], key
    uuids = [card["uuid"] for card in body["cards"]]
    assert len(uuids) == len(set(uuids))
    for card in body["cards"]:
        check_card(card)
    cards: list[dict[str, Any]] = body["cards"]
    return cards
