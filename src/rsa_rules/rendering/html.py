"""An evaluation as HTML (``Evaluation._repr_html_()``, notebooks).

The recommendations (alerts first, flagged), each with its explanation down to the input
fields, its cautions and its sources as links; then the findings, and what could not be
established for lack of data. Every text is escaped; links are only ever ``https://``
addresses from the bibliography.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ..models.results import Citation, Evaluation, Reason, Recommendation

__all__ = ["evaluation_html"]

_STYLE = (
    "<style>"
    ".rsa-eval{font-family:system-ui,sans-serif;font-size:13px;line-height:1.4;max-width:60em}"
    ".rsa-eval h3{margin:.2em 0}"
    ".rsa-eval .rsa-meta{color:#555;margin:.2em 0 .6em}"
    ".rsa-eval details{margin:.35em 0;padding:.3em .6em;border-left:4px solid #8aa}"
    ".rsa-eval details.rsa-alert{border-left-color:#c00;background:#fff4f4}"
    ".rsa-eval .rsa-action{font-weight:600;text-transform:uppercase;font-size:11px;"
    "padding:0 .4em;border:1px solid #888;border-radius:3px;margin-right:.4em}"
    ".rsa-eval .rsa-flag{color:#fff;background:#c00;font-weight:700;font-size:11px;"
    "padding:0 .4em;border-radius:3px;margin-right:.4em}"
    ".rsa-eval ul{margin:.2em 0 .2em 1.2em;padding:0}"
    ".rsa-eval .rsa-path{color:#666;font-family:monospace;font-size:11px}"
    ".rsa-eval .rsa-label{font-weight:600}"
    "</style>"
)


def evaluation_html(evaluation: Evaluation) -> str:
    """An evaluation as HTML: recommendations with explanations and linked sources."""
    k = evaluation.knowledge
    who = f" for {escape(evaluation.patient_id)}" if evaluation.patient_id else ""
    count = len(evaluation.recommendations)
    out = [
        _STYLE,
        '<div class="rsa-eval">',
        f"<h3>rsa-rules: {count} recommendation{'s' if count != 1 else ''}{who}</h3>",
        f'<div class="rsa-meta">knowledge base {escape(k.name)} {escape(k.version)} '
        f"({escape(k.digest[:12])}). This is decision support: a clinician reviews the basis "
        "of every item.</div>",
    ]
    if not evaluation.recommendations:
        out.append("<p>No rule of the knowledge base applies to these facts.</p>")
    for rank, rec in enumerate(evaluation.recommendations, 1):
        out.append(_recommendation_html(rank, rec))
    if evaluation.data_notes:
        out.append('<div class="rsa-label">Data notes</div><ul>')
        out.extend(
            f"<li>{escape(note.note)} <code>{escape(note.path)}</code></li>"
            for note in evaluation.data_notes
        )
        out.append("</ul>")
    if evaluation.findings:
        out.append('<div class="rsa-label">Findings</div><ul>')
        for finding in evaluation.findings:
            out.append(
                f"<li>{escape(finding.summary)} <code>{escape(finding.rule_id)}</code>"
                f"{_reasons_html(finding.because)}</li>"
            )
        out.append("</ul>")
    if evaluation.undetermined_findings:
        out.append(
            '<div class="rsa-label">Not established for lack of data (unknown, not negative)'
            "</div><ul>"
        )
        for open_finding in evaluation.undetermined_findings:
            missing = list(dict.fromkeys(leaf.text for leaf in open_finding.missing_facts))
            out.append(
                f"<li>{escape(open_finding.label)} <code>{escape(open_finding.rule_id)}</code>: "
                f"{escape('; '.join(missing))}</li>"
            )
        out.append("</ul>")
    out.append("</div>")
    return "\n".join(out)


def _recommendation_html(rank: int, rec: Recommendation) -> str:
    css = "rsa-alert" if rec.alert else "rsa-rec"
    flag = (
        f'<span class="rsa-flag">ALERT ({escape(str(rec.alert_certainty))})</span>'
        if rec.alert
        else ""
    )
    parts = [
        f'<details class="{css}"{" open" if rec.alert or rank == 1 else ""}>',
        f"<summary>{rank}. {flag}<b>{escape(rec.summary)}</b></summary>",
        f'<div class="rsa-meta"><span class="rsa-action">{escape(rec.action)}</span> '
        f"{escape(rec.intervention_label)}; rule <code>{escape(rec.rule_id)}</code> "
        f"v{rec.rule_version}; evidence: {escape(rec.evidence.grade)}</div>",
    ]
    if rec.detail:
        parts.append(f"<p>{escape(rec.detail)}</p>")
    if rec.because:
        parts.append(f'<div class="rsa-label">Because</div>{_reasons_html(rec.because)}')
    items = [
        f"blocked: <code>{escape(b.rule_id)}</code> ({escape(b.action)} {escape(b.intervention)})"
        for b in rec.blocked
    ]
    items += [f"note: {escape(note)}" for note in [*rec.notes, *rec.evidence.notes]]
    items += [
        f"conflicting evidence {_citation_link(c.citation)}: {escape(c.finding)}"
        for c in rec.evidence.conflicts
    ]
    items += [
        f"contradicted claim {_citation_link(c.citation)}: &ldquo;{escape(c.claim)}&rdquo; "
        f"(contradicted by {', '.join(_citation_link(s) for s in c.contradicted_by)})"
        for c in rec.evidence.contradicted_claims
    ]
    items += [f"caution: {escape(caution)}" for caution in rec.cautions]
    if items:
        parts.append("<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>")
    parts.append('<div class="rsa-label">Sources</div><ul>')
    parts.extend(
        f"<li>{_citation_link(c)} {escape(c.dated_title)}: {escape(c.note)}</li>"
        for c in rec.citations
    )
    parts.append("</ul></details>")
    return "\n".join(parts)


def _reasons_html(reasons: Sequence[Reason]) -> str:
    if not reasons:
        return ""
    items = []
    for reason in reasons:
        paths = (
            f' <span class="rsa-path">[{escape(", ".join(reason.paths))}]</span>'
            if reason.paths
            else ""
        )
        items.append(f"<li>{escape(reason.text)}{paths}{_reasons_html(reason.because)}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _citation_link(citation: Citation) -> str:
    """``[id]`` linked to the source's DOI or URL when it has a web address."""
    label = f"[{escape(citation.id)}]"
    link = citation.link
    if link and link.startswith(("https://", "http://")):
        note = "" if citation.verified else " (identifier not yet verified)"
        return (
            f'<a href="{escape(link, quote=True)}" target="_blank" rel="noopener noreferrer">'
            f"{label}</a>{escape(note)}"
        )
    if citation.publisher:
        return f"{label} <i>{escape(citation.publisher)}</i>"
    return label


# -- charts ------------------------------------------------------------------------------
