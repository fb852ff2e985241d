"""The CLI on PostgreSQL (DESIGN §5): every command, the same answers as on SQLite.

Each test runs the real commands against a fresh database on the throwaway server
that conftest.py starts (``pg_url``) and, where it compares, against an SQLite
file with the same commands.  Skipped, with the reason, when there is no
PostgreSQL server or no psycopg.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import typer

pytestmark = pytest.mark.postgres

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "program.jsonl"
DEMO_NOW = "2026-06-01T09:00:00Z"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)

CORA = "cora@example.org"
BO = "bo@example.org"
ANA = "ana@example.org"
CY = "cy@example.org"
DEE = "dee@example.org"
EVE = "eve@example.org"


def t(days: float = 0, hours: float = 0) -> str:
    return (T0 + timedelta(days=days, hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def coordinator_of(lines: list[str]) -> str:
    for line in lines:
        record = json.loads(line)
        if record.get("type") == "participant" and "coordinator" in record.get("roles", []):
            return record["email"]
    raise AssertionError("the sample program has no coordinator")


SAMPLE_COORDINATOR = coordinator_of(SAMPLE.read_text().splitlines())


@pytest.fixture
def sqlite_cli(make_cli, tmp_path: Path):
    return make_cli(tmp_path / "walk.db")


@pytest.fixture
def pg_cli(make_cli, pg_url: str, tmp_path: Path):
    cli = make_cli(tmp_path / "unused.db")
    cli.db = pg_url  # Cli passes str(self.db) as MLOOP_DB: a URL works as well as a path
    return cli


def every_command() -> set[str]:
    """Every leaf command, as 'group command' (the groups load their commands lazily)."""
    from mloop.cli import app

    def walk(command, path):
        if hasattr(command, "list_commands"):
            context = command.context_class(command, info_name=path[-1] if path else "mloop")
            for name in command.list_commands(context):
                yield from walk(command.get_command(context, name), (*path, name))
        else:
            yield " ".join(path)

    commands = set(walk(typer.main.get_command(app), ()))
    assert len(commands) > 20, commands
    return commands


class Transcript:
    """Runs commands and records (command, exit code, stdout, stderr) for comparison."""

    def __init__(self, cli, tmp: Path):
        self.cli = cli
        self.tmp = tmp
        self.lines: list[tuple] = []
        self.commands: set[str] = set()
        self.known = every_command()

    def __call__(self, *args, code: int = 0, **kwargs):
        words = [str(a) for a in args]
        for size in (3, 2, 1):
            name = " ".join(words[:size])
            if name in self.known:
                self.commands.add(name)
                break
        result = self.cli(*args, **kwargs)
        assert result.exit_code == code, (
            f"mloop {' '.join(words)} on {self.cli.db}: exit {result.exit_code}, expected {code}\n"
            f"stderr: {result.stderr}\nstdout: {result.stdout}\nexception: {result.exception!r}"
        )
        assert "Traceback" not in result.stderr
        self.lines.append((" ".join(words), result.exit_code, result.stdout, result.stderr))
        return result

    def json(self, *args, **kwargs):
        return json.loads(self(*args, "--json", **kwargs).stdout)


def lived_program(run: Transcript) -> None:
    """Every command at least once, some refused, on one store."""
    tmp = run.tmp
    run("init", "--program", "Walk", "--stall-days", 14, now=t(-1))
    run("participant", "add", "--name", "Cora", "--email", CORA, "--role", "coordinator", now=t(0))
    run("participant", "add", "--name", "Bo", "--email", BO, "--role", "mentor", "--capacity", 2,
        "--offers", "python,career", user=CORA, now=t(0))
    run("participant", "add", "--name", "Ana", "--email", ANA, "--role", "mentee", "--seeks", "python",
        user=CORA, now=t(0))
    run("participant", "add", "--name", "Ana Again", "--email", "ANA@example.org", "--role", "mentee",
        user=CORA, now=t(0), code=1)
    people = tmp / "people.csv"
    people.write_text(
        "name,email,role,capacity,offers,seeks,joined_at\n"
        f"Cy,{CY},mentee,,,career,{t(0)}\n"
        f"Dee,{DEE},mentee,,,,{t(0)}\n"
        f"Eve,{EVE},mentor,1,design,,{t(0)}\n"
    )
    run.json("participant", "import", people, user=CORA, now=t(0, 1))
    run.json("participant", "list", user=CORA, now=t(1))
    run("participant", "list", "--csv", user=CORA, now=t(1))
    run.json("participant", "show", ANA, user=CORA, now=t(1))

    l1 = run.json("match", "create", "--mentor", BO, "--mentee", ANA, user=CORA, now=t(1))["id"]
    l2 = run.json("match", "create", "--mentor", BO, "--mentee", CY, user=CORA, now=t(1))["id"]
    run("match", "create", "--mentor", BO, "--mentee", DEE, user=CORA, now=t(1), code=1)  # capacity
    run("match", "create", "--mentor", ANA, "--mentee", ANA, user=CORA, now=t(1), code=1)
    l3 = run.json("match", "create", "--mentor", EVE, "--mentee", DEE, user=CORA, now=t(1))["id"]
    run.json("match", "list", user=CORA, now=t(2))

    m1 = run.json("meet", "schedule", l1, "--at", t(3), "--agenda", "Get to know each other",
                  "--where", "Cafe", user=ANA, now=t(1, 2))["id"]
    run("feedback", "give", l1, "--meeting", m1, "--rating", 5, user=ANA, now=t(2), code=1)  # not held yet
    run.json("meet", "done", m1, "--notes", "Agreed a rhythm", "--action", "Write a plan", user=BO, now=t(3, 1))
    run.json("feedback", "give", l1, "--meeting", m1, "--rating", 5, "--comment", "Great", user=ANA, now=t(3, 2))
    run("feedback", "give", l1, "--rating", 6, user=ANA, now=t(3, 2), code=1)
    run.json("meet", "log", l1, "--at", t(9), "--notes", "CV review", user=ANA, now=t(10))
    run.json("meet", "log", l1, "--at", t(16), "--duration", "1h30m", user=BO, now=t(17))
    cancelled = run.json("meet", "schedule", l1, "--at", t(30), user=BO, now=t(17))["id"]
    run.json("meet", "cancel", cancelled, user=BO, now=t(18))
    run.json("meet", "list", user=ANA, now=t(18))
    run.json("meet", "list", "--upcoming", user=CORA, now=t(18))
    series = run.json("meet", "schedule", l1, "--at", t(20), "--every", "1w", "--count", 3, user=ANA, now=t(18))
    run.json("meet", "cancel", series["ids"][1], "--rest", user=ANA, now=t(18))
    run.json("meet", "list", "--upcoming", "--within", "3d", user=ANA, now=t(18))
    calendar = tmp / "loop1.ics"
    run("meet", "export", "--loop", l1, "--out", calendar, user=ANA, now=t(18))
    run.json("meet", "import", calendar, "--loop", l1, user=ANA, now=t(18))  # its own export: nothing changes
    m2 = run.json("meet", "log", l2, "--at", t(2, -1), user=CY, now=t(2))["id"]
    run.json("feedback", "give", l2, "--meeting", m2, "--rating", 2, "--comment", "Late", user=CY, now=t(2, 1))
    run.json("meet", "log", l2, "--at", t(5, -1), user=CY, now=t(5))
    run.json("meet", "log", l2, "--at", t(6, -1), user=CY, now=t(6))

    g1 = run.json("goal", "add", l1, "Ship a Python package", "--term", "long", "--due", t(60),
                  user=ANA, now=t(18))["id"]
    task = run.json("goal", "task", "add", g1, "Write the README", "--due", t(40), user=ANA, now=t(18))["id"]
    run.json("goal", "task", "done", task, user=BO, now=t(18, 1))
    run("goal", "task", "done", task, user=ANA, now=t(18, 1), code=1)
    run.json("goal", "task", "list", user=ANA, now=t(18, 1))
    run("goal", "task", "list", "--goal", g1, "--csv", user=CORA, now=t(18, 1))
    run.json("goal", "edit", g1, "--title", "Ship two Python packages", user=ANA, now=t(18, 1))
    g2 = run.json("goal", "add", l1, "Ask for a promotion", "--private", user=ANA, now=t(18, 2))["id"]
    run.json("goal", "share", g2, user=ANA, now=t(19))
    g3 = run.json("goal", "add", l1, "Learn Rust", user=ANA, now=t(19))["id"]
    run.json("goal", "add", l1, "Learn Go", "--private", user=ANA, now=t(19))
    # Not the newest goal: SQLite hands the highest id out again once it is deleted, PostgreSQL never does.
    run.json("goal", "delete", g3, user=ANA, now=t(19, 1))
    run.json("goal", "done", g1, user=ANA, now=t(20))
    run.json("goal", "list", user=ANA, now=t(20))
    run.json("goal", "list", user=CORA, now=t(20))
    g4 = run.json("goal", "add", l2, "Give a talk", user=CY, now=t(6, 1))["id"]
    run.json("goal", "done", g4, user=CY, now=t(7))
    run.json("feedback", "give", l1, "--rating", 4, user=ANA, now=t(20, 1))
    run.json("feedback", "give", l2, "--rating", 1, "--comment", "Not working", user=BO, now=t(8))
    run("share", l2, "--out", tmp, user=CY, now=t(8), code=1)  # Grow Together: no certificate before Levelling Up
    run.json("feedback", "list", user=CORA, now=t(21))
    run.json("feedback", "list", "--loop", l1, user=ANA, now=t(21))

    for now in (t(21), t(40)):
        run.json("status", user=ANA, now=now)
        run.json("status", "--history", user=BO, now=now)
        run.json("coordinator", "report", user=CORA, now=now)
        run.json("coordinator", "report", "--stalled", user=CORA, now=now)
        run.json("coordinator", "report", "--at-risk", user=CORA, now=now)
        run.json("coordinator", "report", "--stage", "first_meeting", user=CORA, now=now)
        run("coordinator", "report", "--csv", user=CORA, now=now)
        run.json("coordinator", "participant", ANA, user=CORA, now=now)
        run.json("coordinator", "participant", DEE, user=CORA, now=now)
    run.json("match", "end", l3, "--outcome", "cancelled", "--reason", "Moved away", user=CORA, now=t(41))
    run("meet", "log", l3, "--at", t(41), user=EVE, now=t(42), code=1)  # the loop has ended
    run.json("match", "list", "--all", user=CORA, now=t(42))
    run.json("status", "--history", "--loop", l3, user=DEE, now=t(42))

    # Custom milestones: month-end due dates, only the responsible role, done twice, undo.
    run.json("milestone", "define", "Check-in", "--kind", "relationship", "--role", "mentee", "--due", "1 month",
             user=CORA, now=t(42))
    run.json("milestone", "define", "Intro", "--kind", "program", "--role", "mentor", "--due", "2 weeks",
             "--description", "Say hello", user=CORA, now=t(42))
    run("milestone", "define", "Intro", "--kind", "program", "--role", "mentor", "--due", "1 week", user=CORA,
        now=t(42), code=1)
    run.json("milestone", "done", "Check-in", user=ANA, now=t(42))
    run("milestone", "done", "Check-in", "--loop", l1, user=BO, now=t(42), code=1)
    run.json("milestone", "done", "Intro", user=BO, now=t(42))
    run("milestone", "done", "Intro", user=BO, now=t(42), code=1)
    run.json("milestone", "undo", "Intro", user=BO, now=t(42, 1))
    run.json("milestone", "done", "Intro", user=EVE, now=t(42, 1))
    run.json("milestone", "list", user=CORA, now=t(42, 2))
    run.json("milestone", "list", user=CY, now=t(42, 2))
    run.json("status", user=BO, now=t(42, 2))
    run.json("coordinator", "report", user=CORA, now=t(42, 2))

    # Program design: settings, thresholds per stage, starter goals, agreements, pairing fit, check-ins.
    run.json("program", "show", user=CORA, now=t(42, 3))
    run.json("program", "set", "--stage-stall-days", "first_meeting=10", "--momentum-meetings", 3, user=CORA, now=t(42, 3))
    run("program", "set", "--stage-stall-days", "completed=3", user=CORA, now=t(42, 3), code=2)
    run.json("program", "list", now=t(42, 3))
    starter = run.json("program", "goal", "add", "Agree on ground rules", "--locked", user=CORA, now=t(42, 3))["id"]
    run.json("program", "goal", "list", user=CORA, now=t(42, 3))
    run.json("agreement", "set", l1, "--notes-by", "mentee", "--agenda-by", "mentor", "--cadence", "2w", user=ANA,
             now=t(42, 4))
    run.json("agreement", "show", l1, user=CORA, now=t(42, 4))
    run.json("feedback", "give", l1, "--fit", "poor", user=BO, now=t(42, 4))
    run.json("status", user=ANA, now=t(75))
    run.json("coordinator", "report", user=CORA, now=t(75))
    run.json("program", "goal", "remove", starter, user=CORA, now=t(75))

    exported = tmp / "walk.jsonl"
    run.json("export", "--out", exported, user=CORA, now=t(43))
    export = run("export", user=CORA, now=t(43)).stdout
    assert export == exported.read_text()
    renamed = export.replace('"name": "Walk"', '"name": "Walk copy"', 1)
    copy = tmp / "walk-copy.jsonl"
    copy.write_text(renamed)
    run.json("import", copy, user=CORA, now=t(44))
    run.json("coordinator", "report", "--program", "Walk copy", user=CORA, now=t(40))
    # Ids go on after an import, on every table.
    run.json("participant", "add", "--name", "Fay", "--email", "fay@example.org", "--role", "mentee",
             user=CORA, now=t(45))
    l4 = run.json("match", "create", "--mentor", EVE, "--mentee", "fay@example.org", user=CORA, now=t(45))["id"]
    m4 = run.json("meet", "log", l4, "--at", t(45, 1), user=EVE, now=t(45, 2))["id"]
    run.json("feedback", "give", l4, "--meeting", m4, "--rating", 3, user=EVE, now=t(45, 3))
    run.json("goal", "add", l4, "Find a rhythm", user=EVE, now=t(45, 3))
    # Nudges and the activity report (issue 5, items 7 and 9).
    nudge_body = tmp / "nudge.txt"
    nudge_body.write_text("Hi {first_name}: {days} days at {stage} with {partner} (loop {loop}).\n{coordinator}\n")
    run.json("coordinator", "nudge-template", "set", "matched", "--subject", "{program}: a nudge",
             "--body-file", nudge_body, user=CORA, now=t(46))
    run.json("coordinator", "nudge-template", "list", user=CORA, now=t(46))
    run.json("coordinator", "nudge", "--dry-run", user=CORA, now=t(70))
    run.json("coordinator", "nudge", "--stalled", "--out", tmp / "outbox", user=CORA, now=t(70))
    run.json("coordinator", "nudge", "--stage", "getting_started", user=CORA, now=t(72))  # nudged 2 days ago: skipped
    run("coordinator", "report", "--stalled", user=CORA, now=t(73))
    run.json("coordinator", "nudge-template", "reset", user=CORA, now=t(73))
    run.json("coordinator", "report", "--activity", "--since", t(0), user=CORA, now=t(73))
    run("coordinator", "report", "--activity", "--csv", user=CORA, now=t(73))
    run("coordinator", "report", "--activity", user=CORA, now=t(73))
    # Journey certificates (the files go to tmp, whose path the comparison masks), and a participant's card.
    run.json("feedback", "give", l2, "--rating", 5, user=CY, now=t(46))
    run.json("share", l2, "--out", tmp, user=CY, now=t(46, 1))
    run("share", l2, "--out", tmp, "--format", "html", "--issuer", "Walk & Co", user=CY, now=t(46, 2))
    run("share", l1, "--out", tmp, user=ANA, now=t(46, 2))
    run.json("coordinator", "participant", CY, user=CORA, now=t(46, 3))
    run("coordinator", "participant", CY, user=CORA, now=t(46, 3))
    # Matching (issue 6): profiles, an edit, a proposal in every format, then applied.
    run.json("participant", "add", "--name", "Gus", "--email", "gus@example.org", "--role", "mentor", "--capacity", 2,
             "--offers", "career,design", "--timezone", "Europe/Lisbon", "--department", "Eng", user=CORA, now=t(47))
    run.json("participant", "add", "--name", "Hal", "--email", "hal@example.org", "--role", "mentee",
             "--seeks", "design", "--timezone", "Europe/Berlin", "--goals", "Ship a portfolio", user=CORA, now=t(47))
    run.json("participant", "edit", "hal@example.org", "--department", "Sales", user="hal@example.org", now=t(47))
    run("participant", "edit", "hal@example.org", "--timezone", "Mars/Base", user=CORA, now=t(47), code=2)
    run.json("match", "suggest", user=CORA, now=t(47, 1))
    run("match", "suggest", "--csv", user=CORA, now=t(47, 1))
    run("match", "suggest", user=CORA, now=t(47, 1))
    run("match", "suggest", "--apply", user=ANA, now=t(47, 1), code=1)
    run.json("match", "suggest", "--mentee", "hal@example.org", "--apply", user=CORA, now=t(47, 2))
    run.json("match", "suggest", "--apply", "--min-score", 1, user=CORA, now=t(47, 3))
    # Scripting (issue 17): the program as a file, hooks, a batch; loop health (issue 18).
    design = tmp / "walk.toml"
    design.write_text(run("program", "dump", user=CORA, now=t(48)).stdout.replace("stall_days = 14", "stall_days = 15"))
    run.json("program", "apply", design, "--dry-run", user=CORA, now=t(48))
    run.json("program", "apply", design, user=CORA, now=t(48))
    hooks = {"MLOOP_HOOKS": str(tmp / "hooks")}
    run("hooks", "path", env=hooks, now=t(48))
    run.json("hooks", "list", env=hooks, now=t(48))
    script = tmp / "week.txt"
    script.write_text("program show\ncoordinator report --health\nfeedback give 99 --rating 4\n")
    run("batch", "--json", "--keep-going", script, user=CORA, now=t(48), code=1)
    run.json("coordinator", "report", "--health", user=CORA, now=t(48))
    run.json("demo", "--force", now=DEMO_NOW)
    run.json("coordinator", "report", "--program", "Spring 2026 Mentoring", user=SAMPLE_COORDINATOR, now=DEMO_NOW)


def test_every_command_gives_the_same_answers_on_postgresql_as_on_sqlite(sqlite_cli, pg_cli, tmp_path):
    on_sqlite = Transcript(sqlite_cli, tmp_path / "sqlite")
    on_postgres = Transcript(pg_cli, tmp_path / "postgres")
    for run in (on_sqlite, on_postgres):
        run.tmp.mkdir()
        lived_program(run)
    # The 'db' commands are about PostgreSQL's login roles and refused on SQLite by design;
    # tests/test_pg_security.py runs them.
    postgresql_only = {command for command in every_command() if command.startswith("db ")}
    assert on_postgres.commands == every_command() - postgresql_only, "the walk must run every command"
    assert len(on_postgres.lines) == len(on_sqlite.lines)

    def same_paths(text: str, run: Transcript) -> str:
        """Paths and each new meeting's random calendar UID differ between the runs, nothing else may."""
        import re

        from mloop.store.db import describe, resolve_url

        store = describe(resolve_url(str(run.cli.db)))
        text = re.sub(r"[0-9a-f]{32}@mloop", "<uid>", text)
        return text.replace(store, "<store>").replace(str(run.tmp), "<tmp>")

    for pg_line, sqlite_line in zip(on_postgres.lines, on_sqlite.lines):
        command, code, out, err = pg_line
        assert (code, same_paths(out, on_postgres), same_paths(err, on_postgres)) == (
            sqlite_line[1], same_paths(sqlite_line[2], on_sqlite), same_paths(sqlite_line[3], on_sqlite)
        ), f"mloop {command} differs between PostgreSQL and SQLite"


