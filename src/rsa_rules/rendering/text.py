"""Plain-text renderings of evaluations and "why not" answers, for clinicians and terminals."""

from __future__ import annotations

from ..models.results import Citation, Evaluation, Reason, WhyNot

__all__ = ["render_text", "render_why_not"]


def _reason_lines(reason: Reason, depth: int) -> list[str]:
    pad = "    " * depth
    where = f"  [{', '.join(reason.paths)}]" if reason.paths else ""
    lines = [f"{pad}- {reason.text}{where}"]
    for child in reason.because:
        lines.extend(_reason_lines(child, depth + 1))
    return lines


def _cite(citation: Citation) -> str:
    link = citation.link
    extra = f" <{link}>" if link else ""
    if not link and citation.publisher:
        extra = f" ({citation.publisher})"
    if link and not citation.verified:
        extra += " (identifier not yet verified)"
    return f"[{citation.id}] {citation.dated_title}{extra}: {citation.note}"


def render_text(evaluation: Evaluation) -> str:
    """A plain-text rendering: recommendations first, then findings."""
    out: list[str] = []
    who = f" for {evaluation.patient_id}" if evaluation.patient_id else ""
    out.append(f"rsa-rules: {len(evaluation.recommendations)} recommendations{who}")
    k = evaluation.knowledge
    out.append(f"knowledge base {k.name} {k.version} ({k.digest[:12]})")
    out.append("This is decision support: a clinician reviews the basis of every item.")
    for index, rec in enumerate(evaluation.recommendations, 1):
        out.append("")
        flag = f"ALERT ({rec.alert_certainty}): " if rec.alert else ""
        out.append(f"{index}. {flag}{rec.summary}")
        out.append(
            f"   {rec.action}: {rec.intervention_label}; rule {rec.rule_id} v{rec.rule_version}; "
            f"evidence: {rec.evidence.grade}"
        )
        if rec.detail:
            out.append(f"   {rec.detail}")
        if rec.because:
            out.append("   because:")
            for reason in rec.because:
                out.extend("   " + line for line in _reason_lines(reason, 1))
        for blocked in rec.blocked:
            out.append(f"   blocked: {blocked.rule_id} ({blocked.action} {blocked.intervention})")
        for note in rec.notes + rec.evidence.notes:
            out.append(f"   note: {note}")
        for conflict in rec.evidence.conflicts:
            out.append(f"   conflicting evidence [{conflict.citation.id}]: {conflict.finding}")
        for claim in rec.evidence.contradicted_claims:
            by = ", ".join(c.id for c in claim.contradicted_by)
            cid = claim.citation.id
            out.append(f'   contradicted claim [{cid}]: "{claim.claim}" (contradicted by {by})')
        for caution in rec.cautions:
            out.append(f"   caution: {caution}")
        out.append("   sources:")
        out.extend(f"     {_cite(c)}" for c in rec.citations)
    if evaluation.data_notes:
        out.append("")
        out.append("Data notes:")
        out.extend(f"- {note.note}  [{note.path}]" for note in evaluation.data_notes)
    if evaluation.findings:
        out.append("")
        out.append("Findings:")
        for finding in evaluation.findings:
            out.append(f"- {finding.summary} ({finding.rule_id})")
            for reason in finding.because:
                out.extend(_reason_lines(reason, 1))
    if evaluation.undetermined_findings:
        out.append("")
        out.append("Not established for lack of data (unknown, not negative):")
        for open_finding in evaluation.undetermined_findings:
            seen: list[str] = []
            for leaf in open_finding.missing_facts:
                if leaf.text not in seen:
                    seen.append(leaf.text)
            out.append(f"- {open_finding.label} ({open_finding.rule_id}): {'; '.join(seen)}")
    return "\n".join(out) + "\n"


def render_why_not(answer: WhyNot) -> str:
    out = [f"Why not {answer.intervention}?"]
    for rec in answer.produced:
        out.append(f"- it is given: {rec.action} ({rec.rule_id})")
    if not answer.rules:
        out.append("- no rule of this knowledge base produces it")
    for check in answer.rules:
        out.append(f"- {check.rule_id} ({check.action}): {check.status}. {check.condition_text}")
        if check.note:
            out.append(f"    {check.note}")
        for reason in check.reasons:
            out.extend(_reason_lines(reason, 1))
    for rec in answer.related:
        out.append(f"- related: {rec.action} {rec.intervention} ({rec.rule_id}): {rec.summary}")
    return "\n".join(out) + "\n"
