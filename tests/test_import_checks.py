"""The import refuses what the commands refuse, in the commands' own words.

For each invalid case the command form runs first, through the CLI, and its
error line is captured; then a JSON Lines file holding the same case is
imported into another store.  The import must exit 1 with
``FILE line N: <the command's message>; nothing was imported`` and leave its
store as it was.

The file names its loops and meetings by ``ref``s equal to the ids the command
store gives them ("1", "2", ...), and the checks name a loop or meeting as
their caller does (an id, or a file's ref), so the two messages compare
byte for byte.

A loop that has ended is read-only: each fact a file dates at or after its
loop's end is refused as the command that would have written it is (the
"ended-" cases; a task's done time, which no command sets, has its own test).
Facts dated before the match stay accepted: hand-edited files have them.

Not here: a locked goal can only be edited or deleted, which an import never
does; the marks of relationship milestones, which an import keeps from either
member of the loop (the activity report tallies them by the role the marker
held) while 'milestone done' takes them from the member with the milestone's
role only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import ERROR_PREFIX, NOW, assert_clean_error, at, iso, store_snapshot

PROGRAM = "Spring 2026"
CORA, BO, DEE = "cora@example.org", "bo@example.org", "dee@example.org"  # coordinator; mentors (capacity 1, 2)
ANA, CY = "ana@example.org", "cy@example.org"  # mentees
PEOPLE = ((CORA, "coordinator", 1), (BO, "mentor", 1), (DEE, "mentor", 2), (ANA, "mentee", 1), (CY, "mentee", 1))
MATCHED = at(days=-10)  # when the file's loops were matched


@dataclass
class Case:
    """``steps`` build the command store (args, acting user), ``command`` then fails there;
    ``records`` follow the file's program and participant lines, the last one is the bad one."""

    steps: list[tuple[tuple, str | None]]
    command: tuple
    user: str | None
    records: list[dict]
    code: int = 1  # the command's exit code (an import's is always 1)
    setup: list[tuple] = field(default_factory=list)


def match(ref: str, mentor: str, mentee: str, **extra) -> dict:
    return {"type": "match", "ref": ref, "mentor": mentor, "mentee": mentee, "matched_at": MATCHED, **extra}


def meeting(ref: str, loop: str, status: str, days: float) -> dict:
    return {"type": "meeting", "ref": ref, "loop": loop, "start": at(days=days), "status": status,
            "created_at": at(days=-9)}


def feedback(loop: str, author: str, rating: int = 4, meeting_ref: str | None = None) -> dict:
    return {"type": "feedback", "loop": loop, "meeting": meeting_ref, "author": author, "rating": rating,
            "created_at": at(days=-1)}


def milestone(name: str, kind: str = "relationship", role: str = "mentee", due: str = "2 weeks") -> dict:
    return {"type": "milestone", "name": name, "kind": kind, "role": role, "due": due}


def define(name: str, kind: str = "relationship", role: str = "mentee", due: str = "2 weeks") -> tuple:
    return ("milestone", "define", name, "--kind", kind, "--role", role, "--due", due)


def mark(name: str, by: str, loop: str | None) -> dict:
    return {"type": "milestone_done", "milestone": name, "loop": loop, "by": by, "done_at": at(days=-1)}


BO_ANA = (("match", "create", "--mentor", BO, "--mentee", ANA), None)  # loop 1
DEE_CY = (("match", "create", "--mentor", DEE, "--mentee", CY), None)  # loop 2 (after BO_ANA)
END_1 = (("match", "end", "1", "--outcome", "completed"), None)  # at NOW
ENDED = {"ended_at": at(), "outcome": "completed"}  # as END_1 ends loop 1 in the file


def ended_case(command: tuple, user: str | None, *records: dict, before: Sequence[tuple] = ()) -> Case:
    """Loop 1 (BO mentors ANA) ends at NOW, then ``command`` acts on it; the file
    holds the ended loop and ``records``, the last one dated at or after its end."""
    return Case([BO_ANA, *before, END_1], command, user, [match("1", BO, ANA, **ENDED), *records])


