"""Notebooks: audit charts (matplotlib); an evaluation's HTML is
:func:`rsa_rules.rendering.html.evaluation_html` (``Evaluation._repr_html_()``).

* :func:`plot_alerts` and :func:`plot_rules`: bar charts of patients per alert and per rule,
  from an :class:`~rsa_rules.cohort.AdherenceSummary` or from audit rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .records import AdherenceSummary

__all__ = ["plot_alerts", "plot_rules"]


def _summary(data: AdherenceSummary | Mapping[str, Sequence[Any]] | Any) -> AdherenceSummary:
    if isinstance(data, AdherenceSummary):
        return data
    return AdherenceSummary.from_rows(data)


def plot_alerts(
    data: AdherenceSummary | Mapping[str, Sequence[Any]] | Any,
    *,
    ax: Any = None,
    top: int | None = None,
) -> Any:
    """A horizontal bar chart of patients per alert (rule and intervention); the Axes.

    ``data`` is an :class:`~rsa_rules.cohort.AdherenceSummary` or audit rows (a DataFrame
    from :func:`~rsa_rules.cohort.frames.cohort_frame` or ``read_audit``). ``top`` keeps the
    most frequent bars only. Each bar is labelled with its count and share of the patients
    evaluated.
    """
    summary = _summary(data)
    table = summary.alert_table()[:top]
    return _bars(
        [f"{rule} ({intervention})" for rule, intervention, _, _ in table],
        [(count, share) for _, _, count, share in table],
        summary,
        ax,
        title="Alerts per rule",
        color="#c0392b",
    )


def plot_rules(
    data: AdherenceSummary | Mapping[str, Sequence[Any]] | Any,
    *,
    ax: Any = None,
    top: int | None = None,
) -> Any:
    """A horizontal bar chart of patients per rule (with its action and intervention)."""
    summary = _summary(data)
    table = summary.rule_table()[:top]
    return _bars(
        [f"{rule}: {action} {intervention}" for rule, action, intervention, _, _ in table],
        [(count, share) for _, _, _, count, share in table],
        summary,
        ax,
        title="Recommendations per rule",
        color="#2c6e91",
    )


def _bars(
    labels: list[str],
    values: list[tuple[int, float]],
    summary: AdherenceSummary,
    ax: Any,
    *,
    title: str,
    color: str,
) -> Any:
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 0.5 + 0.35 * max(len(labels), 2)), layout="constrained")
    ax.set_title(f"{title} ({summary.evaluated:,} patients evaluated)")
    if not labels:
        ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    positions = list(range(len(labels)))[::-1]  # the most frequent at the top
    counts = [count for count, _ in values]
    bars = ax.barh(positions, counts, color=color)
    ax.set_yticks(positions, labels)
    ax.bar_label(bars, labels=[f"{c:,} ({s:.1f}%)" for c, s in values], padding=3)
    ax.set_xlabel("patients")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(0, max(counts) * 1.3)
    return ax
