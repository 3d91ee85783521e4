"""One patient of a cohort: evaluated into a compact, picklable result and its audit rows.

A cohort record is a facts document (a dict, a :class:`~rsa_rules.PatientFacts`, or the JSON
text of one document), optionally wrapped in a :class:`Record` that says where it came from
(file and line). :func:`evaluate_record` never raises for a bad record: invalid facts, or
text that is not a JSON object, give a :class:`CohortResult` whose ``error`` names the field.

The audit rows (one per patient per recommendation; one row for a patient with no
recommendation; one row for a record that could not be evaluated) have these columns,
in this order (:data:`ROW_COLUMNS`):

=================  =======  ===============================================================
column             type     meaning
=================  =======  ===============================================================
``source``         string   the input file, or null for an in-memory cohort
``line``           int64    the line in ``source`` (from 1); for an in-memory cohort, the
                            position of the record in the input (from 1)
``patient_id``     string   the facts document's ``id``, or null when it has none
``status``         string   ``recommendation``, ``no recommendation`` or ``error``
``rank``           int64    the recommendation's position for this patient (from 1, alerts
                            first, as ``Evaluation.recommendations``); null otherwise
``rule_id``        string   the rule that made the recommendation
``rule_version``   int64    that rule's version
``action``         string   ``recommend``, ``refer``, ``test``, ``consider`` or ``avoid``
``intervention``   string   the intervention id
``alert``          bool     the recommendation is an alert (a treatment proposed, ordered or
                            active that should not be)
``alert_certainty`` string  on an alert: ``stated`` (the order says it is to prevent
                            miscarriage) or ``inferred``; null otherwise
``summary``        string   the recommendation in one line
``error_field``    string   for an error row: the first offending field path (empty for
                            the document as a whole; null for an engine failure)
``error``          string   for an error row: every problem, ``path: message; ...``
=================  =======  ===============================================================

Rule columns are null on ``no recommendation`` and ``error`` rows; error columns are null
on the others. :class:`AdherenceSummary` counts patients per rule and per alert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from ..errors import FactsError
from ..jsontext import JsonTextError, loads_strict
from ..limits import MAX_DOCUMENT_BYTES, lone_surrogate
from ..models.facts import PatientFacts

if TYPE_CHECKING:
    from ..engine import Engine
    from ..models.results import Evaluation, Finding, Recommendation

__all__ = [
    "ROW_COLUMNS",
    "AdherenceSummary",
    "CohortResult",
    "FindingRow",
    "RecommendationRow",
    "Record",
    "evaluate_record",
    "numbered_lines",
    "parse_facts_text",
    "rows_to_columns",
]

ErrorKind = Literal["invalid facts", "engine error"]
Status = Literal["recommendation", "no recommendation", "error"]

ROW_COLUMNS: tuple[str, ...] = (
    "source",
    "line",
    "patient_id",
    "status",
    "rank",
    "rule_id",
    "rule_version",
    "action",
    "intervention",
    "alert",
    "alert_certainty",
    "summary",
    "error_field",
    "error",
)
"""The audit row columns, in order (see the module docstring for their meaning)."""

STATUS_RECOMMENDATION: Status = "recommendation"
STATUS_NONE: Status = "no recommendation"
STATUS_ERROR: Status = "error"


class Record(NamedTuple):
    """A facts document with where it came from: ``Record(facts, line, source)``."""

    facts: Any
    """A dict, a :class:`~rsa_rules.PatientFacts`, or the JSON text of one facts document."""
    line: int | None = None
    """The line in ``source`` (from 1), or the record's position in an in-memory cohort."""
    source: str | None = None
    """The file the record was read from, if any."""


class RecommendationRow(NamedTuple):
    """The auditable part of a :class:`~rsa_rules.Recommendation`."""

    rule_id: str
    rule_version: int
    action: str
    intervention: str
    alert: bool
    alert_certainty: str | None
    summary: str

    @classmethod
    def of(cls, rec: Recommendation) -> RecommendationRow:
        """The row of a recommendation: its values, nothing computed again."""
        return cls(
            rec.rule_id,
            rec.rule_version,
            rec.action,
            rec.intervention,
            rec.alert,
            rec.alert_certainty,
            rec.summary,
        )


