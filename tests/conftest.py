"""Shared fixtures: a store in tmp_path, a fixed clock, and the CLI run in-process.

Nothing here touches the home directory: the autouse fixture points MLOOP_DB at
a file in tmp_path and clears every other MLOOP_* variable, and ``Cli`` passes
the whole MLOOP_* environment explicitly on every call, so a test only ever
sees the store and the clock it asked for.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; the clock of every test unless it says otherwise
ERROR_PREFIX = "mloop: error: "
ENV_VARS = ("MLOOP_DB", "MLOOP_USER", "MLOOP_NOW", "MLOOP_TZ", "MLOOP_PROGRAM", "MLOOP_DEBUG", "MLOOP_REDACT_KEY")


def iso(moment: datetime) -> str:
    """The form mloop writes times in JSON: UTC with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def at(days: float = 0, hours: float = 0, minutes: float = 0, *, base: datetime = NOW) -> str:
    return iso(base + timedelta(days=days, hours=hours, minutes=minutes))


class Cli:
    """Runs ``mloop ARGS`` in-process against one store, with an explicit environment."""

    NOW = NOW
    ERROR_PREFIX = ERROR_PREFIX
    iso = staticmethod(iso)
    at = staticmethod(at)

    def __init__(self, db: Path):
        self.db = Path(db)
        self.runner = CliRunner()

    def __call__(
        self,
        *args: Any,
        user: str | None = None,
        now: str | datetime | None = NOW,
        tz: str | None = "UTC",
        db: str | Path | None = None,
        env: dict[str, str | None] | None = None,
        input: str | None = None,
    ):
        from mloop.cli import app

        if isinstance(now, datetime):
            now = iso(now)
        full_env: dict[str, str | None] = {
            "MLOOP_DB": str(db if db is not None else self.db),
            "MLOOP_USER": user,
            "MLOOP_NOW": now,
            "MLOOP_TZ": tz,
            "MLOOP_PROGRAM": None,
            "MLOOP_DEBUG": None,
            "COLUMNS": "160",  # wide enough that Rich never wraps a table row
        }
        full_env.update(env or {})
        return self.runner.invoke(app, [str(a) for a in args], env=full_env, input=input, catch_exceptions=True)

    def ok(self, *args: Any, **kwargs: Any):
        result = self(*args, **kwargs)
        assert result.exit_code == 0, (
            f"mloop {' '.join(map(str, args))} exited {result.exit_code}\n"
            f"stderr: {result.stderr}\nstdout: {result.stdout}\nexception: {result.exception!r}"
        )
        return result

    def json(self, *args: Any, **kwargs: Any) -> Any:
        """Run with --json, require success and exactly one JSON document on stdout."""
        result = self.ok(*args, "--json", **kwargs)
        return json.loads(result.stdout)

    def fails(self, *args: Any, code: int = 1, match: str | None = None, **kwargs: Any):
        """Require a clean failure: the exit code, one error line on stderr, nothing on stdout."""
        result = self(*args, **kwargs)
        assert_clean_error(result, code=code, match=match)
        return result

    check_error = staticmethod(lambda result, code=1, match=None: assert_clean_error(result, code=code, match=match))

    def snapshot(self, db: Path | None = None) -> dict[str, str | None]:
        return store_snapshot(db or self.db)

    def copy_from(self, source: Path) -> None:
        """Start from a copy of a store built earlier (e.g. by a module-scoped fixture)."""
        copy_store(Path(source), self.db)


def assert_clean_error(result, *, code: int, match: str | None = None) -> str:
    """The error contract (DESIGN §4): exit code, ONE stderr line, no traceback, empty stdout."""
    stderr = result.stderr
    assert result.exit_code == code, (
        f"exit {result.exit_code}, expected {code}\nstderr: {stderr}\nstdout: {result.stdout}\n"
        f"exception: {result.exception!r}"
    )
    assert "Traceback" not in stderr and "Traceback" not in result.stdout
    assert result.stdout == "", f"stdout should be empty on error, got {result.stdout!r}"
    lines = stderr.splitlines()
    assert len(lines) == 1 and stderr.endswith("\n"), f"expected one stderr line, got {stderr!r}"
    assert lines[0].startswith(ERROR_PREFIX), lines[0]
    if match is not None:
        assert match in lines[0], f"{match!r} not in {lines[0]!r}"
    return lines[0]


