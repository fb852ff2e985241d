"""Store layer: migrations, transactions and fact aggregates on real stores.

Most tests run on both engines: an SQLite file and a database on the throwaway
PostgreSQL server that the suite starts itself (``store_url`` in conftest.py;
the PostgreSQL cases are marked ``postgres`` and skipped when there is no
server to start).  Tests about the SQLite file itself stay SQLite-only.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from mloop.errors import MloopError, StoreError
from mloop.store import migrations
from mloop.store.db import open_store, resolve_url, session_scope
from mloop.store.models import Loop, Meeting, Participant, Program, UTCDateTime

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "store.db"


@pytest.fixture
def engine(store_url):
    engine = open_store(store_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(db_path):
    engine = open_store(resolve_url(str(db_path)))
    yield engine
    engine.dispose()


def _integrity_ok(engine) -> bool:
    if engine.dialect.name != "sqlite":
        return True  # PostgreSQL keeps no half-written pages to check
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"


def _columns(conn, table):
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert tables == set(SQLModel.metadata.tables)
        for name, table in SQLModel.metadata.tables.items():
            assert _columns(conn, name) == {c.name for c in table.columns}, name


def _kind(column_type) -> str:
    if isinstance(column_type, sa.Boolean):
        return "boolean"
    if isinstance(column_type, sa.Integer):
        return "integer"
    if isinstance(column_type, sa.DateTime):
        return "time"
    if isinstance(column_type, sa.String):
        return "text"
    return type(column_type).__name__


def test_migrated_columns_have_the_models_types_lengths_and_nullability(engine):
    """Column for column: what the migrations built is what the models declare."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for name, table in SQLModel.metadata.tables.items():
            stored = {c["name"]: c for c in inspector.get_columns(name)}
            for column in table.columns:
                found = stored[column.name]
                where = f"{name}.{column.name}"
                model_type = column.type.impl if hasattr(column.type, "impl") else column.type
                if column.primary_key:
                    continue  # SQLite lets a non-integer primary key hold NULL; nothing ever writes one
                assert found["nullable"] == column.nullable, where
                if engine.dialect.name == "postgresql":
                    # SQLite keeps declared names only; PostgreSQL has the real types.
                    assert _kind(found["type"]) == _kind(model_type), f"{where}: {found['type']!r}"
                    if isinstance(model_type, sa.DateTime):
                        assert found["type"].timezone, f"{where} must be TIMESTAMP WITH TIME ZONE"
                if isinstance(model_type, sa.String):
                    assert getattr(found["type"], "length", None) == model_type.length, where


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrated_schema_has_the_models_unique_constraints_and_foreign_keys(engine):
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        for name, table in SQLModel.metadata.tables.items():
            stored_fks = {
                (tuple(fk["constrained_columns"]), fk["referred_table"]) for fk in inspector.get_foreign_keys(name)
            }
            model_fks = {((fk.parent.name,), fk.column.table.name) for fk in table.foreign_keys}
            assert stored_fks == model_fks, name
            unique = {tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)}
            unique |= {tuple(i["column_names"]) for i in inspector.get_indexes(name) if i["unique"]}
            for constraint in table.constraints:
                if isinstance(constraint, sa.UniqueConstraint):
                    assert tuple(c.name for c in constraint.columns) in unique, (name, constraint)
            for column in table.columns:
                if column.unique:
                    assert (column.name,) in unique, f"{name}.{column.name}"


def test_new_store_records_latest_version(engine):
    with engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST


