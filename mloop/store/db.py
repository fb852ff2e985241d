"""Engine and session setup.

Nothing connects at import time.  The schema is migrated forward on first open.

Writers take turns, on both engines, so that a rule checked at the start of a
command (a mentor's capacity, one active loop per pair) still holds when its
transaction commits:

- SQLite runs with WAL, foreign keys and a busy timeout; a writing transaction
  starts with ``BEGIN IMMEDIATE``, so it takes the write lock first thing and
  waits for it in SQLite's busy handler.  Readers never wait (WAL).
- PostgreSQL: a writing transaction first takes one transaction-level advisory
  lock, released by its commit or rollback, waiting at most as long as SQLite
  would.  Readers never wait, and read one snapshot (REPEATABLE READ).

There is deliberately no retry loop around a transaction.  Every wait for the
lock happens in that first statement, before the command has read or done
anything, and inside a transaction SQLite only answers "database is locked"
without waiting when a read transaction tries to become a writer, which
``BEGIN IMMEDIATE`` rules out.  So a busy error there means the lock stayed
taken for the whole timeout (a minute), and retrying would only wait another
minute; instead it becomes one line telling the person that nothing changed
and to run the command again.  The one place that does retry, with a short
bounded backoff, is switching a brand-new file to WAL as a connection opens
(``_use_wal``): SQLite answers busy there at once when several processes open
a new store together, and nothing has happened on the connection yet.
tests/test_concurrency.py runs eight processes against one store both ways.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from mloop.errors import Forbidden, StoreError
from mloop.paths import default_db_path
from mloop.store import migrations

BUSY_TIMEOUT_MS = 60_000
# The PostgreSQL advisory lock every writing transaction (and migration) takes.
WRITE_LOCK_KEY = 727274
INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for a refused privilege or row policy


def resolve_url(db: str | None, *, create: bool = True) -> str:
    """A path or an SQLAlchemy URL -> an SQLAlchemy URL.

    ``create=False`` (a command that only reads) refuses an SQLite file that
    does not exist yet, rather than leaving an empty store behind: the error
    names the file it looked for and the commands that make one.
    """
    if not db:
        path = default_db_path()
        if create:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # the store's folder is private too
        elif not path.exists():
            raise _no_store(path, "the default; --db or MLOOP_DB picks another")
        return f"sqlite:///{path}"
    if "://" in db:
        if not create:
            _require_sqlite_file(db)
        return db
    path = Path(os.path.expanduser(db))
    if path.is_dir():
        raise StoreError(f"store path {db} is a directory: give a file path such as {db.rstrip('/')}/mloop.db")
    if not create and not path.exists():
        raise _no_store(path.absolute(), "from --db/MLOOP_DB")
    if not path.parent.exists():
        raise StoreError(f"cannot create store {db}: folder {path.parent} does not exist")
    return f"sqlite:///{path.resolve()}"


def _require_sqlite_file(url: str) -> None:
    """An sqlite:///FILE URL must name an existing file (other URLs are checked on connecting)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return  # make_engine words that error
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        if not Path(database).exists():
            raise _no_store(Path(database).absolute(), "from --db/MLOOP_DB")


class NoStore(StoreError):
    """A read found no store where it looked (and did not create one)."""


def _no_store(path: Path, source: str) -> StoreError:
    return NoStore(
        f"no store at {path} ({source}): create one with 'mloop init', 'mloop demo' (a sample program) "
        "or 'mloop import FILE.jsonl'"
    )


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used for messages
        return url


def _use_wal(cursor) -> None:
    """Put the store in WAL mode (a no-op once it is: the mode is kept in the file).

    Switching a new file to WAL is the one step where SQLite answers "database
    is locked" at once instead of waiting in its busy handler: it happens when
    several processes open a brand-new store together.  This connection has
    done nothing yet, so trying again after a short pause is safe; the wait is
    bounded by the same busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.002
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode = WAL")  # ':memory:' stays 'memory', and that is fine
            return
        except Exception as error:  # sqlite3.OperationalError, without importing sqlite3 here
            if not _is_busy(error) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _sqlite_setup(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql(
            "BEGIN IMMEDIATE" if connection.info.get("write") else "BEGIN"
        )


def _postgresql_setup(engine: sa.Engine) -> None:
    @event.listens_for(engine, "begin")
    def on_begin(connection):
        if connection.info.get("write"):
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {BUSY_TIMEOUT_MS}")
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
        elif connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            # One snapshot for the whole read, as SQLite's WAL gives: under READ
            # COMMITTED each query of a report would see a different moment.
            connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _sqlite_file(parsed: sa.engine.URL) -> str | None:
    """The file an SQLite URL names (None: in memory, or a ``file:`` URI)."""
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _create_owner_only(path: str) -> None:
    """Create a new store file readable and writable by its owner only (0600),
    before SQLite opens it: SQLite gives the -wal, -shm and -journal files it
    makes beside it the same mode, so the whole store stays private whatever
    the umask.  An existing file is left as it is (see ``loose_permissions``);
    a path that cannot be created is left for SQLite to report."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return
    try:
        os.fchmod(fd, 0o600)  # exactly 0600, even under an odd umask such as 0277
    finally:
        os.close(fd)


