"""Where commands write: '--out -' is standard output (nothing else on it, no file
named '-'), and the actions of a meeting logged after the fact."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # the clock of the cli fixture
CORA, BO, ANA = "cora@example.org", "bo@example.org", "ana@example.org"


@pytest.fixture
def loop(cli, make_program, add_person, make_loop, tmp_path, monkeypatch) -> int:
    """Bo mentors Ana (the loop); Cora coordinates; the working folder is tmp_path."""
    monkeypatch.chdir(tmp_path)
    make_program("Spring 2026")
    add_person(CORA, "coordinator", name="Cora")
    add_person(BO, "mentor", name="Bo", as_user=CORA)
    add_person(ANA, "mentee", name="Ana", as_user=CORA)
    return make_loop(BO, ANA, as_user=CORA)


def test_export_out_dash_writes_json_lines_on_stdout_and_no_file(cli, loop, tmp_path):
    written = cli.ok("export", "--out", "-", user=CORA)
    records = [json.loads(line) for line in written.stdout.splitlines()]
    assert records[0]["type"] == "program" and {"participant", "match"} <= {r["type"] for r in records}
    assert written.stdout == cli.ok("export", user=CORA).stdout
    assert not (tmp_path / "-").exists()


def test_meet_export_out_dash_writes_the_calendar_on_stdout_and_no_file(cli, loop, tmp_path):
    cli.json("meet", "schedule", loop, "--at", "2026-03-10 15:00", user=ANA)
    written = cli.ok("meet", "export", "--out", "-", user=ANA)
    text = written.stdout_bytes.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == 1
    assert not (tmp_path / "-").exists()
    # A JSON summary on stdout would spoil the calendar there.
    cli.fails("meet", "export", "--out", "-", "--json", code=2, match="add --out FILE.ics", user=ANA)
    assert not (tmp_path / "-").exists()


def test_meet_log_keeps_its_actions_as_meet_done_does(cli, loop):
    later = NOW + timedelta(days=3)
    logged = cli.json("meet", "log", loop, "--at", "2026-03-03 15:00", "--action", "Draft the plan",
                      "--action", "Decided: meet fortnightly", user=ANA, now=later)
    assert logged["actions"] == ["Draft the plan", "Decided: meet fortnightly"]
    booked = cli.json("meet", "schedule", loop, "--at", "2026-03-04 15:00", user=ANA)
    cli.json("meet", "done", booked["id"], "--action", "Read the guide", user=ANA, now=later)
    listed = {m["id"]: m["actions"] for m in cli.json("meet", "list", user=ANA, now=later)}
    assert listed == {logged["id"]: ["Draft the plan", "Decided: meet fortnightly"], booked["id"]: ["Read the guide"]}
    exported = [json.loads(line) for line in cli.ok("export", "--include-content", user=CORA, now=later).stdout.splitlines()]
    meetings = [r for r in exported if r["type"] == "meeting"]
    assert sorted(json.dumps(r.get("actions"), ensure_ascii=False) for r in meetings) == sorted(
        json.dumps(actions, ensure_ascii=False) for actions in listed.values())
