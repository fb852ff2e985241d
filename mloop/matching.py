"""Matching: score mentor–mentee pairs and find the best assignment (issue 6).

Pure: no SQL, no clock.  The caller passes the people (with each mentor's
remaining capacity), the pairs that may not meet again, and the instant at
which time zones are compared.

A pair's score is the sum of three parts:

* skills: ``SKILL_POINTS`` for each skill the mentor offers and the mentee
  seeks (case-insensitive);
* time zone: up to ``TIMEZONE_POINTS`` when both zones are known, less
  ``1 / TIMEZONE_HOURS_PER_POINT`` per hour between their UTC offsets at the
  reference instant (0 from 12 hours apart);
* department: ``DEPARTMENT_POINTS`` when both are known and differ (a mentor
  from elsewhere widens the mentee's view); 0 when the same or unknown.

A pair is excluded (``None``) when it is one person, or the two have shared a
loop before in either role, current or ended.

``suggest`` maximises the total score over all assignments that respect every
mentor's remaining capacity (each mentor becomes that many identical slots,
solved with ``scipy.optimize.linear_sum_assignment``), among the pairs whose
score is at least ``min_score``.  Among assignments with the same total it
prefers more matched mentees; the solver is deterministic and the inputs are
sorted by email first, so the same people always give the same proposal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

SKILL_POINTS = 10
TIMEZONE_POINTS = 3
TIMEZONE_HOURS_PER_POINT = 4  # 3 points at the same offset, 0 at 12 hours or more apart
DEPARTMENT_POINTS = 2
# Every score is a whole multiple of 1/16 (offsets are whole quarter hours), so
# scores scaled by this are integers and the assignment is solved exactly.
SCORE_UNITS = 16


@dataclass(frozen=True)
class Profile:
    """One person as matching sees them; ``capacity`` is a mentor's remaining slots."""

    id: int
    email: str
    offers: tuple[str, ...] = ()
    seeks: tuple[str, ...] = ()
    timezone: str | None = None
    department: str | None = None
    capacity: int = 1


@dataclass(frozen=True)
class ScoreParts:
    skills: float
    timezone: float
    department: float
    shared_skills: tuple[str, ...] = ()

    @property
    def total(self) -> float:
        return self.skills + self.timezone + self.department

    def as_dict(self) -> dict[str, float]:
        return {"skills": plain_number(self.skills), "timezone": plain_number(self.timezone),
                "department": plain_number(self.department)}


@dataclass(frozen=True)
class Suggestion:
    mentee: str
    mentor: str
    mentee_id: int
    mentor_id: int
    parts: ScoreParts

    @property
    def score(self) -> float:
        return self.parts.total

    def as_record(self) -> dict:
        """The suggestion as 'match suggest --json' shows it."""
        return {"mentee": self.mentee, "mentor": self.mentor, "score": plain_number(self.score),
                "parts": self.parts.as_dict(), "shared_skills": list(self.parts.shared_skills)}


@dataclass
class Proposal:
    suggestions: list[Suggestion]
    unmatched: list[str] = field(default_factory=list)  # mentees with no acceptable mentor left


def plain_number(value: float) -> int | float:
    """12.0 as 12, 2.75 as 2.75: scores read as people write them."""
    return int(value) if float(value).is_integer() else value


def utc_offset_hours(zone: str | None, at: datetime) -> float | None:
    """The zone's UTC offset in hours at ``at``; None for no zone or an unknown one."""
    if not zone or not zone.strip():
        return None
    return _offset_hours(zone.strip(), at)


@lru_cache(maxsize=1024)
def _offset_hours(zone: str, at: datetime) -> float | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        offset = at.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None
    return offset.total_seconds() / 3600


def timezone_points(mentor_offset: float | None, mentee_offset: float | None) -> float:
    if mentor_offset is None or mentee_offset is None:
        return 0.0
    hours = abs(mentor_offset - mentee_offset)
    return max(0.0, TIMEZONE_POINTS - hours / TIMEZONE_HOURS_PER_POINT)


def department_points(mentor_department: str | None, mentee_department: str | None) -> float:
    mentor_key = (mentor_department or "").strip().casefold()
    mentee_key = (mentee_department or "").strip().casefold()
    if not mentor_key or not mentee_key or mentor_key == mentee_key:
        return 0.0
    return float(DEPARTMENT_POINTS)


def shared_skills(offers: Iterable[str], seeks: Iterable[str]) -> tuple[str, ...]:
    """Skills in both lists, case-insensitive, in the mentee's order."""
    offered = {skill.strip().casefold() for skill in offers}
    shared = []
    for skill in seeks:
        key = skill.strip().casefold()
        if key and key in offered and key not in shared:
            shared.append(key)
    return tuple(shared)


def score(mentor: Profile, mentee: Profile, *, at: datetime,
          former_pairs: frozenset[tuple[int, int]] | set[tuple[int, int]] = frozenset()) -> ScoreParts | None:
    """How well ``mentor`` suits ``mentee``; None when they may not be paired.

    ``former_pairs`` holds (mentor id, mentee id) of every loop, past or current."""
    if mentor.id == mentee.id or (mentor.id, mentee.id) in former_pairs or (mentee.id, mentor.id) in former_pairs:
        return None
    shared = shared_skills(mentor.offers, mentee.seeks)
    return ScoreParts(
        skills=float(SKILL_POINTS * len(shared)),
        timezone=timezone_points(utc_offset_hours(mentor.timezone, at), utc_offset_hours(mentee.timezone, at)),
        department=department_points(mentor.department, mentee.department),
        shared_skills=shared,
    )


