"""Rendering: evaluations and why-not answers for readers, from their values alone.

One package, above the engine and beside the adapters, imported by nothing below it. Each
renderer takes a result (and, through its digest, the knowledge base's labels) and builds no
engine:

* :mod:`.text`: plain text for clinicians and terminals (``to_text()``, ``rsa-rules``);
* :mod:`.html`: HTML for notebooks (``_repr_html_()``);
* :mod:`.frames`: a pandas DataFrame (``to_frame()``; needs rsa-rules[cohort]);
* :mod:`.cards`: CDS Hooks 2.0 cards with Markdown details (``to_cds_cards()``; needs
  rsa-rules[fhir] for the FHIR code lists its suggestions use).

They register here with the result models, which import nothing above them.
"""

from __future__ import annotations

from typing import Any

from ..models.results import Evaluation, register_renderer
from .text import render_text, render_why_not

__all__ = ["render_text", "render_why_not"]


def _html(evaluation: Evaluation) -> str:
    from .html import evaluation_html

    return evaluation_html(evaluation)


def _frame(evaluation: Evaluation) -> Any:
    # Imported when first used: pandas comes with the cohort extra.
    from .frames import evaluation_frame

    return evaluation_frame(evaluation)


def _cds_cards(evaluation: Evaluation, **options: Any) -> list[dict[str, Any]]:
    # Imported when first used: the CDS Hooks adapter needs the fhir extra.
    from .cards import evaluation_to_cards

    return evaluation_to_cards(evaluation, **options)


register_renderer("text", render_text)
register_renderer("why-not text", render_why_not)
register_renderer("html", _html)
register_renderer("frame", _frame)
register_renderer("cds cards", _cds_cards)
