"""All mloop tables.

The schema here is what the ordered migrations in ``migrations.py`` build; a
test checks that a migrated store matches these models column for column.
Every time is stored in UTC and comes back timezone-aware.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from pydantic import ConfigDict
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from mloop.rules import DEFAULT_MOMENTUM_MEETINGS, DEFAULT_STALL_DAYS, SCHEDULED


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL.

    SQLite has no time zones: values are stored as naive UTC text, which also
    sorts correctly, so MIN/MAX and comparisons work in SQL.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; times must be aware")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite expressions may bypass the DateTime type
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite hands back naive UTC text: parse it in one step (the report
        # reads hundreds of thousands; datetime.replace would cost 10x more).
        parse = datetime.fromisoformat
        utc = timezone.utc

        def process(value):
            if value is None:
                return None
            if isinstance(value, str):
                return parse(value + "+00:00")
            return value if value.tzinfo else value.replace(tzinfo=utc)

        return process


class greatest(sa.sql.functions.GenericFunction):
    """The later of two times: max(a, b) on SQLite, GREATEST(a, b) elsewhere."""

    type = UTCDateTime()
    inherit_cache = True


@compiles(greatest, "sqlite")
def _greatest_sqlite(element, compiler, **kw):
    return f"max({compiler.process(element.clauses, **kw)})"


@compiles(greatest)
def _greatest_default(element, compiler, **kw):
    return f"GREATEST({compiler.process(element.clauses, **kw)})"


# Each table's pydantic validator and serializer are built on first use, not at
# import: mloop reads and writes rows through SQLAlchemy, so most commands never
# need them, and building sixteen cost ~15 ms of every command's start.
DEFERRED = ConfigDict(defer_build=True)


def _time(nullable: bool = False, index: bool = False):
    return Field(
        default=None if nullable else ...,
        sa_type=UTCDateTime(),
        nullable=nullable,
        index=index,
    )


class Meta(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "mloop_meta"
    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class Program(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "program"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    stall_days: int = DEFAULT_STALL_DAYS
    momentum_meetings: int = DEFAULT_MOMENTUM_MEETINGS
    is_default: bool = False
    created_at: datetime = _time()
    # JSON object stage -> days for stages whose stall threshold is not stall_days (migration 6).
    stage_stall_days: str = Field(default="{}", max_length=255)
    # JSON object part -> weight for the loop health parts the program weighs its own way (migration 9).
    health_weights: str = Field(default="{}", max_length=255)
    # Reports show counts from 1 to min_group - 1 as "<min_group" (0 or 1: every count; migration 10).
    min_group: int = 0


class Participant(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "participant"
    __table_args__ = (sa.UniqueConstraint("program_id", "email_key"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    email: str = Field(max_length=320)
    email_key: str = Field(max_length=320)  # lower-cased email: unique per program
    name: str = Field(max_length=200)
    is_mentor: bool = False
    is_mentee: bool = False
    is_coordinator: bool = False
    joined_at: datetime = _time()
    capacity: int = 1
    offers: str = ""  # comma-separated skills
    seeks: str = ""
    # Matching profile (migration 7): an IANA zone name, a department, free-text goals.
    timezone: str | None = Field(default=None, max_length=64)
    department: str | None = Field(default=None, max_length=200)
    goals: str | None = None
    # The PostgreSQL login role that is this person (migration 8); None: their
    # lower-cased email is the role name.  SQLite stores ignore it.
    db_role: str | None = Field(default=None, max_length=63)


class Loop(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "loop"
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    mentor_id: int = Field(foreign_key="participant.id", index=True)
    mentee_id: int = Field(foreign_key="participant.id", index=True)
    matched_at: datetime = _time()
    ended_at: datetime | None = _time(nullable=True)
    outcome: str | None = Field(default=None, max_length=20)
    end_reason: str | None = None


def new_calendar_uid() -> str:
    """A globally unique calendar identity: a meeting's iCalendar UID, kept for
    the meeting's life so that a calendar re-importing an export updates
    instead of duplicating, or the id of a series booked at once."""
    from uuid import uuid4

    return f"{uuid4().hex}@mloop"


MAX_MEETING_MINUTES = 24 * 60  # a meeting lasts 1 minute to a day, however it is entered


class Meeting(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "meeting"
    __table_args__ = (sa.UniqueConstraint("loop_id", "uid"),)
    id: int | None = Field(default=None, primary_key=True)
    loop_id: int = Field(foreign_key="loop.id", index=True)
    start: datetime = _time()
    duration_min: int = 45
    location: str | None = None
    agenda: str | None = None
    notes: str | None = None
    actions: str = ""  # newline-separated actions and decisions
    status: str = Field(default=SCHEDULED, max_length=20)
    created_at: datetime = _time()
    # Calendar identity (migration 5): UID, the SEQUENCE that grows with each
    # change, and the series a recurring booking or an imported RRULE made it part of.
    uid: str | None = Field(default_factory=new_calendar_uid, max_length=255)
    sequence: int = 0
    series: str | None = Field(default=None, max_length=255)


class Feedback(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "feedback"
    id: int | None = Field(default=None, primary_key=True)
    loop_id: int = Field(foreign_key="loop.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    author_id: int = Field(foreign_key="participant.id", index=True)
    rating: int
    comment: str | None = None
    created_at: datetime = _time()


class Goal(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "goal"
    id: int | None = Field(default=None, primary_key=True)
    loop_id: int = Field(foreign_key="loop.id", index=True)
    author_id: int | None = Field(default=None, foreign_key="participant.id")
    title: str
    term: str = Field(default="short", max_length=10)
    due: datetime | None = _time(nullable=True)
    created_at: datetime = _time()
    shared_at: datetime | None = _time(nullable=True)
    completed_at: datetime | None = _time(nullable=True)
    locked: bool = False


class Task(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "task"
    id: int | None = Field(default=None, primary_key=True)
    goal_id: int = Field(foreign_key="goal.id", index=True)
    title: str
    due: datetime | None = _time(nullable=True)
    done_at: datetime | None = _time(nullable=True)


class JourneyShare(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "journey_share"
    id: int | None = Field(default=None, primary_key=True)
    loop_id: int = Field(foreign_key="loop.id", index=True)
    author_id: int = Field(foreign_key="participant.id")
    created_at: datetime = _time()


class Milestone(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "milestone"
    __table_args__ = (sa.UniqueConstraint("program_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)  # relationship | program
    role: str = Field(max_length=20)  # mentor | mentee
    due: str = Field(max_length=40)  # an offset such as "2 weeks"
    description: str | None = None


class MilestoneDone(SQLModel, table=True):
    model_config = DEFERRED
    __tablename__ = "milestone_done"
    id: int | None = Field(default=None, primary_key=True)
    milestone_id: int = Field(foreign_key="milestone.id", index=True)
    loop_id: int | None = Field(default=None, foreign_key="loop.id")
    participant_id: int = Field(foreign_key="participant.id")
    done_at: datetime = _time()


class StarterGoal(SQLModel, table=True):
    """A goal the program gives every new loop at match time (migration 6)."""

    model_config = DEFERRED
    __tablename__ = "starter_goal"
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id", index=True)
    title: str
    term: str = Field(default="short", max_length=10)
    locked: bool = False
    created_at: datetime = _time()


class Agreement(SQLModel, table=True):
    """A loop's mentoring agreement: who takes notes and sets agendas, how often they meet."""

    model_config = DEFERRED
    __tablename__ = "agreement"
    __table_args__ = (sa.UniqueConstraint("loop_id"),)
    id: int | None = Field(default=None, primary_key=True)
    loop_id: int = Field(foreign_key="loop.id")
    notes_by: str = Field(max_length=10)  # mentor | mentee
    agenda_by: str = Field(max_length=10)
    cadence: str = Field(max_length=20)  # e.g. "2w"
    ends_at: datetime | None = _time(nullable=True)
    author_id: int = Field(foreign_key="participant.id")
    created_at: datetime = _time()
    updated_at: datetime = _time()


