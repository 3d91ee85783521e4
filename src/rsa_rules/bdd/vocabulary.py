"""The clinical words of the step library, resolved against a knowledge base.

Scenarios name interventions, findings, sources, tests and facts the way a clinician writes
them ("heparin plus low-dose aspirin", "IVIg", "the Rh status", "anticardiolipin IgG"). This
module turns those words into the ids of the knowledge base and the facts format, and fails
with :class:`VocabularyError` (listing the words it knows) when a word is not one of them.

It needs neither pytest nor pytest-bdd.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from ..knowledge.loader import KnowledgeBase
from ..knowledge.names import aliases, normalise

__all__ = [
    "ACTION_WORDS",
    "NamedFacts",
    "ScenarioError",
    "Vocabulary",
    "VocabularyError",
    "normalise",
    "parse_count",
    "parse_dates",
    "parse_weeks",
    "rule_tag",
    "split_names",
]


class ScenarioError(AssertionError):
    """A scenario cannot be run or checked as written; the message says why, in plain words.

    It is an ``AssertionError`` so that pytest reports it as a failed check, not a crash.
    """


class VocabularyError(ScenarioError):
    """A word in a step is not in the vocabulary; the message lists the words that are."""

    def __init__(
        self, kind: str, word: str, known: Iterable[str], spellings: Iterable[str] = ()
    ) -> None:
        self.kind = kind
        self.word = word
        self.known = sorted(set(known), key=str.lower)
        candidates = [*self.known, *spellings]
        hint = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
        message = f"unknown {kind} {word!r}"
        if hint:
            message += f"; did you mean {hint[0]!r}?"
        message += f"\nKnown {kind}s: " + "; ".join(self.known)
        super().__init__(message)


# The past participles a Then step may use, and the actions they stand for.
ACTION_WORDS: Mapping[str, tuple[str, ...]] = {
    "recommended": ("recommend",),
    "considered": ("consider",),
    "to be considered": ("consider",),
    "advised against": ("avoid",),
    "to be avoided": ("avoid",),
    "avoided": ("avoid",),
    "requested": ("test",),
    "referred": ("refer",),
    "offered": ("recommend", "consider"),
}

_NUMBER_WORDS = {
    "no": 0,
    "zero": 0,
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def rule_tag(rule_id: str) -> str:
    """The identifier-safe tag of a rule id: ``RSA-ANTICOAG-APS`` becomes ``rsa_anticoag_aps``."""
    return re.sub(r"[^0-9a-z]+", "_", rule_id.lower()).strip("_")


def parse_count(word: str) -> int:
    """``3``, ``three``, ``a``, ``no``: the number a step names."""
    text = word.strip().lower()
    if text.isdigit():
        return int(text)
    if text in _NUMBER_WORDS:
        return _NUMBER_WORDS[text]
    raise ScenarioError(f"{word!r} is not a number (write it in digits, e.g. 3)")


def split_names(text: str) -> list[str]:
    """``6, 7 and 8`` or ``lupus anticoagulant and anticardiolipin IgG``: the items of a list."""
    parts = re.split(r",\s*|\s+and\s+|\s+or\s+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def parse_weeks(text: str) -> list[float]:
    """``6, 7 and 8``: completed weeks of gestation."""
    weeks: list[float] = []
    for item in split_names(text):
        try:
            value = float(item)
        except ValueError:
            raise ScenarioError(f"{item!r} is not a number of weeks (in {text!r})") from None
        weeks.append(value)
    return weeks


def parse_dates(text: str) -> list[str]:
    """``2026-01-05 and 2026-04-10``: ISO dates (YYYY-MM-DD)."""
    dates = split_names(text)
    for item in dates:
        if not _ISO_DATE.match(item):
            raise ScenarioError(f"{item!r} is not a date in the form YYYY-MM-DD (in {text!r})")
    return dates


def whole_number(value: float) -> int | float:
    """3.0 as 3 (the facts format takes either; whole numbers read better in messages)."""
    return int(value) if float(value).is_integer() else value


# -- words that are not in the knowledge base: the facts format's own values -------------

LOSS_KINDS: Mapping[str, str | None] = {
    "miscarriage": "miscarriage",
    "miscarriages": "miscarriage",
    "biochemical pregnancy": "biochemical",
    "biochemical pregnancies": "biochemical",
    "biochemical loss": "biochemical",
    "biochemical losses": "biochemical",
    "biochemical pregnancy loss": "biochemical",
    "biochemical pregnancy losses": "biochemical",
    "fetal death": "fetal-death",
    "fetal deaths": "fetal-death",
    "ectopic pregnancy": "ectopic",
    "ectopic pregnancies": "ectopic",
    "molar pregnancy": "molar",
    "molar pregnancies": "molar",
    "pregnancy loss": None,
    "pregnancy losses": None,
    "loss": None,
    "losses": None,
}

APL_TESTS: Mapping[str, str] = {
    "lupus anticoagulant": "lupus-anticoagulant",
    "LA": "lupus-anticoagulant",
    "anticardiolipin IgG": "anticardiolipin-igg",
    "aCL IgG": "anticardiolipin-igg",
    "anticardiolipin IgM": "anticardiolipin-igm",
    "aCL IgM": "anticardiolipin-igm",
    "anti-beta2-glycoprotein-I IgG": "anti-b2gpi-igg",
    "anti-β2-glycoprotein-I IgG": "anti-b2gpi-igg",
    "anti-β2GPI IgG": "anti-b2gpi-igg",
    "anti-b2gpi IgG": "anti-b2gpi-igg",
    "anti-beta2-glycoprotein-I IgM": "anti-b2gpi-igm",
    "anti-β2-glycoprotein-I IgM": "anti-b2gpi-igm",
    "anti-β2GPI IgM": "anti-b2gpi-igm",
    "anti-b2gpi IgM": "anti-b2gpi-igm",
}

SYMPTOMS: Mapping[str, str] = {
    "bleeding": "bleeding",
    "spotting": "bleeding",
    "bleeding or spotting": "bleeding",
    "cramping": "cramping",
    "pain": "cramping",
    "cramping or pain": "cramping",
    "passage of fluid or tissue": "fluid-or-tissue-passage",
    "fluid or tissue passage": "fluid-or-tissue-passage",
    "a gush of fluid or tissue": "fluid-or-tissue-passage",
    "dark discharge": "dark-discharge",
    "dark vaginal discharge": "dark-discharge",
}

# "she has <condition>": section and field of the facts format, and the value it records.
CONDITIONS: Mapping[str, tuple[str, str, object]] = {
    "polycystic ovary syndrome": ("risk_factors", "pcos", True),
    "PCOS": ("risk_factors", "pcos", True),
    "a uterine or cervical problem": ("risk_factors", "uterine_or_cervical_problem", True),
    "uterine or cervical problem": ("risk_factors", "uterine_or_cervical_problem", True),
    "severe malnutrition": ("risk_factors", "severe_malnutrition", True),
    "thyroid disease": ("risk_factors", "thyroid_disease", True),
    "uncontrolled diabetes": ("risk_factors", "diabetes", "uncontrolled"),
    "controlled diabetes": ("risk_factors", "diabetes", "controlled"),
    "diabetes under control": ("risk_factors", "diabetes", "controlled"),
    "a bleeding disorder": ("contraindications", "bleeding_disorder", True),
    "bleeding disorder": ("contraindications", "bleeding_disorder", True),
    "active bleeding": ("contraindications", "active_bleeding", True),
    "a history of heparin-induced thrombocytopenia": (
        "contraindications",
        "heparin_induced_thrombocytopenia",
        True,
    ),
    "heparin-induced thrombocytopenia": (
        "contraindications",
        "heparin_induced_thrombocytopenia",
        True,
    ),
    "a heparin allergy": ("contraindications", "heparin_allergy", True),
    "heparin allergy": ("contraindications", "heparin_allergy", True),
    "an aspirin allergy": ("contraindications", "aspirin_allergy", True),
    "aspirin allergy": ("contraindications", "aspirin_allergy", True),
    "osteoporosis": ("contraindications", "osteoporosis", True),
    "a history of thrombosis": ("", "thrombosis_history", True),
    "history of thrombosis": ("", "thrombosis_history", True),
}
# "she has no diabetes" records diabetes as none, not as False.
NO_CONDITION_VALUES: Mapping[str, object] = {"diabetes": "none"}

HABITS: Mapping[str, tuple[str, bool]] = {
    "smokes": ("smoking", True),
    "does not smoke": ("smoking", False),
    "drinks alcohol": ("alcohol", True),
    "does not drink alcohol": ("alcohol", False),
    "uses recreational drugs": ("drug_use", True),
    "uses drugs": ("drug_use", True),
    "does not use recreational drugs": ("drug_use", False),
    "does not use drugs": ("drug_use", False),
}

# Groups of facts a "because ... unknown" step may name at once.
FACT_GROUPS: Mapping[str, tuple[str, ...]] = {
    "antiphospholipid tests": (
        "apl_lupus_anticoagulant",
        "apl_anticardiolipin_igg",
        "apl_anticardiolipin_igm",
        "apl_anti_b2gpi_igg",
        "apl_anti_b2gpi_igm",
    ),
    "antiphospholipid screening tests": (
        "apl_lupus_anticoagulant",
        "apl_anticardiolipin_igg",
        "apl_anticardiolipin_igm",
    ),
    "inherited thrombophilia tests": (
        "factor_v_leiden",
        "prothrombin_g20210a",
        "protein_c_deficiency",
        "protein_s_deficiency",
        "antithrombin_deficiency",
    ),
    "symptoms": (
        "bleeding_now",
        "cramping_now",
        "fluid_or_tissue_passage_now",
        "dark_discharge_now",
    ),
}

# Names for every "<intervention> proposed, ordered or active" fact at once.
_TREATMENT_GROUPS = ("treatments", "treatment list")


@dataclass(frozen=True)
class NamedFacts:
    """A name used in a step and the engine facts it stands for.

    A group ("the antiphospholipid tests") stands for several facts; a check on a group looks
    at those of its facts that the rules in question read.
    """

    words: str
    facts: tuple[str, ...]
    group: bool


@dataclass(frozen=True)
class Vocabulary:
    """The names a knowledge base knows, and how scenarios may spell them."""

    knowledge: KnowledgeBase

    # -- interventions ---------------------------------------------------------------
    def intervention(self, word: str) -> str:
        """The intervention id a scenario means: by id, label, abbreviation or synonym (the
        knowledge base's names, as the API reads them)."""
        key = self.knowledge.intervention_names.get(normalise(word))
        if key is None:
            spellings = list(self.knowledge.intervention_spellings())
            raise VocabularyError("intervention", word, self.intervention_names(), spellings)
        return key

    def intervention_names(self) -> list[str]:
        return [
            f"{item.label} ({key})" if item.label != key else key
            for key, item in self.knowledge.interventions.items()
        ]

    def intervention_label(self, key: str) -> str:
        item = self.knowledge.interventions.get(key)
        return key if item is None else f"{item.label} ({key})"

    # -- findings --------------------------------------------------------------------
    @cached_property
    def _findings(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for key, item in self.knowledge.finding_labels.items():
            for alias in aliases(key, item.label):
                names.setdefault(normalise(alias), key)
                names.setdefault(normalise(alias.replace("antiphospholipid syndrome", "APS")), key)
        return names

    def finding(self, word: str) -> str:
        key = self._findings.get(normalise(word))
        if key is None:
            names = [f"{i.label} ({k})" for k, i in self.knowledge.finding_labels.items()]
            raise VocabularyError("finding", word, names)
        return key

    def finding_label(self, key: str) -> str:
        item = self.knowledge.finding_labels.get(key)
        return key if item is None else f"{item.label} ({key})"

    # -- rules and sources -----------------------------------------------------------
    def rule(self, word: str) -> str:
        ids = [r.id for r in self.knowledge.rules]
        wanted = word.strip()
        for rule_id in ids:
            if wanted in (rule_id, rule_tag(rule_id)):
                return rule_id
        raise VocabularyError("rule", wanted, ids)

    def source(self, word: str) -> str:
        wanted = word.strip().strip("[]")
        if wanted in self.knowledge.sources:
            return wanted
        raise VocabularyError("source", wanted, self.knowledge.sources)

    # -- engine facts, for "because ... is unknown" ----------------------------------
    @cached_property
    def _facts(self) -> dict[str, tuple[str, ...]]:
        names: dict[str, tuple[str, ...]] = {}
        for key, spec in self.knowledge.facts.items():
            for alias in (key, spec.label, spec.label.removesuffix(" now")):
                names.setdefault(normalise(alias), (key,))
        for phrase, (_, name, _) in CONDITIONS.items():
            if name in self.knowledge.facts:
                names.setdefault(normalise(phrase), (name,))
        for test, key in APL_TESTS.items():
            fact = "apl_" + key.replace("-", "_")
            if fact in self.knowledge.facts:
                names.setdefault(normalise(test), (fact,))
        return names

    def facts(self, text: str) -> tuple[str, ...]:
        """The engine facts that ``text`` names: one label, a group, or a list of them."""
        return tuple(f for named in self.facts_named(text) for f in named.facts)

    def facts_named(self, text: str) -> list[NamedFacts]:
        """Each name in ``text`` (a label, a group, or a list of them) with its engine facts."""
        whole = self._fact_name(text)
        if whole is not None:
            return [whole]
        found: list[NamedFacts] = []
        for part in split_names(text):
            named = self._fact_name(part)
            if named is None:
                known = [s.label for s in self.knowledge.facts.values()]
                known += [*FACT_GROUPS, *_TREATMENT_GROUPS]
                raise VocabularyError("fact", part, known)
            found.append(named)
        return found

    def _fact_name(self, text: str) -> NamedFacts | None:
        key = normalise(text)
        group = self._groups.get(key)
        if group is not None:
            return NamedFacts(text, group, True)
        facts = self._facts.get(key)
        return None if facts is None else NamedFacts(text, facts, False)

    @cached_property
    def _groups(self) -> dict[str, tuple[str, ...]]:
        groups: dict[str, tuple[str, ...]] = {}
        for group, members in FACT_GROUPS.items():
            known = tuple(m for m in members if m in self.knowledge.facts)
            if known:
                groups[normalise(group)] = known
        treatments = tuple(f for f in self.knowledge.facts if f.startswith("current_"))
        for name in _TREATMENT_GROUPS:
            groups[normalise(name)] = treatments
        return groups

    def fact_label(self, key: str) -> str:
        spec = self.knowledge.facts.get(key)
        return key if spec is None else spec.label

    # -- the facts format ------------------------------------------------------------
    def apl_test(self, word: str) -> str:
        wanted = normalise(word)
        for alias, key in APL_TESTS.items():
            if wanted in (normalise(alias), normalise(key)):
                return key
        raise VocabularyError("antiphospholipid test", word, APL_TESTS)

    def loss_kind(self, word: str) -> str | None:
        wanted = word.strip().lower()
        if wanted in LOSS_KINDS:
            return LOSS_KINDS[wanted]
        raise VocabularyError("kind of pregnancy loss", word, LOSS_KINDS)

    def symptoms(self, text: str) -> list[str]:
        if text.strip().lower() in ("no symptoms", "none"):
            return []
        whole = SYMPTOMS.get(text.strip().lower())
        if whole is not None:
            return [whole]
        found: list[str] = []
        for part in split_names(text):
            key = SYMPTOMS.get(part.lower())
            if key is None:
                raise VocabularyError("symptom", part, SYMPTOMS)
            if key not in found:
                found.append(key)
        return found
