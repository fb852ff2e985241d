"""Ordered schema migrations, tracked in the store itself.

Each migration takes a connection inside the opening transaction and moves the
schema one version forward; the store records the version it reached in
``mloop_meta``.  Opening a store costs one ``SELECT`` when nothing is pending.

Migrations are history: never edit one that has shipped, add the next one.
That is why version 1 spells its tables out here instead of calling
``SQLModel.metadata.create_all`` — the models move on, version 1 does not.
``tests/test_store.py`` checks that a migrated store matches the models.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from mloop.store.models import UTCDateTime

SCHEMA_KEY = "schema_version"


def _time(name: str, nullable: bool = False, index: bool = False) -> sa.Column:
    """A time column as every migration spells it (aware UTC in, aware UTC out)."""
    return sa.Column(name, UTCDateTime(), nullable=nullable, index=index)


def _fk(name: str, target: str, nullable: bool = False, index: bool = True) -> sa.Column:
    """An integer foreign key column, indexed unless said otherwise."""
    return sa.Column(name, sa.Integer, sa.ForeignKey(target), nullable=nullable, index=index)


def _v1_create_tables(conn: sa.Connection) -> None:
    md = sa.MetaData()
    time, fk = _time, _fk

    sa.Table(
        "program", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("stall_days", sa.Integer, nullable=False),
        sa.Column("momentum_meetings", sa.Integer, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False),
        time("created_at"),
    )
    sa.Table(
        "participant", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("program_id", "program.id"),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("is_mentor", sa.Boolean, nullable=False),
        sa.Column("is_mentee", sa.Boolean, nullable=False),
        sa.Column("is_coordinator", sa.Boolean, nullable=False),
        time("joined_at"),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("offers", sa.String, nullable=False),
        sa.Column("seeks", sa.String, nullable=False),
        sa.UniqueConstraint("program_id", "email_key"),
    )
    sa.Table(
        "loop", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("program_id", "program.id"),
        fk("mentor_id", "participant.id"),
        fk("mentee_id", "participant.id"),
        time("matched_at"),
        time("ended_at", nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("end_reason", sa.String, nullable=True),
    )
    sa.Table(
        "meeting", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("loop_id", "loop.id"),
        time("start"),
        sa.Column("duration_min", sa.Integer, nullable=False),
        sa.Column("location", sa.String, nullable=True),
        sa.Column("agenda", sa.String, nullable=True),
        sa.Column("notes", sa.String, nullable=True),
        sa.Column("actions", sa.String, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        time("created_at"),
    )
    sa.Table(
        "feedback", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("loop_id", "loop.id"),
        fk("meeting_id", "meeting.id", nullable=True),
        fk("author_id", "participant.id"),
        sa.Column("rating", sa.Integer, nullable=False),
        sa.Column("comment", sa.String, nullable=True),
        time("created_at"),
    )
    sa.Table(
        "goal", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("loop_id", "loop.id"),
        fk("author_id", "participant.id", nullable=True, index=False),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("term", sa.String(10), nullable=False),
        time("due", nullable=True),
        time("created_at"),
        time("shared_at", nullable=True),
        time("completed_at", nullable=True),
        sa.Column("locked", sa.Boolean, nullable=False),
    )
    sa.Table(
        "task", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("goal_id", "goal.id"),
        sa.Column("title", sa.String, nullable=False),
        time("due", nullable=True),
        time("done_at", nullable=True),
    )
    sa.Table(
        "journey_share", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("loop_id", "loop.id"),
        fk("author_id", "participant.id", index=False),
        time("created_at"),
    )
    sa.Table(
        "milestone", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("program_id", "program.id"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("due", sa.String(40), nullable=False),
        sa.Column("description", sa.String, nullable=True),
        sa.UniqueConstraint("program_id", "name"),
    )
    sa.Table(
        "milestone_done", md,
        sa.Column("id", sa.Integer, primary_key=True),
        fk("milestone_id", "milestone.id"),
        fk("loop_id", "loop.id", nullable=True, index=False),
        fk("participant_id", "participant.id", index=False),
        time("done_at"),
    )
    md.create_all(conn)


def _v2_fact_indexes(conn: sa.Connection) -> None:
    """Indexes behind the per-loop aggregates the report reads."""
    for statement in (
        "CREATE INDEX ix_meeting_loop_status ON meeting (loop_id, status, start)",
        "CREATE INDEX ix_feedback_loop_author ON feedback (loop_id, author_id, created_at)",
        "CREATE INDEX ix_loop_program_ended ON loop (program_id, ended_at)",
    ):
        conn.exec_driver_sql(statement)


def _v3_covering_indexes(conn: sa.Connection) -> None:
    """Covering indexes so the report reads each loop's aggregates from
    indexes alone: bookings, held meetings by the time they count from
    (an expression index), each member's feedback, the latest feedback."""
    held_from = "GREATEST(start, created_at)" if conn.dialect.name == "postgresql" else "max(start, created_at)"
    for statement in (
        "CREATE INDEX ix_meeting_booking ON meeting (loop_id, created_at, status)",
        f"CREATE INDEX ix_meeting_held_from ON meeting (loop_id, status, ({held_from}))",
        "CREATE INDEX ix_feedback_member ON feedback (loop_id, author_id, meeting_id, rating, created_at)",
        "CREATE INDEX ix_feedback_latest ON feedback (loop_id, created_at, id, author_id, rating)",
        "CREATE INDEX ix_journey_share_member ON journey_share (loop_id, author_id, created_at)",
        "DROP INDEX ix_feedback_loop_author",
    ):
        conn.exec_driver_sql(statement)


