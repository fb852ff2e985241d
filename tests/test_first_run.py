"""A newcomer's first commands: the demo run again, a read on a store that is
not there, times that name their zone, a program imported twice."""

from __future__ import annotations

import json

import pytest

DEMO_PROGRAM = "Spring 2026 Mentoring"
DEMO_NOW = "2026-06-01T09:00:00Z"
NO_STORE = "create one with 'mloop init', 'mloop demo' (a sample program) or 'mloop import FILE.jsonl'"
ANA, BO, CORA = "ana@example.org", "bo@example.org", "cora@example.org"


# --- the demo, run again ------------------------------------------------------------------


def test_demo_run_again_prints_the_report_again_and_changes_nothing(cli):
    first = cli.ok("demo")
    before = cli.snapshot()
    second = cli.ok("demo")
    assert second.stdout == first.stdout
    assert second.stderr.splitlines()[0] == (
        f"The demo program '{DEMO_PROGRAM}' was already in this store: this is its report (--force loads it afresh)."
    )
    assert "mloop demo" not in second.stderr.replace("--force", "")  # never the very command that was run
    assert cli.snapshot() == before
    assert cli.json("demo") == cli.json("coordinator", "report", now=DEMO_NOW)


def test_demo_names_its_clock_only_when_the_user_is_on_another(cli):
    hint = f"The demo's clock is {DEMO_NOW}; to look around at that moment, set it for each command, e.g."
    assert hint in cli.ok("demo").stderr.splitlines()
    assert "demo's clock" not in cli.ok("demo", now=DEMO_NOW).stderr


def test_demo_force_replaces_the_demo_program(cli):
    fresh = cli.json("demo")
    cli.ok("participant", "add", "--name", "Newcomer", "--email", "new@example.org", "--role", "mentee", now=DEMO_NOW)
    changed = cli.json("coordinator", "report", now=DEMO_NOW)
    assert changed["stages"]["getting_started"] == fresh["stages"]["getting_started"] + 1
    assert cli.json("demo") == changed  # run again: the store's demo as it now is

    assert cli.json("demo", "--force") == fresh
    assert [p["program"] for p in cli.json("program", "list")["programs"]] == [DEMO_PROGRAM]
    emails = [p["email"] for p in cli.json("participant", "list", now=DEMO_NOW)]
    assert "new@example.org" not in emails


def test_demo_force_beside_another_program_keeps_it(cli, make_program, add_person):
    make_program("Our own")
    add_person(ANA, "mentee")
    cli.ok("demo", "--force")
    cli.ok("demo", "--force")  # replaces the demo, not the other program
    assert sorted(p["program"] for p in cli.json("program", "list")["programs"]) == ["Our own", DEMO_PROGRAM]
    assert [p["email"] for p in cli.json("participant", "list", "--program", "Our own")] == [ANA]


# --- a read on a store that does not exist --------------------------------------------------

READS = [
    ("status",), ("coordinator", "report"), ("participant", "list"), ("export",), ("match", "list"),
    ("meet", "list"), ("goal", "list"), ("feedback", "list"), ("milestone", "list"), ("program", "list"),
]


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_read_on_a_missing_store_names_it_and_creates_nothing(cli, tmp_path, args):
    missing = tmp_path / "nowhere.db"
    result = cli.fails(*args, db=missing, user=ANA)
    assert result.stderr == f"mloop: error: no store at {missing} (from --db/MLOOP_DB): {NO_STORE}\n"
    assert not missing.exists() and list(tmp_path.iterdir()) == []


def test_a_read_on_a_missing_sqlite_url_names_the_file(cli, tmp_path):
    missing = tmp_path / "nowhere.db"
    result = cli.fails("coordinator", "report", db=f"sqlite:///{missing}")
    assert result.stderr == f"mloop: error: no store at {missing} (from --db/MLOOP_DB): {NO_STORE}\n"
    assert not missing.exists()


