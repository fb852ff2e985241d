"""The facts of every membership, gathered in SQL and handed to ``mloop.rules``.

A membership is one person's place in the program: a member of an active loop,
or a mentor or mentee without one.  The queries here return plain tuples of
per-loop and per-member aggregates (never ORM objects row by row: a large
program has 100,000 people), counting only facts dated at or before ``now``;
covering indexes (migration 3) let SQLite answer them from indexes.  Each
membership's aggregates become one ``rules.MembershipFacts``; the rules decide
its stage, stall, risk and check-in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import starmap
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
    Nudge,
    PairingFit,
    Participant,
    Program,
    greatest,
)
from mloop.store.access import loop_active_at
from mloop.store.programs import thresholds


class Person(NamedTuple):
    id: int
    email: str
    name: str
    is_mentor: bool
    is_mentee: bool
    joined_at: datetime


class Contact(NamedTuple):
    """How a report names a person."""

    email: str
    name: str


# Up to this many people are looked up by id; more, and reading the whole
# program's names is quicker (and stays under SQLite's bound-parameter limit).
FEW_CONTACTS = 1000


class LoopRow(NamedTuple):
    """One active loop's aggregates as of ``now``."""

    loop_id: int
    mentor_id: int
    mentee_id: int
    matched_at: datetime
    first_booking: datetime | None
    first_held: datetime | None
    kth_held: datetime | None
    latest_rating: int | None  # of the loop's latest feedback by either member
    latest_rating_by: int | None  # who gave it
    held_meetings: int = 0
    last_meeting_at: datetime | None = None


# One member's own feedback in one loop as of ``now``, as ``member_feedback``
# gives it: (first feedback on a held meeting, first positive loop feedback,
# latest loop feedback — which answers check-ins).
MemberFeedback = tuple
NO_FEEDBACK = (None, None, None)
NO_GOALS = (None, ())


class Standing(NamedTuple):
    """One membership as ``standings`` yields it: the loop's row (None without
    a loop), the role, the member's and partner's ids, the rules' facts and progress."""

    row: LoopRow | None
    role: str
    member_id: int
    partner_id: int | None
    facts: rules.MembershipFacts | None
    progress: rules.Progress
    last_loop_feedback: datetime | None = None


def _loop_rows(columns: list[Sequence]) -> list[LoopRow]:
    return list(starmap(LoopRow, zip(*columns)))


def _goals_by_loop(loop_ids: Sequence[int], shared: Sequence[datetime],
                   completed: Sequence[datetime | None]) -> dict[int, tuple[datetime, list[tuple]]]:
    """loop -> (its first sharing time, its shared goals as (shared_at, completed_at)),
    from the goals' columns."""
    goals: dict[int, list] = {}
    get = goals.get
    for loop_id, shared_at, completed_at in zip(loop_ids, shared, completed):
        found = get(loop_id)
        if found is None:
            goals[loop_id] = [shared_at, [(shared_at, completed_at)]]
        else:
            found[1].append((shared_at, completed_at))
            if shared_at < found[0]:
                found[0] = shared_at
    return {loop_id: (first, loop_goals) for loop_id, (first, loop_goals) in goals.items()}


def held_from():
    """``rules.held_from`` in SQL: a held meeting counts from its start, never before it was booked."""
    return greatest(Meeting.start, Meeting.created_at)


def only_program(session: Session, program: Program) -> bool:
    """Whether ``program`` is the store's only program (so no fact needs filtering by program)."""
    ids = session.connection().execute(sa.select(Program.id).limit(2)).scalars().all()
    return ids == [program.id]


