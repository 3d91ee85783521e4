"""Patient facts -> engine facts: one flat record the rules read, each value with its provenance.

The rules in ``rules/`` read flat, typed facts (catalogued in ``rules/facts.yaml``). This
module derives them from the validated :class:`~rsa_rules.models.facts.PatientFacts`: it
copies scalars, counts losses and reads antiphospholipid results over time. Every number it
compares with (weeks, days, titres, which kinds of loss count) is a parameter of the knowledge
base; none is written here. An unknown input gives no engine fact at all (absent = unknown),
never a default.

Each engine fact keeps the input paths it came from (``antiphospholipid.results.1``) and a
sentence for explanations.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..knowledge.loader import (
    REASON_NOT_STATED,
    REASONS_BY_CONTEXT,
    KnowledgeBase,
    reason_fact,
    treatment_fact,
)
from ..models.facts import AntiphospholipidResult, PatientFacts

__all__ = ["EngineFact", "FactDeriver", "show_value"]


class EngineFact:
    """One known engine fact: its value, the input paths it came from and a sentence.

    The sentence is written when first read (explanations are built on demand), so an
    evaluation whose explanations are never read does not pay for them.
    """

    __slots__ = ("_text", "name", "paths", "value")

    def __init__(
        self, name: str, value: Any, paths: tuple[str, ...], text: str | Callable[[], str]
    ) -> None:
        self.name = name
        self.value = value
        self.paths = paths
        self._text = text

    @property
    def text(self) -> str:
        text = self._text
        if not isinstance(text, str):
            text = self._text = text()
        return text

    def __repr__(self) -> str:
        return f"EngineFact({self.name!r}, {self.value!r}, {self.paths!r})"


_APL_FACTS = {
    "lupus-anticoagulant": "apl_lupus_anticoagulant",
    "anticardiolipin-igg": "apl_anticardiolipin_igg",
    "anticardiolipin-igm": "apl_anticardiolipin_igm",
    "anti-b2gpi-igg": "apl_anti_b2gpi_igg",
    "anti-b2gpi-igm": "apl_anti_b2gpi_igm",
}
# Fetal karyotype values of the facts format that are abnormal (they explain the loss), and
# the tissue results the parental-karyotype rules read ("failed": tested without a result).
_ABNORMAL_KARYOTYPES = frozenset({"abnormal", "unbalanced-structural"})
_KARYOTYPE_FACTS = (
    (
        "unbalanced_structural_losses",
        "unbalanced-structural",
        "with an unbalanced structural chromosomal abnormality in the pregnancy tissue",
    ),
    ("failed_karyotype_losses", "failed", "whose tissue karyotype failed (no result)"),
)


def _weeks(value: float) -> str:
    return f"{value:g}"


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


@dataclass(frozen=True, slots=True)
class _Loss:
    path: str
    weeks: float | None
    kind: str | None
    karyotype: str | None
    current: bool


@dataclass(frozen=True, slots=True)
class _Reading:
    paths: tuple[str, ...]  # identical results of one occasion are one reading
    day: date | None
    reading: str  # positive | negative | uninterpretable
    why: str


class FactDeriver:
    """Derives engine facts with the parameters of one knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        p = kb.parameter
        self.labels = {name: spec.label for name, spec in kb.facts.items()}
        self.counted_kinds = frozenset(p("counted_loss_kinds"))
        self.uncounted_kinds = frozenset(p("uncounted_loss_kinds"))
        self.under_way = kb.under_way
        self.fetal_death_weeks = float(p("fetal_death_weeks"))
        self.second_trimester_weeks = float(p("second_trimester_weeks"))
        self.persistence_days = int(p("apl_persistence_days"))
        self.titre_threshold = float(p("apl_titre_threshold"))
        self.titre_units = frozenset(p("apl_titre_units"))
        self.titre_tests = frozenset(p("apl_titre_tests"))
        self.fetal_death_kinds = frozenset(p("fetal_death_kinds"))
        self.miscarriage_weeks = float(p("miscarriage_weeks"))
        self.treatment_facts = tuple(
            (
                intervention,
                treatment_fact(intervention),
                reason_fact(intervention),
                EngineFact(
                    treatment_fact(intervention),
                    False,
                    ("treatments",),
                    f"{intervention} not proposed, ordered or active",
                ),
            )
            for intervention in kb.interventions
        )
        self.groups = tuple(
            (
                frozenset(group.interventions),
                treatment_fact(group.id),
                reason_fact(group.id),
                EngineFact(
                    treatment_fact(group.id),
                    False,
                    ("treatments",),
                    f"none of {_join(list(group.interventions))} proposed, ordered or active",
                ),
            )
            for group in kb.intervention_groups
        )

    # -- entry point --------------------------------------------------------------------
    def derive(self, facts: PatientFacts) -> dict[str, EngineFact]:
        out: dict[str, EngineFact] = {}

        def put(name: str, value: Any, paths: Iterable[str], text: str | Callable[[], str]) -> None:
            out[name] = EngineFact(name, value, tuple(paths), text)

        labels = self.labels

        def scalar(name: str, value: Any, path: str, shown: str | None = None) -> None:
            if value is not None:
                out[name] = EngineFact(
                    name,
                    value,
                    (path,),
                    lambda: (
                        f"{labels.get(name, name)}: "
                        + (shown if shown is not None else show_value(value))
                    ),
                )

        scalar("age", facts.age, "age", f"{facts.age} years")
        scalar("rh", facts.rh, "rh")
        scalar("thrombosis_history", facts.thrombosis_history, "thrombosis_history")
        self._history(facts, put, scalar)
        self._antiphospholipid(facts, put, scalar)
        inherited = facts.inherited_thrombophilia
        if inherited is not None:
            base = "inherited_thrombophilia."
            for key in (
                "factor_v_leiden",
                "prothrombin_g20210a",
                "protein_c_deficiency",
                "protein_s_deficiency",
                "antithrombin_deficiency",
            ):
                scalar(key, getattr(inherited, key), base + key)
        self._current(facts, put, scalar)
        risks = facts.risk_factors
        if risks is not None:
            for key in type(risks).model_fields:
                scalar(key, getattr(risks, key), "risk_factors." + key)
        contra = facts.contraindications
        if contra is not None:
            for key in type(contra).model_fields:
                scalar(key, getattr(contra, key), "contraindications." + key)
        self._treatments(facts, out)
        return out

    # -- pregnancy history and losses ---------------------------------------------------
    def _history(self, facts: PatientFacts, put: Any, scalar: Any) -> None:
        history = facts.pregnancy_history
        items: list[_Loss] = []
        history_known = False
        extra = 0  # losses counted in loss_count but not itemised
        if history is not None:
            scalar("losses_consecutive", history.consecutive, "pregnancy_history.consecutive")
            scalar("live_births", history.live_births, "pregnancy_history.live_births")
            scalar(
                "preterm_placental_birth",
                history.preterm_birth_before_34_weeks_placental,
                "pregnancy_history.preterm_birth_before_34_weeks_placental",
            )
            for index, loss in enumerate(history.losses or ()):
                items.append(
                    _Loss(
                        f"pregnancy_history.losses.{index}",
                        loss.gestational_weeks,
                        loss.kind,
                        loss.fetal_karyotype,
                        current=False,
                    )
                )
            history_known = history.losses is not None or history.loss_count is not None
            if history.loss_count is not None:
                listed = sum(1 for item in items if item.kind not in self.uncounted_kinds)
                extra = history.loss_count - listed
        miscarriage = facts.current_miscarriage
        if miscarriage is not None:
            items.append(
                _Loss(
                    "current_miscarriage", miscarriage.gestational_weeks, None, None, current=True
                )
            )

        counted = [item for item in items if item.kind is None or item.kind in self.counted_kinds]
        any_loss_paths = [item.path for item in items]
        if extra > 0:
            any_loss_paths.append("pregnancy_history.loss_count")
        if any_loss_paths:
            put("any_pregnancy_loss", True, any_loss_paths, "pregnancy loss recorded")
        elif history_known:
            put("any_pregnancy_loss", False, ["pregnancy_history"], "no pregnancy loss recorded")
        if not history_known:
            # The current miscarriage alone: a lower bound ("at least 1 loss"). It still counts
            # toward the APS clinical criterion when it is a fetal death; the loss count stays
            # unknown, and rules needing it say so.
            fetal_now = [item for item in counted if item.current and self.is_fetal_death(item)]
            if fetal_now:
                put(
                    "fetal_deaths_unexplained",
                    len(fetal_now),
                    [item.path for item in fetal_now],
                    lambda: (
                        f"at least {len(fetal_now)} unexplained fetal death at or after "
                        f"{_weeks(self.fetal_death_weeks)} weeks: the current miscarriage"
                        f"{self._weeks_list(fetal_now)} (previous pregnancies not recorded)"
                    ),
                )
            return

        count_paths = [item.path for item in counted]
        if history is not None and history.loss_count is not None:
            count_paths.append("pregnancy_history.loss_count")
        previous = [item for item in counted if not item.current]
        miscarriages = [
            item for item in previous if item.weeks is None or item.weeks < self.miscarriage_weeks
        ]
        put(
            "counted_losses",
            len(counted) + extra,
            count_paths or ["pregnancy_history"],
            lambda: self._loss_text(counted, extra, items),
        )
        put(
            "previous_losses",
            len(previous) + extra,
            [item.path for item in previous] or ["pregnancy_history"],
            lambda: f"{len(previous) + extra} previous pregnancy losses",
        )
        put(
            "previous_miscarriages",
            len(miscarriages) + extra,
            [item.path for item in miscarriages] or ["pregnancy_history"],
            lambda: (
                f"{len(miscarriages) + extra} previous miscarriages (losses before "
                f"{_weeks(self.miscarriage_weeks)} weeks or of unknown gestational age)"
            ),
        )
        unknown_weeks = [item for item in counted if item.weeks is None]
        put(
            "losses_unknown_weeks",
            len(unknown_weeks) + extra,
            [item.path for item in unknown_weeks] or ["pregnancy_history"],
            lambda: (
                f"{len(unknown_weeks) + extra} counted losses without a recorded gestational age"
            ),
        )

        def explained(item: _Loss) -> bool:
            return item.karyotype in _ABNORMAL_KARYOTYPES

        early = [
            item
            for item in counted
            if item.weeks is not None
            and item.weeks < self.fetal_death_weeks
            and not explained(item)
        ]
        fetal = [item for item in counted if not explained(item) and self.is_fetal_death(item)]
        second = [
            item
            for item in counted
            if item.weeks is not None and item.weeks >= self.second_trimester_weeks
        ]
        limit = _weeks(self.fetal_death_weeks)
        abnormal = sum(1 for item in counted if explained(item))

        def note() -> str:
            if not abnormal:
                return ""
            return f"; {abnormal} with an abnormal fetal karyotype (explained, not counted)"

        put(
            "early_unexplained_losses",
            len(early),
            [item.path for item in early] or ["pregnancy_history"],
            lambda: (
                f"{len(early)} unexplained losses before {limit} weeks"
                + self._weeks_list(early)
                + note()
                + self._unknown_note(unknown_weeks, extra)
            ),
        )
        put(
            "fetal_deaths_unexplained",
            len(fetal),
            [item.path for item in fetal] or ["pregnancy_history"],
            lambda: (
                f"{len(fetal)} unexplained fetal deaths at or after {limit} weeks"
                + self._weeks_list(fetal)
                + note()
            ),
        )
        put(
            "second_trimester_losses",
            len(second),
            [item.path for item in second] or ["pregnancy_history"],
            lambda: (
                f"{len(second)} losses at or after "
                f"{_weeks(self.second_trimester_weeks)} weeks" + self._weeks_list(second)
            ),
        )

        self._karyotypes(counted, extra, put)

    def notes(self, facts: PatientFacts) -> list[tuple[str, str]]:
        """Disagreements within the facts, by input path, with how they were read."""
        out: list[tuple[str, str]] = []
        history = facts.pregnancy_history
        for index, loss in enumerate((history.losses or ()) if history is not None else ()):
            weeks = loss.gestational_weeks
            if (
                weeks is not None
                and weeks < self.fetal_death_weeks
                and loss.kind in self.fetal_death_kinds
            ):
                out.append(
                    (
                        f"pregnancy_history.losses.{index}",
                        f"recorded as {loss.kind} at {_weeks(weeks)} weeks: the gestational "
                        f"weeks decide, so it is read as a loss before "
                        f"{_weeks(self.fetal_death_weeks)} weeks, not a fetal death",
                    )
                )
        return out

    def is_fetal_death(self, item: _Loss) -> bool:
        """Gestational weeks decide when known; with none, the recorded kind does."""
        if item.weeks is not None:
            return item.weeks >= self.fetal_death_weeks
        return item.kind in self.fetal_death_kinds

    def _karyotypes(self, counted: list[_Loss], extra: int, put: Any) -> None:
        """Counted losses by tissue karyotype result; unknown while one has none recorded.

        A loss with no karyotype recorded (or counted in loss_count only) might have had any
        result, so a count of none is known only when every counted loss has one.
        """
        unrecorded = extra + sum(1 for item in counted if item.karyotype is None)
        for name, value, words in _KARYOTYPE_FACTS:
            found = [item for item in counted if item.karyotype == value]
            if not found and unrecorded:
                continue
            read = found or counted
            put(
                name,
                len(found),
                [f"{item.path}.fetal_karyotype" for item in read] or ["pregnancy_history"],
                lambda found=found, words=words: (
                    f"{len(found)} loss{'es' if len(found) != 1 else ''} {words}"
                    + self._weeks_list(found)
                ),
            )

    def _loss_text(self, counted: list[_Loss], extra: int, items: list[_Loss]) -> str:
        total = len(counted) + extra
        parts = [f"{total} pregnancy loss{'es' if total != 1 else ''}"]
        weeks = sorted(item.weeks for item in counted if item.weeks is not None)
        if weeks:
            parts.append(f"at {_join([_weeks(w) for w in weeks])} weeks")
        if any(item.current for item in counted):
            parts.append("(including the current miscarriage)")
        skipped = [item.kind for item in items if item.kind in self.uncounted_kinds]
        if skipped:
            parts.append(f"({_join(sorted(str(k) for k in skipped))} pregnancies not counted)")
        if extra:
            parts.append(f"({extra} from loss_count, not itemised)")
        return " ".join(parts)

    @staticmethod
    def _weeks_list(items: list[_Loss]) -> str:
        weeks = sorted(item.weeks for item in items if item.weeks is not None)
        return f" ({_join([_weeks(w) for w in weeks])} weeks)" if weeks else ""

    @staticmethod
    def _unknown_note(unknown: list[_Loss], extra: int) -> str:
        missing = len(unknown) + extra
        if not missing:
            return ""
        plural = "es" if missing != 1 else ""
        return f"; {missing} loss{plural} of unknown gestational age not counted here"

    # -- antiphospholipid results -------------------------------------------------------
    def _antiphospholipid(self, facts: PatientFacts, put: Any, scalar: Any) -> None:
        apl = facts.antiphospholipid
        if apl is None:
            return
        scalar(
            "apl_diagnosis",
            apl.diagnosis,
            "antiphospholipid.diagnosis",
            f"{apl.diagnosis} (asserted by a clinician)" if apl.diagnosis else None,
        )
        if apl.results is None:
            return
        by_test: dict[str, list[_Reading]] = {}
        uninterpretable: list[_Reading] = []
        for index, result in enumerate(apl.results):
            reading = self._read(result, index)
            by_test.setdefault(result.test, []).append(reading)
            if reading.reading == "uninterpretable":
                uninterpretable.append(reading)
        uninterpretable.sort(key=_reading_key)
        put(
            "apl_uninterpretable_results",
            len(uninterpretable),
            [p for r in uninterpretable for p in r.paths] or ["antiphospholipid.results"],
            "; ".join(r.why for r in uninterpretable)
            if uninterpretable
            else "no uninterpretable antiphospholipid result",
        )
        due: list[tuple[date, str, tuple[str, ...]]] = []
        for test, readings in by_test.items():
            name = _APL_FACTS[test]
            readings = _merge_duplicates(readings)
            status, paths, text, first_positive = self._persistence(readings, self.labels[name])
            put(name, status, paths, text)
            first_day = first_positive.day if first_positive is not None else None
            if (
                status == "positive-unconfirmed"
                and first_positive
                and first_day is not None
                # a repeat due after 9999-12-31 has no date (and no patient is that old)
                and first_day.toordinal() + self.persistence_days <= date.max.toordinal()
            ):
                when = first_day + timedelta(days=self.persistence_days)
                due.append((when, first_positive.why, first_positive.paths))
        if due:
            when, _, due_paths = min(due)
            put(
                "apl_repeat_due",
                when.isoformat(),
                due_paths,
                f"repeat due on {when.isoformat()} ({self.persistence_days} days after the "
                "first positive result)",
            )

    def _read(self, result: AntiphospholipidResult, index: int) -> _Reading:
        path = (f"antiphospholipid.results.{index}",)
        label = self.labels[_APL_FACTS[result.test]]
        on = f" on {result.date.isoformat()}" if result.date else " (undated)"
        if result.result is not None:
            return _Reading(path, result.date, result.result, f"{label} {result.result}{on}")
        value, unit, flag = result.value, result.unit, result.above_99th_percentile
        titre_ok = (
            value is not None and unit in self.titre_units and result.test in self.titre_tests
        )
        shown = f"{value:g} {unit}" if value is not None else ""
        threshold = f"{self.titre_threshold:g}"
        if titre_ok and value is not None and value > self.titre_threshold:
            return _Reading(
                path,
                result.date,
                "positive",
                f"{label} {shown}{on}: above the medium-titre threshold of {threshold}",
            )
        if flag is True:
            return _Reading(
                path,
                result.date,
                "positive",
                f"{label}{' ' + shown if shown else ''}{on}: above the laboratory's "
                "99th percentile",
            )
        if flag is False:
            return _Reading(
                path,
                result.date,
                "negative",
                f"{label}{' ' + shown if shown else ''}{on}: not above the laboratory's "
                "99th percentile",
            )
        if titre_ok:
            return _Reading(
                path,
                result.date,
                "negative",
                f"{label} {shown}{on}: below the medium-titre threshold of {threshold}; "
                "no percentile flag given",
            )
        return _Reading(
            path,
            result.date,
            "uninterpretable",
            f"{label} {shown}{on}: cannot be read without the laboratory's "
            "99th-percentile flag (uninterpretable, not negative)",
        )

    def _persistence(
        self, readings: list[_Reading], label: str
    ) -> tuple[str, list[str], str, _Reading | None]:
        # Ordered by content, never by position in the input, so that the order of the
        # results never changes the answer or its wording.
        readings = sorted(readings, key=_reading_key)
        dated = [r for r in readings if r.day is not None]
        positives = [r for r in dated if r.reading == "positive"]
        negatives = [r for r in dated if r.reading == "negative"]
        days = self.persistence_days
        # The earliest positive has the widest reach: if no result lies far enough after
        # it, none lies far enough after a later one. One binary search each, not all pairs.
        first = positives[0] if positives else None
        second = _first_from(positives, first, days, start=1)
        if first is not None and second is not None:
            gap = (second.day - first.day).days  # type: ignore[operator]
            return (
                "persistent-positive",
                [*first.paths, *second.paths],
                f"{label} positive on {first.day} and {second.day}, {gap} days apart "
                f"(persistent: at least {days} days)",
                None,
            )
        later = _first_from(negatives, first, days, start=0)
        if first is not None and later is not None:
            gap = (later.day - first.day).days  # type: ignore[operator]
            return (
                "transient",
                [*first.paths, *later.paths],
                f"{label} positive on {first.day} but negative {gap} days later on "
                f"{later.day} (transient: counts as negative)",
                None,
            )
        all_positive = [r for r in readings if r.reading == "positive"]
        if all_positive:
            first_dated = positives[0] if positives else None
            text = "; ".join(r.why for r in all_positive)
            if first_dated is not None:
                text += (
                    f" (not yet confirmed: needs a repeat at least {days} days after "
                    f"{first_dated.day})"
                )
            else:
                text += " (not yet confirmed; undated, so no interval can be shown)"
            paths = [p for r in all_positive for p in r.paths]
            return "positive-unconfirmed", paths, text, first_dated
        negative = [r for r in readings if r.reading == "negative"]
        if negative:
            paths = [p for r in negative for p in r.paths]
            return "negative", paths, "; ".join(r.why for r in negative), None
        return (
            "uninterpretable",
            [p for r in readings for p in r.paths],
            "; ".join(r.why for r in readings),
            None,
        )

    # -- the current pregnancy or miscarriage -------------------------------------------
    def _current(self, facts: PatientFacts, put: Any, scalar: Any) -> None:
        pregnancy = facts.current_pregnancy
        if pregnancy is not None:
            put("pregnant", True, ["current_pregnancy"], "pregnant now")
            scalar(
                "pregnancy_weeks",
                pregnancy.gestational_weeks,
                "current_pregnancy.gestational_weeks",
                f"{_weeks(pregnancy.gestational_weeks)} weeks"
                if pregnancy.gestational_weeks is not None
                else None,
            )
            if pregnancy.symptoms is not None:
                listed = set(pregnancy.symptoms)
                for symptom in (
                    "bleeding",
                    "cramping",
                    "fluid-or-tissue-passage",
                    "dark-discharge",
                ):
                    name = symptom.replace("-", "_") + "_now"
                    present = symptom in listed
                    label = self.labels.get(name, name)
                    put(
                        name,
                        present,
                        ["current_pregnancy.symptoms"],
                        f"{label}: {'yes' if present else 'not reported'}",
                    )
        miscarriage = facts.current_miscarriage
        if miscarriage is not None:
            put("miscarriage_now", True, ["current_miscarriage"], "miscarriage now")
            scalar(
                "miscarriage_now_weeks",
                miscarriage.gestational_weeks,
                "current_miscarriage.gestational_weeks",
                f"{_weeks(miscarriage.gestational_weeks)} weeks"
                if miscarriage.gestational_weeks is not None
                else None,
            )
            scalar(
                "retained_tissue",
                miscarriage.retained_tissue,
                "current_miscarriage.retained_tissue",
            )
            scalar(
                "infection_signs",
                miscarriage.infection_signs,
                "current_miscarriage.infection_signs",
            )

    # -- treatments ---------------------------------------------------------------------
    def _treatments(self, facts: PatientFacts, out: dict[str, EngineFact]) -> None:
        if facts.treatments is None:
            return
        current: dict[str, list[tuple[int, str, str]]] = {}
        for index, treatment in enumerate(facts.treatments):
            if treatment.status in self.under_way:
                reason = treatment.reason or REASON_NOT_STATED
                current.setdefault(treatment.intervention, []).append(
                    (index, treatment.status, reason)
                )
        entries: list[tuple[frozenset[str], str, str, EngineFact]] = [
            (frozenset((intervention,)), name, reason_name, absent)
            for intervention, name, reason_name, absent in self.treatment_facts
        ]
        for members, name, reason_name, absent in (*entries, *self.groups):
            hits = sorted(hit for member in members for hit in current.get(member, ()))
            if not hits:
                out[name] = absent
                continue
            what = _join(sorted({facts.treatments[i].intervention for i, _, _ in hits}))
            statuses = _join(sorted({status for _, status, _ in hits}))
            out[name] = EngineFact(
                name,
                True,
                tuple(f"treatments.{i}" for i, _, _ in hits),
                f"{what} {statuses}",
            )
            # Several entries: the one most in this engine's context speaks for them all.
            reason = min((r for _, _, r in hits), key=REASONS_BY_CONTEXT.index)
            out[reason_name] = EngineFact(
                reason_name,
                reason,
                tuple(f"treatments.{i}" for i, _, r in hits if r == reason),
                f"{what}: {_REASON_TEXT[reason]}",
            )


