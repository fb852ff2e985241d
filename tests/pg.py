"""A throwaway PostgreSQL server for the test suite (DESIGN §5).

``PgServer.start()`` runs ``initdb`` into a fresh temporary directory and starts
the server with ``pg_ctl`` on a free loopback port, trust authentication and
durability switched off (the data dies with the run).  When the tests run as
root, the server runs as the ``postgres`` user, because PostgreSQL refuses to
run as root.  ``unavailable()`` says why the PostgreSQL tests must be skipped,
or None when they can run.

The server's own time zone is deliberately not UTC: times must come back as
aware UTC because mloop converts them, not because the server happens to agree.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

SERVER_TIMEZONE = "Pacific/Auckland"
SUPERUSER = "postgres"


def find_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl (or $PG_BIN)."""
    candidates = [os.environ["PG_BIN"]] if os.environ.get("PG_BIN") else []

    def version(path: str) -> tuple:
        number = Path(path).parent.name
        return tuple(int(p) for p in number.split(".") if p.isdigit())

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for candidate in candidates:
        path = Path(candidate)
        if (path / "initdb").is_file() and (path / "pg_ctl").is_file():
            return path
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    return None


def _run_as() -> list[str] | None:
    """The command prefix that runs a program as the server's owner ([] when we may run it ourselves)."""
    if os.geteuid() != 0:
        return []
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--"]
    return None  # 'su -c' would need the command quoted for a shell; every Debian has runuser


def unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed: pip install -e '.[postgres]'"
    if find_bin_dir() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) in /usr/lib/postgresql/*/bin: apt-get install postgresql"
    if _run_as() is None:
        return "running as root without a 'postgres' user (and runuser) to own the test server"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PgServer:
    def __init__(self) -> None:
        self.bin_dir = find_bin_dir()
        self.prefix = _run_as()
        self.root: Path | None = None
        self.port: int | None = None
        self._names = itertools.count(1)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def _run(self, program: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = [*self.prefix, str(self.bin_dir / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=self.root, env={**os.environ, "LC_ALL": "C", "TZ": "UTC"})
        if done.returncode:
            log = self.root / "server.log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} {' '.join(args)} failed ({done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}\n{tail}")
        return done

    def start(self) -> PgServer:
        # Not under pytest's tmp_path: its folders are private to the user running the tests,
        # and the server may run as another user.
        self.root = Path(tempfile.mkdtemp(prefix="mloop-pg-"))
        os.chmod(self.root, 0o755)
        if self.prefix:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        for attempt in range(3):  # another process may take the free port before the server does
            self.port = free_port()
            options = " ".join([
                f"-p {self.port}", "-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.root}",
                f"-c timezone={SERVER_TIMEZONE}", "-c fsync=off", "-c synchronous_commit=off",
                "-c full_page_writes=off", "-c max_connections=60",
            ])
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"),
                          "-o", options, "-w", "-t", "60", "start")
                break
            except RuntimeError:
                if attempt == 2:
                    self.stop()
                    raise
        return self

    def stop(self) -> None:
        if self.root is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _admin(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname="postgres",
                               autocommit=True)

    def create_database(self) -> str:
        """A new empty database; returns its name."""
        name = f"mloop_test_{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