class FindingRow(NamedTuple):
    """The auditable part of a :class:`~rsa_rules.Finding`."""

    id: str
    rule_id: str
    value: Any

    @classmethod
    def of(cls, finding: Finding) -> FindingRow:
        """The row of a finding: its values, nothing computed again."""
        return cls(finding.id, finding.rule_id, finding.value)


@dataclass(frozen=True, slots=True)
class CohortResult:
    """What one cohort record gave: its recommendations and findings, or an error.

    ``index`` is the record's position in the input (from 0). For a record that could not be
    evaluated, ``error`` holds the problems (``path: message; ...``), ``error_field`` the first
    offending field path (empty for the document as a whole), ``problems`` every
    ``(path, message)`` pair, and ``error_kind`` says whether the facts were invalid or the
    engine failed. ``evaluation`` holds :meth:`~rsa_rules.Evaluation.to_dict` (with every
    explanation) when the cohort was evaluated with ``explain=True``.
    """

    index: int
    line: int | None
    source: str | None
    patient_id: str | None
    recommendations: tuple[RecommendationRow, ...] = ()
    findings: tuple[FindingRow, ...] = ()
    error_kind: ErrorKind | None = None
    error_field: str | None = None
    error: str | None = None
    problems: tuple[tuple[str, str], ...] = ()
    evaluation: dict[str, Any] | None = None

    @classmethod
    def of(
        cls,
        evaluation: Evaluation,
        index: int,
        line: int | None,
        source: str | None,
        *,
        explain: bool = False,
    ) -> CohortResult:
        """The cohort result of an evaluation: its rows are the evaluation's own values
        (:meth:`RecommendationRow.of`, :meth:`FindingRow.of`), compact enough to pass
        between processes; ``explain`` keeps the whole evaluation's data as well."""
        return cls(
            index,
            line,
            source,
            evaluation.patient_id,
            recommendations=tuple(RecommendationRow.of(r) for r in evaluation.recommendations),
            findings=tuple(FindingRow.of(f) for f in evaluation.findings),
            evaluation=evaluation.to_dict() if explain else None,
        )

    @property
    def ok(self) -> bool:
        """True when the record was evaluated (it may still have no recommendation)."""
        return self.error_kind is None

    @property
    def alerts(self) -> tuple[RecommendationRow, ...]:
        return tuple(r for r in self.recommendations if r.alert)

    def rows(self) -> list[tuple[Any, ...]]:
        """The audit rows of this patient, as tuples in :data:`ROW_COLUMNS` order."""
        head = (self.source, self.line, self.patient_id)
        if not self.ok:
            return [(*head, STATUS_ERROR, *(None,) * 8, self.error_field, self.error)]
        if not self.recommendations:
            return [(*head, STATUS_NONE, *(None,) * 10)]
        return [
            (*head, STATUS_RECOMMENDATION, rank, *rec, None, None)
            for rank, rec in enumerate(self.recommendations, 1)
        ]


def rows_to_columns(results: Iterable[CohortResult]) -> dict[str, list[Any]]:
    """The audit rows of ``results`` as columns: ``{column: [values...]}``."""
    rows = [row for result in results for row in result.rows()]
    if not rows:
        return {name: [] for name in ROW_COLUMNS}
    return {
        name: list(values)
        for name, values in zip(ROW_COLUMNS, zip(*rows, strict=True), strict=True)
    }


def numbered_lines(stream: Iterable[bytes], source: str | None) -> Iterator[Record]:
    """The records of a JSON Lines stream, each with its line number; blank lines skipped.

    Lines are passed on as bytes, without their line ending: they are parsed (strictly)
    where they are evaluated, so a line that is not a JSON object becomes an error row.
    """
    for number, raw in enumerate(stream, 1):
        line = raw.rstrip()
        if line:
            yield Record(line, number, source)


# -- evaluating one record ---------------------------------------------------------------


def parse_facts_text(text: str | bytes | bytearray) -> Any:
    """Parse the JSON text of one facts document, as strictly as ``rsa-rules evaluate``.

    ``NaN``/``Infinity`` and a key given twice in one object are errors (one value would be
    dropped silently). Raises :class:`~rsa_rules.FactsError` naming the document.
    """
    if len(text) > MAX_DOCUMENT_BYTES:
        raise FactsError(
            [
                (
                    "",
                    f"the record is {len(text):,} bytes long; a facts document may be at most "
                    f"{MAX_DOCUMENT_BYTES:,}",
                )
            ]
        )
    try:
        return loads_strict(text)
    except JsonTextError as error:
        message = str(error)
        if error.path:
            message = message.removeprefix(f"{error.path}: ")
        raise FactsError([(error.path, message)]) from None