def store_snapshot(db: Path) -> dict[str, str | None]:
    """Hashes of the store file and its WAL (None when absent): equal snapshots mean an unchanged store."""
    snapshot: dict[str, str | None] = {}
    for suffix in ("", "-wal"):
        path = Path(f"{db}{suffix}")
        snapshot[suffix or "db"] = hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None
    return snapshot


def copy_store(source: Path, target: Path) -> None:
    """Copy a store whose connections are all closed (its WAL has been checkpointed away)."""
    assert not Path(f"{source}-wal").exists(), "copying a store with a live WAL would lose data"
    shutil.copyfile(source, target)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--slow", action="store_true", default=False,
        help="run the reliability suite (tests/test_reliability.py) at full size: more kill points, "
             "more rounds of the concurrent writers, many more fuzzed command lines",
    )


@pytest.fixture(scope="session")
def full_size(request: pytest.FixtureRequest) -> bool:
    """True with --slow: the reliability tests run their long form."""
    return bool(request.config.getoption("--slow"))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own store file and a clean MLOOP_* environment."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    db = tmp_path / "mloop.db"
    monkeypatch.setenv("MLOOP_DB", str(db))
    monkeypatch.setenv("MLOOP_TZ", "UTC")
    return db


@pytest.fixture
def db_path(isolated_env: Path) -> Path:
    return isolated_env


@pytest.fixture
def cli(db_path: Path) -> Cli:
    return Cli(db_path)


@pytest.fixture(scope="session")
def make_cli():
    """The Cli class, for module-scoped fixtures that build a store once and share copies of it."""
    return Cli


# --- factories built on the real commands -----------------------------------------


@dataclass
class Person:
    email: str
    name: str
    roles: tuple[str, ...]


@pytest.fixture
def make_program(cli: Cli):
    def make(name: str = "Spring 2026", *, stall_days: int = 21, momentum_meetings: int = 3, now=NOW) -> dict:
        return cli.json("init", "--program", name, "--stall-days", stall_days,
                        "--momentum-meetings", momentum_meetings, now=now)

    return make


@pytest.fixture
def add_person(cli: Cli):
    def add(email: str, *roles: str, name: str | None = None, capacity: int | None = None,
            as_user: str | None = None, now=NOW, **options: str) -> Person:
        args: list[Any] = ["participant", "add", "--name", name or email.split("@")[0].title(), "--email", email]
        for role in roles or ("mentee",):
            args += ["--role", role]
        if capacity is not None:
            args += ["--capacity", capacity]
        for key, value in options.items():  # offers=..., seeks=..., joined=...
            args += [f"--{key}", value]
        record = cli.json(*args, user=as_user, now=now)
        return Person(record["email"], record["name"], tuple(record["roles"]))

    return add


@pytest.fixture
def make_loop(cli: Cli):
    def make(mentor: str, mentee: str, *, as_user: str | None = None, now=NOW, matched_at: str | None = None) -> int:
        args: list[Any] = ["match", "create", "--mentor", mentor, "--mentee", mentee]
        if matched_at:
            args += ["--at", matched_at]
        return cli.json(*args, user=as_user, now=now)["id"]

    return make


# --- PostgreSQL: a throwaway server for the tests marked 'postgres' ------------------


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server on loopback for the whole run (see tests/pg.py); skips when there is none."""
    import pg

    reason = pg.unavailable()
    if reason:
        pytest.skip(f"PostgreSQL tests skipped: {reason}")
    server = pg.PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """An SQLAlchemy URL of a new, empty database of its own, dropped after the test."""
    name = pg_server.create_database()
    try:
        yield pg_server.url(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path: Path) -> str:
    """A new store on each engine: an SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("pg_url")
