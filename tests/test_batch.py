"""mloop batch: many commands in one process, one per line, each its own
transaction (or all or nothing with --atomic)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

COORD = "coord@example.org"
MENTOR = "maya@example.org"
MENTEE = "ana@example.org"

# A program's first weeks, as a coordinator and its members would type them.
SCRIPT = f"""\
# set-up, by the coordinator
mloop participant add --name "Cora Ordinator" --email {COORD} --role coordinator
participant add --name Maya --email {MENTOR} --role mentor --capacity 2 --joined 2026-01-15
participant add --name Ana --email {MENTEE} --role mentee --joined 2026-01-20
match create --mentor {MENTOR} --mentee {MENTEE} --at 2026-02-01T10:00 --as {COORD}

# the loop's first meeting, then feedback
meet log 1 --at 2026-02-10T15:00 --agenda 'Goals for the "spring"' --as {MENTOR}
feedback give 1 --meeting 1 --rating 5 --as {MENTEE}
goal add 1 "Ship a first pull request" --as {MENTEE}
status --as {MENTEE}
"""
NOW = "2026-03-01T09:00:00Z"


def dump(db: Path) -> list[str]:
    """Every row of the store, as SQL, in a stable order (a meeting's random calendar UID made one)."""
    import re

    with sqlite3.connect(db) as conn:
        return sorted(re.sub(r"[0-9a-f]{32}@mloop", "UID@mloop", line) for line in conn.iterdump())


def lines_of(script: str) -> list[list[str]]:
    import shlex

    found = []
    for line in script.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["mloop"]:
            words = words[1:]
        if words:
            found.append(words)
    return found


def test_a_batch_gives_the_store_and_output_the_commands_give_one_by_one(cli, tmp_path: Path):
    one_by_one = tmp_path / "one.db"
    outputs = [cli.ok(*words, db=one_by_one, now=NOW).stdout for words in lines_of(SCRIPT)]
    script = tmp_path / "week.txt"
    script.write_text(SCRIPT)
    result = cli.ok("batch", script, now=NOW)
    assert result.stdout == "".join(outputs)
    assert dump(cli.db) == dump(one_by_one)


def test_the_first_failure_stops_the_batch_and_names_its_line(cli, tmp_path: Path):
    script = tmp_path / "week.txt"
    script.write_text(SCRIPT.replace("--rating 5", "--rating 9"))
    result = cli("batch", script, now=NOW)
    assert result.exit_code == 1
    assert result.stderr == "mloop: error: line 9: rating 9 is out of range: give 1 (poor) to 5 (great)\n"
    assert "Logged meeting 1" in result.stdout  # the lines before it ran, and stay
    goals = sqlite3.connect(cli.db).execute("SELECT count(*) FROM goal").fetchone()[0]
    assert goals == 0  # the lines after it did not run


def test_keep_going_runs_every_line_and_still_fails(cli, tmp_path: Path):
    script = tmp_path / "week.txt"
    script.write_text(SCRIPT.replace("--rating 5", "--rating 9"))
    result = cli("batch", "--keep-going", script, now=NOW)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == ["mloop: error: line 9: rating 9 is out of range: give 1 (poor) to 5 (great)"]
    assert sqlite3.connect(cli.db).execute("SELECT title FROM goal").fetchall() == [("Ship a first pull request",)]


def test_atomic_is_all_or_nothing(cli, tmp_path: Path):
    cli.ok("init", now=NOW)
    before = dump(cli.db)
    script = tmp_path / "week.txt"
    script.write_text(SCRIPT.replace("--rating 5", "--rating 9"))
    result = cli("batch", "--atomic", script, now=NOW)
    assert result.exit_code == 1
    assert result.stderr == ("mloop: error: line 9: rating 9 is out of range: give 1 (poor) to 5 (great) "
                             "(--atomic: the whole batch was undone)\n")
    assert dump(cli.db) == before

    script.write_text(SCRIPT)
    cli.ok("batch", "--atomic", script, now=NOW)
    one_by_one = tmp_path / "one.db"
    cli.ok("init", db=one_by_one, now=NOW)
    for words in lines_of(SCRIPT):
        cli.ok(*words, db=one_by_one, now=NOW)
    assert dump(cli.db) == dump(one_by_one)


def test_json_gives_one_document_per_line(cli, tmp_path: Path):
    script = tmp_path / "week.txt"
    script.write_text(SCRIPT.replace("--rating 5", "--rating 9"))
    result = cli("batch", "--json", "--keep-going", script, now=NOW)
    assert result.exit_code == 1
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["line"] for d in documents] == [2, 3, 4, 5, 8, 9, 10, 11]
    by_line = {d["line"]: d for d in documents}
    assert by_line[3]["result"]["email"] == MENTOR
    assert by_line[5]["result"]["id"] == 1
    assert by_line[9] == {"line": 9, "ok": False, "exit_code": 1,
                          "error": "rating 9 is out of range: give 1 (poor) to 5 (great)"}
    assert by_line[11]["result"]["participant"]["email"] == MENTEE
    assert result.stderr == "mloop: error: line 9: rating 9 is out of range: give 1 (poor) to 5 (great)\n"


def test_root_options_before_batch_apply_to_every_line(cli, tmp_path: Path):
    script = tmp_path / "setup.txt"
    script.write_text(SCRIPT.split("match create")[0])
    cli.ok("batch", script, now=NOW)
    lines = tmp_path / "mentor.txt"
    lines.write_text(f"match create --mentor {MENTOR} --mentee {MENTEE} --at 2026-02-01T10:00\n"
                     f"meet log 1 --at 2026-02-10T15:00 --as {MENTOR}\n")
    result = cli("--as", MENTOR, "batch", lines, now=NOW)  # the mentor may not create a match
    assert result.stderr.startswith("mloop: error: line 1: ")
    cli.ok("--as", COORD, "batch", lines, now=NOW)  # the line's own --as wins for the meeting
    assert sqlite3.connect(cli.db).execute("SELECT count(*) FROM meeting").fetchone()[0] == 1


def test_lines_from_standard_input(cli):
    result = cli.ok("batch", "-", input="# nothing but a comment\n\ninit\nprogram show --json\n", now=NOW)
    assert "Created program" in result.stdout


@pytest.mark.parametrize("text, code, error", [
    ("meet log 1 --agenda 'unclosed\n", 1, "line 1: No closing quotation (quote the words as in a shell)"),
    ("status\nbatch other.txt\n", 2, "line 2: a batch cannot run another batch"),
])
def test_a_broken_batch_file_runs_nothing(cli, tmp_path: Path, text: str, code: int, error: str):
    cli.ok("init", now=NOW)
    before = cli.snapshot()
    script = tmp_path / "bad.txt"
    script.write_text(text)
    cli.fails("batch", script, code=code, match=f"{script}: {error}", now=NOW)
    assert cli.snapshot() == before


def test_atomic_and_keep_going_do_not_go_together(cli, tmp_path: Path):
    script = tmp_path / "week.txt"
    script.write_text(SCRIPT)
    cli.fails("batch", "--atomic", "--keep-going", script, code=2,
              match="--atomic and --keep-going do not go together")