def _patient_id(document: Any) -> str | None:
    """The ``id`` of a document that failed validation, when it is a usable string."""
    if isinstance(document, PatientFacts):
        return document.id
    if isinstance(document, Mapping):
        value = document.get("id")
        if isinstance(value, str) and value and lone_surrogate(value) is None:
            return value  # a string that is not Unicode text would fail the audit file
    return None


def evaluate_record(
    engine: Engine, item: Any, index: int, *, explain: bool = False, as_of: date | None = None
) -> CohortResult:
    """Evaluate one cohort record; bad facts give an error result, never an exception.

    ``item`` is a facts document (dict, :class:`~rsa_rules.PatientFacts` or JSON text) or a
    :class:`Record`. A :class:`~rsa_rules.FactsError` becomes an ``invalid facts`` result
    naming the field; any other failure an ``engine error`` result (a bug: the run goes on,
    and the error is counted and shown).
    """
    if isinstance(item, Record):
        facts, line, source = item
    else:
        facts, line, source = item, index + 1, None
    document: Any = facts
    try:
        if isinstance(facts, (str, bytes, bytearray)):
            document = parse_facts_text(facts)
        evaluation = engine.evaluate(document, as_of)
    except FactsError as error:
        problems = tuple((str(p), str(m)) for p, m in error.problems)
        return CohortResult(
            index,
            line,
            source,
            _patient_id(document),
            error_kind="invalid facts",
            error_field=problems[0][0] if problems else "",
            error="; ".join(f"{p or '(document)'}: {m}" for p, m in problems),
            problems=problems,
        )
    except Exception as error:  # noqa: BLE001 - recorded on the patient's row, counted, shown
        return CohortResult(
            index,
            line,
            source,
            _patient_id(document),
            error_kind="engine error",
            error=f"engine error: {type(error).__name__}: {error}",
        )
    return CohortResult.of(evaluation, index, line, source, explain=explain)


# -- the adherence summary ---------------------------------------------------------------


