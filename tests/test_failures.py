"""Failures say what happened, without data (issue 16, item 5).

Each way a command can fail for a reason outside mloop (a read-only store, a
full disk, an output path that cannot be written, a number out of range, a
broken schema version, a date before the program existed) is one line on
stderr naming the file or option, exit 1 (2 for usage), never SQL or the
values of a statement; several output files are written all or nothing.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path
from typing import Any, get_args

import pytest

CORA, BO, ANA, DEE = "cora@example.org", "bo@example.org", "ana@example.org", "dee@example.org"
SECRET = "MY PRIVATE GOAL TITLE"
HUGE = "99999999999999999999999"


def no_data(line: str) -> None:
    """What an error line must never show: the statement, its parameters, the user's text."""
    for leak in ("SQL", "INSERT", "UPDATE ", "parameters", SECRET, "sqlalche.me"):
        assert leak not in line, f"{leak!r} leaked into {line!r}"


@pytest.fixture(scope="module")
def template(tmp_path_factory, make_cli) -> Path:
    """Bo mentors Ana (loop 1); Dee waits unmatched; Cora coordinates: built once, copied per test."""
    db = tmp_path_factory.mktemp("template") / "template.db"
    cli = make_cli(db)
    cli.ok("init", "--program", "Spring 2026")
    for name, email, role in (("Cora Diaz", CORA, "coordinator"), ("Bo Chen", BO, "mentor"),
                              ("Ana Lima", ANA, "mentee"), ("Dee Park", DEE, "mentee")):
        cli.ok("participant", "add", "--name", name, "--email", email, "--role", role,
               user=None if email == CORA else CORA)
    cli.ok("match", "create", "--mentor", BO, "--mentee", ANA, user=CORA)
    return db


@pytest.fixture
def loop(cli, template) -> int:
    cli.copy_from(template)
    return 1


# --- a read-only store -------------------------------------------------------------------


def read_only_stores(db: Path) -> list[tuple[str, str]]:
    """(how, --db) pairs that truly refuse writes for this user.  A file mode of
    0444 does not stop root, so as root only SQLite's own read-only mode counts."""
    ways = [("uri", f"sqlite:///file:{db}?mode=ro&uri=true")]
    if os.geteuid() != 0:
        db.chmod(0o444)
        ways.append(("chmod", str(db)))
    return ways


def test_a_write_to_a_read_only_store_is_one_line_without_sql(cli, loop):
    for how, url in read_only_stores(cli.db):
        line = cli.fails("goal", "add", loop, SECRET, user=ANA, db=url, match="is read-only").stderr
        assert "nothing was changed" in line and str(cli.db) in line.replace("file%3A", ""), (how, line)
        no_data(line)
    cli.db.chmod(0o644)
    assert cli.json("goal", "list", "--loop", loop, user=ANA) == []


# --- a full disk ---------------------------------------------------------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """A 192 KB tmpfs: a disk that really fills up (ENOSPC).  Needs root and mount."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_an_import_onto_a_full_disk_is_one_line_naming_the_store(cli, tiny_disk, tmp_path):
    program = Path(__file__).parent.parent / "sample_data" / "program.jsonl"
    line = cli.fails("import", program, db=tiny_disk / "full.db", match="the disk is full").stderr
    assert str(tiny_disk / "full.db") in line and len(line) < 300
    no_data(line)


def test_an_export_onto_a_full_disk_leaves_no_file(cli, loop, tiny_disk):
    filler = tiny_disk / "filler"
    filler.write_bytes(b"x" * (190 * 1024))
    out = tiny_disk / "program.jsonl"
    cli.fails("export", "--out", out, user=CORA, match=f"cannot write {out}: the disk is full")
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["filler"]