def test_sample_program_reports_the_same_on_postgresql(sqlite_cli, pg_cli):
    reports = []
    for cli in (sqlite_cli, pg_cli):
        cli.ok("import", SAMPLE, "--json", now=DEMO_NOW)
        reports.append(cli.json("coordinator", "report", user=SAMPLE_COORDINATOR, now=DEMO_NOW))
    on_sqlite, on_postgres = reports
    assert on_postgres == on_sqlite
    expected = json.loads((SAMPLE.parent / "expected.json").read_text())
    assert on_postgres["stages"] == expected["stages"]


def test_export_from_sqlite_piped_into_postgresql_round_trips(sqlite_cli, pg_cli):
    """mloop export | mloop --db postgresql+psycopg://… import -"""
    sqlite_cli.ok("import", SAMPLE, now=DEMO_NOW)
    exported = sqlite_cli.ok("export", user=SAMPLE_COORDINATOR, now=DEMO_NOW).stdout
    summary = pg_cli.json("import", "-", input=exported, now=DEMO_NOW)
    assert summary["created_program"] is True
    assert pg_cli.ok("export", user=SAMPLE_COORDINATOR, now=DEMO_NOW).stdout == exported

    # The sequences were moved past the imported ids: new rows get the next ones.
    counts = summary["records"]
    person = pg_cli.json("participant", "add", "--name", "New Mentor", "--email", "new.mentor@example.org",
                         "--role", "mentor", "--joined", "2026-05-20", user=SAMPLE_COORDINATOR, now=DEMO_NOW)
    mentee = pg_cli.json("participant", "add", "--name", "New Mentee", "--email", "new.mentee@example.org",
                         "--role", "mentee", "--joined", "2026-05-20", user=SAMPLE_COORDINATOR, now=DEMO_NOW)["email"]
    people = pg_cli.json("participant", "list", user=SAMPLE_COORDINATOR, now=DEMO_NOW)
    assert len(people) == counts["participant"] + 2 and person["email"] == "new.mentor@example.org"
    loop = pg_cli.json("match", "create", "--mentor", "new.mentor@example.org", "--mentee", mentee,
                       "--at", "2026-05-25T09:00:00Z", user=SAMPLE_COORDINATOR, now=DEMO_NOW)
    assert loop["id"] == counts["match"] + 1
    meeting = pg_cli.json("meet", "schedule", loop["id"], "--at", "2026-06-03T10:00:00Z",
                          user="new.mentor@example.org", now=DEMO_NOW)
    assert meeting["id"] == counts["meeting"] + 1
    logged = pg_cli.json("meet", "log", loop["id"], "--at", "2026-06-01T08:00:00Z",
                         user="new.mentor@example.org", now=DEMO_NOW)
    feedback = pg_cli.json("feedback", "give", loop["id"], "--meeting", logged["id"], "--rating", 5,
                           user="new.mentor@example.org", now=DEMO_NOW)
    assert feedback["id"] == counts["feedback"] + 1
    goal = pg_cli.json("goal", "add", loop["id"], "Settle in", user=mentee, now=DEMO_NOW)
    assert goal["id"] == counts["goal"] + 1


