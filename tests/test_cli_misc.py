"""The command surface as a whole: help and the command reference for every command, a light
``--help``, the deterministic demo, export/import round trips, people imports,
and machine-readable output of every listing."""

from __future__ import annotations

import csv
import inspect
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from mloop import cli
from mloop.cli import app

REPO = Path(__file__).resolve().parent.parent
STAGE_LABELS = ("Getting Started", "Matched", "First Meeting", "Grow Together", "Levelling Up", "Completed")
DEMO_PROGRAM = "Spring 2026 Mentoring"


def command_tree():
    """(path, command) for every group and command under the root, depth first."""
    root = typer.main.get_command(app)
    found = []

    def walk(command, path):
        found.append((path, command))
        if hasattr(command, "list_commands"):  # a group (Typer may carry its own copy of Click)
            context = command.context_class(command, info_name=path[-1] if path else "mloop")
            for name in command.list_commands(context):
                walk(command.get_command(context, name), [*path, name])

    walk(root, [])
    return found


COMMANDS = command_tree()
LEAVES = [" ".join(path) for path, command in COMMANDS if not hasattr(command, "list_commands")]
GROUPS = [" ".join(path) for path, command in COMMANDS if path and hasattr(command, "list_commands")]


def test_the_tree_has_the_contract_commands():
    for expected in ("init", "demo", "status", "share", "import", "export", "participant add", "match create",
                     "match end", "meet schedule", "meet log", "meet done", "goal add", "goal task add",
                     "feedback give", "coordinator report"):
        assert expected in LEAVES


@pytest.mark.parametrize("path", LEAVES + GROUPS)
def test_every_command_has_help(cli, path):
    [command] = [c for p, c in COMMANDS if " ".join(p) == path]
    assert (command.help or "").strip(), f"'mloop {path}' has no help text"
    result = cli(*path.split(), "--help")
    assert result.exit_code == 0, result.stderr
    assert "Usage:" in result.stdout and result.stderr == ""
    if not hasattr(command, "list_commands"):
        for param in command.params:
            if getattr(param, "param_type_name", "") == "option" and not param.hidden:
                assert (param.help or "").strip(), f"'mloop {path}' option {param.opts} has no help"


def test_no_command_declares_an_option_of_the_root():
    """A root option ('mloop --program NAME init') is also read after the command
    ('mloop init --program NAME': cli.hoist_global_options moves it to the front),
    so a command's own option of the same name would never get its value."""
    [root] = [command for path, command in COMMANDS if not path]
    declared = set(inspect.signature(cli.root).parameters)  # the root callback's own, not Typer's completion
    root_names = {name for param in root.params if param.name in declared
                  for name in (*param.opts, *param.secondary_opts)}
    assert set(cli.GLOBAL_OPTIONS) <= root_names
    for path, command in COMMANDS:
        if path:
            names = {name for param in command.params for name in (*param.opts, *param.secondary_opts)}
            assert not names & root_names, f"'mloop {' '.join(path)}' declares {sorted(names & root_names)}"


@pytest.mark.parametrize("path", LEAVES)
def test_every_command_is_in_the_command_reference(path):
    reference = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    assert f"mloop {path}" in reference, f"docs/commands.md does not mention 'mloop {path}'"


def test_the_readme_names_every_command_group():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for path in LEAVES:
        assert f"mloop {path.split()[0]}" in readme, f"README.md does not mention 'mloop {path.split()[0]}'"


@pytest.mark.parametrize("path", ["", "meet", "goal task", "coordinator nudge-template"])
def test_a_group_alone_prints_its_help(cli, path):
    """'mloop' or 'mloop meet' with nothing after it shows what --help shows (it used to print nothing)."""
    bare = cli(*path.split())
    assert (bare.exit_code, bare.stderr) == (0, "")
    assert bare.stdout == cli(*path.split(), "--help").stdout
    assert "Usage: mloop" in bare.stdout and "Commands:" in bare.stdout