def loose_permissions(url: str) -> int | None:
    """The permission bits of an SQLite store file that others may read or
    write (None: private, not a file, or not SQLite)."""
    try:
        path = _sqlite_file(sa.engine.make_url(url))
        mode = os.stat(path).st_mode & 0o777 if path else 0
    except (sa.exc.ArgumentError, OSError):
        return None
    return mode if mode & 0o077 else None


def make_engine(url: str) -> sa.Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(
            f"cannot read store URL {url!r}: use a file path or a URL such as postgresql+psycopg://user@host/db"
        ) from None
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        from sqlalchemy.pool import NullPool

        kwargs["poolclass"] = NullPool
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
        path = _sqlite_file(parsed)
        if path:
            _create_owner_only(path)
    elif parsed.get_backend_name() == "postgresql":
        # Times come back in UTC (fixed-offset datetimes compare several times
        # faster than ones in a named zone; stored times are absolute either
        # way), and no JIT: compiling a report's queries took longer than
        # running them (~0.2 s a query on a large program).  Options already
        # in the URL stay.
        options = parsed.query.get("options", "")
        kwargs["connect_args"] = {"options": f"{options} -c TimeZone=UTC -c jit=off".strip()}
    try:
        # Parameters are user data (a private goal title): never in an error's text.
        engine = sa.create_engine(parsed, hide_parameters=True, **kwargs)
    except ModuleNotFoundError as error:
        raise StoreError(
            f"the driver for {parsed.drivername} is not installed ({error.name}): pip install 'mloop[postgres]'"
        ) from None
    except sa.exc.NoSuchModuleError:
        raise StoreError(
            f"unknown database kind {parsed.drivername!r} in --db/MLOOP_DB: use a file path, "
            "sqlite:///path or postgresql+psycopg://user@host/db"
        ) from None
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    elif engine.dialect.name == "postgresql":
        _postgresql_setup(engine)

    @event.listens_for(engine, "checkin")
    def forget_the_writer(_dbapi_connection, record):
        # A pooled connection is a writer only for the checkout that said so
        # (session_scope, _migrate): the next one, such as the import's closing
        # VACUUM or a report's second connection, must not take the write lock.
        record.info.pop("write", None)

    return engine


def open_store(url: str) -> sa.Engine:
    """Engine for ``url`` with its schema migrated to the latest version."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            version = migrations.current_version(conn)
            conn.rollback()
        if version is None or version < migrations.LATEST:
            _migrate(engine)
        elif version > migrations.LATEST:
            raise StoreError(
                f"store {describe(url)} has schema version {version}, newer than this mloop knows "
                f"({migrations.LATEST}): upgrade mloop"
            )
    except sa.exc.DatabaseError as error:
        engine.dispose()
        raise StoreError(_explain(url, error)) from None
    except sa.exc.InterfaceError as error:
        engine.dispose()
        raise StoreError(_explain(url, error)) from None
    except StoreError:
        engine.dispose()
        raise
    except migrations.UnreadableVersion as error:
        engine.dispose()
        raise StoreError(
            f"store {describe(url)} records an unreadable {error} in its mloop_meta table (mloop writes a whole "
            "number of at least 1): it was changed outside mloop; restore the store from a backup"
        ) from None
    return engine


def driver_message(error: Exception) -> str:
    """The first line of the driver's own message behind a SQLAlchemy error (or of ``error``)."""
    orig = getattr(error, "orig", None)
    return str(error if orig is None else orig).strip().splitlines()[0]


def _explain(url: str, error: Exception) -> str:
    text = driver_message(error)
    where = describe(url)
    if "file is not a database" in text or "not a database" in text:
        return f"{where} is not an mloop store (the file is not a database): point --db or MLOOP_DB at an mloop .db file or a new path"
    if "unable to open database file" in text:
        return f"cannot open store {where}: check the path and its permissions"
    known = _known_failure(where, error)
    if known is not None:
        return known
    return f"cannot use store {where}: {text}"