def test_a_bad_import_leaves_postgresql_unchanged(pg_cli):
    pg_cli.ok("import", SAMPLE, now=DEMO_NOW)
    before = pg_cli.ok("export", user=SAMPLE_COORDINATOR, now=DEMO_NOW).stdout
    broken = "\n".join([
        '{"type": "program", "name": "Other"}',
        '{"type": "participant", "email": "x@example.org", "name": "X", "roles": ["mentor"]}',
        '{"type": "participant", "email": "x@example.org", "name": "X again", "roles": ["mentee"]}',
    ])
    pg_cli.fails("import", "-", input=broken, now=DEMO_NOW, match="line 3")
    assert pg_cli.ok("export", user=SAMPLE_COORDINATOR, now=DEMO_NOW).stdout == before
    pg_cli.fails("participant", "list", "--program", "Other", user=SAMPLE_COORDINATOR, now=DEMO_NOW,
                 match="Other")


def test_connections_read_utc_without_jit_and_keep_the_urls_own_options(pg_url):
    """The server of the tests runs in Pacific/Auckland with JIT on by default:
    mloop's sessions still get UTC times and no JIT, and options given in the
    URL are kept beside them."""
    from mloop.store.db import make_engine

    for url, statement_timeout in ((pg_url, "0"), (f"{pg_url}?options=-c%20statement_timeout%3D5000", "5s")):
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                settings = {name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
                            for name in ("TimeZone", "jit", "statement_timeout")}
                read_back = conn.exec_driver_sql("SELECT TIMESTAMPTZ '2026-07-01 12:00:00+02'").scalar_one()
        finally:
            engine.dispose()
        assert settings == {"TimeZone": "UTC", "jit": "off", "statement_timeout": statement_timeout}
        assert read_back == datetime(2026, 7, 1, 10, 0, tzinfo=timezone.utc)
        assert read_back.utcoffset() == timedelta(0)