def test_a_store_that_reaches_its_page_limit_is_the_same_full_disk_line(cli, loop, tmp_path):
    """SQLite's own "database or disk is full", without a small disk: a page limit on every connection."""
    import sqlalchemy as sa
    from sqlalchemy import event

    def limit_pages(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    before = cli.snapshot()
    event.listen(sa.engine.Engine, "connect", limit_pages)
    try:
        # 200 meetings need new pages; the store may not grow by one.
        line = cli.fails("meet", "schedule", loop, "--at", "+1d", "--every", "1d", "--count", 200,
                         "--agenda", SECRET, user=ANA, match="the disk is full").stderr
    finally:
        event.remove(sa.engine.Engine, "connect", limit_pages)
    assert str(cli.db) in line
    no_data(line)
    assert cli.snapshot() == before


def test_export_to_dev_full_is_refused_before_writing(cli, loop):
    cli.fails("export", "--out", "/dev/full", user=CORA, match="cannot write /dev/full: it is not a regular file")
    assert Path("/dev/full").is_char_device()


# --- output paths that cannot be written -----------------------------------------------------


@pytest.mark.parametrize(("out", "message"), [
    ("", "cannot write '': give a file name"),
    (".", "cannot write .: it is a folder: give a file name"),
    ("/nonexistent-dir/x.jsonl", "cannot write /nonexistent-dir/x.jsonl: folder /nonexistent-dir does not exist"),
    ("a" * 300 + ".jsonl", "the name is too long: choose a shorter one"),
])
def test_an_out_path_that_cannot_be_a_file_is_one_line(cli, loop, tmp_path, monkeypatch, out, message):
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    for command in (("export",), ("meet", "export")):
        line = cli.fails(*command, "--out", out, user=CORA, match=message).stderr
        assert "unexpected" not in line
    assert sorted(os.listdir(tmp_path)) == before


# --- numbers out of range --------------------------------------------------------------------


def int_parameters():
    """(command path, parameter) for every parameter of every command that takes a whole number."""
    import typer

    from mloop.cli import app

    root = typer.main.get_command(app)
    context = type(typer.Context(root))  # typer's own Click
    found = []

    def takes_int(annotation: Any) -> bool:
        return annotation is int or any(takes_int(arg) for arg in get_args(annotation))

    def walk(command, path, ctx):
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                walk(sub, [*path, name], context(sub, parent=ctx, info_name=name))
            return
        for param in command.params:
            descriptor = getattr(param, "type_descriptor", None)
            if descriptor is not None and takes_int(descriptor.annotation):
                found.append((tuple(path), param, [p for p in command.params if p.param_type_name == "argument"]))

    walk(root, [], context(root, info_name="mloop"))
    return found


INT_PARAMETERS = int_parameters()


def test_the_walk_finds_the_known_int_options():
    names = {(" ".join(path), param.opts[0]) for path, param, _ in INT_PARAMETERS}
    assert {("init", "--stall-days"), ("participant add", "--capacity"), ("meet done", "meeting_id"),
            ("meet import", "--max-meetings")} <= names | {(p, n.replace("-", "_")) for p, n in names}
    assert len(INT_PARAMETERS) > 20


@pytest.mark.parametrize(("path", "param", "arguments"), INT_PARAMETERS,
                         ids=[f"{' '.join(p)} {q.name}" for p, q, _ in INT_PARAMETERS])
@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, "9223372036854775808"])
def test_every_int_parameter_refuses_a_number_out_of_range_naming_it(cli, loop, path, param, arguments, number):
    if param.param_type_name == "argument":
        args = ["1"] * arguments.index(param) + [number]
    else:
        args = [param.opts[0], number] if param.opts[0].startswith("-") else [number]
    before = cli.snapshot()
    line = cli.fails(*path, *args, user=CORA, code=2).stderr
    if number.startswith("-"):  # a usage error all the same: below an option's minimum, or not an argument at all
        assert param.param_type_name == "argument" or f"'{param.opts[0]}'" in line, line
    else:
        shown = param.opts[0] if param.param_type_name == "option" else (param.metavar or param.name.upper())
        assert f"'{shown}': {number} is too large" in line, line
    assert cli.snapshot() == before


def test_the_overflows_of_the_report_are_usage_errors(cli, loop):
    cli.fails("init", "--program", "Q", "--stall-days", HUGE, code=2,
              match=f"Invalid value for '--stall-days': {HUGE} is too large")
    cli.fails("participant", "add", "--name", "X", "--email", "x@example.org", "--role", "mentor",
              "--capacity", "9223372036854775808", user=CORA, code=2, match="'--capacity': 9223372036854775808 is too large")
    # In the store's range but beyond any program's life: a rule of the program.
    cli.fails("program", "set", "--stall-days", "9223372036854775807", user=CORA, code=2,
              match="--stall-days must be 1 to 36500")
    cli.fails("program", "set", "--stage-stall-days", "matched=99999999", user=CORA, code=2, match="days must be 1 to 36500")


@pytest.mark.parametrize("clock", ["0001-01-01", "1969-12-31T23:59:59Z", "9999-12-31"])
def test_a_clock_outside_the_years_mloop_can_count_in_is_a_usage_error(cli, loop, clock):
    cli.fails("status", user=ANA, now=clock, code=2,
              match=f"--now/MLOOP_NOW {clock!r} is out of range: give a time from 1970 on (and before 9000)")