def test_new_sqlite_store_uses_wal_foreign_keys_and_a_busy_timeout(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_probing_the_version_of_an_empty_database_leaves_the_transaction_usable(store_url):
    """On PostgreSQL a failed statement aborts the transaction: the probe runs in a savepoint."""
    bare = sa.create_engine(store_url)
    try:
        with bare.connect() as conn:
            with conn.begin():
                assert migrations.current_version(conn) is None
                assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        bare.dispose()


# The program table as versions 1-5 had it: later columns are the migrations' to add.
OLD_PROGRAM = sa.table("program", *(sa.column(c) for c in ("id", "name", "stall_days", "momentum_meetings", "is_default")),
                       sa.column("created_at", UTCDateTime()))


def build_store_at(conn: sa.Connection, version: int) -> None:
    """The schema as release ``version`` left it: its migrations applied and recorded."""
    conn.exec_driver_sql("CREATE TABLE mloop_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(255) NOT NULL)")
    for _number, _what, apply in migrations.MIGRATIONS[:version]:
        apply(conn)
    conn.exec_driver_sql(f"INSERT INTO mloop_meta VALUES ('schema_version', '{version}')")


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_older_store_is_migrated_forward_without_losing_rows(store_url):
    # Build a store as release 1 left it: only migration 1 applied.
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        build_store_at(conn, 1)
        conn.execute(sa.insert(OLD_PROGRAM).values(
            id=1, name="Old", stall_days=21, momentum_meetings=3, is_default=True, created_at=NOW,
        ))
    engine.dispose()

    upgraded = open_store(store_url)
    with upgraded.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
        assert conn.exec_driver_sql("SELECT name FROM program").scalar() == "Old"
        assert conn.execute(sa.select(Program.created_at)).scalar_one() == NOW
        assert conn.execute(sa.select(Program.stage_stall_days)).scalar_one() == "{}"
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("meeting")}
        assert "ix_meeting_loop_status" in indexes
    assert _integrity_ok(upgraded)
    upgraded.dispose()


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_meetings_of_a_version_4_store_get_unique_uids(store_url):
    """Migration 5 gives meetings that existed before it a UID each (unique
    within the store and tied to it by a random token), sequence 0, no series."""
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        build_store_at(conn, 4)
        conn.execute(sa.insert(OLD_PROGRAM).values(
            id=1, name="Old", stall_days=21, momentum_meetings=3, is_default=True, created_at=NOW))
        conn.execute(sa.insert(Participant.__table__), [
            dict(id=i, program_id=1, email=f"p{i}@example.org", email_key=f"p{i}@example.org", name=f"P{i}",
                 is_mentor=i == 1, is_mentee=i == 2, is_coordinator=False, joined_at=NOW, capacity=1, offers="", seeks="")
            for i in (1, 2)])
        conn.execute(sa.insert(Loop.__table__).values(id=1, program_id=1, mentor_id=1, mentee_id=2, matched_at=NOW))
        meeting = sa.table("meeting", *(sa.column(c) for c in ("id", "loop_id", "start", "duration_min", "actions",
                                                                 "status", "created_at")))
        conn.execute(sa.insert(meeting), [dict(id=i, loop_id=1, start=NOW, duration_min=45, actions="", status="held",
                                              created_at=NOW) for i in (1, 2, 3)])
    engine.dispose()

    upgraded = open_store(store_url)
    with upgraded.connect() as conn:
        rows = conn.execute(sa.select(Meeting.id, Meeting.uid, Meeting.sequence, Meeting.series).order_by(Meeting.id)).all()
    upgraded.dispose()
    uids = [uid for _, uid, _, _ in rows]
    assert len(set(uids)) == 3 and all(uid.startswith(f"m{i}-") and uid.endswith("@mloop") for i, uid in zip((1, 2, 3), uids))
    assert len({uid.split("-", 1)[1] for uid in uids}) == 1  # one token for the store
    assert [(sequence, series) for _, _, sequence, series in rows] == [(0, None)] * 3


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_a_version_7_store_gets_the_db_role_column_keeping_its_people(store_url):
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        build_store_at(conn, 7)
        conn.execute(sa.text("INSERT INTO program (id, name, stall_days, momentum_meetings, is_default, created_at, "
                             "stage_stall_days) VALUES (1, 'Old', 21, 3, true, :now, '{}')"), {"now": NOW})
        conn.execute(sa.text(
            "INSERT INTO participant (id, program_id, email, email_key, name, is_mentor, is_mentee, is_coordinator, "
            "joined_at, capacity, offers, seeks) VALUES (1, 1, 'Ana@example.org', 'ana@example.org', 'Ana', false, "
            "true, false, :now, 1, '', '')"), {"now": NOW})
    engine.dispose()
    upgraded = open_store(store_url)
    with upgraded.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST >= 8
        assert conn.exec_driver_sql("SELECT email, db_role FROM participant").all() == [("Ana@example.org", None)]
    upgraded.dispose()


