"""Hooks: real executables in the store's hooks folder, run after a write has
committed with one JSON document on standard input."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from mloop.hooks import EVENTS

NOW = "2026-03-01T09:00:00Z"
COORD, MENTOR, MENTEE = "coord@example.org", "maya@example.org", "ana@example.org"


def hook(folder: Path, name: str, body: str) -> Path:
    """An executable Python script in the hooks folder."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport sys, json\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def recorded(cli, tmp_path: Path):
    """Every event hook records what it receives in received.jsonl; returns a reader of it."""
    folder = Path(f"{cli.db}-hooks")
    log = tmp_path / "received.jsonl"
    for event in EVENTS:
        hook(folder, event, f"open({str(log)!r}, 'a').write(sys.stdin.read())")

    def read() -> list[dict]:
        if not log.exists():
            return []
        found = [json.loads(line) for line in log.read_text().splitlines()]
        log.unlink()
        return found

    return read


@pytest.fixture
def program(cli):
    cli.ok("participant", "add", "--name", "Cora", "--email", COORD, "--role", "coordinator", now="2026-01-05T09:00:00Z")
    cli.ok("participant", "add", "--name", "Maya", "--email", MENTOR, "--role", "mentor", now="2026-01-05T09:00:00Z")
    cli.ok("participant", "add", "--name", "Ana", "--email", MENTEE, "--role", "mentee", now="2026-01-05T09:00:00Z")


def test_a_match_changes_both_members_stage(cli, program, recorded):
    cli.ok("match", "create", "--mentor", MENTOR, "--mentee", MENTEE, now=NOW)
    events = recorded()
    assert [(e["event"], e["person"], e["stage_before"], e["stage_after"]) for e in events] == [
        ("on-stage-change", MENTOR, "getting_started", "matched"),
        ("on-stage-change", MENTEE, "getting_started", "matched"),
    ]
    first = events[0]
    assert first["program"] == "Mentoring program"
    assert first["loop"] == 1 and first["time"] == NOW and first["role"] == "mentor"
    assert [(p["email"], p["role"]) for p in first["people"]] == [(MENTOR, "mentor"), (MENTEE, "mentee")]


def test_a_held_meeting_and_feedback(cli, program, recorded):
    cli.ok("match", "create", "--mentor", MENTOR, "--mentee", MENTEE, "--at", "2026-02-01T10:00", now=NOW)
    recorded()
    cli.ok("meet", "log", "1", "--at", "2026-02-10T15:00", user=MENTOR, now=NOW)
    events = recorded()
    assert [e["event"] for e in events] == ["on-stage-change", "on-stage-change", "on-meeting-held"]
    assert {(e["person"], e["stage_after"]) for e in events[:2]} == {(MENTOR, "first_meeting"), (MENTEE, "first_meeting")}
    assert events[2]["meeting"] == {"id": 1, "start": "2026-02-10T15:00:00Z", "duration_min": 45}
    cli.ok("feedback", "give", "1", "--meeting", "1", "--rating", "5", user=MENTEE, now=NOW)
    (given,) = [e for e in recorded() if e["event"] == "on-feedback"]
    assert given["feedback"] == {"id": 1, "author": MENTEE, "rating": 5, "meeting": 1}
    assert given["loop"] == 1


def test_a_completed_loop_ends_and_its_members_become_alumni(cli, program, recorded):
    cli.ok("match", "create", "--mentor", MENTOR, "--mentee", MENTEE, "--at", "2026-02-01T10:00", now=NOW)
    recorded()
    cli.ok("match", "end", "1", "--outcome", "completed", now=NOW)
    events = recorded()
    assert [(e["event"], e.get("person"), e.get("stage_after"), e.get("outcome")) for e in events] == [
        ("on-stage-change", MENTOR, "alumni", None),
        ("on-stage-change", MENTEE, "alumni", None),
        ("on-loop-ended", None, None, "completed"),
    ]


def test_on_stalled_runs_once_per_person_and_stage(cli, program, recorded):
    cli.ok("coordinator", "report", now="2026-03-01T09:00:00Z")
    events = recorded()
    assert sorted((e["event"], e["person"], e["stage"]) for e in events) == [
        ("on-stalled", MENTEE, "getting_started"), ("on-stalled", MENTOR, "getting_started")]
    cli.ok("coordinator", "report", now="2026-03-02T09:00:00Z")
    assert recorded() == []  # the same people, still stuck in the same stage: already told


def test_a_failing_or_slow_hook_never_undoes_the_write(cli, program, tmp_path: Path):
    folder = Path(f"{cli.db}-hooks")
    hook(folder, "on-stage-change", "sys.stderr.write('no mail server\\n'); sys.exit(3)")
    hook(folder, "on-stage-change-slow.py", "import time; time.sleep(5)")
    result = cli.ok("match", "create", "--mentor", MENTOR, "--mentee", MENTEE, now=NOW,
                    env={"MLOOP_HOOK_TIMEOUT": "0.5"})
    lines = result.stderr.splitlines()
    assert lines.count("mloop: warning: hook on-stage-change failed (exit 3): no mail server "
                       "(what the command did stays done)") == 2
    assert lines.count("mloop: warning: hook on-stage-change-slow.py was stopped after 0.5 s "
                       "(what the command did stays done)") == 2
    assert cli.json("match", "list", now=NOW)[0]["loop_id"] == 1


@pytest.mark.parametrize("off", [("--no-hooks",), ()])
def test_hooks_can_be_turned_off(cli, program, recorded, off):
    env = {} if off else {"MLOOP_NO_HOOKS": "1"}
    cli.ok(*off, "match", "create", "--mentor", MENTOR, "--mentee", MENTEE, now=NOW, env=env)
    assert recorded() == []


def test_a_failed_write_runs_no_hook(cli, program, recorded):
    cli.fails("match", "create", "--mentor", MENTOR, "--mentee", MENTOR, now=NOW)
    assert recorded() == []


def test_an_atomic_batch_runs_its_hooks_only_when_it_commits(cli, program, recorded, tmp_path: Path):
    script = tmp_path / "b.txt"
    script.write_text(f"match create --mentor {MENTOR} --mentee {MENTEE}\nfeedback give 1 --rating 9 --as {MENTEE}\n")
    cli("batch", "--atomic", script, now=NOW)
    assert recorded() == []
    script.write_text(f"match create --mentor {MENTOR} --mentee {MENTEE}\nfeedback give 1 --rating 4 --as {MENTEE}\n")
    cli.ok("batch", "--atomic", script, now=NOW)
    assert [e["event"] for e in recorded()] == ["on-stage-change", "on-stage-change", "on-feedback"]


def test_hooks_path_and_list(cli, program, tmp_path: Path):
    folder = Path(f"{cli.db}-hooks")
    assert cli.ok("hooks", "path").stdout == f"{folder}\n"
    hook(folder, "on-feedback-notify.py", "pass")
    (folder / "on-loop-ended").write_text("#!/bin/sh\n")
    (folder / "README").write_text("notes")
    document = cli.json("hooks", "list")
    assert [(h["name"], h["event"], h["runs"], h["why"]) for h in document["hooks"]] == [
        ("README", None, False, "not an mloop event name"),
        ("on-feedback-notify.py", "on-feedback", True, ""),
        ("on-loop-ended", "on-loop-ended", False, "not executable: chmod +x it"),
    ]
    other = tmp_path / "elsewhere"
    assert cli.ok("hooks", "path", env={"MLOOP_HOOKS": str(other)}).stdout == f"{other}\n"