def _v4_activity_indexes(conn: sa.Connection) -> None:
    """Indexes for the report's activity counts: meetings by status and
    feedback by rating, each counted up to a moment without a sort."""
    for statement in (
        "CREATE INDEX ix_meeting_status_created ON meeting (status, created_at)",
        "CREATE INDEX ix_feedback_rating_created ON feedback (rating, created_at)",
    ):
        conn.exec_driver_sql(statement)


def _v5_meeting_calendar_identity(conn: sa.Connection) -> None:
    """Meetings get an iCalendar UID, a SEQUENCE and a series.

    Existing meetings get UIDs made of their id and a token drawn once for
    this store, so UIDs stay unique across stores."""
    from secrets import token_hex

    for statement in (
        "ALTER TABLE meeting ADD COLUMN uid VARCHAR(255)",
        "ALTER TABLE meeting ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE meeting ADD COLUMN series VARCHAR(255)",
    ):
        conn.exec_driver_sql(statement)
    conn.execute(
        sa.text("UPDATE meeting SET uid = 'm' || id || '-' || :token || '@mloop' WHERE uid IS NULL"),
        {"token": token_hex(8)},
    )
    for statement in (
        "CREATE UNIQUE INDEX ix_meeting_loop_uid ON meeting (loop_id, uid)",
        "CREATE INDEX ix_meeting_series ON meeting (series, start)",
    ):
        conn.exec_driver_sql(statement)


