"""Notebooks: an evaluation as HTML and as a DataFrame, a cohort as a DataFrame, audit charts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import matplotlib
import pytest

import rsa_rules
from rsa_rules.cohort.frames import DTYPES, cohort_frame, empty_audit_frame
from rsa_rules.cohort.notebook import plot_alerts, plot_rules
from rsa_rules.cohort.records import ROW_COLUMNS, AdherenceSummary
from rsa_rules.models.results import Citation
from rsa_rules.rendering.frames import EVALUATION_COLUMNS
from rsa_rules.rendering.html import _citation_link, evaluation_html

from ..conftest import load_example

matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


class _Collector(HTMLParser):
    """The links, the text, and whether every opened tag was closed."""

    VOID = frozenset({"br", "img", "meta", "hr", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.text: list[str] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs)["href"] or "")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack.pop() == tag

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Collector:
    parser = _Collector()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    return parser


def test_an_evaluation_shows_as_html_with_explanations_and_linked_sources() -> None:
    evaluation = rsa_rules.evaluate(load_example("unexplained-recurrent-loss.json"))
    html = evaluation._repr_html_()
    assert html == evaluation_html(evaluation)
    parsed = _parse(html)
    text = " ".join(parsed.text)
    assert f"{len(evaluation.recommendations)} recommendations for example-unexplained" in text
    first = evaluation.recommendations[0]
    assert first.alert
    assert re.search(
        r'<details class="rsa-alert" open>\s*<summary>1\. <span class="rsa-flag">', html
    )
    for rec in evaluation.recommendations:
        assert rec.summary.replace("'", "&#x27;") in html
    # The explanation goes down to the input fields.
    leaves = [leaf for reason in first.because for leaf in reason.leaves()]
    assert any(leaf.paths for leaf in leaves)
    for leaf in leaves:
        assert leaf.text.replace("'", "&#x27;") in html
        if leaf.paths:
            assert ", ".join(leaf.paths) in html
    # Sources are links to their DOI or URL.
    expected = {c.link for rec in evaluation.recommendations for c in rec.citations if c.link}
    assert expected
    assert expected <= set(parsed.links)
    assert all(link.startswith("https://") for link in parsed.links)
    assert "Findings" in text
    assert "Not established for lack of data" in text


def test_html_is_escaped() -> None:
    evaluation = rsa_rules.evaluate({"id": "<script>alert(1)</script>"})
    html = evaluation_html(evaluation)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "No rule of the knowledge base applies to these facts." in html
    _parse(html)


def test_html_shows_blocked_claims_conflicts_and_unlinked_sources() -> None:
    lit = rsa_rules.evaluate(load_example("lymphocyte-immunotherapy-proposed.json"))
    html = lit._repr_html_()
    assert "contradicted claim" in html
    assert "conflicting evidence" in html or "caution" in html
    blocked = rsa_rules.evaluate(
        {
            "pregnancy_history": {"loss_count": 3, "consecutive": True},
            "antiphospholipid": {"diagnosis": "confirmed"},
            "contraindications": {"heparin_allergy": True},
        }
    )
    assert any(r.blocked for r in blocked.recommendations)
    assert "blocked: <code>" in blocked._repr_html_()
    unlinked = [
        c
        for rec in lit.recommendations + blocked.recommendations
        for c in rec.citations
        if not c.link and c.document
    ]
    assert unlinked  # sources with no web address are named by their publisher, never a file
    html = lit._repr_html_() + blocked._repr_html_()
    for citation in unlinked:
        assert f"<i>{citation.publisher}</i>" in html
        assert citation.document not in html


def test_a_source_is_linked_only_to_a_web_address() -> None:
    def cite(**fields: Any) -> Citation:
        return Citation(id="s<1>", title="T", year=2020, note="n", **fields)

    assert _citation_link(cite()) == "[s&lt;1&gt;]"
    assert _citation_link(cite(document="seeds/a.txt")) == "[s&lt;1&gt;]"
    stored = cite(document="seeds/a.txt", publisher="A <clinic>")
    assert _citation_link(stored) == "[s&lt;1&gt;] <i>A &lt;clinic&gt;</i>"
    assert _citation_link(cite(url="javascript:alert(1)")) == "[s&lt;1&gt;]"
    assert _citation_link(cite(doi="10.1/x&y", verified=False)) == (
        '<a href="https://doi.org/10.1/x&amp;y" target="_blank" rel="noopener noreferrer">'
        "[s&lt;1&gt;]</a> (identifier not yet verified)"
    )


def test_one_evaluation_as_a_frame() -> None:
    evaluation = rsa_rules.evaluate(load_example("aps-three-losses.json"))
    frame = evaluation.to_frame()
    assert list(frame.columns) == list(EVALUATION_COLUMNS)
    assert len(frame) == len(evaluation.recommendations)
    assert list(frame["rank"]) == list(range(1, len(frame) + 1))
    for row, rec in zip(frame.itertuples(index=False), evaluation.recommendations, strict=True):
        assert (row.rule_id, row.action, row.intervention, row.alert, row.summary) == (
            rec.rule_id,
            rec.action,
            rec.intervention,
            rec.alert,
            rec.summary,
        )
        assert row.citations == ", ".join(c.id for c in rec.citations)
        assert row.because.startswith(rec.because[0].text)
    assert "lupus anticoagulant positive on 2026-01-05 and 2026-04-10" in frame["because"].iloc[0]
    assert set(frame["patient_id"]) == {"example-aps"}
    empty = rsa_rules.evaluate({}).to_frame()
    assert list(empty.columns) == list(EVALUATION_COLUMNS)
    assert len(empty) == 0


def test_a_cohort_as_a_frame(mixed_cohort: list[Any]) -> None:
    results = list(rsa_rules.evaluate_many(mixed_cohort))
    frame = cohort_frame(results)
    assert list(frame.columns) == list(ROW_COLUMNS)
    assert dict(frame.dtypes.astype(str)) == DTYPES
    assert len(frame) == sum(max(1, len(r.recommendations)) for r in results)
    assert frame["line"].nunique() == len(mixed_cohort)
    assert AdherenceSummary.from_rows(frame).records == len(mixed_cohort)
    empty = empty_audit_frame()
    assert list(empty.columns) == list(ROW_COLUMNS)
    assert len(empty) == 0


def test_alert_and_rule_charts(mixed_cohort: list[Any]) -> None:
    frame = cohort_frame(rsa_rules.evaluate_many(mixed_cohort))
    summary = AdherenceSummary.from_rows(frame)
    ax = plot_alerts(frame)  # from rows...
    assert len(ax.patches) == len(summary.alerts)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    (rule, intervention, count, share), *_ = summary.alert_table()
    assert labels[0] == f"{rule} ({intervention})"  # the most frequent at the top
    assert ax.patches[0].get_width() == count
    assert f"{count:,} ({share:.1f}%)" in [t.get_text() for t in ax.texts]
    assert "Alerts per rule" in ax.get_title()
    _, axes = plt.subplots(1, 2)
    ax = plot_rules(summary, ax=axes[0], top=5)  # ...or from a summary, on given axes
    assert ax is axes[0]
    assert len(ax.patches) == 5


def test_a_chart_with_nothing_to_show_says_none() -> None:
    summary = AdherenceSummary()
    [result] = rsa_rules.evaluate_many([{}])
    summary.add(result)
    ax = plot_alerts(summary)
    assert [t.get_text() for t in ax.texts] == ["none"]
    assert len(ax.patches) == 0
