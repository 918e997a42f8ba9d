"""From a pair of records to a decision a records clerk can read: zone, score, vetoes, reasons.

Three zones by score: at or above ``Thresholds.auto_link`` the records are linked without a
person looking; at or above ``Thresholds.review`` the pair goes to the clerks' queue; below
it the incoming record is a new person. A veto caps the zone at review, whatever the score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from mpi.matching.compare import FieldComparison, compare_records
from mpi.matching.prepared import PreparedRecord, prepare
from mpi.matching.record import PersonRecord
from mpi.matching.vetoes import DEFAULT_VETO_RULES, Veto, VetoRules, find_vetoes
from mpi.matching.weights import DEFAULT_MODEL, MatchModel

__all__ = [
    "DEFAULT_THRESHOLDS",
    "LEVEL_DESCRIPTIONS",
    "ExplanationRow",
    "MatchDecision",
    "Thresholds",
    "Zone",
    "best_matches",
    "score_pair",
    "zone_for",
]

Zone = Literal["auto_link", "review", "new_person"]

LEVEL_DESCRIPTIONS: dict[str, dict[str, str]] = {
    "nhs_number": {
        "exact": "same NHS number",
        "different": "different valid NHS numbers",
        "missing": "no valid NHS number on one side",
    },
    "forename": {
        "exact": "same forename",
        "nickname": "known nickname of each other",
        "transposed": "forename and surname entered the wrong way round",
        "jw_high": "spelling differs slightly",
        "typo": "one keystroke apart (a letter changed, added, dropped or two swapped)",
        "initial": "initial only, and it agrees",
        "other_given": "agrees with another of the given names",
        "jw_mid": "similar but may be a different name",
        "different": "different forename",
        "missing": "no forename on one side",
    },
    "middle_names": {
        "exact": "a middle name agrees",
        "initial": "middle initials agree",
        "jw_high": "middle names differ slightly",
        "different": "different middle names",
        "missing": "no middle name on one side",
    },
    "surname": {
        "exact": "same surname",
        "previous": "agrees with a previous surname",
        "transposed": "forename and surname entered the wrong way round",
        "part": "agrees with part of a double-barrelled surname",
        "jw_high": "spelling differs slightly",
        "phonetic": "sounds the same",
        "jw_mid": "similar but may be a different name",
        "different": "different surname",
        "missing": "no surname on one side",
    },
    "dob": {
        "exact": "same date of birth",
        "swap": "day and month swapped",
        "typo": "one digit differs",
        "placeholder": "one date is a placeholder (01-01); the years agree within one",
        "different": "different date of birth",
        "missing": "no date of birth on one side",
    },
    "address": {
        "exact": "same address",
        "postcode": "same postcode, different or missing first line",
        "previous": "agrees with a previous postcode",
        "typo": "postcodes differ by one character",
        "outward": "same postcode district only",
        "different": "different address",
        "missing": "no postcode on one side",
    },
    "sex": {
        "exact": "same sex",
        "different": "different sex",
        "missing": "sex not known on one side",
    },
}


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Score boundaries of the zones, in bits (log2 likelihood ratio).

    Raising ``auto_link`` trades automatic links for clerk work (higher precision, longer
    queue); lowering ``review`` catches more true duplicates at the cost of a longer queue.
    """

    auto_link: float = 24.0
    review: float = 10.0

    def __post_init__(self) -> None:
        if self.review > self.auto_link:
            raise ValueError("the review threshold cannot be above the auto-link threshold")


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class ExplanationRow:
    """One line of "why": a field, both values, how they compare and what that weighed."""

    field: str
    value_a: str
    value_b: str
    level: str
    weight: float
    description: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class MatchDecision:
    """The outcome of comparing two records; ``explanation`` sums to ``score``."""

    record_id_a: str
    record_id_b: str
    zone: Zone
    score: float
    probability: float
    vetoes: tuple[Veto, ...]
    explanation: tuple[ExplanationRow, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the clerk's comparison page and the review queue."""
        return {
            "record_id_a": self.record_id_a,
            "record_id_b": self.record_id_b,
            "zone": self.zone,
            "score": round(self.score, 2),
            "probability": self.probability,
            "vetoes": [{"code": v.code, "reason": v.reason} for v in self.vetoes],
            "explanation": [
                {
                    "field": row.field,
                    "value_a": row.value_a,
                    "value_b": row.value_b,
                    "level": row.level,
                    "weight": round(row.weight, 2),
                    "description": row.description,
                    "note": row.note,
                }
                for row in self.explanation
            ],
        }


def zone_for(score: float, vetoes: tuple[Veto, ...], thresholds: Thresholds) -> Zone:
    """The zone for a score; any veto turns an auto-link into a review."""
    if score >= thresholds.auto_link:
        return "review" if vetoes else "auto_link"
    if score >= thresholds.review:
        return "review"
    return "new_person"


def score_pair(
    a: PersonRecord | PreparedRecord,
    b: PersonRecord | PreparedRecord,
    model: MatchModel | None = None,
    thresholds: Thresholds | None = None,
    *,
    veto_rules: VetoRules | None = None,
) -> MatchDecision:
    """Compare two records field by field, weigh each field, apply the vetoes, pick the zone."""
    model = model or DEFAULT_MODEL
    pa, pb = prepare(a), prepare(b)
    return _decision(pa, pb, _weighed(pa, pb, model), model, thresholds, veto_rules)


_Weighed = tuple[float, tuple[FieldComparison, ...], list[tuple[float, str]]]


def _weighed(pa: PreparedRecord, pb: PreparedRecord, model: MatchModel) -> _Weighed:
    """The pair's score with the comparisons and weights it sums: all a zone needs below the
    review threshold, where vetoes cannot matter."""
    comparisons = compare_records(pa, pb)
    weights = model.weigh(comparisons)
    score = 0.0
    for weight, _note in weights:
        score += weight
    return score, comparisons, weights


def _decision(
    pa: PreparedRecord,
    pb: PreparedRecord,
    weighed: _Weighed,
    model: MatchModel,
    thresholds: Thresholds | None,
    veto_rules: VetoRules | None,
) -> MatchDecision:
    """The full decision (explanation rows, vetoes, zone) of a weighed pair."""
    thresholds = thresholds or DEFAULT_THRESHOLDS
    score, comparisons, weights = weighed
    rows = tuple(
        ExplanationRow(
            field=comparison.field,
            value_a=comparison.value_a,
            value_b=comparison.value_b,
            level=comparison.level,
            weight=weight,
            description=LEVEL_DESCRIPTIONS[comparison.field][comparison.level],
            note=note,
        )
        for comparison, (weight, note) in zip(comparisons, weights, strict=True)
    )
    vetoes = find_vetoes(
        pa, pb, comparisons, veto_rules or DEFAULT_VETO_RULES, model.term_frequencies
    )
    return MatchDecision(
        record_id_a=pa.record_id,
        record_id_b=pb.record_id,
        zone=zone_for(score, vetoes, thresholds),
        score=score,
        probability=model.probability(score),
        vetoes=vetoes,
        explanation=rows,
    )


def best_matches(
    candidate: PersonRecord | PreparedRecord,
    candidates: Iterable[PersonRecord | PreparedRecord],
    model: MatchModel | None = None,
    thresholds: Thresholds | None = None,
    *,
    veto_rules: VetoRules | None = None,
    limit: int = 10,
    include_new_person: bool = False,
) -> list[MatchDecision]:
    """Score ``candidate`` against each of ``candidates`` (one record per person), best first.

    If two or more candidates reach the auto-link threshold, none of them is linked
    automatically: the best is sent to review with an ``ambiguous`` veto, because the incoming
    record fits two people (twins, a father and son) and a person must choose. Decisions in
    the new-person zone are left out unless ``include_new_person`` is set.
    """
    model = model or DEFAULT_MODEL
    thresholds = thresholds or DEFAULT_THRESHOLDS
    incoming = prepare(candidate)
    decisions = []
    for other in candidates:
        theirs = prepare(other)
        weighed = _weighed(incoming, theirs, model)
        if weighed[0] < thresholds.review and not include_new_person:
            # The new-person zone whatever the vetoes say, so left out below: only the score
            # is needed (most of a search's candidates share a key and little else).
            continue
        decisions.append(_decision(incoming, theirs, weighed, model, thresholds, veto_rules))
    # Stable, so candidates with equal scores keep their order, as without the shortcut.
    decisions.sort(key=lambda d: d.score, reverse=True)
    above = [d for d in decisions if d.score >= thresholds.auto_link]
    if len(above) > 1 and decisions[0].zone == "auto_link":
        top = decisions[0]
        reason = f"{len(above)} candidates score above the auto-link threshold; a clerk must choose"
        decisions[0] = MatchDecision(
            record_id_a=top.record_id_a,
            record_id_b=top.record_id_b,
            zone="review",
            score=top.score,
            probability=top.probability,
            vetoes=(*top.vetoes, Veto("ambiguous", reason)),
            explanation=top.explanation,
        )
    if not include_new_person:
        decisions = [d for d in decisions if d.zone != "new_person"]
    return decisions[:limit]