# --- a broken schema version -------------------------------------------------------------------


@pytest.mark.parametrize("version", ["abc", "-1", "0", "", "1.5"])
def test_an_unreadable_schema_version_is_one_line_naming_the_store(cli, loop, version):
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE mloop_meta SET value = ? WHERE key = 'schema_version'", (version,))
    conn.close()
    before = cli.snapshot()
    cli.fails("status", user=ANA, match=f"store sqlite:///{cli.db} records an unreadable schema version {version!r}")
    cli.fails("goal", "add", loop, SECRET, user=ANA, match="restore the store from a backup")
    assert cli.snapshot() == before


def test_a_schema_version_from_the_far_future_asks_for_a_newer_mloop(cli, loop):
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE mloop_meta SET value = '99999999999999999999' WHERE key = 'schema_version'")
    conn.close()
    cli.fails("status", user=ANA, match="has schema version 99999999999999999999, newer than this mloop knows")


# --- a true bug still prints no SQL -------------------------------------------------------------


def test_an_unexpected_store_error_prints_no_statement_or_values(cli, loop, monkeypatch):
    import sqlalchemy as sa

    def broken_add_goal(session, *args, **kwargs):
        session.execute(sa.text("INSERT INTO no_such_table (title) VALUES (:title)"), {"title": SECRET})

    monkeypatch.setattr("mloop.store.goals.add_goal", broken_add_goal)
    before = cli.snapshot()
    line = cli.fails("goal", "add", loop, SECRET, user=ANA).stderr
    assert line.startswith("mloop: error: unexpected OperationalError from the store: no such table: no_such_table")
    assert "report it" in line
    no_data(line)
    assert cli.snapshot() == before


# --- several output files: all or nothing -----------------------------------------------------------


def day(n: float) -> str:
    from conftest import NOW, iso
    from datetime import timedelta

    return iso(NOW + timedelta(days=n))


def test_a_nudge_run_that_fails_on_its_third_file_leaves_no_file_and_records_nothing(cli, loop, tmp_path):
    """A name with CR/LF (put straight into the store, as input refuses it) breaks the email header."""
    with sqlite3.connect(cli.db) as conn:
        conn.execute("UPDATE participant SET name = 'Dee\r\nBcc: everyone@example.org' WHERE email = ?", (DEE,))
    conn.close()
    planned = cli.json("coordinator", "nudge", "--dry-run", user=CORA, now=day(30))["sent"]
    assert [m["email"] for m in planned][2] == DEE  # the third message is the broken one
    out = tmp_path / "mail"
    out.mkdir()
    (out / "old.eml").write_text("kept")
    before = cli.snapshot()
    result = cli("coordinator", "nudge", "--out", out, user=CORA, now=day(30))
    assert result.exit_code == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert sorted(os.listdir(out)) == ["old.eml"] and (out / "old.eml").read_text() == "kept"
    assert cli.snapshot() == before
    missing = tmp_path / "new" / "deeper"
    assert cli("coordinator", "nudge", "--out", missing, user=CORA, now=day(30)).exit_code == 1
    assert not (tmp_path / "new").exists()


def test_a_nudge_run_writes_every_file_or_none(cli, loop, tmp_path, monkeypatch):
    from mloop.store import nudges

    real, calls = nudges.as_email, []

    def fails_third(message, now, sender):
        calls.append(message["email"])
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(message, now, sender)

    monkeypatch.setattr(nudges, "as_email", fails_third)
    out = tmp_path / "mail"
    before = cli.snapshot()
    cli.fails("coordinator", "nudge", "--out", out, user=CORA, now=day(30))
    assert not out.exists() and cli.snapshot() == before
    monkeypatch.setattr(nudges, "as_email", real)
    sent = cli.json("coordinator", "nudge", "--out", out, user=CORA, now=day(30))["sent"]
    assert sorted(os.listdir(out)) == sorted(m["file"] for m in sent) and len(sent) == 3


def test_a_certificate_whose_second_file_fails_leaves_neither(cli, loop, tmp_path, monkeypatch):
    out = tmp_path / "certs"

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("mloop.certificate.render_markdown", broken)
    before = cli.snapshot()
    result = cli("share", loop, "--out", out, user=ANA)
    assert result.exit_code == 1 and not out.exists() and cli.snapshot() == before


# --- dates before the program's existence ------------------------------------------------------------