def goal(ref: str, **times) -> dict:
    return {"type": "goal", "ref": ref, "loop": "1", "title": "Ship it", "term": "short",
            "created_at": at(days=-1), "shared_at": at(days=-1), **times}

CASES = {
    "self-match": Case(
        [], ("match", "create", "--mentor", BO, "--mentee", BO), None,
        [match("1", BO, BO)]),
    "mentor-without-the-role": Case(
        [], ("match", "create", "--mentor", ANA, "--mentee", CY), None,
        [match("1", ANA, CY)]),
    "mentee-without-the-role": Case(
        [], ("match", "create", "--mentor", DEE, "--mentee", BO), None,
        [match("1", DEE, BO)]),
    "duplicate-active-pair": Case(
        [DEE_CY], ("match", "create", "--mentor", DEE, "--mentee", CY), None,
        [match("1", DEE, CY), match("2", DEE, CY)]),
    "capacity": Case(
        [BO_ANA], ("match", "create", "--mentor", BO, "--mentee", CY), None,
        [match("1", BO, ANA), match("2", BO, CY)]),
    "mentee-capacity": Case(
        [BO_ANA], ("match", "create", "--mentor", DEE, "--mentee", ANA), None,
        [match("1", BO, ANA), match("2", DEE, ANA)]),
    "rating-0": Case(
        [BO_ANA], ("feedback", "give", "1", "--rating", "0"), ANA,
        [match("1", BO, ANA), feedback("1", ANA, rating=0)]),
    "rating-6": Case(
        [BO_ANA], ("feedback", "give", "1", "--rating", "6"), ANA,
        [match("1", BO, ANA), feedback("1", ANA, rating=6)]),
    "feedback-on-a-booked-meeting": Case(
        [BO_ANA, (("meet", "schedule", "1", "--at", "+2d"), ANA)],
        ("feedback", "give", "1", "--meeting", "1", "--rating", "4"), ANA,
        [match("1", BO, ANA), meeting("1", "1", "scheduled", 2), feedback("1", ANA, meeting_ref="1")]),
    "feedback-on-a-cancelled-meeting": Case(
        [BO_ANA, (("meet", "schedule", "1", "--at", "+2d"), ANA), (("meet", "cancel", "1"), ANA)],
        ("feedback", "give", "1", "--meeting", "1", "--rating", "4"), ANA,
        [match("1", BO, ANA), meeting("1", "1", "cancelled", 2), feedback("1", ANA, meeting_ref="1")]),
    "feedback-on-another-loops-meeting": Case(
        [BO_ANA, DEE_CY, (("meet", "log", "2", "--at", at()), CY)],
        ("feedback", "give", "1", "--meeting", "1", "--rating", "4"), ANA,
        [match("1", BO, ANA), match("2", DEE, CY), meeting("1", "2", "held", -2),
         feedback("1", ANA, meeting_ref="1")]),
    "goal-without-a-title": Case(
        [BO_ANA], ("goal", "add", "1", "  "), ANA,
        [match("1", BO, ANA), {"type": "goal", "ref": "G1", "loop": "1", "title": "  ", "term": "short",
                               "created_at": at(days=-1), "shared_at": at(days=-1)}],
        code=2),
    "task-without-a-title": Case(
        [BO_ANA, (("goal", "add", "1", "Ship it"), ANA)], ("goal", "task", "add", "1", " "), ANA,
        [match("1", BO, ANA), {"type": "goal", "ref": "1", "loop": "1", "title": "Ship it", "term": "short",
                               "created_at": at(days=-1), "shared_at": at(days=-1)},
         {"type": "task", "goal": "1", "title": " "}],
        code=2),
    "milestone-without-a-name": Case(
        [], define(" "), None, [milestone(" ")], code=2),
    "milestone-unreadable-due": Case(
        [], define("Kick-off", due="soonish"), None, [milestone("Kick-off", due="soonish")], code=2),
    "milestone-defined-twice": Case(
        [(define("Kick-off"), None)], define("Kick-off", role="mentor"), None,
        [milestone("Kick-off"), milestone("Kick-off", role="mentor")]),
    "milestone-done-outside-the-loop": Case(
        [BO_ANA, DEE_CY, (define("Kick-off"), None)], ("milestone", "done", "Kick-off", "--loop", "2"), ANA,
        [milestone("Kick-off"), match("1", BO, ANA), match("2", DEE, CY), mark("Kick-off", ANA, "2")]),
    "program-milestone-done-in-a-loop": Case(
        [BO_ANA, (define("Orientation", kind="program"), None)],
        ("milestone", "done", "Orientation", "--loop", "1"), ANA,
        [milestone("Orientation", kind="program"), match("1", BO, ANA), mark("Orientation", ANA, "1")],
        code=2),
    "program-milestone-done-without-the-role": Case(
        [(define("Orientation", kind="program", role="mentor"), None)], ("milestone", "done", "Orientation"), ANA,
        [milestone("Orientation", kind="program", role="mentor"), mark("Orientation", ANA, None)]),
    # Facts dated at or after their loop's end (at NOW, the end itself, or later).
    "ended-meeting-booked": ended_case(
        ("meet", "schedule", "1", "--at", "+2d"), ANA,
        meeting("1", "1", "scheduled", 2) | {"created_at": at()}),
    "ended-meeting-cancelled": ended_case(
        ("meet", "schedule", "1", "--at", "+2d"), ANA,
        meeting("1", "1", "cancelled", 2) | {"created_at": at(hours=1)}),
    "ended-meeting-logged": ended_case(
        ("meet", "log", "1", "--at", at()), ANA,
        meeting("1", "1", "held", -1 / 24) | {"created_at": at(hours=3)}),
    "ended-meeting-done": ended_case(
        ("meet", "done", "1"), ANA,
        meeting("1", "1", "held", 1), before=[(("meet", "schedule", "1", "--at", "+1d"), ANA)]),
    "ended-feedback": ended_case(
        ("feedback", "give", "1", "--rating", "4"), ANA,
        feedback("1", ANA) | {"created_at": at(days=1)}),
    "ended-feedback-on-a-meeting": ended_case(
        ("feedback", "give", "1", "--meeting", "1", "--rating", "4"), ANA,
        meeting("1", "1", "held", -2), feedback("1", ANA, meeting_ref="1") | {"created_at": at()}),
    "ended-goal-added": ended_case(
        ("goal", "add", "1", "Ship it"), ANA,
        goal("1", created_at=at(), shared_at=at())),
    "ended-goal-shared": ended_case(
        ("goal", "share", "1"), ANA,
        goal("1", shared_at=at(days=2)), before=[(("goal", "add", "1", "Ship it", "--private"), ANA)]),
    "ended-goal-completed": ended_case(
        ("goal", "done", "1"), ANA,
        goal("1", completed_at=at(hours=5)), before=[(("goal", "add", "1", "Ship it"), ANA)]),
    "ended-journey-share": ended_case(
        ("share", "1"), ANA,
        {"type": "share", "loop": "1", "author": ANA, "created_at": at(days=3)}),
    "ended-milestone-done": ended_case(
        ("milestone", "done", "Kick-off", "--loop", "1"), ANA,
        milestone("Kick-off"), mark("Kick-off", ANA, "1") | {"done_at": at()},
        before=[(define("Kick-off"), None)]),
    "ended-agreement": ended_case(
        ("agreement", "set", "1", "--notes-by", "mentee", "--agenda-by", "mentor", "--cadence", "2w"), ANA,
        {"type": "agreement", "loop": "1", "notes_by": "mentee", "agenda_by": "mentor", "cadence": "2w",
         "by": ANA, "created_at": at(days=-3), "updated_at": at(days=1)}),
    "fit-before-the-first-meeting": Case(
        [BO_ANA, (("meet", "schedule", "1", "--at", "+2d"), ANA)], ("feedback", "give", "1", "--fit", "good"), ANA,
        [match("1", BO, ANA), meeting("1", "1", "scheduled", 2),
         {"type": "fit", "loop": "1", "author": ANA, "fit": "good", "created_at": at(days=-1)}]),
    "agreement-unreadable-cadence": Case(
        [BO_ANA], ("agreement", "set", "1", "--notes-by", "mentee", "--agenda-by", "mentor", "--cadence", "often"), ANA,
        [match("1", BO, ANA), {"type": "agreement", "loop": "1", "notes_by": "mentee", "agenda_by": "mentor",
                               "cadence": "often", "by": ANA, "created_at": at(days=-1)}], code=2),
    "agreement-ending-before-the-match": Case(
        [BO_ANA], ("agreement", "set", "1", "--notes-by", "mentee", "--agenda-by", "mentor", "--cadence", "2w",
                   "--ends", MATCHED), ANA,
        [match("1", BO, ANA), {"type": "agreement", "loop": "1", "notes_by": "mentee", "agenda_by": "mentor",
                               "cadence": "2w", "ends_at": MATCHED, "by": ANA, "created_at": at(days=-1)}], code=2),
    "ended-pairing-fit": ended_case(
        ("feedback", "give", "1", "--fit", "good"), ANA,
        meeting("1", "1", "held", -2), {"type": "fit", "loop": "1", "author": ANA, "fit": "good", "created_at": at()}),
}


