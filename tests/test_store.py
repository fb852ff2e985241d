"""Store layer: real SQLite files, migrations, transactions, fact aggregates."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from mloop.errors import MloopError, StoreError
from mloop.store import migrations
from mloop.store.db import open_store, resolve_url, session_scope
from mloop.store.models import Loop, Meeting, Participant, Program

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "store.db"


@pytest.fixture
def engine(db_path):
    engine = open_store(resolve_url(str(db_path)))
    yield engine
    engine.dispose()


def _columns(conn, table):
    return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert tables == set(SQLModel.metadata.tables)
        for name, table in SQLModel.metadata.tables.items():
            assert _columns(conn, name) == {c.name for c in table.columns}, name


def test_new_store_records_latest_version_and_uses_wal(engine, db_path):
    with engine.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_older_store_is_migrated_forward_without_losing_rows(db_path):
    # Build a store as release 1 left it: only migration 1 applied.
    engine = sa.create_engine(f"sqlite:///{db_path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE mloop_meta (key VARCHAR(64) PRIMARY KEY, value VARCHAR(255) NOT NULL)")
        migrations.MIGRATIONS[0][2](conn)
        conn.exec_driver_sql("INSERT INTO mloop_meta VALUES ('schema_version', '1')")
        conn.exec_driver_sql(
            "INSERT INTO program (id, name, stall_days, momentum_meetings, is_default, created_at) "
            "VALUES (1, 'Old', 21, 3, 1, '2026-01-01 00:00:00.000000')"
        )
    engine.dispose()

    upgraded = open_store(resolve_url(str(db_path)))
    with upgraded.connect() as conn:
        assert migrations.current_version(conn) == migrations.LATEST
        assert conn.exec_driver_sql("SELECT name FROM program").scalar() == "Old"
        indexes = {i["name"] for i in sa.inspect(conn).get_indexes("meeting")}
        assert "ix_meeting_loop_status" in indexes
    upgraded.dispose()
    assert sqlite3.connect(db_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_opening_a_current_store_writes_nothing(engine, db_path):
    engine.dispose()
    before = db_path.read_bytes()
    again = open_store(resolve_url(str(db_path)))
    with again.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    again.dispose()
    assert db_path.read_bytes() == before


def test_store_from_a_newer_release_is_refused(engine, db_path):
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE mloop_meta SET value = '999' WHERE key = 'schema_version'")
    engine.dispose()
    with pytest.raises(StoreError, match="newer than this mloop knows"):
        open_store(resolve_url(str(db_path)))


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("shopping list\n" * 50)
    before = text.read_bytes()
    with pytest.raises(StoreError, match="not an mloop store"):
        open_store(resolve_url(str(text)))
    assert text.read_bytes() == before


def test_another_programs_database_is_refused(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE invoices (id INTEGER)").connection.commit()
    with pytest.raises(StoreError, match="not an mloop store"):
        open_store(resolve_url(str(other)))


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
    assert stored == datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)


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


def _small_program(session):
    program = Program(name="P", created_at=NOW, is_default=True)
    session.add(program)
    session.flush()
    people = []
    for i, (mentor, mentee) in enumerate([(True, False), (False, True)]):
        person = Participant(program_id=program.id, email=f"p{i}@example.org", email_key=f"p{i}@example.org",
                             name=f"P{i}", is_mentor=mentor, is_mentee=mentee, joined_at=NOW - timedelta(days=90))
        session.add(person)
        people.append(person)
    session.flush()
    loop = Loop(program_id=program.id, mentor_id=people[0].id, mentee_id=people[1].id,
                matched_at=NOW - timedelta(days=60))
    session.add(loop)
    session.flush()
    return program, loop


def test_held_meetings_count_from_start_but_never_before_booking(engine):
    from mloop.store.progress import FactReader

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
        facts = FactReader(session, program, NOW)
        times, totals = facts.held_meetings(3)
        assert times[loop.id] == [NOW - timedelta(days=40), NOW - timedelta(days=30)]
        assert totals[loop.id] == (2, NOW - timedelta(days=30))
        assert facts.first_bookings() == {loop.id: NOW - timedelta(days=40)}
        # 41 days ago neither meeting had been booked, though one had started.
        earlier = FactReader(session, program, NOW - timedelta(days=41))
        assert earlier.first_bookings() == {}
        assert earlier.held_meetings(3)[0] == {}
        # 36 days ago the logged one existed and counted as held; the other was not booked yet.
        middle = FactReader(session, program, NOW - timedelta(days=36))
        assert middle.first_bookings() == {loop.id: NOW - timedelta(days=40)}
        assert middle.held_meetings(3)[0] == {loop.id: [NOW - timedelta(days=40)]}


def test_import_is_one_transaction(tmp_path):
    """A bad last line leaves the store exactly as it was, and intact."""
    from mloop.store.transfer import import_lines
    from mloop.store.access import Actor

    db = tmp_path / "s.db"
    engine = open_store(resolve_url(str(db)))
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
    engine.dispose()
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