def score_matrix(mentors: Sequence[Profile], mentees: Sequence[Profile], *, at: datetime,
                 former_pairs: set[tuple[int, int]] | frozenset = frozenset()):
    """Every pair's score at once, as a numpy array (mentees × mentors); NaN for excluded pairs.

    The same numbers ``score`` gives, computed by columns so that thousands
    of people take milliseconds."""
    import numpy as np

    skill_index: dict[str, int] = {}
    for person in (*mentors, *mentees):
        for skill in (*person.offers, *person.seeks):
            skill_index.setdefault(skill.strip().casefold(), len(skill_index))
    offered = np.zeros((len(mentors), max(len(skill_index), 1)), dtype=np.float64)
    for row, mentor in enumerate(mentors):
        for skill in mentor.offers:
            offered[row, skill_index[skill.strip().casefold()]] = 1.0
    sought = np.zeros((len(mentees), offered.shape[1]), dtype=np.float64)
    for row, mentee in enumerate(mentees):
        for skill in mentee.seeks:
            key = skill.strip().casefold()
            if key:
                sought[row, skill_index[key]] = 1.0
    scores = SKILL_POINTS * (sought @ offered.T)

    def offsets(people):
        values = [utc_offset_hours(p.timezone, at) for p in people]
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)

    hours = np.abs(offsets(mentees)[:, None] - offsets(mentors)[None, :])
    zone = np.clip(TIMEZONE_POINTS - hours / TIMEZONE_HOURS_PER_POINT, 0.0, None)
    scores += np.nan_to_num(zone, nan=0.0)

    department_codes: dict[str, int] = {}

    def departments(people):
        return np.array([
            department_codes.setdefault(p.department.strip().casefold(), len(department_codes))
            if p.department and p.department.strip() else -1
            for p in people
        ], dtype=np.int64)

    mentee_departments, mentor_departments = departments(mentees), departments(mentors)
    differ = ((mentee_departments[:, None] != mentor_departments[None, :])
              & (mentee_departments[:, None] >= 0) & (mentor_departments[None, :] >= 0))
    scores += DEPARTMENT_POINTS * differ

    mentor_rows = {mentor.id: column for column, mentor in enumerate(mentors)}
    for row, mentee in enumerate(mentees):
        column = mentor_rows.get(mentee.id)
        if column is not None:
            scores[row, column] = np.nan
    mentee_rows = {mentee.id: row for row, mentee in enumerate(mentees)}
    for a, b in former_pairs:
        for mentor_id, mentee_id in ((a, b), (b, a)):
            row, column = mentee_rows.get(mentee_id), mentor_rows.get(mentor_id)
            if row is not None and column is not None:
                scores[row, column] = np.nan
    return scores


def suggest(mentors: Iterable[Profile], mentees: Iterable[Profile], *, at: datetime,
            former_pairs: set[tuple[int, int]] | frozenset = frozenset(), min_score: float = 0.0) -> Proposal:
    """The assignment of mentees to mentors' remaining slots with the largest total score.

    Only pairs scoring at least ``min_score`` are considered.  Suggestions
    come best first (score, then mentee and mentor email)."""
    mentors = sorted((m for m in mentors if m.capacity > 0), key=lambda p: (p.email.casefold(), p.id))
    mentees = sorted(mentees, key=lambda p: (p.email.casefold(), p.id))
    if not mentees:
        return Proposal([], [])
    if not mentors:
        return Proposal([], [m.email for m in mentees])
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    scores = score_matrix(mentors, mentees, at=at, former_pairs=former_pairs)
    acceptable = ~np.isnan(scores) & (np.nan_to_num(scores, nan=-1.0) >= min_score)
    # Integer weights: a score unit outweighs any number of extra matches, and an
    # acceptable pair (even scoring 0) outweighs leaving the mentee unmatched (0).
    units = np.rint(np.nan_to_num(scores, nan=0.0) * SCORE_UNITS)
    weights = np.where(acceptable, units * (len(mentees) + 1) + 1, 0.0)
    slots = np.repeat(np.arange(len(mentors)), [m.capacity for m in mentors])
    rows, columns = linear_sum_assignment(weights[:, slots], maximize=True)

    suggestions = []
    matched = set()
    for row, column in zip(rows.tolist(), columns.tolist()):
        mentor_column = int(slots[column])
        if not acceptable[row, mentor_column]:
            continue
        mentor, mentee = mentors[mentor_column], mentees[row]
        parts = score(mentor, mentee, at=at, former_pairs=former_pairs)
        suggestions.append(Suggestion(mentee.email, mentor.email, mentee.id, mentor.id, parts))
        matched.add(row)
    suggestions.sort(key=lambda s: (-s.score, s.mentee.casefold(), s.mentor.casefold()))
    unmatched = [mentee.email for row, mentee in enumerate(mentees) if row not in matched]
    return Proposal(suggestions, unmatched)


def total_score(suggestions: Iterable[Suggestion]) -> float:
    return sum(s.score for s in suggestions)


def explain(parts: ScoreParts) -> str:
    """The score's parts in words: 'skills 20 + time zone 2.5 + department 2'."""
    shown = [f"{label} {plain_number(value)}" for label, value in (
        ("skills", parts.skills), ("time zone", parts.timezone), ("department", parts.department),
    ) if value]
    return " + ".join(shown) or "nothing in common"
