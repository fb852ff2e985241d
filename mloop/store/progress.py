"""Per-loop facts aggregated in SQL, turned into stages by ``mloop.rules``.

The report on a large program must not load ORM objects row by row: each
query here returns plain tuples — one row of aggregates per active loop, one
per loop member with feedback — and only counts facts dated at or before
``now``.  Covering indexes (migration 3) let SQLite answer them from indexes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

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
    greatest,
)


@contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Pauses Python's cycle collector while a report builds its rows.

    A large program's report makes a million small tuples and records that
    never form cycles; left on, the collector would walk all of them again
    and again as they pile up (about a quarter of the report's time).
    Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Person(NamedTuple):
    id: int
    email: str
    name: str
    is_mentor: bool
    is_mentee: bool
    joined_at: datetime


@dataclass(slots=True)
class Membership:
    """One person's place in the funnel: in a loop, or unmatched (loop_id None)."""

    person: Person
    role: str  # mentor | mentee
    loop_id: int | None
    partner: Person | None
    progress: rules.Progress
    stalled: bool
    at_risk: bool
    days: int  # whole days in the current stage
    matched_at: datetime | None = None
    held_meetings: int = 0
    last_meeting_at: datetime | None = None
    latest_rating: int | None = None  # of the loop's latest feedback by either member
    latest_rating_by: str | None = None


class LoopRow(NamedTuple):
    """One active loop's aggregates as of ``now``."""

    loop_id: int
    mentor_id: int
    mentee_id: int
    matched_at: datetime
    first_booking: datetime | None
    first_held: datetime | None
    kth_held: datetime | None
    latest_rating: int | None
    held_meetings: int = 0
    last_meeting_at: datetime | None = None


class LoopGoals:
    """One loop's shared goals, as the driver gave their times.

    Most loops never reach Levelling Up, where the rules look at each goal,
    so the times are turned into ``rules.GoalFact``s only when iterated; the
    first sharing time is all the earlier stages need.  The driver's times
    order correctly as they are (SQLite keeps UTC text of one fixed width).
    """

    __slots__ = ("times", "time")

    def __init__(self, time):
        self.time = time
        self.times: list[tuple] = []

    def first_shared(self) -> datetime:
        return self.time(min(shared for shared, _ in self.times))

    def __iter__(self) -> Iterator[rules.GoalFact]:
        time, fact = self.time, rules.GoalFact
        return (fact(time(shared), time(completed)) for shared, completed in self.times)


def time_reader(dialect_name: str):
    """Turns a time as the driver returns it into an aware UTC datetime."""
    if dialect_name == "sqlite":
        parse = datetime.fromisoformat

        def read(value):
            # Stored as naive UTC text; appending the offset is far cheaper than .replace().
            return None if value is None else parse(value + "+00:00")

        return read

    def read_aware(value):
        return None if value is None else value.astimezone(timezone.utc)

    return read_aware


def only_program(session: Session, program: Program) -> bool:
    """Whether ``program`` is the store's only program (so no fact needs filtering by program)."""
    ids = session.connection().execute(sa.select(Program.id).limit(2)).scalars().all()
    return ids == [program.id]


def _time(expression):
    return sa.type_coerce(expression, UTCDateTime())


def held_from():
    """A held meeting counts from its start, never before it was booked."""
    return greatest(Meeting.start, Meeting.created_at)