def base_records() -> list[dict]:
    return [{"type": "program", "name": PROGRAM}] + [
        {"type": "participant", "email": email, "name": email.split("@")[0].title(), "roles": [role],
         "joined_at": at(days=-30), "capacity": capacity} for email, role, capacity in PEOPLE
    ]


def command_store(cli) -> None:
    cli.ok("init", "--program", PROGRAM)
    for email, role, capacity in PEOPLE:
        cli.ok("participant", "add", "--name", email.split("@")[0].title(), "--email", email, "--role", role,
               "--capacity", capacity, "--joined", at(days=-30))  # as base_records: before MATCHED


def command_message(cli, case: Case) -> str:
    """The command store built, the case's command run: its one error line, without the prefix."""
    command_store(cli)
    for args, user in case.steps:
        cli.ok(*args, user=user)
    before = cli.snapshot()
    line = assert_clean_error(cli(*case.command, user=case.user), code=case.code)
    assert cli.snapshot() == before
    return line[len(ERROR_PREFIX):]


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", list(CASES))
def test_the_import_refuses_what_the_command_refuses(cli, tmp_path, name):
    case = CASES[name]
    message = command_message(cli, case)

    records = base_records() + case.records
    source = write_lines(tmp_path / "program.jsonl", records)
    other = tmp_path / "other.db"
    cli.ok("init", "--program", "Another program", db=other)
    before = store_snapshot(other)
    line = assert_clean_error(cli("import", source, db=other), code=1)
    assert line == f"{ERROR_PREFIX}{source} line {len(records)}: {message}; nothing was imported"
    assert store_snapshot(other) == before, "the failed import changed the store"