_REASON_TEXT = {
    REASONS_BY_CONTEXT[0]: "given to prevent miscarriage (reason stated)",
    REASONS_BY_CONTEXT[1]: "no reason stated",
    REASONS_BY_CONTEXT[2]: "given for another indication (reason stated)",
}


def _merge_duplicates(readings: list[_Reading]) -> list[_Reading]:
    """Identical results of one test on one date are one occasion, citing every record."""
    # Grouped first and each group's paths sorted once: linear (n log n) in the readings.
    groups: dict[tuple[date | None, str, str], list[_Reading]] = {}
    for reading in readings:
        groups.setdefault((reading.day, reading.reading, reading.why), []).append(reading)
    merged: list[_Reading] = []
    for group in groups.values():
        first = group[0]
        if len(group) == 1:
            merged.append(first)
        else:
            paths = sorted((p for r in group for p in r.paths), key=_path_order)
            merged.append(_Reading(tuple(paths), first.day, first.reading, first.why))
    return merged


def _first_from(
    readings: list[_Reading], first: _Reading | None, days: int, start: int
) -> _Reading | None:
    """The first of these dated readings (sorted by day), from ``start`` on, at least
    ``days`` days after ``first``; ``None`` when there is none."""
    if first is None or first.day is None:
        return None
    target = first.day.toordinal() + days
    index = bisect_left(readings, target, lo=start, key=_ordinal)
    return readings[index] if index < len(readings) else None


def _ordinal(reading: _Reading) -> int:
    return reading.day.toordinal() if reading.day is not None else date.max.toordinal()


def _path_order(path: str) -> tuple[str, int]:
    head, _, index = path.rpartition(".")
    return (head, int(index)) if index.isdigit() else (path, -1)


def _reading_key(reading: _Reading) -> tuple[date, str, str]:
    return (reading.day or date.max, reading.reading, reading.why)


def show_value(value: Any) -> str:
    """A value as explanations write it: yes/no, numbers without trailing zeros."""
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def engine_record(facts: Mapping[str, EngineFact]) -> dict[str, Any]:
    """The plain values, as the rules engine sees them."""
    return {name: fact.value for name, fact in facts.items()}