def test_help_does_not_import_the_store_stack():
    code = (
        "import sys\n"
        "sys.argv = ['mloop', '--help']\n"
        "from mloop.cli import run\n"
        "try:\n"
        "    run()\n"
        "except SystemExit as exit:\n"
        "    code = exit.code\n"
        "heavy = sorted(m for m in ('sqlalchemy', 'sqlmodel', 'icalendar') if m in sys.modules)\n"
        "sys.stderr.write('RESULT ' + repr((code, heavy)) + '\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO)
    result = [line for line in done.stderr.splitlines() if line.startswith("RESULT ")]
    assert result, done.stderr
    assert result[-1] == "RESULT (0, [])", f"mloop --help imported {result[-1]}"
    assert "Usage:" in done.stdout


# --- the demo ---------------------------------------------------------------------------


def test_demo_is_deterministic_and_shows_the_funnel(cli, tmp_path):
    first = cli.ok("demo")
    second = cli.ok("demo", db=tmp_path / "other.db")
    assert first.stdout == second.stdout
    for label in STAGE_LABELS:
        assert label in first.stdout
    assert DEMO_PROGRAM in first.stdout
    third = cli.json("demo", db=tmp_path / "third.db")
    assert list(third["stages"]) == ["getting_started", "matched", "first_meeting", "grow_together",
                                     "levelling_up", "completed"]
    assert third == cli.json("coordinator", "report", db=tmp_path / "third.db", now="2026-06-01T09:00:00Z")


def test_demo_refuses_a_store_with_another_program_unless_forced(cli):
    cli.ok("init", "--program", "Our own")
    before = cli.snapshot()
    result = cli.fails("demo")
    assert result.stderr == ("mloop: error: this store already holds the program 'Our own': add the demo beside it "
                             "with --force, or give the demo a store of its own with --db FILE\n")
    assert cli.snapshot() == before
    forced = cli.ok("demo", "--force")
    assert "Completed" in forced.stdout
    assert cli.json("participant", "list", "--program", DEMO_PROGRAM)
    assert cli.json("participant", "list", "--program", "Our own") == []


# --- export and import --------------------------------------------------------------------


def round_trip(cli, tmp_path: Path) -> None:
    exported = cli.ok("export").stdout
    records = [json.loads(line) for line in exported.splitlines()]
    assert records[0]["type"] == "program"
    (tmp_path / "program.jsonl").write_text(exported, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    summary = cli.json("import", tmp_path / "program.jsonl", db=fresh)
    assert summary["created_program"] is True
    again = cli.ok("export", db=fresh).stdout
    assert again == exported
    # --out writes the same bytes.
    cli.ok("export", "--out", tmp_path / "out.jsonl", db=fresh)
    assert (tmp_path / "out.jsonl").read_text(encoding="utf-8") == exported


def test_export_import_export_of_the_demo(cli, tmp_path):
    cli.ok("demo")
    round_trip(cli, tmp_path)


def test_export_import_export_of_a_store_built_by_commands(cli, tmp_path, make_program, add_person, make_loop):
    make_program("Round trip", stall_days=14, momentum_meetings=2)
    add_person("cora@example.org", "coordinator", name="Cora Ñúñez")
    add_person("bo@example.org", "mentor", "mentee", capacity=3, offers="python,sql", seeks="leadership",
               joined=cli.at(days=-3))
    add_person("ana@example.org", "mentee", seeks="python", joined=cli.at(days=-3))
    add_person("cy@example.org", "mentee", joined=cli.at(days=-3))
    loop = make_loop("bo@example.org", "ana@example.org", matched_at=cli.at(days=-2))
    ended = make_loop("bo@example.org", "cy@example.org", matched_at=cli.at(days=-2))
    ana, bo = {"user": "ana@example.org"}, {"user": "bo@example.org"}
    held = cli.json("meet", "log", loop, "--at", cli.at(days=-1), "--notes", "Intro", "--where", "Zoom", **ana)["id"]
    booked = cli.json("meet", "schedule", loop, "--at", cli.at(days=5), "--agenda", "Goals 🎯", **ana)["id"]
    cancelled = cli.json("meet", "schedule", loop, "--at", cli.at(days=6), **bo)["id"]
    cli.ok("meet", "cancel", cancelled, **bo)
    cli.ok("feedback", "give", loop, "--meeting", held, "--rating", 5, "--comment", "Great \"start\"", **ana)
    cli.ok("feedback", "give", loop, "--rating", 2, **bo)
    goal = cli.json("goal", "add", loop, "Ship a package", "--term", "long", "--due", "2026-06-30", **ana)["id"]
    cli.ok("goal", "task", "add", goal, "Write the README", "--due", "2026-04-01", **ana)
    cli.ok("goal", "add", loop, "Private plan", "--private", **bo)
    cli.ok("goal", "done", goal, **bo)
    # A journey is shared from Levelling Up: a second held meeting and Ana's own loop feedback first.
    cli.ok("meet", "log", loop, "--at", cli.at(hours=-2), **ana)
    cli.ok("feedback", "give", loop, "--rating", 4, **ana)
    cli.ok("share", loop, "--out", tmp_path, **ana)
    cli.ok("match", "end", ended, "--outcome", "cancelled", "--reason", "Moved away")
    assert booked
    round_trip(cli, tmp_path)


def test_import_from_stdin(cli, tmp_path):
    cli.ok("demo", db=tmp_path / "demo.db")
    exported = cli.ok("export", db=tmp_path / "demo.db").stdout
    summary = cli.json("import", "-", input=exported)
    assert summary["program"] == DEMO_PROGRAM
    assert cli.ok("export").stdout == exported


# --- importing people ----------------------------------------------------------------------


def test_participant_import_csv(cli, tmp_path, make_program, add_person):
    make_program()
    add_person("cora@example.org", "coordinator")
    people = tmp_path / "people.csv"
    people.write_text(
        "name,email,role,capacity,offers,seeks,joined_at\n"
        "Bo Chen,bo@example.org,mentor,2,\"python,leadership\",,2026-01-05T09:00:00Z\n"
        "Ana Lima,ana@example.org,mentee,,,python,\n"
        "Dee Park,dee@example.org,\"mentor,mentee\",1,sql,design,2026-02-01 10:00\n",
        encoding="utf-8",
    )
    assert cli.json("participant", "import", people) == {
        "imported": 3, "emails": ["bo@example.org", "ana@example.org", "dee@example.org"],
    }
    listed = {p["email"]: p for p in cli.json("participant", "list")}
    assert listed["bo@example.org"]["roles"] == ["mentor"] and listed["bo@example.org"]["capacity"] == 2
    assert listed["bo@example.org"]["offers"] == ["python", "leadership"]
    assert listed["bo@example.org"]["joined_at"] == "2026-01-05T09:00:00Z"
    assert listed["ana@example.org"]["joined_at"] == cli.iso(cli.NOW)
    assert listed["dee@example.org"]["roles"] == ["mentor", "mentee"]
    assert listed["dee@example.org"]["joined_at"] == "2026-02-01T10:00:00Z"  # MLOOP_TZ=UTC
    mentors = [p["email"] for p in cli.json("participant", "list", "--role", "mentor")]
    assert sorted(mentors) == ["bo@example.org", "dee@example.org"]


def test_participant_import_jsonl(cli, tmp_path, make_program, add_person):
    make_program()
    add_person("cora@example.org", "coordinator")
    people = tmp_path / "people.jsonl"
    people.write_text(
        '{"type": "program", "name": "ignored"}\n'
        '{"type": "participant", "email": "bo@example.org", "name": "Bo", "roles": ["mentor"], "capacity": 3, '
        '"offers": ["python"], "joined_at": "2026-01-05T09:00:00Z"}\n'
        "\n"
        '{"email": "ana@example.org", "name": "Ana", "role": "mentee", "seeks": "python, sql"}\n',
        encoding="utf-8",
    )
    assert cli.json("participant", "import", people)["emails"] == ["bo@example.org", "ana@example.org"]
    bo = cli.json("participant", "show", "bo@example.org")
    assert (bo["capacity"], bo["offers"], bo["joined_at"]) == (3, ["python"], "2026-01-05T09:00:00Z")
    assert cli.json("participant", "show", "ana@example.org")["seeks"] == ["python", "sql"]


def test_participant_import_from_stdin(cli, make_program, add_person):
    make_program()
    add_person("cora@example.org", "coordinator")
    result = cli.json("participant", "import", "-", input="name,email,role\nAna,ana@example.org,mentee\n")
    assert result == {"imported": 1, "emails": ["ana@example.org"]}


# --- machine-readable output ---------------------------------------------------------------

DEMO_NOW = "2026-06-01T09:00:00Z"
LISTINGS = [
    ("participant", "list"),
    ("participant", "list", "--role", "mentee"),
    ("match", "list"),
    ("match", "list", "--all"),
    ("meet", "list"),
    ("meet", "list", "--upcoming"),
    ("goal", "list"),
    ("feedback", "list"),
    ("coordinator", "report"),
    ("coordinator", "report", "--stalled"),
    ("coordinator", "report", "--at-risk"),
    ("coordinator", "report", "--stage", "grow_together"),
]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, make_cli) -> Path:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    make_cli(db).ok("demo")
    return db


def demo_people(cli, demo_store) -> tuple[str, str]:
    """A fresh copy of the demo store for this test, and the mentee and mentor of its first active loop."""
    cli.copy_from(demo_store)
    first = cli.json("match", "list", now=DEMO_NOW)[0]
    return first["mentee"], first["mentor"]


@pytest.mark.parametrize(
    "listing, as_participant",
    [(listing, False) for listing in LISTINGS] + [(listing, True) for listing in LISTINGS if listing[0] != "coordinator"],
    ids=lambda value: " ".join(value) if isinstance(value, tuple) else ("as participant" if value else "as coordinator"),
)
def test_every_listing_prints_one_json_document(cli, demo_store, listing, as_participant):
    mentee, _mentor = demo_people(cli, demo_store)
    user = mentee if as_participant else None
    result = cli.ok(*listing, "--json", user=user, now=DEMO_NOW)
    document = json.loads(result.stdout)  # exactly one document: trailing data would fail here
    assert document or listing == ("meet", "list", "--upcoming")
    assert result.stderr == ""
    if listing[0] != "coordinator":
        table = cli.ok(*listing, user=user, now=DEMO_NOW)
        assert table.stdout.strip() and table.stderr == ""


@pytest.mark.parametrize("listing", LISTINGS, ids=" ".join)
def test_every_listing_prints_csv(cli, demo_store, listing):
    cli.copy_from(demo_store)
    result = cli.ok(*listing, "--csv", now=DEMO_NOW)
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows and all(len(row) == len(rows[0]) for row in rows)


def test_other_json_documents_parse(cli, demo_store):
    mentee, mentor = demo_people(cli, demo_store)
    for args, user in (
        (("status",), mentee),
        (("status", "--history"), mentor),
        (("participant", "show", mentee), None),
        (("participant", "show", mentee), mentee),
        (("coordinator", "participant", mentor), None),
        (("export",), None),
    ):
        result = cli.ok(*args, "--json", user=user, now=DEMO_NOW)
        json.loads(result.stdout)


def test_report_tables_show_the_longest_waits_first_up_to_limit(cli, demo_store):
    cli.copy_from(demo_store)
    everyone = cli.json("coordinator", "report", now=DEMO_NOW)["stalled"]
    assert len(everyone) > 3
    waits = [row["days_in_stage"] for row in everyone]
    assert waits == sorted(waits, reverse=True)
    # Within a whole day, the one waiting longer still comes first.
    starts = [row["stage_since"] for row in everyone]
    assert starts == sorted(starts)

    table = cli.ok("coordinator", "report", "--stalled", "--limit", "3", now=DEMO_NOW).stdout
    shown = [row["email"] for row in everyone if row["email"] in table]
    assert shown == [row["email"] for row in everyone[:3]]
    assert f"… and {len(everyone) - 3} more stalled people (--limit 0 shows all {len(everyone)};" in table

    table = cli.ok("coordinator", "report", "--stalled", "--limit", "0", now=DEMO_NOW).stdout
    assert all(row["email"] in table for row in everyone) and "more stalled people" not in table


def test_report_limit_never_shortens_json_or_csv(cli, demo_store):
    cli.copy_from(demo_store)
    full = cli.json("coordinator", "report", now=DEMO_NOW)
    assert cli.json("coordinator", "report", "--limit", "1", now=DEMO_NOW) == full
    assert "stalled_total" not in full
    rows = list(csv.DictReader(io.StringIO(cli.ok("coordinator", "report", "--stalled", "--csv", "--limit", "1", now=DEMO_NOW).stdout)))
    assert len(rows) == len(full["stalled"])


def test_report_limit_must_not_be_negative(cli, demo_store):
    cli.copy_from(demo_store)
    cli.fails("coordinator", "report", "--limit", "-1", code=2, match="--limit")


def test_import_keeps_meeting_uids_derives_missing_ones_the_same_way_and_refuses_a_uid_twice(cli, tmp_path):
    cli.ok("demo", db=tmp_path / "demo.db")
    records = [json.loads(line) for line in cli.ok("export", db=tmp_path / "demo.db").stdout.splitlines()]
    meetings = [r for r in records if r["type"] == "meeting"]
    assert len({(m["loop"], m["uid"]) for m in meetings}) == len(meetings) and all(m["uid"] for m in meetings)
    # The demo is loaded from a file without UIDs: loading it again derives the same ones.
    cli.ok("demo", db=tmp_path / "again.db")
    assert cli.ok("export", db=tmp_path / "again.db").stdout == cli.ok("export", db=tmp_path / "demo.db").stdout

    first, second = meetings[0], next(m for m in meetings[1:] if m["loop"] == meetings[0]["loop"])
    second["uid"] = first["uid"]
    line = records.index(second) + 1
    (tmp_path / "twice.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    cli.ok("init", "--program", "Target")
    before = cli.snapshot()
    cli.fails("import", tmp_path / "twice.jsonl",
              match=f"line {line}: uid {first['uid']!r} is already used by another meeting of loop {first['loop']}")
    assert cli.snapshot() == before


def test_text_that_looks_like_rich_markup_is_shown_as_written(cli, make_program, add_person, make_loop):
    """Names, emails' neighbours, program names, skills and goal titles are the
    users' own text: square brackets in them are printed as typed on the
    terminal, never read as Rich markup (an unmatched closing tag used to fail
    the command, and '[bold]' vanished)."""
    program = "Team [/x] [bold]A"
    make_program(program)
    mentor_name, mentee_name = "Bo [/b] Berg", "Cy [red]Ray[/red]"
    add_person("bo@example.org", "mentor", name=mentor_name, offers="python [/x]")
    add_person("cy@example.org", "mentee", name=mentee_name, seeks="python [/x]")
    added = cli.ok("participant", "add", "--name", "Di [/i]", "--email", "di@example.org", "--role", "mentee")
    assert "Added Di [/i] <di@example.org>" in added.stdout
    add_person("ed@example.org", "mentee", name="Ed")
    with sqlite3.connect(cli.db) as db:  # a store written before emails were validated may hold brackets
        db.execute("UPDATE participant SET email = 'ed[/b]@example.org', email_key = 'ed[/b]@example.org' "
                   "WHERE email = 'ed@example.org'")
    db.close()
    loop = make_loop("bo@example.org", "cy@example.org")
    cli.ok("goal", "add", loop, "Learn [/x] things", user="cy@example.org")
    cli.ok("milestone", "define", "Check [/c] in", "--kind", "relationship", "--role", "mentor", "--due", "2 weeks")
    cli.ok("milestone", "done", "Check [/c] in", user="bo@example.org", now=cli.at(days=3))
    later = cli.at(days=40)
    for args, user, shown in [
        (("coordinator", "report"), None, [program, mentor_name, mentee_name, "Di [/i]", "Check [/c] in"]),
        (("coordinator", "report", "--stalled"), None, [mentor_name, mentee_name]),
        (("coordinator", "report", "--stage", "matched"), None, [mentor_name, mentee_name]),
        (("coordinator", "participant", "bo@example.org"), None, [mentor_name, mentee_name]),
        (("participant", "list"), None, ["Di [/i]"]),
        (("participant", "show", "bo@example.org"), None, [mentor_name, "python [/x]"]),
        (("status",), "cy@example.org", [mentee_name, mentor_name]),
        (("program", "show"), None, [program]),
        (("coordinator", "report", "--activity", "--since", cli.at(days=-1)), None, [program, "Check [/c] in"]),
        (("match", "suggest", "--min-score", "100"), None, ["ed[/b]@example.org"]),  # nobody fits: named
        (("match", "suggest"), None, ["ed[/b]@example.org"]),
    ]:
        result = cli.ok(*args, user=user, now=later)
        for text in shown:
            assert text in result.stdout, (args, text, result.stdout)