def test_opening_a_current_store_writes_nothing(sqlite_engine, db_path):
    sqlite_engine.dispose()
    before = db_path.read_bytes()
    again = open_store(resolve_url(str(db_path)))
    with again.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    again.dispose()
    assert db_path.read_bytes() == before


def test_store_from_a_newer_release_is_refused(engine, store_url):
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE mloop_meta SET value = '999' WHERE key = 'schema_version'")
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this mloop knows"):
        open_store(store_url)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("shopping list\n" * 50)
    before = text.read_bytes()
    with pytest.raises(StoreError, match="not an mloop store"):
        open_store(resolve_url(str(text)))
    assert text.read_bytes() == before


def test_another_programs_database_is_refused(store_url):
    other = sa.create_engine(store_url)
    with other.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE invoices (id INTEGER)")
    other.dispose()
    with pytest.raises(StoreError, match="not an mloop store"):
        open_store(store_url)
    other = sa.create_engine(store_url)
    with other.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) == {"invoices"}, "a refused database is left alone"
    other.dispose()


def test_session_scope_rolls_back_everything_on_error(engine):
    with pytest.raises(MloopError):
        with session_scope(engine) as session:
            session.add(Program(name="Half", created_at=NOW))
            session.flush()
            raise MloopError("changed my mind")
    with session_scope(engine, write=False) as session:
        assert session.connection().exec_driver_sql("SELECT count(*) FROM program").scalar() == 0


def test_times_come_back_aware_utc(engine):
    paris = timezone(timedelta(hours=2))
    with session_scope(engine) as session:
        program = Program(name="P", created_at=datetime(2026, 6, 1, 11, 0, tzinfo=paris))
        session.add(program)
    with session_scope(engine, write=False) as session:
        stored = session.connection().execute(sa.select(Program.created_at)).scalar_one()
        loaded = session.get(Program, program.id).created_at
        aggregated = session.connection().execute(sa.select(sa.func.max(Program.created_at))).scalar_one()
    for value in (stored, loaded):
        assert value == datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    # An aggregate is typed by its argument, so it comes back converted too.
    assert aggregated == stored and aggregated.utcoffset() == timedelta(0)


def test_naive_times_are_refused_by_the_store(engine):
    with pytest.raises(sa.exc.StatementError):
        with session_scope(engine) as session:
            session.add(Program(name="P", created_at=datetime(2026, 6, 1)))
            session.flush()


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(sa.exc.IntegrityError):
        with session_scope(engine) as session:
            session.add(Loop(program_id=77, mentor_id=1, mentee_id=2, matched_at=NOW))
            session.flush()


def test_booleans_round_trip_and_filter(engine):
    with session_scope(engine) as session:
        session.add_all([Program(name="A", created_at=NOW, is_default=True), Program(name="B", created_at=NOW)])
    with session_scope(engine, write=False) as session:
        rows = session.connection().execute(
            sa.select(Program.name, Program.is_default).order_by(Program.name)
        ).all()
        default = session.connection().execute(sa.select(Program.name).where(Program.is_default)).scalars().all()
    assert [tuple(r) for r in rows] == [("A", True), ("B", False)]
    assert all(type(flag) is bool for _name, flag in rows)
    assert default == ["A"]


def _small_program(session, name: str = "P", *, default: bool = True, created_days_ago: int = 0,
                   joined_days_ago: int = 90, matched_days_ago: int = 60):
    """A program with one mentor, one mentee and their loop."""
    program = Program(name=name, created_at=NOW - timedelta(days=created_days_ago), is_default=default)
    session.add(program)
    session.flush()
    people = []
    for i, (mentor, mentee) in enumerate([(True, False), (False, True)]):
        person = Participant(program_id=program.id, email=f"p{i}@example.org", email_key=f"p{i}@example.org",
                             name=f"P{i}", is_mentor=mentor, is_mentee=mentee,
                             joined_at=NOW - timedelta(days=joined_days_ago))
        session.add(person)
        people.append(person)
    session.flush()
    loop = Loop(program_id=program.id, mentor_id=people[0].id, mentee_id=people[1].id,
                matched_at=NOW - timedelta(days=matched_days_ago))
    session.add(loop)
    session.flush()
    return program, loop