def _known_failure(where: str, error: Exception) -> str | None:
    """One line for the ways a working store stops taking writes (read-only,
    full disk, an I/O error, busy), or None; never the statement or its values."""
    original = getattr(error, "orig", error)
    text = str(original).lower()
    sqlstate = getattr(original, "sqlstate", None) or ""
    if "readonly" in text or "read-only" in text or sqlstate == "25006":
        return (f"store {where} is read-only (its file, folder or connection may not be written): nothing was "
                "changed; check its permissions, or use a copy you may write")
    if "database or disk is full" in text or "no space left" in text or sqlstate in ("53100", "54000"):
        return (f"store {where}: the disk is full: nothing was changed; free some space on its disk "
                "and run the command again")
    if "disk i/o error" in text:
        return f"store {where}: the disk failed to read or write (disk I/O error): nothing was changed; check the disk"
    if _is_busy(error):
        return _BUSY.format(where=where)
    return None


_BUSY = (
    "store {where} is busy: another mloop command kept it locked for over a minute "
    "(a large import?); nothing was changed, run the command again when it has finished"
)


def _is_busy(error: Exception) -> bool:
    """SQLite's "database is locked" or PostgreSQL's lock timeout."""
    original = getattr(error, "orig", error)
    if getattr(original, "sqlstate", None) == "55P03":  # lock_not_available
        return True
    text = str(original).lower()
    return "database is locked" in text or "database table is locked" in text


def _migrate(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        # A writer: BEGIN IMMEDIATE on SQLite, the write lock on PostgreSQL, so
        # that concurrent first opens of a new store migrate it once.
        conn.info["write"] = True
        with conn.begin():
            version = migrations.current_version(conn)  # again, now under the write lock
            if version is None and _has_foreign_tables(conn):
                raise StoreError(
                    f"{describe(str(engine.url))} is a database but not an mloop store: "
                    "point --db or MLOOP_DB at an mloop store or a new path"
                )
            if version is None or version < migrations.LATEST:
                migrations.upgrade(conn, version)


def _has_foreign_tables(conn: sa.Connection) -> bool:
    return bool(sa.inspect(conn).get_table_names())


def refresh_planner_statistics(engine: sa.Engine, tables: list[str]) -> None:
    """After a bulk load, bring PostgreSQL's statistics and visibility map up
    to date for ``tables`` (``VACUUM (ANALYZE)``), so the next report plans
    with real row counts and answers from its covering indexes alone, instead
    of waiting for autovacuum, which would otherwise run minutes later beside
    the first reports.  Outside any transaction (VACUUM cannot run in one);
    a table this user does not own is skipped with a server warning.  SQLite
    needs nothing: its plans do not depend on statistics here.
    """
    if engine.dialect.name != "postgresql" or not tables:
        return
    quoted = ", ".join(engine.dialect.identifier_preparer.quote(name) for name in tables)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM (ANALYZE) {quoted}")


@contextmanager
def session_scope(engine: sa.Engine, *, write: bool = True, within: sa.Connection | None = None) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back on any error.

    A writing transaction waits for the write lock in its first statement (see
    the module docstring); if it is still taken after the timeout, the command
    fails with a StoreError, having changed nothing.

    ``within``: a connection whose transaction someone else ends (an
    all-or-nothing ``mloop batch``); the block is a savepoint in it.
    """
    if within is not None:
        with Session(bind=within, expire_on_commit=False, autoflush=True,
                     join_transaction_mode="create_savepoint") as session:
            try:
                yield session
                session.commit()  # releases the savepoint; the transaction goes on
            except BaseException:
                session.rollback()
                raise
        return
    with engine.connect() as conn:
        conn.info["write"] = write
        with Session(bind=conn, expire_on_commit=False, autoflush=True) as session:
            try:
                yield session
                if write:
                    session.commit()
                # A reading block just closes: objects read stay usable after it.
            except sa.exc.DBAPIError as error:
                session.rollback()
                known = _known_failure(describe(str(engine.url)), error)
                if known is not None:
                    raise StoreError(known) from None
                raise
            except sa.exc.ProgrammingError as error:
                session.rollback()
                if getattr(error.orig, "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
                    # PostgreSQL's row-level security or column privileges (mloop.store.pgsecurity).
                    raise Forbidden(f"the database refused it: {driver_message(error)} "
                                    "(your login role may not do this; nothing was changed)") from None
                raise
            except BaseException:
                session.rollback()
                raise
