"""Throwaway databases on an existing PostgreSQL server (``--pg-url``).

The benchmark never touches the database named in the URL: it creates its own
databases beside it (``mloop_bench_*``, which needs the CREATEDB privilege),
drops and recreates one before every import so each import starts empty, and
drops them all at the end unless ``--keep`` is given.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

PREFIX = "mloop_bench_"


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _admin(url: str):
    import psycopg

    from bench.floors import pg_dsn

    return psycopg.connect(pg_dsn(url), autocommit=True)


def check(url: str) -> str | None:
    """Why this server cannot be used, or None."""
    try:
        import psycopg  # noqa: F401
    except ModuleNotFoundError:
        return "psycopg is not installed: pip install 'mloop[postgres]'"
    try:
        with _admin(url) as conn:
            can = conn.execute("SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    except Exception as error:  # noqa: BLE001 - reported, never raised: the benchmark reports
        return f"cannot connect to {url}: {str(error).strip().splitlines()[0]}"
    if not (can and can[0]):
        return "the --pg-url user may not create databases (needs CREATEDB)"
    return None


def recreate(url: str, name: str) -> str:
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(url, name)


def drop(url: str, names: list[str]) -> None:
    with _admin(url) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_version(url: str) -> str | None:
    try:
        with _admin(url) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]
    except Exception:  # noqa: BLE001 - a missing figure, not a failure
        return None