def _import_generated(target, tmp_path, seed: int, messy: bool) -> list[datetime]:
    """A generated program (tests/test_crosscheck.py) imported into ``target``; its moments."""
    from test_crosscheck import generate_program, import_program
    from typer.testing import CliRunner

    from mloop.timeparse import isoformat_utc

    records, moments = generate_program(seed, messy=messy)
    import_program(CliRunner(), tmp_path, records, "program", isoformat_utc(max(moments)), db=target)
    return moments


def test_held_meetings_count_from_start_but_never_before_booking(engine):
    from mloop.store.memberships import FactReader

    with session_scope(engine) as session:
        program, loop = _small_program(session)
        # Logged ten days after it happened: counts from when it was logged.
        session.add(Meeting(loop_id=loop.id, start=NOW - timedelta(days=50), status="held",
                            created_at=NOW - timedelta(days=40)))
        # Booked ahead and held: counts from its start.
        session.add(Meeting(loop_id=loop.id, start=NOW - timedelta(days=30), status="held",
                            created_at=NOW - timedelta(days=35)))
        # Cancelled: not a fact at all.
        session.add(Meeting(loop_id=loop.id, start=NOW - timedelta(days=45), status="cancelled",
                            created_at=NOW - timedelta(days=55)))
        session.flush()
        def aggregates(now):
            facts = FactReader(session, program, now)
            return {r.loop_id: (r.first_booking, r.first_held, r.kth_held, r.held_meetings, r.last_meeting_at)
                    for r in facts.loops(3, with_counts=True)}

        assert aggregates(NOW) == {
            loop.id: (NOW - timedelta(days=40), NOW - timedelta(days=40), None, 2, NOW - timedelta(days=30))
        }
        # 41 days ago neither meeting had been booked, though one had started.
        assert aggregates(NOW - timedelta(days=41)) == {loop.id: (None, None, None, 0, None)}
        # 36 days ago the logged one existed and counted as held; the other was not booked yet.
        assert aggregates(NOW - timedelta(days=36)) == {
            loop.id: (NOW - timedelta(days=40), NOW - timedelta(days=40), None, 1, NOW - timedelta(days=40))
        }


@pytest.mark.postgres
@pytest.mark.parametrize(("seed", "messy"), [(3, False), (34, True)])
def test_postgresql_grouped_loop_aggregates_equal_the_per_loop_lookups(pg_url, tmp_path, seed, messy):
    """PostgreSQL reads a whole program's loops with one GROUP BY over its
    meetings; row for row it gives what the per-loop index lookups give, at
    every moment of a generated program (messy timelines too), for any
    momentum and with counts, and a second program's meetings stay out."""
    from mloop.store.memberships import FactReader

    moments = _import_generated(pg_url, tmp_path, seed, messy)
    engine = open_store(pg_url)
    try:
        with session_scope(engine) as session:
            # A second program whose one loop has held meetings of its own.
            _other, loop = _small_program(session, "Other", default=False, created_days_ago=400,
                                         joined_days_ago=400, matched_days_ago=399)
            session.add_all([Meeting(loop_id=loop.id, start=NOW - timedelta(days=398 - d), status="held",
                                     created_at=NOW - timedelta(days=399)) for d in range(5)])
        with session_scope(engine, write=False) as session:
            program = session.execute(sa.select(Program).where(Program.name != "Other")).scalar_one()
            compared = 0
            for now in moments:
                facts = FactReader(session, program, now)
                assert not facts.alone
                for momentum in (1, 2, 3):
                    for with_counts in (False, True):
                        grouped = facts._loops_grouped(momentum, with_counts)
                        assert grouped == facts._loops_looked_up(momentum, with_counts), (now, momentum)
                        assert facts.loops(momentum, with_counts=with_counts) == grouped
                        compared += len(grouped)
                assert all(row.latest_rating_by is not None for row in grouped if row.latest_rating is not None)
            assert compared > 100
    finally:
        engine.dispose()