class FactReader:
    """Reads the facts of one program as of ``now``, optionally for some loops only."""

    def __init__(self, session: Session, program: Program, now: datetime, loop_ids: Iterable[int] | None = None):
        self.session = session
        self.program = program
        self.now = now
        self.loop_ids = None if loop_ids is None else sorted(set(loop_ids))
        self.alone = only_program(session, program)
        self.time = time_reader(session.connection().dialect.name)

    def _rows(self, query):
        return self.session.connection().execute(query).all()

    def _raw_rows(self, query) -> list[tuple]:
        """The driver's own tuples, skipping SQLAlchemy's per-row processing
        (times stay as the driver gives them: convert them with ``self.time``)."""
        result = self.session.connection().execute(query)
        try:
            return result.cursor.fetchall()
        finally:
            result.close()

    def _in_scope(self, loop_column):
        """Facts of this program's (chosen) loops."""
        if self.loop_ids is not None:
            return loop_column.in_(self.loop_ids)
        if self.alone:  # every fact in the store is this program's: no need to ask
            return sa.true()
        return loop_column.in_(sa.select(Loop.id).where(Loop.program_id == self.program.id))

    def loops(self, momentum_meetings: int, *, with_counts: bool = False) -> list[LoopRow]:
        """Active loops with their meeting aggregates and latest member rating.

        Each aggregate is a correlated subquery that one index answers.
        """
        now = self.now
        held = held_from()
        held_here = sa.and_(Meeting.loop_id == Loop.id, Meeting.status == "held", held <= now)

        def nth_held(offset: int):
            return (
                sa.select(held).where(held_here).order_by(held).limit(1).offset(offset).scalar_subquery()
            )

        columns = [
            Loop.id, Loop.mentor_id, Loop.mentee_id, Loop.matched_at,
            _time(
                sa.select(sa.func.min(Meeting.created_at))
                .where(Meeting.loop_id == Loop.id, Meeting.created_at <= now, Meeting.status != "cancelled")
                .scalar_subquery()
            ),
            _time(nth_held(0)),
            _time(nth_held(momentum_meetings - 1)),
            sa.select(Feedback.rating)
            .where(
                Feedback.loop_id == Loop.id,
                Feedback.created_at <= now,
                Feedback.author_id.in_([Loop.mentor_id, Loop.mentee_id]),
            )
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
            .limit(1)
            .scalar_subquery(),
        ]
        if with_counts:
            columns += [
                sa.select(sa.func.count()).where(held_here).scalar_subquery(),
                _time(sa.select(sa.func.max(held)).where(held_here).scalar_subquery()),
            ]
        query = sa.select(*columns).where(
            Loop.program_id == self.program.id,
            Loop.matched_at <= now,
            sa.or_(Loop.ended_at.is_(None), Loop.ended_at > now),
        )
        if self.loop_ids is not None:
            query = query.where(Loop.id.in_(self.loop_ids))
        t = self.time
        if with_counts:
            return [
                LoopRow(i, mentor, mentee, t(matched), t(booking), t(first), t(kth), rating, held, t(last))
                for i, mentor, mentee, matched, booking, first, kth, rating, held, last in self._raw_rows(query.order_by(Loop.id))
            ]
        return [
            LoopRow(i, mentor, mentee, t(matched), t(booking), t(first), t(kth), rating)
            for i, mentor, mentee, matched, booking, first, kth, rating in self._raw_rows(query.order_by(Loop.id))
        ]

    def member_feedback(self) -> dict[tuple[int, int], tuple[datetime | None, datetime | None]]:
        """(loop, author) -> (first feedback on a held meeting, first loop feedback rated 4+).

        Feedback on a meeting is only ever stored for a held meeting (the
        commands and the importer refuse others, and a held meeting cannot be
        cancelled), so no join to the meetings is needed.
        """
        on_meeting = sa.case((Feedback.meeting_id.is_not(None), Feedback.created_at), else_=None)
        positive = sa.case(
            (sa.and_(Feedback.meeting_id.is_(None), Feedback.rating >= 4), Feedback.created_at), else_=None
        )
        query = (
            sa.select(Feedback.loop_id, Feedback.author_id, _time(sa.func.min(on_meeting)), _time(sa.func.min(positive)))
            .where(self._in_scope(Feedback.loop_id), Feedback.created_at <= self.now)
            .group_by(Feedback.loop_id, Feedback.author_id)
        )
        t = self.time
        return {(loop_id, author): (t(held), t(pos)) for loop_id, author, held, pos in self._raw_rows(query)}

    def latest_rating_authors(self, loop_ids: list[int]) -> dict[int, int]:
        """loop -> author of its latest member feedback, for a few loops (the at-risk ones)."""
        found: dict[int, int] = {}
        for start in range(0, len(loop_ids), 5000):
            chunk = loop_ids[start : start + 5000]
            ranked = (
                sa.select(
                    Feedback.loop_id.label("loop_id"),
                    Feedback.author_id.label("author_id"),
                    sa.func.row_number()
                    .over(partition_by=Feedback.loop_id, order_by=(Feedback.created_at.desc(), Feedback.id.desc()))
                    .label("rank"),
                )
                .join(Loop, Loop.id == Feedback.loop_id)
                .where(
                    Feedback.loop_id.in_(chunk),
                    Feedback.created_at <= self.now,
                    Feedback.author_id.in_([Loop.mentor_id, Loop.mentee_id]),
                )
                .subquery()
            )
            found.update(self._rows(sa.select(ranked.c.loop_id, ranked.c.author_id).where(ranked.c.rank == 1)))
        return found

    def shared_goals(self) -> dict[int, LoopGoals]:
        """loop -> its goals shared as of ``now`` (completion times after ``now`` left out)."""
        now = self.now
        completed = sa.case((Goal.completed_at <= now, Goal.completed_at), else_=None)
        query = sa.select(Goal.loop_id, Goal.shared_at, completed).where(
            self._in_scope(Goal.loop_id), Goal.shared_at.is_not(None), Goal.shared_at <= now
        )
        goals: dict[int, LoopGoals] = {}
        time = self.time
        for loop_id, shared_at, completed_at in self._raw_rows(query):
            found = goals.get(loop_id)
            if found is None:
                goals[loop_id] = found = LoopGoals(time)
            found.times.append((shared_at, completed_at))
        return goals

    def journey_shares(self) -> dict[tuple[int, int], datetime]:
        query = (
            sa.select(JourneyShare.loop_id, JourneyShare.author_id, _time(sa.func.min(JourneyShare.created_at)))
            .where(self._in_scope(JourneyShare.loop_id), JourneyShare.created_at <= self.now)
            .group_by(JourneyShare.loop_id, JourneyShare.author_id)
        )
        return {(loop_id, author): at for loop_id, author, at in self._rows(query)}

    def people(self, ids: Iterable[int] | None = None) -> dict[int, Person]:
        query = sa.select(
            Participant.id, Participant.email, Participant.name,
            Participant.is_mentor, Participant.is_mentee, Participant.joined_at,
        ).where(Participant.program_id == self.program.id)
        if ids is not None:
            query = query.where(Participant.id.in_(sorted(set(ids))))
        t = self.time
        return {
            pid: Person(pid, email, name, bool(mentor), bool(mentee), t(joined))
            for pid, email, name, mentor, mentee, joined in self._raw_rows(query)
        }


