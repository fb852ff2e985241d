"""Engine and session setup.

Nothing connects at import time.  SQLite runs with WAL, foreign keys and a
busy timeout; writing transactions start with ``BEGIN IMMEDIATE`` so that
concurrent writers queue on the busy timeout instead of failing when a read
lock cannot be upgraded.  The schema is migrated forward on first open.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session

from mloop.errors import StoreError
from mloop.store import migrations

BUSY_TIMEOUT_MS = 60_000


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("mloop", appauthor=False)) / "mloop.db"


def resolve_url(db: str | None) -> str:
    """A path or an SQLAlchemy URL -> an SQLAlchemy URL."""
    if not db:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" in db:
        return db
    path = Path(os.path.expanduser(db))
    if path.is_dir():
        raise StoreError(f"store path {db} is a directory: give a file path such as {db.rstrip('/')}/mloop.db")
    if not path.parent.exists():
        raise StoreError(f"cannot create store {db}: folder {path.parent} does not exist")
    return f"sqlite:///{path.resolve()}"


def describe(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - only used for messages
        return url


def _sqlite_setup(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event below emit BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() != "wal":
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql(
            "BEGIN IMMEDIATE" if connection.info.get("write") else "BEGIN"
        )


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
    try:
        engine = sa.create_engine(parsed, **kwargs)
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
    return engine


def _explain(url: str, error: Exception) -> str:
    text = str(getattr(error, "orig", error)).strip().splitlines()[0]
    where = describe(url)
    if "file is not a database" in text or "not a database" in text:
        return f"{where} is not an mloop store (the file is not a database): point --db or MLOOP_DB at an mloop .db file or a new path"
    if "unable to open database file" in text:
        return f"cannot open store {where}: check the path and its permissions"
    if "readonly" in text or "read-only" in text:
        return f"store {where} is read-only: check its permissions"
    return f"cannot use store {where}: {text}"


def _migrate(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.info["write"] = True
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # Serialise concurrent first opens of the same database.
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(727274)")
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


@contextmanager
def session_scope(engine: sa.Engine, *, write: bool = True) -> Iterator[Session]:
    """One transaction: commits when the block ends, rolls back on any error."""
    with engine.connect() as conn:
        conn.info["write"] = write
        with Session(bind=conn, expire_on_commit=False, autoflush=True) as session:
            try:
                yield session
                if write:
                    session.commit()
                # A reading block just closes: objects read stay usable after it.
            except BaseException:
                session.rollback()
                raise