def _v6_program_design(conn: sa.Connection) -> None:
    """Program design and coordinator tools: a stall threshold per stage, starter
    goals, mentoring agreements, pairing fits, nudges and their templates."""
    md = sa.MetaData()
    sa.Table("program", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("loop", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("participant", md, sa.Column("id", sa.Integer, primary_key=True))
    time, fk = _time, _fk

    # JSON object of stage -> days, for the stages whose threshold differs from stall_days.
    conn.exec_driver_sql("ALTER TABLE program ADD COLUMN stage_stall_days VARCHAR(255) NOT NULL DEFAULT '{}'")
    tables = [
        sa.Table(
            "starter_goal", md,
            sa.Column("id", sa.Integer, primary_key=True),
            fk("program_id", "program.id"),
            sa.Column("title", sa.String, nullable=False),
            sa.Column("term", sa.String(10), nullable=False),
            sa.Column("locked", sa.Boolean, nullable=False),
            time("created_at"),
        ),
        sa.Table(
            "agreement", md,
            sa.Column("id", sa.Integer, primary_key=True),
            fk("loop_id", "loop.id", index=False),
            sa.Column("notes_by", sa.String(10), nullable=False),
            sa.Column("agenda_by", sa.String(10), nullable=False),
            sa.Column("cadence", sa.String(20), nullable=False),
            time("ends_at", nullable=True),
            fk("author_id", "participant.id", index=False),
            time("created_at"),
            time("updated_at"),
            sa.UniqueConstraint("loop_id"),
        ),
        sa.Table(
            "pairing_fit", md,
            sa.Column("id", sa.Integer, primary_key=True),
            fk("loop_id", "loop.id"),
            fk("author_id", "participant.id", index=False),
            sa.Column("fit", sa.String(10), nullable=False),
            time("created_at"),
        ),
        sa.Table(
            "nudge", md,
            sa.Column("id", sa.Integer, primary_key=True),
            fk("program_id", "program.id", index=False),
            fk("participant_id", "participant.id"),
            fk("loop_id", "loop.id", nullable=True, index=False),
            sa.Column("stage", sa.String(20), nullable=False),
            sa.Column("days_in_stage", sa.Integer, nullable=False),
            sa.Column("subject", sa.String, nullable=False),
            sa.Column("body", sa.String, nullable=False),
            time("sent_at"),
        ),
        sa.Table(
            "nudge_template", md,
            sa.Column("id", sa.Integer, primary_key=True),
            fk("program_id", "program.id", index=False),
            sa.Column("stage", sa.String(20), nullable=False),
            sa.Column("subject", sa.String, nullable=False),
            sa.Column("body", sa.String, nullable=False),
            sa.UniqueConstraint("program_id", "stage"),
        ),
    ]
    md.create_all(conn, tables=tables)


def _v7_matching_profile(conn: sa.Connection) -> None:
    """Participants' matching profile: time zone, department and goals."""
    for statement in (
        "ALTER TABLE participant ADD COLUMN timezone VARCHAR(64)",
        "ALTER TABLE participant ADD COLUMN department VARCHAR(200)",
        "ALTER TABLE participant ADD COLUMN goals VARCHAR",
    ):
        conn.exec_driver_sql(statement)


def _v8_participant_db_role(conn: sa.Connection) -> None:
    """Participants' PostgreSQL login role, when it is not their email."""
    conn.exec_driver_sql("ALTER TABLE participant ADD COLUMN db_role VARCHAR(63)")


def _v9_health_weights(conn: sa.Connection) -> None:
    """A program's own weights for the loop health score's parts."""
    conn.exec_driver_sql("ALTER TABLE program ADD COLUMN health_weights VARCHAR(255) NOT NULL DEFAULT '{}'")


def _v10_min_group(conn: sa.Connection) -> None:
    """A program's smallest group its reports show a count of."""
    conn.exec_driver_sql("ALTER TABLE program ADD COLUMN min_group INTEGER NOT NULL DEFAULT 0")


MIGRATIONS: list[tuple[int, str, Callable[[sa.Connection], None]]] = [
    (1, "create the tables", _v1_create_tables),
    (2, "indexes for the milestone aggregates", _v2_fact_indexes),
    (3, "covering indexes for the report", _v3_covering_indexes),
    (4, "indexes for the report's activity counts", _v4_activity_indexes),
    (5, "meetings' calendar identity: UID, SEQUENCE, series", _v5_meeting_calendar_identity),
    (6, "program design: stage thresholds, starter goals, agreements, pairing fits, nudges", _v6_program_design),
    (7, "participants' matching profile: time zone, department, goals", _v7_matching_profile),
    (8, "participants' PostgreSQL login role", _v8_participant_db_role),
    (9, "a program's own loop health weights", _v9_health_weights),
    (10, "a program's smallest group its reports count", _v10_min_group),
]

LATEST = MIGRATIONS[-1][0]


class UnreadableVersion(Exception):
    """The version recorded in ``mloop_meta`` is not one mloop ever wrote (not a whole number of at least 1)."""

    def __init__(self, value: object):
        super().__init__(f"schema version {value!r}")
        self.value = value


def current_version(conn: sa.Connection) -> int | None:
    """The store's schema version; None when it has no mloop tables yet.
    Raises UnreadableVersion for a value mloop never writes ('abc', '-1', '0')."""
    meta = sa.table("mloop_meta", sa.column("key"), sa.column("value"))
    try:
        with conn.begin_nested():
            value = conn.execute(
                sa.select(meta.c.value).where(meta.c.key == SCHEMA_KEY)
            ).scalar_one_or_none()
    except sa.exc.ProgrammingError:  # PostgreSQL: no such table
        return None
    except sa.exc.OperationalError as error:
        if "no such table" in str(error):
            return None
        raise
    if value is None:
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise UnreadableVersion(value)
    return int(text)


def pending(version: int | None) -> list[tuple[int, str, Callable]]:
    start = version or 0
    return [m for m in MIGRATIONS if m[0] > start]


def upgrade(conn: sa.Connection, version: int | None) -> int:
    """Apply every pending migration in order; returns the new version."""
    meta = sa.table("mloop_meta", sa.column("key"), sa.column("value"))
    if version is None:
        conn.exec_driver_sql(
            "CREATE TABLE mloop_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(255) NOT NULL)"
        )
    for number, _description, apply in pending(version):
        apply(conn)
    if version is None:
        conn.execute(sa.insert(meta).values(key=SCHEMA_KEY, value=str(LATEST)))
    else:
        conn.execute(
            sa.update(meta).where(meta.c.key == SCHEMA_KEY).values(value=str(LATEST))
        )
    return LATEST