class PairingFit(SQLModel, table=True):
    """A member's sense of the pairing after the first held meeting: good | unsure | poor."""

    model_config = DEFERRED
    __tablename__ = "pairing_fit"
    id: int | None = Field(default=None, primary_key=True)
    loop_id: int = Field(foreign_key="loop.id", index=True)
    author_id: int = Field(foreign_key="participant.id")
    fit: str = Field(max_length=10)
    created_at: datetime = _time()


class Nudge(SQLModel, table=True):
    """A nudge sent to a stalled person, as written (migration 6)."""

    model_config = DEFERRED
    __tablename__ = "nudge"
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id")
    participant_id: int = Field(foreign_key="participant.id", index=True)
    loop_id: int | None = Field(default=None, foreign_key="loop.id")
    stage: str = Field(max_length=20)
    days_in_stage: int
    subject: str
    body: str
    sent_at: datetime = _time()


class NudgeTemplate(SQLModel, table=True):
    """A program's own nudge for a stage, replacing the built-in one."""

    model_config = DEFERRED
    __tablename__ = "nudge_template"
    __table_args__ = (sa.UniqueConstraint("program_id", "stage"),)
    id: int | None = Field(default=None, primary_key=True)
    program_id: int = Field(foreign_key="program.id")
    stage: str = Field(max_length=20)
    subject: str
    body: str
