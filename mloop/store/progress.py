"""Per-loop facts aggregated in SQL, turned into stages by ``mloop.rules``.

The report on a large program must not load ORM objects row by row: each
query here returns plain tuples — one row of aggregates per active loop, one
per loop member with feedback — and only counts facts dated at or before
``now``.  Covering indexes (migration 3) let SQLite answer them from indexes.

Times stay as the driver returns them ("raw": SQLite's fixed-width naive UTC
text; on PostgreSQL naive UTC datetimes, read in binary by ``_binary_rows``).
Raw times order exactly as the times do, and the rules only ever compare
times, so ``standings`` runs the rules on them as they are;
``FactReader.time`` turns one into an aware UTC datetime where a caller needs
the time itself (a report parses the stage start of the people it lists, not
the half-million facts behind every stage).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial, wraps
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.store.programs import thresholds
from mloop.store.models import (
    Feedback,
    Goal,
    JourneyShare,
    Loop,
    Meeting,
    Participant,
    Program,
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


# A time as the driver returns it: str on SQLite, a naive UTC datetime on PostgreSQL.
RawTime = str | datetime


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
    """One active loop's aggregates as of ``now``, times raw (``FactReader.time`` reads them)."""

    loop_id: int
    mentor_id: int
    mentee_id: int
    matched_at: RawTime
    first_booking: RawTime | None
    first_held: RawTime | None
    kth_held: RawTime | None
    latest_rating: int | None
    held_meetings: int = 0
    last_meeting_at: RawTime | None = None


class LoopGoals:
    """One loop's shared goals as raw (shared, completed) times, and the first sharing time.

    Most loops never reach Levelling Up, where the rules look at each goal,
    so ``rules.GoalFact``s are made only when iterated; the first sharing
    time is all the earlier stages need.
    """

    __slots__ = ("times", "first_shared")

    def __init__(self, shared, completed):
        self.times: list[tuple] = [(shared, completed)]
        self.first_shared = shared

    def add(self, shared, completed) -> None:
        self.times.append((shared, completed))
        if shared < self.first_shared:
            self.first_shared = shared

    def __iter__(self) -> Iterator[rules.GoalFact]:
        fact = rules.GoalFact
        return (fact(shared, completed) for shared, completed in self.times)


def _binary_rows(conn: sa.Connection, query) -> list[tuple]:
    """``query``'s rows on PostgreSQL, read in binary on the transaction's own
    connection, every ``timestamptz`` as a naive UTC datetime.

    A timestamptz travels in binary as microseconds since 2000-01-01 UTC, the
    same as a timestamp without time zone, so psycopg's loader for the latter
    reads it exactly (no zone involved); binary rows also decode faster than
    text, and naive times format in half the time of aware ones.
    """
    from psycopg.types.datetime import TimestampBinaryLoader

    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    cursor = conn.connection.driver_connection.cursor(binary=True)
    cursor.adapters.register_loader("timestamptz", TimestampBinaryLoader)
    try:
        cursor.execute(compiled.string, compiled.construct_params())
        return cursor.fetchall()
    finally:
        cursor.close()


def time_reader(dialect_name: str):
    """Turns a raw time as the driver returns it into an aware UTC datetime."""
    if dialect_name == "sqlite":
        parse = datetime.fromisoformat

        def read(value):
            # Stored as naive UTC text; appending the offset is far cheaper than .replace().
            return None if value is None else parse(value + "+00:00")

        return read

    def read_naive_utc(value):
        return None if value is None else value.replace(tzinfo=timezone.utc)

    return read_naive_utc


def raw_time(dialect_name: str, value: datetime) -> RawTime:
    """``value`` as the driver would return it from the store, so it compares with raw times.

    SQLite stores naive UTC text of one width (SQLAlchemy's DateTime format,
    microseconds always written); PostgreSQL's rows are read as naive UTC
    datetimes (``_binary_rows``).
    """
    value = value.astimezone(timezone.utc).replace(tzinfo=None)
    if dialect_name == "sqlite":
        return value.isoformat(" ", "microseconds")
    return value


def text_reader(dialect_name: str):
    """Turns a raw time into the report's UTC text ('2026-12-01T14:00:00Z', as
    ``isoformat_utc`` writes it) — on SQLite by slicing the stored text, which
    costs a fifth of parsing and formatting it."""
    if dialect_name == "sqlite":

        def text(value):
            if value is None:
                return None
            if value.endswith(".000000"):
                return f"{value[:10]}T{value[11:19]}Z"
            return f"{value[:10]}T{value[11:]}Z"

        return text

    def text_naive_utc(value):
        return None if value is None else value.isoformat() + "Z"

    return text_naive_utc