@pytest.mark.parametrize("record, message", [
    ({"type": "goal", "ref": "G1", "loop": "1", "title": "Ship it", "term": "medium", "created_at": at(days=-1),
      "shared_at": at(days=-1)}, "unknown term 'medium': use short or long"),
    (milestone("Kick-off", kind="team"), "--kind 'team' is not known: use relationship or program"),
    (milestone("Kick-off", role="coordinator"), "--role 'coordinator' is not known: use mentor or mentee"),
])
def test_a_word_outside_a_vocabulary_is_refused(cli, tmp_path, record, message):
    """The commands take these words from a fixed choice (a usage error before
    the store is reached); the import checks a file's words itself."""
    records = [*base_records(), match("1", BO, ANA), record]
    source = write_lines(tmp_path / "program.jsonl", records)
    line = assert_clean_error(cli("import", source), code=1)
    assert line == f"{ERROR_PREFIX}{source} line {len(records)}: {message}; nothing was imported"


def test_capacity_counts_the_stores_active_loops(cli, tmp_path):
    """Into an existing program: the store's loops count as the file's own do."""
    message = command_message(cli, CASES["capacity"])
    source = write_lines(tmp_path / "more.jsonl", [match("L9", BO, CY)])
    before = cli.snapshot()
    line = assert_clean_error(cli("import", source), code=1)
    assert line == f"{ERROR_PREFIX}{source} line 1: {message}; nothing was imported"
    assert cli.snapshot() == before