def _vacuumed_tables(url: str) -> dict[str, bool]:
    from mloop.store.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT relname, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL FROM pg_stat_user_tables"
            ).all()
    finally:
        engine.dispose()
    return dict(rows)


def test_import_refreshes_the_servers_statistics_for_the_tables_it_loaded(pg_cli, pg_url):
    """A large import is followed by reports: the import vacuums and analyses
    what it loaded (autovacuum would come minutes later, beside the reports)."""
    summary = pg_cli.json("import", SAMPLE, now=DEMO_NOW)
    done = _vacuumed_tables(pg_url)
    loaded = {"participant", "loop", "meeting", "feedback", "goal"}
    assert all(summary["records"][kind] for kind in ("participant", "match", "meeting", "feedback", "goal"))
    assert all(done[table] for table in loaded), done
    assert not done["nudge"]  # nothing was loaded into it: left alone


def test_refreshing_statistics_on_a_connection_that_just_wrote_takes_no_write_lock(pg_url):
    """A pooled connection is a writer only for the checkout that said so.
    VACUUM runs outside any transaction, on the connection that served the
    import's write a moment before: it must not try to take the write lock
    there (the server warned "SET LOCAL can only be used in transaction
    blocks" after every import)."""
    from sqlalchemy import event

    from mloop.store import db

    engine = db.open_store(pg_url)
    try:
        with db.session_scope(engine, write=True) as session:
            session.connection().exec_driver_sql("SELECT 1")
        sent: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda _conn, _cursor, sql, *_rest: sent.append(sql))
        db.refresh_planner_statistics(engine, ["program", "loop"])
        assert sent == ["VACUUM (ANALYZE) program, loop"]
    finally:
        engine.dispose()