def test_a_read_on_the_missing_default_store_says_where_it_looked(cli, tmp_path):
    data = tmp_path / "data"
    result = cli.fails("status", db="", env={"MLOOP_DB": None, "XDG_DATA_HOME": str(data)})
    expected = data / "mloop" / "mloop.db"
    assert result.stderr == (
        f"mloop: error: no store at {expected} (the default; --db or MLOOP_DB picks another): {NO_STORE}\n"
    )
    assert not data.exists()
    # A write creates it there.
    cli.ok("init", db="", env={"MLOOP_DB": None, "XDG_DATA_HOME": str(data)})
    assert expected.is_file()


@pytest.mark.parametrize("args", [
    ("init",),
    ("participant", "add", "--name", "Ana", "--email", ANA, "--role", "mentee"),
    ("demo",),
], ids=" ".join)
def test_a_write_still_creates_the_store(cli, tmp_path, args):
    store = tmp_path / "new.db"
    cli.ok(*args, db=store)
    assert store.is_file()
    cli.ok("participant", "list", db=store, now=DEMO_NOW)


def test_import_still_creates_the_store(cli, tmp_path):
    cli.ok("demo")
    exported = cli.ok("export").stdout
    store = tmp_path / "new.db"
    assert cli.json("import", "-", input=exported, db=store)["created_program"] is True


# --- a program imported into a store that holds it ------------------------------------------


def test_importing_a_program_the_store_already_holds_says_so_and_changes_nothing(cli, tmp_path):
    cli.ok("demo")
    exported = tmp_path / "demo.jsonl"
    cli.ok("export", "--out", exported)
    before = cli.snapshot()
    result = cli.fails("import", exported)
    assert result.stderr == (
        f"mloop: error: {exported} line 1: program '{DEMO_PROGRAM}' is already in this store (23 participants): "
        "import the file into another store (--db FILE), or rename the program on its first line to import it "
        "beside; nothing was imported\n"
    )
    assert cli.snapshot() == before
    # Renamed on its first line, it goes in beside the first.
    lines = exported.read_text(encoding="utf-8").splitlines(keepends=True)
    first = json.loads(lines[0])
    renamed = tmp_path / "renamed.jsonl"
    renamed.write_text(json.dumps(dict(first, name="Autumn copy")) + "\n" + "".join(lines[1:]), encoding="utf-8")
    assert cli.json("import", renamed)["created_program"] is True


def test_importing_into_an_empty_program_of_that_name_still_works(cli, tmp_path):
    cli.ok("demo", db=tmp_path / "demo.db")
    exported = cli.ok("export", db=tmp_path / "demo.db").stdout
    cli.ok("init", "--program", DEMO_PROGRAM)
    summary = cli.json("import", "-", input=exported)
    assert summary["program"] == DEMO_PROGRAM and summary["created_program"] is False


# --- times shown to people carry their zone -------------------------------------------------


@pytest.fixture
def loop(cli, make_program, add_person, make_loop) -> int:
    make_program("Spring")
    add_person(CORA, "coordinator")
    add_person(BO, "mentor", as_user=CORA)
    add_person(ANA, "mentee", as_user=CORA)
    return make_loop(BO, ANA, as_user=CORA)


def test_times_shown_to_people_name_their_zone_and_json_stays_utc(cli, loop):
    berlin = {"tz": "Europe/Berlin", "user": ANA}
    booked = cli.ok("meet", "schedule", loop, "--at", "2026-03-10 15:00", **berlin)
    assert booked.stdout == f"Booked meeting 1 in loop {loop} for 2026-03-10 15:00 CET.\n"
    assert "2026-03-10 14:00 UTC" in cli.ok("meet", "list", user=ANA).stdout
    assert "2026-03-10 15:00 CET" in cli.ok("meet", "list", **berlin).stdout
    assert "Next meeting: 2026-03-10 15:00 CET (meeting 1)" in cli.ok("status", **berlin).stdout
    assert cli.json("meet", "list", **berlin)[0]["start"] == "2026-03-10T14:00:00Z"
    summer = cli.ok("meet", "schedule", loop, "--at", "2026-07-01 09:30", **berlin).stdout
    assert "2026-07-01 09:30 CEST" in summer


def test_the_report_says_which_zone_its_moment_is_in(cli, loop):
    assert "as of 2026-03-02 09:00 UTC" in cli.ok("coordinator", "report").stdout
    assert "as of 2026-03-02 10:00 CET" in cli.ok("coordinator", "report", tz="Europe/Berlin").stdout