class FactReader:
    """Reads the facts of one program as of ``now``, optionally for some loops only."""

    def __init__(self, session: Session, program: Program, now: datetime, loop_ids: Iterable[int] | None = None):
        self.session = session
        self.program = program
        self.now = now
        self.loop_ids = None if loop_ids is None else sorted(set(loop_ids))
        self._alone: bool | None = None
        self.dialect = session.connection().dialect.name

    @property
    def alone(self) -> bool:
        """Whether the program is the store's only one (asked once, when a whole program is read)."""
        if self._alone is None:
            self._alone = only_program(self.session, self.program)
        return self._alone

    def _fetch(self, query) -> list[tuple]:
        """``query``'s rows as the driver gives them.

        SQLAlchemy's per-row result processing costs four times the driver's
        own fetch on the 100,000-row reads of a large program, so the facts
        are read from the driver (times are read by ``_convert``); psycopg
        reads in binary, which decodes faster than text.
        """
        conn = self.session.connection()
        if self.dialect == "sqlite":
            result = conn.execute(query)  # binds processed as usual; rows fetched by the driver alone
            try:
                return result.cursor.fetchall()
            finally:
                result.close()
        compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        cursor = conn.connection.driver_connection.cursor(binary=True)
        try:
            cursor.execute(compiled.string, compiled.construct_params())
            return cursor.fetchall()
        finally:
            cursor.close()

    def _convert(self, rows: list[tuple], times: tuple[int, ...]) -> list[tuple]:
        """``rows`` with the columns at ``times`` as aware UTC datetimes: SQLite's
        naive UTC text parsed (the store writes one width, ``UTCDateTime``);
        psycopg already reads a timestamptz as one (the connection's TimeZone is UTC)."""
        if not rows or not times or self.dialect != "sqlite":
            return rows
        parse = datetime.fromisoformat
        if len(times) == 1:  # one time column: rebuild each row around it
            (i,) = times
            return [row[:i] + (None if row[i] is None else parse(row[i] + "+00:00"),) + row[i + 1:] for row in rows]
        columns = list(zip(*rows))
        _parse_times(columns, times)
        return list(zip(*columns))

    def _rows(self, query, times: tuple[int, ...] = ()) -> list[tuple]:
        """``query``'s rows, the columns at ``times`` read as aware UTC datetimes."""
        return self._convert(self._fetch(query), times)

    def _columns(self, query, times: tuple[int, ...] = ()) -> list[Sequence]:
        """``query``'s result column by column, those at ``times`` read as
        ``_convert`` reads them: for the largest reads, which are consumed
        column-wise, so that no row is built twice."""
        rows = self._fetch(query)
        if not rows:
            return [()] * len(query.selected_columns)
        columns: list[Sequence] = list(zip(*rows))
        if self.dialect == "sqlite":
            _parse_times(columns, times)
        return columns

    def in_scope(self, loop_column):
        """Facts of this program's (chosen) loops."""
        if self.loop_ids is not None:
            return loop_column.in_(self.loop_ids)
        if self.alone:  # every fact in the store is this program's: no need to ask
            return sa.true()
        return loop_column.in_(sa.select(Loop.id).where(Loop.program_id == self.program.id))

    def loops(self, momentum_meetings: int, *, with_counts: bool = False) -> list[LoopRow]:
        """Active loops with their meeting aggregates and latest member rating.

        PostgreSQL reads a whole program's meetings and feedback in grouped
        passes (``_loops_grouped``: ~0.3 s of server time on the large program
        against 0.4–0.5 s for lookups per loop); SQLite, and a few chosen loops,
        look each loop up in the indexes (``_loops_looked_up``).  Both give the
        same rows (a PostgreSQL test holds them to it).
        """
        if self.dialect != "sqlite" and self.loop_ids is None:
            return self._loops_grouped(momentum_meetings, with_counts)
        return self._loops_looked_up(momentum_meetings, with_counts)

    def _active(self) -> list:
        """The conditions on ``Loop`` of this program's loops active at ``now`` (the chosen ones)."""
        active = [Loop.program_id == self.program.id, loop_active_at(self.now)]
        if self.loop_ids is not None:
            active.append(Loop.id.in_(self.loop_ids))
        return active

    def _active_loops(self, query):
        """``query`` for the loops active at ``now`` (the chosen ones), by id."""
        return query.where(*self._active()).order_by(Loop.id)

    def _latest_member_feedback(self):
        """The id of the loop's latest feedback by one of its members (one index lookup)."""
        return (
            sa.select(Feedback.id)
            .where(
                Feedback.loop_id == Loop.id,
                Feedback.created_at <= self.now,
                Feedback.author_id.in_([Loop.mentor_id, Loop.mentee_id]),
            )
            .order_by(Feedback.created_at.desc(), Feedback.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    def _loops_looked_up(self, momentum_meetings: int, with_counts: bool) -> list[LoopRow]:
        """Each aggregate a correlated subquery that one index answers."""
        now = self.now
        held = held_from()
        held_here = sa.and_(Meeting.loop_id == Loop.id, Meeting.status == rules.HELD, held <= now)

        def nth_held(offset: int):
            return sa.select(held).where(held_here).order_by(held).limit(1).offset(offset).scalar_subquery()

        latest = sa.orm.aliased(Feedback)

        columns = [
            Loop.id, Loop.mentor_id, Loop.mentee_id, Loop.matched_at,
            sa.select(sa.func.min(Meeting.created_at))
            .where(Meeting.loop_id == Loop.id, Meeting.created_at <= now, Meeting.status != rules.CANCELLED)
            .scalar_subquery(),
            nth_held(0),
            nth_held(momentum_meetings - 1),
            latest.rating,
            latest.author_id,
        ]
        if with_counts:
            columns += [
                sa.select(sa.func.count()).where(held_here).scalar_subquery(),
                sa.select(sa.func.max(held)).where(held_here).scalar_subquery(),
            ]
        query = sa.select(*columns).outerjoin(latest, latest.id == self._latest_member_feedback())
        times = (3, 4, 5, 6, 10) if with_counts else (3, 4, 5, 6)
        return _loop_rows(self._columns(self._active_loops(query), times))

    def _loops_grouped(self, momentum_meetings: int, with_counts: bool) -> list[LoopRow]:
        """The meeting aggregates from one GROUP BY over the program's meetings
        (held times gathered in order into an array, the first and the k-th
        taken from it), and each loop's latest member rating from one sorted
        pass over its feedback (DISTINCT ON).  A lookup per loop for the rating
        left PostgreSQL a choice of index that flipped with its statistics.
        """
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        now = self.now
        held = held_from()
        is_held = sa.and_(Meeting.status == rules.HELD, held <= now)
        aggregates = [
            Meeting.loop_id.label("loop_id"),
            sa.func.min(Meeting.created_at)
            .filter(Meeting.created_at <= now, Meeting.status != rules.CANCELLED).label("first_booking"),
            sa.func.array_agg(aggregate_order_by(held, held)).filter(is_held).label("held"),
        ]
        if with_counts:
            aggregates += [
                sa.func.count().filter(is_held).label("held_meetings"),
                sa.func.max(held).filter(is_held).label("last_held"),
            ]
        meetings = (
            sa.select(*aggregates).where(self.in_scope(Meeting.loop_id)).group_by(Meeting.loop_id).subquery()
        )
        member = sa.orm.aliased(Loop)
        ratings = (
            _distinct_on(sa.select(Feedback.loop_id.label("loop_id"), Feedback.rating.label("rating"),
                                   Feedback.author_id.label("author_id")),
                         Feedback.loop_id)
            .join(member, sa.and_(member.id == Feedback.loop_id,
                                  Feedback.author_id.in_([member.mentor_id, member.mentee_id])))
            .where(member.program_id == self.program.id, Feedback.created_at <= now)
            .order_by(Feedback.loop_id, Feedback.created_at.desc(), Feedback.id.desc())
            .subquery()
        )
        columns = [
            Loop.id, Loop.mentor_id, Loop.mentee_id, Loop.matched_at,
            meetings.c.first_booking,
            meetings.c.held[1],  # PostgreSQL arrays count from 1
            meetings.c.held[momentum_meetings],
            ratings.c.rating,
            ratings.c.author_id,
        ]
        if with_counts:
            columns += [sa.func.coalesce(meetings.c.held_meetings, 0), meetings.c.last_held]
        query = self._active_loops(
            sa.select(*columns).select_from(Loop)
            .outerjoin(meetings, meetings.c.loop_id == Loop.id)
            .outerjoin(ratings, ratings.c.loop_id == Loop.id)
        )
        return _loop_rows(self._columns(query))

    def member_feedback(self) -> dict[tuple[int, int], MemberFeedback]:
        """(loop, author) -> their ``MemberFeedback``.

        Feedback on a meeting is only ever stored for a held meeting (the
        commands and the importer refuse others, and a held meeting cannot be
        cancelled), so no join to the meetings is needed.  Which ratings are
        positive comes from ``rules.positive_ratings``.
        """
        on_meeting = sa.case((Feedback.meeting_id.is_not(None), Feedback.created_at), else_=None)
        on_loop = sa.case((Feedback.meeting_id.is_(None), Feedback.created_at), else_=None)
        positive = sa.case(
            (sa.and_(Feedback.meeting_id.is_(None), Feedback.rating.in_(rules.positive_ratings())),
             Feedback.created_at),
            else_=None,
        )
        query = (
            sa.select(Feedback.loop_id, Feedback.author_id, sa.func.min(on_meeting), sa.func.min(positive),
                      sa.func.max(on_loop))
            .where(self.in_scope(Feedback.loop_id), Feedback.created_at <= self.now)
            .group_by(Feedback.loop_id, Feedback.author_id)
        )
        loop_ids, authors, on_meeting, positive, on_loop = self._columns(query, (2, 3, 4))
        return dict(zip(zip(loop_ids, authors), zip(on_meeting, positive, on_loop)))

    def shared_goals(self) -> dict[int, tuple[datetime, list[tuple]]]:
        """loop -> (its first sharing time, its goals shared as of ``now``, each
        (shared_at, completed_at) as ``rules.GoalFact`` reads it; completion
        times after ``now`` left out)."""
        now = self.now
        completed = sa.case((Goal.completed_at <= now, Goal.completed_at), else_=None)
        query = sa.select(Goal.loop_id, Goal.shared_at, completed).where(
            self.in_scope(Goal.loop_id), Goal.shared_at.is_not(None), Goal.shared_at <= now
        )
        return _goals_by_loop(*self._columns(query, (1, 2)))

    def journey_shares(self) -> dict[tuple[int, int], datetime]:
        """(loop, author) -> when they first shared their journey."""
        query = (
            sa.select(JourneyShare.loop_id, JourneyShare.author_id, sa.func.min(JourneyShare.created_at))
            .where(self.in_scope(JourneyShare.loop_id), JourneyShare.created_at <= self.now)
            .group_by(JourneyShare.loop_id, JourneyShare.author_id)
        )
        return {(loop_id, author): at for loop_id, author, at in self._rows(query, (2,))}

    def latest_fits(self) -> dict[int, tuple[str, int, datetime]]:
        """loop -> (fit, author, when) of its latest pairing fit as of ``now``."""
        query = (
            sa.select(PairingFit.loop_id, PairingFit.fit, PairingFit.author_id, PairingFit.created_at)
            .where(self.in_scope(PairingFit.loop_id), PairingFit.created_at <= self.now)
            .order_by(PairingFit.created_at, PairingFit.id)
        )
        return {loop_id: (fit, author, at) for loop_id, fit, author, at in self._rows(query, (3,))}

    def last_ended(self, ids: Iterable[int] | None = None) -> dict[int, rules.EndedLoop]:
        """person -> their latest loop ended by ``now`` (``rules.latest_ended``)."""
        query = sa.select(Loop.mentor_id, Loop.mentee_id, Loop.ended_at, Loop.outcome).where(
            Loop.program_id == self.program.id, Loop.ended_at.is_not(None), Loop.ended_at <= self.now
        )
        if ids is not None:
            wanted = sorted(set(ids))
            query = query.where(sa.or_(Loop.mentor_id.in_(wanted), Loop.mentee_id.in_(wanted)))
        ended: dict[int, list[rules.EndedLoop]] = {}
        for mentor_id, mentee_id, ended_at, outcome in self._rows(query, (2,)):
            loop = rules.EndedLoop(ended_at, outcome)
            ended.setdefault(mentor_id, []).append(loop)
            ended.setdefault(mentee_id, []).append(loop)
        return {person: rules.latest_ended(loops, self.now) for person, loops in ended.items()}

    def last_nudges(self) -> dict[tuple[int, int | None], datetime]:
        """(participant id, loop id or None) -> when they were last nudged, up to ``now``."""
        query = (
            sa.select(Nudge.participant_id, Nudge.loop_id, sa.func.max(Nudge.sent_at))
            .where(Nudge.program_id == self.program.id, Nudge.sent_at <= self.now)
            .group_by(Nudge.participant_id, Nudge.loop_id)
        )
        return {(person, loop): sent for person, loop, sent in self._rows(query, (2,))}

    def _people(self):
        return sa.select(
            Participant.id, Participant.email, Participant.name,
            Participant.is_mentor, Participant.is_mentee, Participant.joined_at,
        ).where(Participant.program_id == self.program.id)

    def people(self, ids: Iterable[int] | None = None) -> dict[int, Person]:
        """id -> ``Person`` of the program's people (or of ``ids``)."""
        query = self._people()
        if ids is not None:
            query = query.where(Participant.id.in_(sorted(set(ids))))
        return {row[0]: Person._make(row) for row in self._rows(query, (5,))}

    def people_without_loop(self) -> dict[int, Person]:
        """id -> ``Person`` of the program's people in none of the loops that
        ``loops`` reads: the ones whose standing comes from ``rules.progress_without_loop``.

        A whole-program report needs no more of the members of active loops
        (nine in ten people of a large program) than the name and email of the
        few it lists (``contacts``).
        """
        active = self._active()
        members = sa.union_all(sa.select(Loop.mentor_id).where(*active), sa.select(Loop.mentee_id).where(*active))
        query = self._people().where(Participant.id.not_in(members)).order_by(Participant.id)
        return {row[0]: Person._make(row) for row in self._rows(query, (5,))}

    def contacts(self, ids: Iterable[int]) -> dict[int, Contact]:
        """id -> ``Contact`` of at least ``ids`` among the program's people:
        looked up by id when they are few, the whole program read when many."""
        wanted = set(ids)
        if not wanted:
            return {}
        query = sa.select(Participant.id, Participant.email, Participant.name).where(
            Participant.program_id == self.program.id)
        if len(wanted) <= FEW_CONTACTS:
            query = query.where(Participant.id.in_(sorted(wanted)))
        ids, emails, names = self._columns(query)
        return dict(zip(ids, starmap(Contact, zip(emails, names))))


def _parse_times(columns: list[Sequence], times: tuple[int, ...]) -> None:
    """Replace the columns at ``times`` (SQLite's naive UTC text) by aware UTC datetimes."""
    parse = datetime.fromisoformat
    for i in times:
        columns[i] = [None if value is None else parse(value + "+00:00") for value in columns[i]]


def _distinct_on(query, *columns):
    """PostgreSQL's SELECT DISTINCT ON (columns): SQLAlchemy 2.1 spells it as an
    extension, 2.0 as ``distinct(*columns)`` (deprecated in 2.1)."""
    try:
        from sqlalchemy.dialects.postgresql import distinct_on
    except ImportError:  # SQLAlchemy 2.0
        return query.distinct(*columns)
    return query.ext(distinct_on(*columns))


class ProgramFacts(NamedTuple):
    """Everything ``standings`` reads, as a ``FactReader`` gives it."""

    loops: list[LoopRow]
    people: dict[int, Person]
    member_feedback: dict[tuple[int, int], MemberFeedback]
    shared_goals: dict[int, tuple[datetime, list[tuple]]]
    journey_shares: dict[tuple[int, int], datetime]
    last_ended: dict[int, rules.EndedLoop]  # of the people it may concern: all, or the one asked about


def standings(
    facts: ProgramFacts,
    now: datetime,
    *,
    only_member: int | None = None,
    include_unmatched: bool = True,
) -> Iterator[Standing]:
    """Every membership's standing as of ``now``: both members of each
    loop in ``facts.loops``, then (``include_unmatched``) each mentor or mentee
    of ``facts.people`` in no active loop.  ``only_member`` keeps one person's."""
    progress_of, membership = rules.progress, rules.MembershipFacts
    in_a_loop: set[int] = set()
    get_feedback, get_goals, get_share = facts.member_feedback.get, facts.shared_goals.get, facts.journey_shares.get
    for row in facts.loops:
        loop_id, mentor_id, mentee_id, matched_at, first_booking, first_held, kth_held = row[:7]
        first_goal, loop_goals = get_goals(loop_id, NO_GOALS)
        for role, member_id, partner_id in ((rules.MENTOR, mentor_id, mentee_id), (rules.MENTEE, mentee_id, mentor_id)):
            in_a_loop.add(member_id)
            if only_member is not None and member_id != only_member:
                continue
            key = (loop_id, member_id)
            on_meeting, positive, last_loop = get_feedback(key, NO_FEEDBACK)
            member_facts = membership(matched_at, first_booking, first_held, kth_held, first_goal,
                                      on_meeting, positive, get_share(key), loop_goals)
            yield Standing(row, role, member_id, partner_id, member_facts, progress_of(member_facts, now), last_loop)
    if not include_unmatched:
        return
    without_loop, last_ended = rules.progress_without_loop, facts.last_ended.get
    for pid, person in facts.people.items():
        if pid in in_a_loop or not (person.is_mentor or person.is_mentee):
            continue
        if only_member is not None and pid != only_member:
            continue
        progress = without_loop(person.joined_at, last_ended(pid), now)
        if progress is not None:
            role = rules.MENTOR if person.is_mentor else rules.MENTEE
            yield Standing(None, role, pid, None, None, progress)


@dataclass(slots=True)
class Membership:
    """One person's place in the program with the rules' verdicts: in a loop, or not (loop_id None)."""

    person: Person
    role: str  # mentor | mentee
    loop_id: int | None
    partner: Person | None
    facts: rules.MembershipFacts | None
    progress: rules.Progress
    stalled: bool
    risks: tuple[str, ...]  # rules.risk_reasons
    days: int  # whole days in the current stage
    matched_at: datetime | None = None
    held_meetings: int = 0
    last_meeting_at: datetime | None = None
    latest_rating: int | None = None  # of the loop's latest feedback by either member
    latest_rating_by: str | None = None
    last_loop_feedback: datetime | None = None  # the member's own

    @property
    def at_risk(self) -> bool:
        return bool(self.risks)


def memberships(
    session: Session,
    program: Program,
    now: datetime,
    *,
    person_id: int | None = None,
    with_partners: bool = False,
    include_unmatched: bool = True,
    with_counts: bool = False,
) -> list[Membership]:
    """Every membership of the program as of ``now`` (or one person's), with the rules' verdicts.

    ``with_partners`` adds, to one person's, their partners' memberships of
    the same loops (a loop's health reads both members' stages) from the
    same reads.  ``with_counts`` adds each loop's held-meeting count and last meeting.
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
    loops = facts.loops(program.momentum_meetings, with_counts=with_counts) if loop_ids is None or loop_ids else []
    people = facts.people(None if person_id is None else [person_id, *(x for r in loops for x in (r.mentor_id, r.mentee_id))])
    fits = facts.latest_fits() if loops else {}
    program_facts = ProgramFacts(
        loops, people,
        facts.member_feedback() if loops else {},
        facts.shared_goals() if loops else {},
        facts.journey_shares() if loops else {},
        facts.last_ended(None if person_id is None else [person_id])
        if include_unmatched and (person_id is None or not loops) else {},
    )
    cutoffs = rules.stall_cutoffs(now, program.stall_days, thresholds(program))
    result: list[Membership] = []
    only_member = None if with_partners else person_id
    for standing in standings(program_facts, now, only_member=only_member, include_unmatched=include_unmatched):
        row, role, member_id, partner_id, member_facts, progress, last_loop = standing
        stalled = rules.is_stalled(progress, now, cutoffs=cutoffs)
        days = progress.days_in_stage(now)
        if row is None:
            result.append(Membership(people[member_id], role, None, None, None, progress, stalled, (), days))
            continue
        fit = fits.get(row.loop_id)
        risks = rules.risk_reasons(row.latest_rating, fit[0] if fit else None)
        rater = people.get(row.latest_rating_by)
        result.append(
            Membership(
                people[member_id], role, row.loop_id, people[partner_id], member_facts, progress, stalled,
                risks, days, row.matched_at, row.held_meetings, row.last_meeting_at, row.latest_rating,
                rater.email if rater else None, last_loop,
            )
        )
    return result
