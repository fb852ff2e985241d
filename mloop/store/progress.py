"""Per-loop facts aggregated in SQL, turned into stages by ``mloop.rules``.

The report on a large program must not load ORM objects row by row: each
query here returns plain tuples, one aggregate per loop (or per loop and
member), and only facts dated at or before ``now``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.store.models import (
    Feedback,
    Goal,
    JourneyShare,
    Loop,
    Meeting,
    Participant,
    Program,
    UTCDateTime,
)


@dataclass
class Person:
    id: int
    email: str
    name: str
    is_mentor: bool
    is_mentee: bool
    joined_at: datetime


@dataclass
class Membership:
    """One person's place in the funnel: in a loop, or unmatched (loop_id None)."""

    person: Person
    role: str  # mentor | mentee
    loop_id: int | None
    partner: Person | None
    progress: rules.Progress
    stalled: bool
    at_risk: bool
    matched_at: datetime | None = None
    held_meetings: int = 0
    last_meeting_at: datetime | None = None
    latest_rating: int | None = None  # of the loop's latest feedback by either member
    latest_rating_by: str | None = None

    def days_in_stage(self, now: datetime) -> int:
        return self.progress.days_in_stage(now)


def _held_at():
    """A held meeting counts from its start, never before it was created."""
    return sa.type_coerce(
        sa.case((Meeting.start > Meeting.created_at, Meeting.start), else_=Meeting.created_at),
        UTCDateTime(),
    )