def only_program(session: Session, program: Program) -> bool:
    """Whether ``program`` is the store's only program (so no fact needs filtering by program)."""
    ids = session.connection().execute(sa.select(Program.id).limit(2)).scalars().all()
    return ids == [program.id]


def held_from():
    """A held meeting counts from its start, never before it was booked."""
    return greatest(Meeting.start, Meeting.created_at)


def _may_be_read_ahead(method):
    """A fact ``FactReader.reading_ahead`` can have read on its second connection.

    Read once per reader: a later call (no arguments) gets the same result,
    so a caller may read a fact early, while another connection is busy.
    """
    name = method.__name__

    @wraps(method)
    def read(self, *args, **kwargs):
        if args or kwargs:
            return method(self, *args, **kwargs)
        if name not in self._read:
            self._read[name] = self._ahead.pop(name).result() if name in self._ahead else method(self)
        return self._read[name]

    return read


class FactReader:
    """Reads the facts of one program as of ``now``, optionally for some loops only.

    Every time comes back raw (see the module's docstring): ``time`` turns one
    into an aware UTC datetime, ``text`` into UTC text, and ``raw`` turns a
    datetime into one.
    """

    # Read ahead on PostgreSQL while the loops are read: the facts ``standings``
    # needs besides them, then the people (which the report needs next; read on
    # this connection after the loops they cost ~0.07-0.1 s more as a whole
    # process, in 15 interleaved runs of each report).
    AHEAD = ("member_feedback", "shared_goals", "journey_shares", "people")

    def __init__(self, session: Session, program: Program, now: datetime, loop_ids: Iterable[int] | None = None):
        self.session = session
        self.program = program
        self.now = now
        self.loop_ids = None if loop_ids is None else sorted(set(loop_ids))
        self.alone = only_program(session, program)
        dialect = session.connection().dialect.name
        self.time = time_reader(dialect)
        self.raw = partial(raw_time, dialect)
        self.text = text_reader(dialect)
        self.raw_now = self.raw(now)
        self.client_server = dialect != "sqlite"
        self._ahead: dict[str, Any] = {}  # fact or job name -> Future, while reading ahead
        self._jobs: dict[str, Callable[[Session], Any]] = {}
        self._read: dict[str, Any] = {}  # fact name -> what it read (see _may_be_read_ahead)
        self._rating_authors: dict[int, int] | None = None  # loop -> author of its latest member rating

    @contextmanager
    def reading_ahead(self, *facts: str, **jobs: Callable[[Session], Any]) -> Iterator[None]:
        """Reads ``facts`` (names of this reader's methods) and runs ``jobs``
        (aggregates, each given a session) on a second connection while this
        one is busy.

        PostgreSQL answers the loops query in about 0.3 s of server time on a
        large program, with the client only waiting; meanwhile a second server
        process answers the other queries (`coordinator report --stalled --json`
        measured ~0.6 s shorter as a whole process).  SQLite answers
        in-process: fact queries return tens of thousands of rows, built while
        holding the interpreter, so a second thread only contends for it
        (measured slower) and they stay on this connection; an aggregate job
        runs almost wholly inside SQLite, which lets go of the interpreter, so
        jobs run ahead on both engines — on SQLite the report's loops too,
        computed in one step and returned in one row (``_loops_in_one_row``).
        Nothing runs ahead for a small program (see ``READ_AHEAD_FROM_LOOPS``),
        nor in a writing transaction, whose uncommitted writes a second
        connection would not see.  Every query filters by ``now`` as the
        serial reads do; each connection reads its own snapshot (PostgreSQL's
        default isolation already gave each query one), so a write committed
        mid-report may show in one read and not another.
        A fact is taken as read by the first call of its method.
        """
        self._jobs = jobs
        if not self.client_server:
            facts = ()
        # A second connection would not see this transaction's own uncommitted writes.
        if not (facts or jobs) or self.session.connection().info.get("write", True) or not self._large():
            try:
                yield
            finally:
                self._jobs = {}
            return
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(1, thread_name_prefix="mloop-facts")
        other = Session(self.session.get_bind().engine)  # its own connection: a session may be bound to one
        try:
            if facts:
                twin = pool.submit(FactReader, other, self.program, self.now, self.loop_ids)
            for name in facts:
                self._ahead[name] = pool.submit(lambda name=name: getattr(twin.result(), name)())
            for name, job in jobs.items():
                self._ahead[name] = pool.submit(job, other)
            yield
        finally:
            for future in self._ahead.values():
                future.cancel()
            pool.submit(other.close)  # in the thread that used it (SQLite connections belong to their thread)
            pool.shutdown(wait=True)
            self._ahead.clear()
            self._jobs = {}

    # Below this many loops a second connection and thread cost more than they
    # save (a 1,000-loop program's whole report takes ~30 ms).
    READ_AHEAD_FROM_LOOPS = 5000

    def _large(self) -> bool:
        """Whether the program has enough loops to be worth reading ahead (one index count)."""
        if self.loop_ids is not None:
            return len(self.loop_ids) >= self.READ_AHEAD_FROM_LOOPS
        count = self.session.connection().execute(
            sa.select(sa.func.count()).select_from(Loop).where(Loop.program_id == self.program.id)
        ).scalar_one()
        return count >= self.READ_AHEAD_FROM_LOOPS

    def result(self, name: str) -> Any:
        """The result of the job given to ``reading_ahead`` as ``name``: read ahead, or run now."""
        if name in self._ahead:
            return self._ahead.pop(name).result()
        return self._jobs[name](self.session)

    def _rows(self, query):
        return self.session.connection().execute(query).all()

    def _raw_rows(self, query) -> list[tuple]:
        """The driver's own tuples, skipping SQLAlchemy's per-row processing.

        On PostgreSQL the rows come in binary, times as naive UTC datetimes
        (``_binary_rows``)."""
        if self.client_server:
            return _binary_rows(self.session.connection(), query)
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

        PostgreSQL reads a whole program's meetings and feedback in grouped
        passes (``_loops_grouped``: ~0.3 s of server time on the large program
        against 0.4–0.5 s for lookups per loop); SQLite, and a few chosen loops,
        look each loop up in the indexes (``_loops_looked_up``).  Both give the
        same rows (a PostgreSQL test holds them to it).
        """
        if self.client_server and self.loop_ids is None:
            return self._loops_grouped(momentum_meetings, with_counts)
        return self._loops_looked_up(momentum_meetings, with_counts)

    def _active_loops(self, query):
        """``query`` for the loops active at ``now`` (the chosen ones), by id."""
        query = query.where(
            Loop.program_id == self.program.id,
            Loop.matched_at <= self.now,
            sa.or_(Loop.ended_at.is_(None), Loop.ended_at > self.now),
        )
        if self.loop_ids is not None:
            query = query.where(Loop.id.in_(self.loop_ids))
        return query.order_by(Loop.id)

    def _latest_member_rating(self):
        """The rating of the loop's latest feedback by one of its members (one index lookup)."""
        return (
            sa.select(Feedback.rating)
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
        held_here = sa.and_(Meeting.loop_id == Loop.id, Meeting.status == "held", held <= now)

        def nth_held(offset: int):
            return (
                sa.select(held).where(held_here).order_by(held).limit(1).offset(offset).scalar_subquery()
            )

        columns = [
            Loop.id, Loop.mentor_id, Loop.mentee_id, Loop.matched_at,
            sa.select(sa.func.min(Meeting.created_at))
            .where(Meeting.loop_id == Loop.id, Meeting.created_at <= now, Meeting.status != "cancelled")
            .scalar_subquery(),
            nth_held(0),
            nth_held(momentum_meetings - 1),
            self._latest_member_rating(),
        ]
        if with_counts:
            columns += [
                sa.select(sa.func.count()).where(held_here).scalar_subquery(),
                sa.select(sa.func.max(held)).where(held_here).scalar_subquery(),
            ]
        query = self._active_loops(sa.select(*columns))
        if self.client_server or self.loop_ids is not None:
            return [LoopRow(*row) for row in self._raw_rows(query)]
        return self._loops_in_one_row(query)

    def _loops_in_one_row(self, query) -> list[LoopRow]:
        """A whole program's loops from SQLite as one JSON array in one row.

        SQLite computes every loop's correlated lookups inside a single step,
        letting go of the interpreter the whole time, so another thread runs
        meanwhile (see ``reading_ahead``); read on its own it costs what the
        rows read one by one do (0.23–0.27 s on the large program).  Raw times
        are text, counts numbers, NULL null: the rows are the driver's own,
        sorted by loop as the query ordered them.
        """
        import json
        from operator import itemgetter

        rows = query.order_by(None).subquery()
        packed = sa.select(sa.func.json_group_array(sa.func.json_array(*rows.c)))
        loops = json.loads(self.session.connection().execute(packed).scalar_one())
        loops.sort(key=itemgetter(0))
        return [LoopRow(*row) for row in loops]

    def _loops_grouped(self, momentum_meetings: int, with_counts: bool) -> list[LoopRow]:
        """The meeting aggregates from one GROUP BY over the program's meetings
        (held times gathered in order into an array, the first and the k-th
        taken from it), and each loop's latest member rating from one sorted
        pass over its feedback (DISTINCT ON).  A lookup per loop for the rating
        left PostgreSQL a choice of index that flipped with its statistics:
        after an ANALYZE it took the per-member index and a sort per loop
        (0.07 -> 0.2 s of server time on the large program).
        """
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        now = self.now
        held = held_from()
        is_held = sa.and_(Meeting.status == "held", held <= now)
        aggregates = [
            Meeting.loop_id.label("loop_id"),
            sa.func.min(Meeting.created_at)
            .filter(Meeting.created_at <= now, Meeting.status != "cancelled").label("first_booking"),
            sa.func.array_agg(aggregate_order_by(held, held)).filter(is_held).label("held"),
        ]
        if with_counts:
            aggregates += [
                sa.func.count().filter(is_held).label("held_meetings"),
                sa.func.max(held).filter(is_held).label("last_held"),
            ]
        meetings = (
            sa.select(*aggregates).where(self._in_scope(Meeting.loop_id)).group_by(Meeting.loop_id).subquery()
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
        ]
        if with_counts:
            columns += [sa.func.coalesce(meetings.c.held_meetings, 0), meetings.c.last_held]
        query = self._active_loops(
            sa.select(*columns, ratings.c.author_id).select_from(Loop)
            .outerjoin(meetings, meetings.c.loop_id == Loop.id)
            .outerjoin(ratings, ratings.c.loop_id == Loop.id)
        )
        # Who gave each loop's latest member rating came along: kept for latest_rating_authors.
        loops, authors = [], {}
        for *row, author in self._raw_rows(query):
            loops.append(LoopRow(*row))
            if author is not None:
                authors[row[0]] = author
        self._rating_authors = authors
        return loops

    @_may_be_read_ahead
    def member_feedback(self) -> dict[tuple[int, int], tuple[RawTime | None, RawTime | None]]:
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
            sa.select(Feedback.loop_id, Feedback.author_id, sa.func.min(on_meeting), sa.func.min(positive))
            .where(self._in_scope(Feedback.loop_id), Feedback.created_at <= self.now)
            .group_by(Feedback.loop_id, Feedback.author_id)
        )
        return {(loop_id, author): (held, pos) for loop_id, author, held, pos in self._raw_rows(query)}

    def latest_rating_authors(self, loop_ids: list[int]) -> dict[int, int]:
        """loop -> author of its latest member feedback, for a few loops (the at-risk ones).

        Read with the loops when they were read in one grouped pass; else asked here.
        """
        if self._rating_authors is not None:
            known = self._rating_authors
            return {loop_id: known[loop_id] for loop_id in loop_ids if loop_id in known}
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

    @_may_be_read_ahead
    def shared_goals(self) -> dict[int, LoopGoals]:
        """loop -> its goals shared as of ``now`` (completion times after ``now`` left out)."""
        now = self.now
        completed = sa.case((Goal.completed_at <= now, Goal.completed_at), else_=None)
        query = sa.select(Goal.loop_id, Goal.shared_at, completed).where(
            self._in_scope(Goal.loop_id), Goal.shared_at.is_not(None), Goal.shared_at <= now
        )
        goals: dict[int, LoopGoals] = {}
        for loop_id, shared_at, completed_at in self._raw_rows(query):
            found = goals.get(loop_id)
            if found is None:
                goals[loop_id] = LoopGoals(shared_at, completed_at)
            else:
                found.add(shared_at, completed_at)
        return goals

    @_may_be_read_ahead
    def journey_shares(self) -> dict[tuple[int, int], RawTime]:
        query = (
            sa.select(JourneyShare.loop_id, JourneyShare.author_id, sa.func.min(JourneyShare.created_at))
            .where(self._in_scope(JourneyShare.loop_id), JourneyShare.created_at <= self.now)
            .group_by(JourneyShare.loop_id, JourneyShare.author_id)
        )
        return {(loop_id, author): at for loop_id, author, at in self._raw_rows(query)}

    @_may_be_read_ahead
    def people(self, ids: Iterable[int] | None = None) -> dict[int, tuple]:
        """id -> (id, email, name, is_mentor, is_mentee, joined_at raw) of the program's people."""
        query = sa.select(
            Participant.id, Participant.email, Participant.name,
            Participant.is_mentor, Participant.is_mentee, Participant.joined_at,
        ).where(Participant.program_id == self.program.id)
        if ids is not None:
            query = query.where(Participant.id.in_(sorted(set(ids))))
        return {row[0]: row for row in self._raw_rows(query)}

    def person(self, row: tuple) -> Person:
        """A row of ``people`` as a ``Person`` (booleans and an aware join time)."""
        pid, email, name, mentor, mentee, joined = row
        return Person(pid, email, name, bool(mentor), bool(mentee), self.time(joined))


