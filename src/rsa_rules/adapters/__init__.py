"""Adapters from outside formats (FHIR R4) and to outside formats (CDS Hooks cards)."""

from __future__ import annotations

from typing import Any

from ..models.results import Evaluation, register_renderer


def _cds_cards(evaluation: Evaluation, **options: Any) -> list[dict[str, Any]]:
    # Imported when first used: the CDS Hooks adapter needs the fhir extra.
    from .cds_hooks import evaluation_to_cards

    return evaluation_to_cards(evaluation, **options)


register_renderer("cds cards", _cds_cards)