class FactReader:
    """Reads the facts of one program as of ``now``, optionally for some loops only."""

    def __init__(self, session: Session, program: Program, now: datetime, loop_ids: Iterable[int] | None = None):
        self.session = session
        self.program = program
        self.now = now
        self.loop_ids = None if loop_ids is None else sorted(set(loop_ids))

    def _scope(self, query, loop_column):
        query = query.where(Loop.program_id == self.program.id)
        if self.loop_ids is not None:
            query = query.where(loop_column.in_(self.loop_ids))
        return query

    def _rows(self, query):
        return self.session.connection().execute(query).all()

    def active_loops(self):
        now = self.now
        query = sa.select(Loop.id, Loop.mentor_id, Loop.mentee_id, Loop.matched_at, Loop.ended_at).where(
            Loop.matched_at <= now, sa.or_(Loop.ended_at.is_(None), Loop.ended_at > now)
        )
        return self._rows(self._scope(query, Loop.id).order_by(Loop.id))

    def first_bookings(self) -> dict[int, datetime]:
        query = (
            sa.select(Meeting.loop_id, sa.func.min(Meeting.created_at))
            .join(Loop, Loop.id == Meeting.loop_id)
            .where(Meeting.status != "cancelled", Meeting.created_at <= self.now)
            .group_by(Meeting.loop_id)
        )
        return dict(self._rows(self._scope(query, Meeting.loop_id)))

    def held_meetings(self, keep: int) -> tuple[dict[int, list[datetime]], dict[int, tuple[int, datetime]]]:
        """The first ``keep`` held-meeting times per loop, and (count, last) per loop."""
        held_at = _held_at()
        ranked = self._scope(
            sa.select(
                Meeting.loop_id.label("loop_id"),
                held_at.label("held_at"),
                sa.func.row_number().over(partition_by=Meeting.loop_id, order_by=(held_at, Meeting.id)).label("rank"),
                sa.func.count().over(partition_by=Meeting.loop_id).label("held"),
                sa.func.max(held_at).over(partition_by=Meeting.loop_id).label("last"),
            )
            .join(Loop, Loop.id == Meeting.loop_id)
            .where(Meeting.status == "held", held_at <= self.now),
            Meeting.loop_id,
        ).subquery()
        query = sa.select(
            ranked.c.loop_id,
            sa.type_coerce(ranked.c.held_at, UTCDateTime()),
            ranked.c.rank,
            ranked.c.held,
            sa.type_coerce(ranked.c.last, UTCDateTime()),
        ).where(ranked.c.rank <= keep)
        times: dict[int, list[datetime]] = defaultdict(list)
        totals: dict[int, tuple[int, datetime]] = {}
        for loop_id, at, _rank, count, last in self._rows(query.order_by(ranked.c.loop_id, ranked.c.rank)):
            times[loop_id].append(at)
            totals[loop_id] = (count, last)
        return times, totals

    def member_feedback(self) -> dict[tuple[int, int], tuple[datetime | None, datetime | None]]:
        """(loop, author) -> (first feedback on a held meeting, first loop feedback rated 4+)."""
        on_held = sa.case(
            (sa.and_(Feedback.meeting_id.is_not(None), Meeting.status == "held"), Feedback.created_at),
            else_=None,
        )
        positive = sa.case(
            (sa.and_(Feedback.meeting_id.is_(None), Feedback.rating >= 4), Feedback.created_at),
            else_=None,
        )
        query = (
            sa.select(
                Feedback.loop_id,
                Feedback.author_id,
                sa.type_coerce(sa.func.min(on_held), UTCDateTime()),
                sa.type_coerce(sa.func.min(positive), UTCDateTime()),
            )
            .join(Loop, Loop.id == Feedback.loop_id)
            .outerjoin(Meeting, Meeting.id == Feedback.meeting_id)
            .where(Feedback.created_at <= self.now)
            .group_by(Feedback.loop_id, Feedback.author_id)
        )
        return {(loop_id, author): (held, pos) for loop_id, author, held, pos in self._rows(self._scope(query, Feedback.loop_id))}

    def latest_member_feedback(self) -> dict[int, tuple[int, int, datetime]]:
        """loop -> (rating, author, created_at) of the latest feedback by one of its members."""
        ranked = self._scope(
            sa.select(
                Feedback.loop_id.label("loop_id"),
                Feedback.rating.label("rating"),
                Feedback.author_id.label("author_id"),
                Feedback.created_at.label("created_at"),
                sa.func.row_number()
                .over(partition_by=Feedback.loop_id, order_by=(Feedback.created_at.desc(), Feedback.id.desc()))
                .label("rank"),
            )
            .join(Loop, Loop.id == Feedback.loop_id)
            .where(
                Feedback.created_at <= self.now,
                sa.or_(Feedback.author_id == Loop.mentor_id, Feedback.author_id == Loop.mentee_id),
            ),
            Feedback.loop_id,
        ).subquery()
        query = sa.select(
            ranked.c.loop_id, ranked.c.rating, ranked.c.author_id, sa.type_coerce(ranked.c.created_at, UTCDateTime())
        ).where(ranked.c.rank == 1)
        return {loop_id: (rating, author, at) for loop_id, rating, author, at in self._rows(query)}

    def shared_goals(self) -> dict[int, list[rules.GoalFact]]:
        query = (
            sa.select(Goal.loop_id, Goal.shared_at, Goal.completed_at)
            .join(Loop, Loop.id == Goal.loop_id)
            .where(Goal.shared_at.is_not(None), Goal.shared_at <= self.now)
        )
        goals: dict[int, list[rules.GoalFact]] = defaultdict(list)
        now = self.now
        for loop_id, shared_at, completed_at in self._rows(self._scope(query, Goal.loop_id)):
            goals[loop_id].append(
                rules.GoalFact(shared_at, completed_at if completed_at is not None and completed_at <= now else None)
            )
        return goals

    def journey_shares(self) -> dict[tuple[int, int], datetime]:
        query = (
            sa.select(JourneyShare.loop_id, JourneyShare.author_id, sa.func.min(JourneyShare.created_at))
            .join(Loop, Loop.id == JourneyShare.loop_id)
            .where(JourneyShare.created_at <= self.now)
            .group_by(JourneyShare.loop_id, JourneyShare.author_id)
        )
        return {(loop_id, author): at for loop_id, author, at in self._rows(self._scope(query, JourneyShare.loop_id))}

    def people(self, ids: Iterable[int] | None = None) -> dict[int, Person]:
        query = sa.select(
            Participant.id, Participant.email, Participant.name,
            Participant.is_mentor, Participant.is_mentee, Participant.joined_at,
        ).where(Participant.program_id == self.program.id)
        if ids is not None:
            query = query.where(Participant.id.in_(sorted(set(ids))))
        return {row[0]: Person(*row) for row in self._rows(query)}