def _distinct_on(query, *columns):
    """PostgreSQL's SELECT DISTINCT ON (columns): SQLAlchemy 2.1 spells it as an
    extension, 2.0 as ``distinct(*columns)`` (deprecated in 2.1)."""
    try:
        from sqlalchemy.dialects.postgresql import distinct_on
    except ImportError:  # SQLAlchemy 2.0
        return query.distinct(*columns)
    return query.ext(distinct_on(*columns))


# One membership as ``standings`` yields it: the loop's row (None when
# unmatched), the role, the member's and partner's ids, and the Progress, all
# in raw times.
Standing = tuple


def standings(
    facts: FactReader,
    loops: list[LoopRow],
    people: dict[int, tuple],
    *,
    only_member: int | None = None,
    include_unmatched: bool = True,
) -> Iterator[Standing]:
    """Every membership's progress as of ``facts.now``: both members of each
    loop in ``loops``, then (``include_unmatched``) each mentor or mentee of
    ``people`` in no loop.  ``only_member`` keeps one person's.

    Yields (loop row or None, role, member id, partner id or None, Progress),
    times raw.
    """
    now = facts.raw_now
    feedback = facts.member_feedback() if loops else {}
    goals = facts.shared_goals() if loops else {}
    shares = facts.journey_shares() if loops else {}
    progress_of = rules.progress_from_aggregates
    in_a_loop: set[int] = set()
    seen = in_a_loop.add
    no_feedback = (None, None)
    get_feedback, get_goals, get_share = feedback.get, goals.get, shares.get
    for row in loops:
        loop_id, mentor_id, mentee_id, matched_at, first_booking, first_held, kth_held = row[:7]
        loop_goals = get_goals(loop_id, ())
        first_goal = loop_goals.first_shared if loop_goals else None
        for role, member_id, partner_id in (("mentor", mentor_id, mentee_id), ("mentee", mentee_id, mentor_id)):
            if only_member is not None and member_id != only_member:
                continue
            member = (loop_id, member_id)
            on_held, positive = get_feedback(member, no_feedback)
            seen(member_id)
            yield row, role, member_id, partner_id, progress_of(
                now,
                matched_at=matched_at,
                first_booking=first_booking,
                first_held=first_held,
                kth_held=kth_held,
                first_shared_goal=first_goal,
                first_held_meeting_feedback=on_held,
                first_positive_loop_feedback=positive,
                first_journey_share=get_share(member),
                goals=loop_goals,
            )
    if not include_unmatched:
        return
    getting_started = rules.unmatched_progress
    for pid, _email, _name, is_mentor, is_mentee, joined_at in people.values():
        if pid in in_a_loop or not (is_mentor or is_mentee):
            continue
        if only_member is not None and pid != only_member:
            continue
        progress = getting_started(joined_at, now)
        if progress is not None:
            yield None, "mentor" if is_mentor else "mentee", pid, None, progress


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
    loops = facts.loops(program.momentum_meetings, with_counts=with_counts) if loop_ids is None or loop_ids else []
    people = facts.people(None if person_id is None else [person_id, *(x for r in loops for x in (r.mentor_id, r.mentee_id))])
    at_risk_of = rules.is_at_risk
    at_risk_loops = [row.loop_id for row in loops if at_risk_of(row.latest_rating)]
    rating_authors = facts.latest_rating_authors(at_risk_loops) if at_risk_loops else {}

    time = facts.time
    stall_days = thresholds(program)
    persons = {pid: facts.person(row) for pid, row in people.items()}
    result: list[Membership] = []
    for row, role, member_id, partner_id, raw in standings(
        facts, loops, people, only_member=person_id, include_unmatched=include_unmatched
    ):
        reached = tuple(map(time, raw.reached))
        progress = rules.Progress(raw.stage, reached[-1], reached)
        stalled = rules.is_stalled(progress, now, program.stall_days, stall_days)
        days = progress.days_in_stage(now)
        if row is None:
            result.append(Membership(persons[member_id], role, None, None, progress, stalled, False, days))
            continue
        author = rating_authors.get(row.loop_id)
        result.append(
            Membership(
                persons[member_id], role, row.loop_id, persons[partner_id], progress, stalled,
                at_risk_of(row.latest_rating), days, time(row.matched_at), row.held_meetings,
                time(row.last_meeting_at), row.latest_rating, persons[author].email if author in persons else None,
            )
        )
    return result