@dataclass
class AdherenceSummary:
    """Counts of patients per rule and per alert over a cohort.

    Percentages are of the patients evaluated (records with an error are not in the
    denominator; they are counted apart). Build one with :meth:`add` per result, or with
    :meth:`from_rows` from audit rows; combine partial ones with :meth:`merge`.
    """

    records: int = 0
    evaluated: int = 0
    invalid: int = 0
    engine_errors: int = 0
    without_recommendation: int = 0
    with_alert: int = 0
    rules: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """Patients per ``(rule_id, action, intervention)``."""
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Patients with an alert per ``(rule_id, intervention)``."""

    def add(self, result: CohortResult) -> None:
        self.records += 1
        if result.error_kind == "invalid facts":
            self.invalid += 1
            return
        if result.error_kind == "engine error":
            self.engine_errors += 1
            return
        self.evaluated += 1
        if not result.recommendations:
            self.without_recommendation += 1
        alerted = False
        for rec in result.recommendations:
            self.rules[(rec.rule_id, rec.action, rec.intervention)] += 1
            if rec.alert:
                self.alerts[(rec.rule_id, rec.intervention)] += 1
                alerted = True
        self.with_alert += alerted

    def merge(self, other: AdherenceSummary) -> AdherenceSummary:
        """The summary of both cohorts together (neither is changed)."""
        return AdherenceSummary(
            records=self.records + other.records,
            evaluated=self.evaluated + other.evaluated,
            invalid=self.invalid + other.invalid,
            engine_errors=self.engine_errors + other.engine_errors,
            without_recommendation=self.without_recommendation + other.without_recommendation,
            with_alert=self.with_alert + other.with_alert,
            rules=self.rules + other.rules,
            alerts=self.alerts + other.alerts,
        )

    @classmethod
    def from_rows(cls, columns: Mapping[str, Sequence[Any]]) -> AdherenceSummary:
        """The summary of audit rows given as columns (a dict of lists, or a DataFrame)."""
        summary = cls()
        alerted: set[tuple[Any, Any, Any]] = set()
        keys = zip(
            columns["source"],
            columns["line"],
            columns["patient_id"],
            columns["status"],
            columns["rank"],
            columns["rule_id"],
            columns["action"],
            columns["intervention"],
            columns["alert"],
            columns["error_field"],
            strict=True,
        )
        for source, line, patient, status, rank, rule, action, intervention, alert, field_ in keys:
            if status == STATUS_ERROR:
                summary.records += 1
                if _is_null(field_):
                    summary.engine_errors += 1
                else:
                    summary.invalid += 1
                continue
            if status == STATUS_NONE:
                summary.records += 1
                summary.evaluated += 1
                summary.without_recommendation += 1
                continue
            if rank == 1:
                summary.records += 1
                summary.evaluated += 1
            summary.rules[(rule, action, intervention)] += 1
            if not _is_null(alert) and bool(alert):
                summary.alerts[(rule, intervention)] += 1
                alerted.add((source, line, patient))
        summary.with_alert = len(alerted)
        return summary

    def percent(self, count: int) -> float:
        """``count`` as a percentage of the patients evaluated (0 when none were)."""
        return 100.0 * count / self.evaluated if self.evaluated else 0.0

    def rule_table(self) -> list[tuple[str, str, str, int, float]]:
        """``(rule_id, action, intervention, patients, percent)``, most frequent first."""
        return [
            (rule, action, intervention, count, self.percent(count))
            for (rule, action, intervention), count in sorted(
                self.rules.items(), key=lambda kv: (-kv[1], kv[0])
            )
        ]

    def alert_table(self) -> list[tuple[str, str, int, float]]:
        """``(rule_id, intervention, patients, percent)``, most frequent first."""
        return [
            (rule, intervention, count, self.percent(count))
            for (rule, intervention), count in sorted(
                self.alerts.items(), key=lambda kv: (-kv[1], kv[0])
            )
        ]

    def to_text(self) -> str:
        """The summary as plain-text tables (what ``rsa-rules audit`` prints)."""
        width = max(7, len(f"{self.records:,}"))

        def line(label: str, count: int, share: str = "") -> str:
            return f"  {label:<34} {count:>{width},}{share}"

        evaluated = f"{self.evaluated:,}"
        out = [
            f"Adherence summary: {self.records:,} records",
            line("evaluated", self.evaluated),
            line("invalid facts (error rows)", self.invalid),
        ]
        if self.engine_errors:
            out.append(line("engine errors (error rows)", self.engine_errors))
        out += [
            line(
                "with no recommendation",
                self.without_recommendation,
                f"  {self.percent(self.without_recommendation):6.1f}%",
            ),
            line(
                "with at least one alert",
                self.with_alert,
                f"  {self.percent(self.with_alert):6.1f}%",
            ),
            "",
            f"Recommendations per rule (patients; % of {evaluated} evaluated)",
        ]
        out += _table(
            ("rule", "action", "intervention", "patients", "%"),
            [
                (rule, action, intervention, f"{count:,}", f"{share:.1f}")
                for rule, action, intervention, count, share in self.rule_table()
            ],
        )
        out += ["", f"Alerts (patients; % of {evaluated} evaluated)"]
        out += _table(
            ("rule", "intervention", "patients", "%"),
            [
                (rule, intervention, f"{count:,}", f"{share:.1f}")
                for rule, intervention, count, share in self.alert_table()
            ],
        )
        return "\n".join(out) + "\n"

    def to_frames(self) -> tuple[Any, Any]:
        """``(per_rule, per_alert)`` as pandas DataFrames (needs rsa-rules[cohort])."""
        import pandas as pd

        rules = pd.DataFrame(
            self.rule_table(), columns=["rule_id", "action", "intervention", "patients", "percent"]
        )
        alerts = pd.DataFrame(
            self.alert_table(), columns=["rule_id", "intervention", "patients", "percent"]
        )
        return rules, alerts


def _is_null(value: Any) -> bool:
    """None, or a pandas/NumPy missing value (NaN, NA, NaT), which is not equal to itself."""
    if value is None:
        return True
    try:
        return bool(value != value)
    except (TypeError, ValueError):  # pandas.NA cannot be made a bool
        return True


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    if not rows:
        return ["  (none)"]
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    numeric = {len(header) - 2, len(header) - 1}

    def fmt(cells: tuple[str, ...]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  " + "  ".join(parts).rstrip()

    return [fmt(header), fmt(tuple("-" * w for w in widths)), *(fmt(r) for r in rows)]