def test_ended_loops_leave_room_and_free_the_pair(cli, tmp_path):
    """A loop that has ended counts neither against capacity nor as the pair's active loop."""
    ended = {"ended_at": at(days=-5), "outcome": "completed"}
    source = write_lines(tmp_path / "program.jsonl", base_records() + [
        match("1", BO, ANA, **ended), match("2", BO, ANA), match("3", DEE, CY, **ended), match("4", DEE, CY),
    ])
    assert cli.json("import", source)["records"]["match"] == 4


def test_the_import_refuses_a_task_done_after_its_loop_ended(cli, tmp_path):
    """No command ticks a task: the import words the refusal as the commands word
    any write to an ended loop (here 'goal task add''s), with the task's own verb."""
    case = ended_case(("goal", "task", "add", "1", "Draft it"), ANA, before=[(("goal", "add", "1", "Ship it"), ANA)])
    message = command_message(cli, case)
    assert message.endswith(": cannot add a task")
    records = base_records() + case.records + [
        goal("1"), {"type": "task", "goal": "1", "title": "Draft it", "done_at": at(days=-2)},
        {"type": "task", "goal": "1", "title": "Review it", "done_at": at(hours=1)},
    ]
    source = write_lines(tmp_path / "program.jsonl", records)
    other = tmp_path / "other.db"
    cli.ok("init", "--program", "Another program", db=other)
    before = store_snapshot(other)
    line = assert_clean_error(cli("import", source, db=other), code=1)
    expected = message.removesuffix("add a task") + "mark a task done"
    assert line == f"{ERROR_PREFIX}{source} line {len(records)}: {expected}; nothing was imported"
    assert store_snapshot(other) == before, "the failed import changed the store"


def test_facts_before_the_end_or_the_match_are_kept(cli, tmp_path):
    """Up to a second before the end, and (as in hand-edited files) before the match."""
    before_end, before_match = iso(NOW - timedelta(seconds=1)), at(days=-12)
    source = write_lines(tmp_path / "program.jsonl", base_records() + [
        match("1", BO, ANA, **ENDED),
        meeting("1", "1", "held", -1 / 24) | {"created_at": before_end},  # logged
        meeting("2", "1", "held", -3) | {"created_at": before_match},  # booked ahead, held
        meeting("3", "1", "scheduled", 2) | {"created_at": before_end},  # booked for after the end
        feedback("1", ANA, meeting_ref="2") | {"created_at": before_end},
        goal("1", shared_at=before_match, completed_at=before_end),
        {"type": "task", "goal": "1", "title": "Draft it", "done_at": before_end},
        {"type": "share", "loop": "1", "author": ANA, "created_at": before_end},
        milestone("Kick-off"), mark("Kick-off", ANA, "1") | {"done_at": before_end},
    ])
    counts = cli.json("import", source)["records"]
    assert counts["meeting"] == 3 and counts["milestone_done"] == 1