def test_fact_reader_gives_aware_utc_times_on_every_engine(engine):
    """The rules compare datetimes: every time a FactReader returns is aware UTC,
    the same instant as stored, whatever offset it was written with."""
    from mloop.store.memberships import FactReader

    moments = [
        datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc),
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=-7))),
        datetime(2026, 6, 1, 9, 0, 0, 5, tzinfo=timezone(timedelta(hours=12, minutes=45))),
    ]
    with session_scope(engine) as session:
        program = Program(name="P", created_at=NOW, is_default=True)
        session.add(program)
        session.flush()
        for i, moment in enumerate(moments):
            session.add(Participant(program_id=program.id, email=f"p{i}@example.org", email_key=f"p{i}@example.org",
                                    name=f"P{i}", is_mentor=True, is_mentee=False, joined_at=moment))
    with session_scope(engine, write=False) as session:
        program = session.execute(sa.select(Program)).scalar_one()
        joined = sorted(person.joined_at for person in FactReader(session, program, NOW).people().values())
        assert joined == sorted(moments)
        assert all(t.utcoffset() == timedelta(0) for t in joined)


def test_import_is_one_transaction(store_url):
    """A bad last line leaves the store exactly as it was, and intact."""
    from mloop.store.transfer import import_lines
    from mloop.store.access import Actor

    engine = open_store(store_url)
    lines = [
        '{"type": "program", "name": "P", "stall_days": 21, "momentum_meetings": 3}',
        '{"type": "participant", "email": "a@example.org", "name": "A", "roles": ["mentor"], "joined_at": "2026-01-01T00:00:00Z"}',
        '{"type": "participant", "email": "b@example.org", "name": "B", "roles": ["mentee"], "joined_at": "2026-01-01T00:00:00Z"}',
        '{"type": "match", "ref": "L1", "mentor": "a@example.org", "mentee": "b@example.org", "matched_at": "2026-02-01T00:00:00Z"}',
        '{"type": "meeting", "ref": "M1", "loop": "L9", "start": "2026-02-03T00:00:00Z", "created_at": "2026-02-01T00:00:00Z"}',
    ]
    with pytest.raises(MloopError, match="line 5: loop 'L9' does not name a match"):
        with session_scope(engine) as session:
            import_lines(session, lines, now=NOW, tz=timezone.utc, program_name=None,
                         who=lambda program: Actor(None, True))
    with session_scope(engine, write=False) as session:
        conn = session.connection()
        for table in ("program", "participant", "loop", "meeting"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 0, table
    assert _integrity_ok(engine)
    engine.dispose()


def test_a_writer_waits_for_another_and_gives_up_cleanly(store_url, monkeypatch):
    """Writers take turns; readers never wait; a writer still blocked after the
    busy timeout fails with one clear StoreError, not 'database is locked'."""
    from mloop.store import db

    holder = open_store(store_url)
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 300)
    waiting = open_store(store_url)
    try:
        with session_scope(holder) as writing:
            writing.add(Program(name="Held", created_at=NOW))
            writing.flush()
            with session_scope(waiting, write=False) as reading:
                assert reading.connection().exec_driver_sql("SELECT count(*) FROM program").scalar() == 0
            with pytest.raises(StoreError, match="is busy: another mloop command kept it locked") as raised:
                with session_scope(waiting) as blocked:
                    blocked.add(Program(name="Blocked", created_at=NOW))
                    blocked.flush()
            assert "locked for over a minute" in str(raised.value)
        with session_scope(waiting) as after:  # the lock is free again
            after.add(Program(name="After", created_at=NOW))
        with session_scope(waiting, write=False) as reading:
            names = reading.connection().execute(sa.select(Program.name).order_by(Program.name)).scalars().all()
        assert names == ["After", "Held"]
    finally:
        holder.dispose()
        waiting.dispose()




