"""The program as a file: `mloop program dump` writes the design as TOML,
`mloop program apply` shows the difference and applies it in one transaction."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from mloop.store.design import parse

DESIGN = '''\
[program]
name = "Spring 2026 Mentoring"
stall_days = 14
momentum_meetings = 4

[program.stage_stall_days]
first_meeting = 10
levelling_up = 30

[[milestone]]
name = "Mentoring agreement signed"
kind = "relationship"
role = "mentee"
due = "2 weeks"
description = "Agree how often you meet."

[[milestone]]
name = "Orientation session attended"
kind = "program"
role = "mentee"
due = "10 days"

[[milestone]]
name = "Career plan drafted"
kind = "relationship"
role = "mentor"
due = "8 weeks"

[[starter_goal]]
title = "Agree how we work together"
term = "short"
locked = true

[[starter_goal]]
title = "Plan your next career step"
term = "long"
locked = false

[nudge_template.first_meeting]
subject = "Time to meet, {first_name}"
body = """
Hello {first_name},

Book your first meeting with {partner} ("loop {loop}"): {{ no placeholder }}.
"""
'''


@pytest.fixture
def demo(cli, tmp_path: Path) -> Path:
    """The sample program, at the demo's clock."""
    cli.ok("demo", now=None)
    return tmp_path


def dump(cli, **kwargs) -> str:
    return cli.ok("program", "dump", now=None, **kwargs).stdout


def test_dump_apply_on_a_fresh_store_dump_gives_the_same_file(cli, demo: Path, tmp_path: Path):
    design = tmp_path / "spring.toml"
    design.write_text(DESIGN)
    cli.ok("program", "apply", design, now=None)
    first = dump(cli)
    assert tomllib.loads(first)["program"]["stage_stall_days"] == {"first_meeting": 10, "levelling_up": 30}
    written = tmp_path / "written.toml"
    written.write_text(first)

    fresh = tmp_path / "fresh.db"
    result = cli.json("program", "apply", written, db=fresh)
    assert result["created"] is True
    assert {"action": "add", "what": "milestone 'Career plan drafted'", "detail": ""} in result["changes"]
    assert dump(cli, db=fresh) == first
    # And once more: nothing left to change.
    assert cli.json("program", "apply", written, db=fresh)["changes"] == []
    assert cli.ok("program", "apply", written, db=fresh).stdout == (
        "Spring 2026 Mentoring already has this design; nothing to change.\n")


def test_the_dump_is_the_design_the_commands_set(cli, demo: Path):
    cli.ok("program", "set", "--stall-days", "18", "--stage-stall-days", "matched=5", now=None)
    cli.ok("program", "goal", "add", "Meet monthly", "--locked", now=None)
    document = tomllib.loads(dump(cli))
    assert document["program"] == {"name": "Spring 2026 Mentoring", "stall_days": 18, "momentum_meetings": 3,
                                   "stage_stall_days": {"matched": 5}}
    assert document["starter_goal"] == [{"title": "Meet monthly", "term": "short", "locked": True}]
    assert [m["name"] for m in document["milestone"]] == ["Mentoring agreement signed", "Orientation session attended"]
    assert "nudge_template" not in document  # the built-in ones are not the program's own


def test_dry_run_shows_the_changes_and_keeps_nothing(cli, demo: Path, tmp_path: Path):
    design = tmp_path / "spring.toml"
    design.write_text(DESIGN)
    before = cli.snapshot()
    result = cli.ok("program", "apply", design, "--dry-run", now=None)
    assert result.stdout.splitlines() == [
        "Dry run: Spring 2026 Mentoring: 10 changes (nothing written):",
        "  ~ stall_days: 21 -> 14",
        "  ~ momentum_meetings: 3 -> 4",
        "  ~ stall days at first_meeting: default -> 10",
        "  ~ stall days at levelling_up: default -> 30",
        "  ~ milestone 'Mentoring agreement signed': description rewritten",
        "  ~ milestone 'Orientation session attended': description removed",
        "  + milestone 'Career plan drafted'",
        "  + starter goal 'Agree how we work together'",
        "  + starter goal 'Plan your next career step'",
        "  + nudge template first_meeting: Time to meet, {first_name}",
    ]
    assert cli.snapshot() == before
    applied = cli.json("program", "apply", design, now=None)
    dry = cli.json("program", "apply", design, "--dry-run", now=None)
    assert applied["dry_run"] is False and dry["dry_run"] is True and dry["changes"] == []


def test_a_dry_run_on_a_missing_store_creates_nothing(cli, tmp_path: Path):
    design = tmp_path / "spring.toml"
    design.write_text(DESIGN)
    missing = tmp_path / "none.db"
    result = cli.json("program", "apply", design, "--dry-run", db=missing)
    assert result["created"] is True and len(result["changes"]) == 10
    assert not missing.exists()