def test_a_match_or_meeting_before_1970_or_a_meeting_before_its_match_is_refused(cli, make_program, add_person):
    make_program()
    add_person(CORA, "coordinator")
    add_person(BO, "mentor", joined="2025-06-01")
    add_person(ANA, "mentee", joined="2025-09-01")
    before = cli.snapshot()
    cli.fails("match", "create", "--mentor", BO, "--mentee", ANA, "--at", "0001-01-01", user=CORA, code=2,
              match="--at 0001-01-01 00:00 UTC is before 1970-01-01, earlier than any loop mloop tracks: check the date")
    assert cli.snapshot() == before
    loop = cli.json("match", "create", "--mentor", BO, "--mentee", ANA, "--at", "2025-09-01", user=CORA)["id"]
    cli.fails("meet", "log", loop, "--at", "1960-05-01 10:00", user=ANA, code=2,
              match="--at 1960-05-01 10:00 UTC is before 1970-01-01, earlier than any loop mloop tracks")
    cli.fails("meet", "log", loop, "--at", "2025-08-31 10:00", user=ANA, code=2,
              match=f"--at 2025-08-31 10:00 UTC is before loop {loop} was matched (2025-09-01): check the date")


def test_a_match_before_one_of_its_people_joined_is_refused_until_the_date_is_corrected(cli, make_program, add_person):
    make_program()
    add_person(CORA, "coordinator")
    add_person(BO, "mentor", joined="2025-06-01")
    add_person(ANA, "mentee", joined="2025-09-01 12:00")
    before = cli.snapshot()
    cli.fails("match", "create", "--mentor", BO, "--mentee", ANA, "--at", "2025-09-01 09:00", user=CORA, code=2,
              match="--at 2025-09-01 09:00 UTC is before ana@example.org joined (2025-09-01 12:00 UTC): check the "
                    "date, or the date they joined ('mloop participant edit EMAIL --joined WHEN')")
    assert cli.snapshot() == before
    cli.ok("participant", "edit", ANA, "--joined", "2025-08-15", user=CORA)
    loop = cli.json("match", "create", "--mentor", BO, "--mentee", ANA, "--at", "2025-09-01 09:00", user=CORA)["id"]
    before = cli.snapshot()
    cli.fails("participant", "edit", ANA, "--joined", "2025-10-01", user=CORA, code=2,
              match=f"--joined 2025-10-01 00:00 UTC is after loop {loop} started (2025-09-01 09:00 UTC): "
                    "they joined by then")
    cli.fails("participant", "edit", ANA, "--joined", "1960-01-01", user=CORA, code=2,
              match="--joined 1960-01-01 00:00 UTC is before 1970-01-01")
    cli.fails("participant", "edit", ANA, "--joined", "2025-08-01", user=ANA, code=1,
              match="the date a person joined is set by a coordinator: ask one to change it")
    assert cli.snapshot() == before


def test_a_mentee_takes_no_more_loops_than_their_capacity(cli, make_program, add_person):
    make_program()
    add_person(CORA, "coordinator")
    add_person(BO, "mentor", joined="2025-06-01", capacity=3)
    add_person(DEE, "mentor", joined="2025-06-01", capacity=3)
    add_person(ANA, "mentee", joined="2025-06-01")  # capacity 1
    cli.ok("match", "create", "--mentor", BO, "--mentee", ANA, "--at", "2025-07-01", user=CORA)
    before = cli.snapshot()
    cli.fails("match", "create", "--mentor", DEE, "--mentee", ANA, "--at", "2025-07-02", user=CORA,
              match="ana@example.org is at capacity as a mentee (1 of 1 active loops): end a loop or raise their capacity")
    assert cli.snapshot() == before
    shown = cli.json("participant", "show", ANA, user=CORA)
    assert (shown["capacity"], shown["active_loops_as_mentee"]) == (1, 1)
    cli.ok("participant", "edit", ANA, "--capacity", 2, user=CORA)
    cli.ok("match", "create", "--mentor", DEE, "--mentee", ANA, "--at", "2025-07-02", user=CORA)


def write_lines(path: Path, *records: dict) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


PROGRAM = {"type": "program", "name": "Old", "stall_days": 21, "momentum_meetings": 3}
PEOPLE = [
    {"type": "participant", "email": BO, "name": "Bo", "roles": ["mentor"], "joined_at": "2025-06-01T00:00:00Z"},
    {"type": "participant", "email": ANA, "name": "Ana", "roles": ["mentee"], "joined_at": "2025-09-01T00:00:00Z"},
]