def test_an_import_whose_statistics_cannot_be_refreshed_still_lands(pg_cli, monkeypatch):
    """The rows are committed before the statistics are refreshed: a failure
    there is a note on stderr, not a failed import."""
    import sqlalchemy as sa

    from mloop.store import db

    def refused(engine, tables):
        raise sa.exc.OperationalError("VACUUM", {}, Exception("permission denied to vacuum"))

    monkeypatch.setattr(db, "refresh_planner_statistics", refused)
    result = pg_cli.ok("import", SAMPLE, "--json", now=DEMO_NOW)
    assert json.loads(result.stdout)["created_program"] is True
    assert result.stderr.strip() == (
        "note: imported, but could not refresh the server's statistics (permission denied to vacuum); "
        "reports may be slow until autovacuum has run"
    )
    assert pg_cli.json("coordinator", "report", user=SAMPLE_COORDINATOR, now=DEMO_NOW)["stages"]


AWKWARD = "tab\there, new\nline, back\\slash, \\N, \\., quote \" and ' , café ✓ 😀, comma,semicolon;"
# A name or a title is one line: the same awkward text without its tab and newline.
AWKWARD_LINE = AWKWARD.replace("\t", " ").replace("\n", " ")


def test_postgresql_import_copies_awkward_text_exactly(sqlite_cli, pg_cli, pg_server):
    """PostgreSQL takes imported rows by COPY: text with tabs, newlines,
    backslashes, a literal \\N and non-ASCII comes back byte for byte, and the
    export equals SQLite's."""
    lines = [
        {"type": "program", "name": "Awkward"},
        {"type": "participant", "email": "coord@example.org", "name": "C " + AWKWARD_LINE, "roles": ["coordinator"],
         "joined_at": "2026-01-05T09:00:00Z"},
        {"type": "participant", "email": "m@example.org", "name": AWKWARD_LINE, "roles": ["mentor"],
         "joined_at": "2026-01-05T09:00:00Z", "offers": ["a b", "c\\d"]},
        {"type": "participant", "email": "e@example.org", "name": "E", "roles": ["mentee"],
         "joined_at": "2026-01-06T09:00:00Z"},
        {"type": "match", "ref": "L1", "mentor": "m@example.org", "mentee": "e@example.org",
         "matched_at": "2026-02-02T10:00:00Z"},
        {"type": "meeting", "ref": "M1", "loop": "L1", "start": "2026-02-05T16:00:00Z", "status": "held",
         "created_at": "2026-02-03T09:00:00Z", "agenda": AWKWARD, "notes": AWKWARD + "\r\n"},
        {"type": "feedback", "loop": "L1", "meeting": "M1", "author": "e@example.org", "rating": 4,
         "created_at": "2026-02-05T18:00:00Z", "comment": AWKWARD},
        {"type": "goal", "ref": "G1", "loop": "L1", "title": AWKWARD_LINE, "created_at": "2026-02-05T17:00:00Z",
         "shared_at": "2026-02-06T09:00:00Z"},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    with pg_server._admin() as conn:  # content is exported to logins in mloop_content (the suite's superuser is in every role)
        conn.execute("DO $$ BEGIN CREATE ROLE mloop_content NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
    exports = []
    for cli in (sqlite_cli, pg_cli):
        cli.ok("import", "-", input=text, now=DEMO_NOW)
        exports.append(cli.ok("export", "--include-content", user="coord@example.org", now=DEMO_NOW).stdout)
    assert exports[1] == exports[0]
    records = [json.loads(line) for line in exports[1].splitlines()]
    meeting = next(r for r in records if r["type"] == "meeting")
    assert (meeting["agenda"], meeting["notes"]) == (AWKWARD, AWKWARD + "\r\n")
    assert next(r for r in records if r["type"] == "feedback")["comment"] == AWKWARD
    assert next(r for r in records if r.get("email") == "m@example.org")["name"] == AWKWARD_LINE


def test_a_constraint_broken_inside_copy_is_the_imports_conflict_and_keeps_nothing(pg_cli, monkeypatch):
    """The importer checks the file's rules itself; should a row still break a
    constraint of the store, COPY's error becomes the same one-line conflict
    INSERT gave (exit 1), and the transaction keeps nothing."""
    from mloop.store import transfer

    pg_cli.ok("import", SAMPLE, now=DEMO_NOW)
    before = pg_cli.ok("export", user=SAMPLE_COORDINATOR, now=DEMO_NOW).stdout
    # Make the importer hand out a participant id that is already taken.
    real_id = transfer.Importer._id

    def reused(self, model):
        return 1 if model is transfer.Participant else real_id(self, model)

    monkeypatch.setattr(transfer.Importer, "_id", reused)
    other = "\n".join([
        '{"type": "program", "name": "Other"}',
        '{"type": "participant", "email": "x@example.org", "name": "X", "roles": ["mentor"]}',
    ])
    result = pg_cli.fails("import", "-", input=other, now=DEMO_NOW, match="breaks a rule of the store")
    assert result.stderr.strip() == ('mloop: error: the file breaks a rule of the store: '
                                     'duplicate key value violates unique constraint "participant_pkey"')
    monkeypatch.undo()
    assert pg_cli.ok("export", user=SAMPLE_COORDINATOR, now=DEMO_NOW).stdout == before
    pg_cli.fails("participant", "list", "--program", "Other", user=SAMPLE_COORDINATOR, now=DEMO_NOW, match="Other")
