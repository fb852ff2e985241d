"""Suggested matches: read who is free to match, propose, and apply (issue 6).

The scoring and the assignment are pure (``mloop.matching``); this module
reads the facts they need in two queries and turns an applied proposal into
loops through ``create_match``, so capacity, roles and starter goals follow
the same rules as a match made by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from mloop.errors import Conflict
from mloop.store.access import Actor, get_participant, require_coordinator
from mloop.store.models import Loop, Participant, Program


# The assignment holds a dense mentees × mentor-places matrix of float64: this many
# cells is about 400 MB.  2,000 mentees × 3,000 places is 6,000,000.
MAX_PAIRS = 50_000_000


@dataclass
class MatchingFacts:
    mentors: list  # mloop.matching.Profile with remaining capacity
    mentees: list  # unmatched mentees
    former_pairs: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class SuggestResult:
    suggestions: list  # mloop.matching.Suggestion, best first
    unmatched: list[str]
    loops: list[Loop] = field(default_factory=list)  # the loops made, when applied


def matching_facts(session: Session, program: Program, *, now: datetime, include_alumni: bool = False) -> MatchingFacts:
    """Mentors with room left, mentees without an active loop, and every pair that has met.

    The mentees are those the rules put at Getting Started; alumni (whose
    latest loop ended completed) only with ``include_alumni``.
    """
    from mloop import rules
    from mloop.matching import Profile
    from mloop.store.participants import skills_of

    conn = session.connection()
    load: dict[int, int] = {}
    matched_mentees: set[int] = set()
    former_pairs: set[tuple[int, int]] = set()
    ended: dict[int, list[rules.EndedLoop]] = {}
    for mentor_id, mentee_id, matched_at, ended_at, outcome in conn.execute(
        sa.select(Loop.mentor_id, Loop.mentee_id, Loop.matched_at, Loop.ended_at, Loop.outcome)
        .where(Loop.program_id == program.id)
    ):
        former_pairs.add((mentor_id, mentee_id))
        if rules.is_active(matched_at, ended_at, now):
            load[mentor_id] = load.get(mentor_id, 0) + 1
            matched_mentees.add(mentee_id)
        elif ended_at is not None and ended_at <= now:  # not one matched after now
            ended.setdefault(mentee_id, []).append(rules.EndedLoop(ended_at, outcome))

    def is_alumnus(pid: int) -> bool:
        last = rules.latest_ended(ended.get(pid, ()), now)
        return last is not None and rules.progress_without_loop(last.ended_at, last, now).stage == rules.ALUMNI

    mentors, mentees = [], []
    columns = (Participant.id, Participant.email, Participant.is_mentor, Participant.is_mentee, Participant.capacity,
               Participant.offers, Participant.seeks, Participant.timezone, Participant.department)
    for pid, email, is_mentor, is_mentee, capacity, offers, seeks, zone, department in conn.execute(
        sa.select(*columns).where(Participant.program_id == program.id).order_by(Participant.email_key)
    ):
        if is_mentor and capacity - load.get(pid, 0) > 0:
            mentors.append(Profile(pid, email, tuple(skills_of(offers)), tuple(skills_of(seeks)), zone, department,
                                   capacity - load.get(pid, 0)))
        if is_mentee and capacity > 0 and pid not in matched_mentees and (include_alumni or not is_alumnus(pid)):
            mentees.append(Profile(pid, email, tuple(skills_of(offers)), tuple(skills_of(seeks)), zone, department))
    return MatchingFacts(mentors, mentees, former_pairs)


def suggest_matches(
    session: Session,
    program: Program,
    who: Actor,
    *,
    now: datetime,
    mentee_email: str | None = None,
    min_score: float = 0.0,
    limit: int | None = None,
    apply: bool = False,
    include_alumni: bool = False,
) -> SuggestResult:
    """The optimal proposal for the unmatched mentees (or one of them); with
    ``apply``, also the loops made from it, in the caller's transaction."""
    from mloop.matching import suggest

    require_coordinator(who, "suggesting matches")
    facts = matching_facts(session, program, now=now, include_alumni=include_alumni)
    mentees = facts.mentees
    if mentee_email is not None:
        person = get_participant(session, program, mentee_email, what="mentee")
        if not person.is_mentee:
            raise Conflict(f"{person.email} is not a mentee: pick one from 'mloop participant list --role mentee'")
        mentees = [m for m in mentees if m.id == person.id]
        if not mentees:
            if person.id in {m.id for m in matching_facts(session, program, now=now, include_alumni=True).mentees}:
                raise Conflict(f"{person.email} completed their last loop (an alumnus): add --include-alumni "
                               "to suggest a new match")
            raise Conflict(f"{person.email} already has an active loop: see 'mloop participant show {person.email}'")
    slots = sum(m.capacity for m in facts.mentors)
    if len(mentees) * slots > MAX_PAIRS:
        raise Conflict(
            f"{len(mentees)} unmatched mentees × {slots} free mentor places is too many pairs to weigh at once "
            f"(at most {MAX_PAIRS:,}): suggest for one mentee at a time with --mentee EMAIL"
        )
    proposal = suggest(facts.mentors, mentees, at=now, former_pairs=facts.former_pairs, min_score=min_score)
    suggestions = proposal.suggestions[:limit] if limit is not None else proposal.suggestions
    result = SuggestResult(suggestions, proposal.unmatched)
    if apply:
        from mloop.store.loops import create_match

        for suggestion in suggestions:
            result.loops.append(create_match(session, program, who, mentor_email=suggestion.mentor,
                                             mentee_email=suggestion.mentee, matched_at=now, now=now))
    return result