def test_import_refuses_a_match_before_a_joined_at_it_gives_and_dates_the_unknown_ones_by_it(cli, tmp_path):
    match = {"type": "match", "ref": "L1", "mentor": BO, "mentee": ANA, "matched_at": "2025-08-01T00:00:00Z"}
    file = write_lines(tmp_path / "a.jsonl", PROGRAM, *PEOPLE, match)
    cli.fails("import", file, match=f"{file} line 4: matched_at 2025-08-01 00:00 UTC is before ana@example.org "
              "joined (2025-09-01 00:00 UTC): check the date")
    assert not cli.db.exists() or "no program" in cli("match", "list", user=BO).stderr
    unknown = [{k: v for k, v in person.items() if k != "joined_at"} for person in PEOPLE]
    second = dict(match, ref="L2", mentor=BO, matched_at="2025-07-01T00:00:00Z", ended_at="2025-07-20T00:00:00Z",
                  outcome="completed")
    cli.ok("import", write_lines(tmp_path / "b.jsonl", PROGRAM, *unknown, second, match), now="2026-01-01")
    people = {p["email"]: p["joined_at"] for p in cli.json("participant", "list", user=BO)}
    assert people == {BO: "2025-07-01T00:00:00Z", ANA: "2025-07-01T00:00:00Z"}


def test_import_holds_a_mentee_to_their_capacity(cli, tmp_path):
    mentors = [dict(PEOPLE[0], email=email, capacity=3) for email in (BO, DEE)]
    two = [{"type": "match", "ref": f"L{i}", "mentor": mentor, "mentee": ANA, "matched_at": "2025-09-02T00:00:00Z"}
           for i, mentor in enumerate((BO, DEE), start=1)]
    file = write_lines(tmp_path / "a.jsonl", PROGRAM, *mentors, PEOPLE[1], *two)
    cli.fails("import", file, match=f"{file} line 6: ana@example.org is at capacity as a mentee (1 of 1 active "
              "loops): end a loop or raise their capacity; nothing was imported")


def test_import_gives_the_same_line_for_dates_before_the_program_existed(cli, tmp_path):
    match = {"type": "match", "ref": "L1", "mentor": BO, "mentee": ANA, "matched_at": "0001-01-01T00:00:00Z"}
    file = write_lines(tmp_path / "a.jsonl", PROGRAM, *PEOPLE, match)
    cli.fails("import", file, match=f"{file} line 4: matched_at 0001-01-01 00:00 UTC is before 1970-01-01, "
              "earlier than any loop mloop tracks: check the date; nothing was imported")
    good = dict(match, matched_at="2025-09-02T00:00:00Z")
    meeting = {"type": "meeting", "ref": "M1", "loop": "L1", "start": "2025-09-01T10:00:00Z", "status": "held",
               "created_at": "2025-09-03T00:00:00Z"}
    file = write_lines(tmp_path / "c.jsonl", PROGRAM, *PEOPLE, good, meeting)
    cli.fails("import", file, match="line 5: start 2025-09-01 10:00 UTC is before loop L1 was matched (2025-09-02)")
    assert not cli.db.exists() or "no program" in cli("match", "list", user=BO).stderr


def test_a_calendar_event_before_the_match_is_skipped_with_its_reason(cli, loop, tmp_path):
    calendar = tmp_path / "old.ics"
    calendar.write_bytes(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:old@x\r\nSUMMARY:Old\r\n"
        b"DTSTART:19600101T100000Z\r\nDTEND:19600101T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    summary = cli.json("meet", "import", calendar, "--loop", loop, user=ANA)
    assert summary["booked"] == [] and summary["skipped"] == [{
        "event": "event 'Old' (UID old@x)",
        "reason": "starts 1960-01-01 10:00 UTC, which is before 1970-01-01, earlier than any loop mloop tracks"}]


# --- long lines in an import ------------------------------------------------------------------------


def test_an_import_line_longer_than_the_limit_is_refused_without_reading_it_whole(cli, tmp_path, monkeypatch):
    monkeypatch.setattr("mloop.commands._files.MAX_LINE_CHARACTERS", 1000)
    file = tmp_path / "long.jsonl"
    file.write_text(json.dumps(PROGRAM) + "\n" + json.dumps(dict(PEOPLE[0], name="B" * 5000)) + "\n")
    cli.fails("import", file, match=f"{file} line 2: longer than 1,000 characters; no record is that long; "
              "nothing was imported")