def memberships(
    session: Session,
    program: Program,
    now: datetime,
    *,
    person_id: int | None = None,
    include_unmatched: bool = True,
    with_counts: bool = False,
) -> list[Membership]:
    """Every membership of the program as of ``now`` (or one person's), with stage and flags.

    ``with_counts`` adds each loop's held-meeting count and last meeting.
    """
    loop_ids = None
    if person_id is not None:
        loop_ids = list(
            session.connection().execute(
                sa.select(Loop.id).where(
                    Loop.program_id == program.id,
                    sa.or_(Loop.mentor_id == person_id, Loop.mentee_id == person_id),
                )
            ).scalars()
        )
    facts = FactReader(session, program, now, loop_ids)
    k = program.momentum_meetings
    loops = facts.loops(k, with_counts=with_counts) if loop_ids is None or loop_ids else []
    feedback = facts.member_feedback() if loops else {}
    goals = facts.shared_goals() if loops else {}
    shares = facts.journey_shares() if loops else {}
    people = facts.people(None if person_id is None else [person_id, *(x for r in loops for x in (r.mentor_id, r.mentee_id))])
    at_risk_loops = [row.loop_id for row in loops if rules.is_at_risk(row.latest_rating)]
    rating_authors = facts.latest_rating_authors(at_risk_loops) if at_risk_loops else {}

    progress_of = rules.progress_from_aggregates
    at_risk_of = rules.is_at_risk
    stall_limit = timedelta(days=program.stall_days)
    completed = rules.COMPLETED
    day = timedelta(days=1)
    result: list[Membership] = []
    append = result.append
    in_a_loop: set[int] = set()
    no_feedback = (None, None)
    get_feedback, get_goals, get_share = feedback.get, goals.get, shares.get
    only_member = person_id
    for loop_id, mentor_id, mentee_id, matched_at, first_booking, first_held, kth_held, rating, held, last in loops:
        loop_goals = get_goals(loop_id, ())
        first_goal = loop_goals.first_shared() if loop_goals else None
        at_risk = at_risk_of(rating)
        author = rating_authors.get(loop_id)
        rated_by = people[author].email if author in people else None
        mentor, mentee = people[mentor_id], people[mentee_id]
        for role, member, partner in (("mentor", mentor, mentee), ("mentee", mentee, mentor)):
            member_id = member.id
            if only_member is not None and member_id != only_member:
                continue
            on_held, positive = get_feedback((loop_id, member_id), no_feedback)
            progress = progress_of(
                now,
                matched_at=matched_at,
                first_booking=first_booking,
                first_held=first_held,
                kth_held=kth_held,
                first_shared_goal=first_goal,
                first_held_meeting_feedback=on_held,
                first_positive_loop_feedback=positive,
                first_journey_share=get_share((loop_id, member_id)),
                goals=loop_goals,
            )
            in_a_loop.add(member_id)
            waited = now - progress.stage_since
            append(
                Membership(
                    member, role, loop_id, partner, progress,
                    waited > stall_limit and progress.stage != completed,
                    at_risk, waited // day, matched_at, held, last, rating, rated_by,
                )
            )
    if include_unmatched:
        for person in people.values():
            if person.id in in_a_loop or not (person.is_mentor or person.is_mentee):
                continue
            if only_member is not None and person.id != only_member:
                continue
            progress = rules.unmatched_progress(person.joined_at, now)
            if progress is None:
                continue
            waited = now - progress.stage_since
            append(
                Membership(
                    person, "mentor" if person.is_mentor else "mentee", None, None, progress,
                    waited > stall_limit, False, waited // day,
                )
            )
    return result