def test_removing_a_milestone_someone_completed_is_refused(cli, demo: Path, tmp_path: Path):
    document = dump(cli)
    start = document.index('[[milestone]]\nname = "Orientation session attended"')
    end = document.index("[[milestone]]", start + 1) if document.count("[[milestone]]") > 2 else len(document)
    design = tmp_path / "less.toml"
    design.write_text(document[:start] + document[end:])
    before = cli.snapshot()
    for extra in ((), ("--dry-run",)):
        cli.fails("program", "apply", design, *extra, now=None, match=(
            f"{design}: milestone 'Orientation session attended' cannot be removed: it is marked done 2 time(s); "
            "keep it in the file"))
    assert cli.snapshot() == before


def test_removing_what_nobody_used_is_applied(cli, demo: Path, tmp_path: Path):
    design = tmp_path / "spring.toml"
    design.write_text(DESIGN)
    cli.ok("program", "apply", design, now=None)
    fewer = DESIGN.replace('[[milestone]]\nname = "Career plan drafted"\nkind = "relationship"\nrole = "mentor"\n'
                           'due = "8 weeks"\n\n', "")
    fewer = fewer[:fewer.index("[nudge_template.first_meeting]")]
    design.write_text(fewer)
    result = cli.json("program", "apply", design, now=None)
    assert [(c["action"], c["what"]) for c in result["changes"]] == [
        ("remove", "milestone 'Career plan drafted'"), ("remove", "nudge template first_meeting")]
    document = tomllib.loads(dump(cli))
    assert "Career plan drafted" not in [m["name"] for m in document["milestone"]]
    assert "nudge_template" not in document


@pytest.mark.parametrize("text, error", [
    ("[program\nname = 'x'", "not valid TOML"),
    ("[program]\nstall_days = 3", "[program] needs a name"),
    ("[program]\nname = 'P'\nstall_days = 'three'", "[program]: stall_days must be a whole number"),
    ("[program]\nname = 'P'\nstall_days = 0", "[program] stall_days must be at least 1, not 0"),
    ("[program]\nname = 'P'\ncolour = 'red'", "[program]: unknown key 'colour'"),
    ("[program]\nname = 'P'\n[program.stage_stall_days]\ncompleted = 3", "unknown stage 'completed'"),
    ("[program]\nname = 'P'\n[people]\nx = 1", "unknown table 'people'"),
    ("[program]\nname = 'P'\n[[milestone]]\nname = 'M'\nkind = 'relationship'", "[[milestone]] 1 needs role, due"),
    ("[program]\nname = 'P'\n[[starter_goal]]\ntitle = 'G'\n[[starter_goal]]\ntitle = 'G'", "starter goal 'G' is given twice"),
    ("[program]\nname = 'P'\n[nudge_template.matched]\nsubject = 'Hi'", "needs a subject and a body"),
])
def test_a_broken_file_is_refused_in_one_line(cli, demo: Path, tmp_path: Path, text: str, error: str):
    design = tmp_path / "bad.toml"
    design.write_text(text)
    before = cli.snapshot()
    cli.fails("program", "apply", design, now=None, match=error)
    assert cli.snapshot() == before


@pytest.mark.parametrize("addition, error", [
    ("[[milestone]]\nname = 'M'\nkind = 'sometimes'\nrole = 'mentor'\ndue = '1 week'", "--kind 'sometimes' is not known"),
    ("[[starter_goal]]\ntitle = 'G'\nterm = 'medium'", "unknown term 'medium'"),
    ("[nudge_template.matched]\nsubject = 'Hi {nickname}'\nbody = 'x'", "unknown placeholder {nickname}"),
])
def test_the_commands_own_checks_apply_to_the_file(cli, demo: Path, tmp_path: Path, addition: str, error: str):
    design = tmp_path / "bad.toml"
    design.write_text(dump(cli) + "\n" + addition + "\n")
    before = cli.snapshot()
    line = cli.fails("program", "apply", design, now=None, match=error).stderr
    assert str(design) in line
    assert cli.snapshot() == before


def test_only_a_coordinator_applies_a_design(cli, demo: Path, tmp_path: Path):
    design = tmp_path / "spring.toml"
    design.write_text(DESIGN)
    before = cli.snapshot()
    cli.fails("program", "apply", design, user="ana.beltran@example.org", now=None,
              match="applying a program design")
    assert cli.snapshot() == before


def test_the_file_names_its_program(cli, demo: Path, tmp_path: Path):
    design = tmp_path / "spring.toml"
    design.write_text(DESIGN)
    cli.fails("program", "apply", design, env={"MLOOP_PROGRAM": "Autumn"}, now=None, code=2, match=(
        f"{design} describes program 'Spring 2026 Mentoring', not 'Autumn': drop --program or change the name in the file"))


def test_dump_out_writes_the_file(cli, demo: Path, tmp_path: Path):
    out = tmp_path / "p.toml"
    assert cli.ok("program", "dump", "--out", out, now=None).stdout == ""
    assert out.read_text() == dump(cli)
    assert parse(out.read_text(), "p.toml")["program"]["name"] == "Spring 2026 Mentoring"