@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_facts_sql_gathers_are_the_rules_on_generated_meetings_and_feedback(engine, seed):
    """The store pre-filters in SQL (a held meeting counts from GREATEST(start,
    created_at), a booking is any meeting not cancelled, the ratings that count
    as positive); on generated meetings and feedback its aggregates equal the
    rules' definitions applied to every fact, at many moments."""
    import random

    from mloop import rules
    from mloop.store.memberships import FactReader
    from mloop.store.models import Feedback

    rng = random.Random(seed)
    with session_scope(engine) as session:
        program, loop = _small_program(session, matched_days_ago=80)
        meetings, feedback = [], []
        for _ in range(12):
            created = NOW - timedelta(days=rng.uniform(0, 79))
            start = created + timedelta(days=rng.uniform(-10, 20))
            meeting = Meeting(loop_id=loop.id, start=start, status=rng.choice(rules.MEETING_STATUSES),
                              created_at=created)
            session.add(meeting)
            meetings.append(meeting)
        session.flush()
        held = [m for m in meetings if m.status == rules.HELD]
        for _ in range(15):
            author = rng.choice([loop.mentor_id, loop.mentee_id])
            on = rng.choice([None, *held]) if held else None
            entry = Feedback(loop_id=loop.id, meeting_id=on.id if on else None, author_id=author,
                             rating=rng.choice(rules.RATINGS), created_at=NOW - timedelta(days=rng.uniform(0, 79)))
            session.add(entry)
            feedback.append(entry)
        session.flush()

        def first(times):
            return min(times, default=None)

        for days_ago in range(0, 80, 4):
            now = NOW - timedelta(days=days_ago)
            facts = FactReader(session, program, now)
            (row,) = facts.loops(program.momentum_meetings, with_counts=True)
            held_times = sorted(rules.held_from(m.start, m.created_at) for m in meetings
                                if m.status == rules.HELD and rules.held_from(m.start, m.created_at) <= now)
            k = program.momentum_meetings
            assert row.first_booking == first(m.created_at for m in meetings
                                              if rules.is_booking(m.status) and m.created_at <= now)
            assert row.first_held == first(held_times)
            assert row.kth_held == (held_times[k - 1] if len(held_times) >= k else None)
            assert row.held_meetings == len(held_times)
            mine = facts.member_feedback()
            for author in (loop.mentor_id, loop.mentee_id):
                given = [f for f in feedback if f.author_id == author and f.created_at <= now]
                expected = (
                    first(f.created_at for f in given if f.meeting_id is not None),
                    first(f.created_at for f in given if f.meeting_id is None and rules.is_positive(f.rating)),
                    max((f.created_at for f in given if f.meeting_id is None), default=None),
                )
                assert mine.get((loop.id, author), (None, None, None)) == expected


@pytest.mark.parametrize(("seed", "messy"), [(5, False), (21, True)])
def test_the_people_a_whole_program_report_reads_are_the_rules_on_generated_programs(store_url, tmp_path, seed, messy):
    """The report reads the people of no active loop in SQL (the same active-loop
    conditions as its loops) and names the others from ``contacts``: at every
    moment of a generated program they are exactly the people the rules place
    outside an active loop, with the records ``people`` gives, and each loop's
    first sharing time is the earliest of its shared goals."""
    from mloop import rules
    from mloop.store.memberships import FEW_CONTACTS, FactReader

    moments = _import_generated(store_url, tmp_path, seed, messy)
    engine = open_store(store_url)
    try:
        with session_scope(engine, write=False) as session:
            program = session.execute(sa.select(Program)).scalar_one()
            loops = session.connection().execute(
                sa.select(Loop.mentor_id, Loop.mentee_id, Loop.matched_at, Loop.ended_at)).all()
            compared = 0
            for now in moments:
                facts = FactReader(session, program, now)
                people = facts.people()
                in_a_loop = {person for mentor, mentee, matched, ended in loops
                             if rules.is_active(matched, ended, now) for person in (mentor, mentee)}
                expected = {pid: person for pid, person in people.items() if pid not in in_a_loop}
                found = facts.people_without_loop()
                assert found == expected, now
                assert list(found) == sorted(found)
                compared += len(found)
                for goal_loop, (first, goals) in facts.shared_goals().items():
                    assert first == min(shared for shared, _done in goals), (now, goal_loop)
            named = {pid: (person.email, person.name) for pid, person in people.items()}
            some = sorted(named)[:3]
            assert facts.contacts(some) == {pid: named[pid] for pid in some}
            assert facts.contacts([]) == {}
            assert facts.contacts(range(FEW_CONTACTS + 1)) == named  # many: the whole program
            assert compared > 20
    finally:
        engine.dispose()