def memberships(
    session: Session,
    program: Program,
    now: datetime,
    *,
    person_id: int | None = None,
    include_unmatched: bool = True,
) -> list[Membership]:
    """Every membership of the program as of ``now`` (or one person's), with stage and flags."""
    loop_ids = None
    if person_id is not None:
        loop_ids = [
            row[0]
            for row in session.connection().execute(
                sa.select(Loop.id).where(
                    Loop.program_id == program.id,
                    sa.or_(Loop.mentor_id == person_id, Loop.mentee_id == person_id),
                )
            )
        ]
    facts = FactReader(session, program, now, loop_ids)
    loops = facts.active_loops() if loop_ids is None or loop_ids else []
    k = program.momentum_meetings
    if loops:
        bookings = facts.first_bookings()
        held, held_totals = facts.held_meetings(k)
        feedback = facts.member_feedback()
        latest = facts.latest_member_feedback()
        goals = facts.shared_goals()
        shares = facts.journey_shares()
    people = facts.people(None if person_id is None else [person_id, *(x for r in loops for x in (r[1], r[2]))])

    result: list[Membership] = []
    in_a_loop: set[int] = set()
    for loop_id, mentor_id, mentee_id, matched_at, ended_at in loops:
        booking = bookings.get(loop_id)
        loop_facts = rules.LoopFacts(
            loop_id=loop_id,
            matched_at=matched_at,
            ended_at=ended_at,
            booking_times=(booking,) if booking is not None else (),
            held_meeting_times=tuple(held.get(loop_id, ())),
            goals=tuple(goals.get(loop_id, ())),
        )
        rating, rating_author, _at = latest.get(loop_id, (None, None, None))
        at_risk = rules.is_at_risk(rating)
        count, last = held_totals.get(loop_id, (0, None))
        for role, member_id, partner_id in (("mentor", mentor_id, mentee_id), ("mentee", mentee_id, mentor_id)):
            if person_id is not None and member_id != person_id:
                continue
            on_held, positive = feedback.get((loop_id, member_id), (None, None))
            share = shares.get((loop_id, member_id))
            member_facts = rules.MemberFacts(
                held_meeting_feedback_times=(on_held,) if on_held is not None else (),
                positive_loop_feedback_times=(positive,) if positive is not None else (),
                journey_share_times=(share,) if share is not None else (),
            )
            progress = rules.membership_progress(loop_facts, member_facts, now, k)
            in_a_loop.add(member_id)
            result.append(
                Membership(
                    person=people[member_id],
                    role=role,
                    loop_id=loop_id,
                    partner=people.get(partner_id),
                    progress=progress,
                    stalled=rules.is_stalled(progress, now, program.stall_days),
                    at_risk=at_risk,
                    matched_at=matched_at,
                    held_meetings=count,
                    last_meeting_at=last,
                    latest_rating=rating,
                    latest_rating_by=people[rating_author].email if rating_author in people else None,
                )
            )
    if include_unmatched:
        for person in people.values():
            if person.id in in_a_loop or not (person.is_mentor or person.is_mentee):
                continue
            if person_id is not None and person.id != person_id:
                continue
            progress = rules.unmatched_progress(person.joined_at, now)
            if progress is None:
                continue
            result.append(
                Membership(
                    person=person,
                    role="mentor" if person.is_mentor else "mentee",
                    loop_id=None,
                    partner=None,
                    progress=progress,
                    stalled=rules.is_stalled(progress, now, program.stall_days),
                    at_risk=False,
                )
            )
    return result
