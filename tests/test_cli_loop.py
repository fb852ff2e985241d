"""A mentoring loop lived command by command through the CLI (DESIGN §3 and §4).

Each step runs the real command at a chosen moment (MLOOP_NOW) and then asks
``status --json`` as the mentee and as the mentor where they stand.  The later
tests start from a copy of the same story (built once per module) and look at
it from other angles: time travel, the 21-day boundary, stage history, ending a
loop, the coordinator report, permissions and privacy.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # the story's first day (a Monday)

CORA = "cora@example.org"  # coordinator
BO = "bo@example.org"  # mentor of Ana (loop 1) and of Cy (loop 2)
ANA = "ana@example.org"  # mentee: the loop lived step by step
CY = "cy@example.org"  # mentee: completes by sharing her journey
DEE = "dee@example.org"  # mentee never matched

STAGES = ["getting_started", "matched", "first_meeting", "grow_together", "levelling_up", "completed"]

# A phrase of the role-specific next steps each stage shows (DESIGN §3).
# Words one of the next steps starts with, per stage and role (which one depends on the loop's facts).
NEXT_STEP_HINT = {
    ("getting_started", "mentee"): ("Ask your coordinator for a match",),
    ("getting_started", "mentor"): ("Wait for a match",),
    ("matched", "mentee"): ("Book your first meeting",),
    ("matched", "mentor"): ("Introduce yourself",),
    ("first_meeting", "mentee"): ("Prepare an agenda for meeting", "Give feedback on meeting", "Mark meeting",
                                  "After meeting"),
    ("first_meeting", "mentor"): ("Hold meeting", "Give feedback on meeting", "Mark meeting", "After meeting"),
    ("grow_together", "mentee"): ("Set a goal and share it", "Share goal", "Keep meeting", "Rate the loop"),
    ("grow_together", "mentor"): ("Help ", "Share goal", "Keep meeting", "Rate the loop"),
    ("levelling_up", "mentee"): ("Complete goal", "Share your journey"),
    ("levelling_up", "mentor"): ("Review progress", "Share your journey"),
    ("completed", "mentee"): ("Celebrate",),
    ("completed", "mentor"): ("Celebrate",),
}


def t(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def keys_anywhere(document) -> set[str]:
    """Every key of every object nested in a JSON document."""
    found: set[str] = set()
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found.update(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def status(cli, email: str, now: datetime, *extra) -> dict:
    # '--as' after the subcommand on purpose: global options are accepted there too.
    document = cli.json("status", *extra, "--as", email, now=now)
    assert "at_risk" not in keys_anywhere(document), "a participant must not learn their partner's ratings"
    return document


def loop_entry(cli, email: str, loop_id: int, now: datetime) -> dict:
    entries = [entry for entry in status(cli, email, now)["loops"] if entry["loop_id"] == loop_id]
    assert len(entries) == 1, f"{email} should be in loop {loop_id} at {z(now)}"
    return entries[0]


def expect(cli, now: datetime, loop_id: int, email: str, role: str, stage: str, since: datetime,
           *, stalled: bool = False) -> dict:
    entry = loop_entry(cli, email, loop_id, now)
    assert entry["role"] == role
    assert (entry["stage"], entry["stage_since"]) == (stage, z(since)), f"{email} at {z(now)}"
    assert entry["days_in_stage"] == (now - since) // timedelta(days=1)
    assert entry["stalled"] is stalled
    steps = entry["next_steps"]
    assert any(step.startswith(hint) for hint in NEXT_STEP_HINT[stage, role] for step in steps), steps
    assert len(steps) == len(set(steps))
    return entry


def live_the_loop(cli, *, check: bool) -> dict[str, int]:
    """Ana and Bo's loop from match to completion; with ``check``, both statuses after each step."""

    def both(now, ana_stage, ana_since, bo_stage, bo_since):
        if check:
            expect(cli, now, ids["L1"], ANA, "mentee", ana_stage, ana_since)
            expect(cli, now, ids["L1"], BO, "mentor", bo_stage, bo_since)

    ids: dict[str, int] = {}
    cli.json("init", "--program", "Spring 2026", now=t(-1))
    cli.json("participant", "add", "--name", "Cora", "--email", CORA, "--role", "coordinator", now=t(0))
    cli.json("participant", "add", "--name", "Bo", "--email", BO, "--role", "mentor", "--capacity", 2,
             user=CORA, now=t(0))
    cli.json("participant", "add", "--name", "Ana", "--email", ANA, "--role", "mentee", user=CORA, now=t(0))
    if check:
        me = status(cli, ANA, t(0))
        assert me["loops"] == []
        assert me["participant"]["stage"] == "getting_started"
        assert me["participant"]["stage_since"] == z(t(0))
        assert NEXT_STEP_HINT["getting_started", "mentee"][0] in " | ".join(me["participant"]["next_steps"])

    created = cli.json("match", "create", "--mentor", BO, "--mentee", ANA, user=CORA, now=t(0))
    assert set(created) >= {"id"} and isinstance(created["id"], int)
    ids["L1"] = loop = created["id"]
    both(t(0), "matched", t(0), "matched", t(0))

    booked = cli.json("meet", "schedule", loop, "--at", z(t(3)), "--agenda", "Get to know each other",
                      user=ANA, now=t(1))
    ids["M1"] = booked["id"]
    assert booked["status"] == "scheduled"
    both(t(1), "first_meeting", t(1), "first_meeting", t(1))
    both(t(2, hours=12), "first_meeting", t(1), "first_meeting", t(1))  # days_in_stage counts whole days
    if check:
        assert loop_entry(cli, ANA, loop, t(2))["next_meeting"]["id"] == ids["M1"]

    cli.ok("meet", "done", ids["M1"], "--notes", "Agreed to meet every two weeks", user=BO, now=t(3, hours=1))
    # A held meeting alone is not enough: each member moves on with their own feedback.
    both(t(3, hours=1), "first_meeting", t(1), "first_meeting", t(1))

    cli.ok("feedback", "give", loop, "--meeting", ids["M1"], "--rating", 5, user=ANA, now=t(3, hours=2))
    both(t(3, hours=2), "grow_together", t(3, hours=2), "first_meeting", t(1))

    cli.ok("feedback", "give", loop, "--meeting", ids["M1"], "--rating", 4, user=BO, now=t(4))
    both(t(4), "grow_together", t(3, hours=2), "grow_together", t(4))

    cli.ok("meet", "log", loop, "--at", z(t(10, hours=-1)), "--notes", "CV review", user=ANA, now=t(10))
    cli.ok("meet", "log", loop, "--at", z(t(17, hours=-1)), user=BO, now=t(17))
    both(t(17), "grow_together", t(3, hours=2), "grow_together", t(4))  # 3 held meetings, no goal yet
    if check:
        assert loop_entry(cli, ANA, loop, t(17))["meetings_held"] == 3

    goal = cli.json("goal", "add", loop, "Ship a Python package", user=ANA, now=t(18))
    ids["G1"] = goal["id"]
    assert goal["shared_at"] == z(t(18)), "a goal is shared unless --private"
    both(t(18), "grow_together", t(3, hours=2), "grow_together", t(4))  # no positive loop feedback yet

    cli.ok("feedback", "give", loop, "--rating", 4, "--comment", "Great momentum", user=ANA, now=t(19))
    both(t(19), "levelling_up", t(19), "grow_together", t(4))
    cli.ok("feedback", "give", loop, "--rating", 5, user=BO, now=t(19, hours=1))
    both(t(19, hours=1), "levelling_up", t(19), "levelling_up", t(19, hours=1))

    cli.ok("goal", "done", ids["G1"], user=ANA, now=t(20))
    both(t(20), "completed", t(20), "completed", t(20))  # every shared goal done
    both(t(60), "completed", t(20), "completed", t(20))  # Completed never stalls
    return ids


def build_story(cli) -> dict[str, int]:
    ids = live_the_loop(cli, check=False)
    cli.ok("participant", "add", "--name", "Cy", "--email", CY, "--role", "mentee", user=CORA, now=t(0))
    cli.ok("participant", "add", "--name", "Dee", "--email", DEE, "--role", "mentee", user=CORA, now=t(0))
    # Loop 2: Cy reaches Completed by sharing her journey; Bo, who never rates a meeting, stays at First Meeting.
    ids["L2"] = cli.json("match", "create", "--mentor", BO, "--mentee", CY, user=CORA, now=t(1))["id"]
    ids["M2"] = cli.json("meet", "log", ids["L2"], "--at", z(t(2, hours=-1)), user=CY, now=t(2))["id"]
    cli.ok("feedback", "give", ids["L2"], "--meeting", ids["M2"], "--rating", 5, user=CY, now=t(2, hours=1))
    ids["G2"] = cli.json("goal", "add", ids["L2"], "Give a conference talk", user=CY, now=t(5))["id"]
    cli.ok("feedback", "give", ids["L2"], "--rating", 5, user=CY, now=t(5, hours=1))
    cli.ok("meet", "log", ids["L2"], "--at", z(t(6, hours=-1)), user=CY, now=t(6))
    cli.ok("meet", "log", ids["L2"], "--at", z(t(7, hours=-1)), user=CY, now=t(7))
    cli.ok("share", ids["L2"], "--out", cli.db.parent, user=CY, now=t(8))  # the certificate goes beside the store
    cli.ok("feedback", "give", ids["L2"], "--rating", 2, "--comment", "Cy keeps rescheduling", user=BO, now=t(9))
    # Ana keeps a goal to herself and books one more meeting, with a private agenda.
    ids["G_PRIVATE"] = cli.json("goal", "add", ids["L1"], "Ask for a promotion", "--private", user=ANA, now=t(21))["id"]
    ids["M_NEXT"] = cli.json("meet", "schedule", ids["L1"], "--at", z(t(30)), "--agenda", "Salary talk",
                             "--where", "Café Rosa", user=ANA, now=t(21, hours=1))["id"]
    return ids


@pytest.fixture(scope="module")
def story(tmp_path_factory, make_cli):
    db = tmp_path_factory.mktemp("story") / "story.db"
    return db, build_story(make_cli(db))


@pytest.fixture
def lived(cli, story) -> dict[str, int]:
    """A fresh copy of the story store for this test; returns the ids of its loops, meetings and goals."""
    db, ids = story
    cli.copy_from(db)
    return ids


# --- the loop, step by step ---------------------------------------------------------


def test_a_loop_lived_command_by_command(cli):
    ids = live_the_loop(cli, check=True)
    assert ids["L1"] == 1


def test_sharing_the_journey_completes_levelling_up(cli, lived):
    loop = lived["L2"]
    expect(cli, t(2), loop, CY, "mentee", "first_meeting", t(2))  # a logged meeting is booked when logged
    expect(cli, t(2, hours=1), loop, CY, "mentee", "grow_together", t(2, hours=1))
    # Goal shared and positive loop feedback, but only one of three held meetings: no momentum yet.
    expect(cli, t(5, hours=2), loop, CY, "mentee", "grow_together", t(2, hours=1))
    expect(cli, t(7), loop, CY, "mentee", "levelling_up", t(7))  # the third held meeting
    expect(cli, t(8), loop, CY, "mentee", "completed", t(8))  # shared journey, goal still open
    expect(cli, t(8), loop, BO, "mentor", "first_meeting", t(2))  # each membership is tracked separately
    expect(cli, t(8), lived["L1"], BO, "mentor", "grow_together", t(4))
    # Sharing twice records nothing: it only writes the certificate again (tests/test_certificate.py).
    before = cli.snapshot()
    again = cli.json("share", loop, "--out", cli.db.parent, user=CY, now=t(9))
    assert again["newly_shared"] is False and again["shared_at"] == z(t(8))
    assert cli.snapshot() == before


# --- the clock ----------------------------------------------------------------------


def test_the_21_day_boundary_in_status_and_report(cli, lived):
    loop = lived["L2"]
    # Bo has been at First Meeting in loop 2 since day 2: exactly 21 days is not stalled…
    expect(cli, t(23), loop, BO, "mentor", "first_meeting", t(2), stalled=False)
    report = cli.json("coordinator", "report", user=CORA, now=t(23))
    assert [(row["email"], row["loop_id"]) for row in report["stalled"]] == [(DEE, None)]
    # …one minute more is.
    entry = expect(cli, t(23, minutes=1), loop, BO, "mentor", "first_meeting", t(2), stalled=True)
    assert entry["days_in_stage"] == 21
    report = cli.json("coordinator", "report", user=CORA, now=t(23, minutes=1))
    assert report["stalled"] == [
        {"email": DEE, "name": "Dee", "role": "mentee", "loop_id": None, "stage": "getting_started",
         "stage_since": z(t(0)), "days_in_stage": 23, "last_nudged_at": None, "nudged_days_ago": None},
        {"email": BO, "name": "Bo", "role": "mentor", "loop_id": loop, "stage": "first_meeting",
         "stage_since": z(t(2)), "days_in_stage": 21, "last_nudged_at": None, "nudged_days_ago": None},
    ]
    # The same boundary for someone never matched (Getting Started since joining).
    assert status(cli, DEE, t(21))["participant"]["stalled"] is False
    assert status(cli, DEE, t(21, minutes=1))["participant"]["stalled"] is True


def test_a_clock_before_a_fact_ignores_it(cli, lived):
    loop = lived["L1"]
    expect(cli, t(0, hours=12), loop, ANA, "mentee", "matched", t(0))  # the booking of day 1 is ignored
    expect(cli, t(3, hours=1), loop, ANA, "mentee", "first_meeting", t(1))  # her feedback comes later
    expect(cli, t(19, minutes=-1), loop, ANA, "mentee", "grow_together", t(3, hours=2))
    before_joining = status(cli, ANA, t(-1))
    assert before_joining["loops"] == [] and "stage" not in before_joining["participant"]

    report = cli.json("coordinator", "report", user=CORA, now=t(19, minutes=30))
    assert report["as_of"] == z(t(19, minutes=30))
    assert report["stages"] == {"getting_started": 1, "matched": 0, "first_meeting": 1, "grow_together": 1,
                                "levelling_up": 1, "completed": 1}
    assert report["activity"]["goals"] == {"shared": 2, "completed": 0}

    early = cli.json("feedback", "list", user=CORA, now=t(3, hours=3))
    assert [(f["author"], f["rating"]) for f in early] == [(CY, 5), (ANA, 5)]
    assert [m["id"] for m in cli.json("meet", "list", user=ANA, now=t(0, hours=12))] == []


def test_meet_list_hides_meetings_booked_later(cli, lived):
    meetings = cli.json("meet", "list", "--loop", lived["L1"], user=ANA, now=t(12))
    assert [m["start"] for m in meetings] == [z(t(3)), z(t(10, hours=-1))]


def test_stage_history(cli, lived):
    document = status(cli, ANA, t(22), "--history")
    [entry] = document["loops"]
    assert entry["history"] == [
        {"stage": "matched", "reached_at": z(t(0))},
        {"stage": "first_meeting", "reached_at": z(t(1))},
        {"stage": "grow_together", "reached_at": z(t(3, hours=2))},
        {"stage": "levelling_up", "reached_at": z(t(19))},
        {"stage": "completed", "reached_at": z(t(20))},
    ]
    assert document["ended_loops"] == []
    [cy_entry] = status(cli, CY, t(22), "--history", "--loop", lived["L2"])["loops"]
    assert [h["stage"] for h in cy_entry["history"]] == STAGES[1:]
    assert cy_entry["history"][-1] == {"stage": "completed", "reached_at": z(t(8))}


def test_adding_facts_never_moves_anyone_backwards(cli, lived):
    # Ana shares a new, unfinished goal after completing: she stays Completed.
    cli.ok("goal", "share", lived["G_PRIVATE"], user=ANA, now=t(22))
    expect(cli, t(22), lived["L1"], ANA, "mentee", "completed", t(20))
    expect(cli, t(22), lived["L1"], BO, "mentor", "completed", t(20))


# --- ending a loop -------------------------------------------------------------------


def test_match_end_makes_the_loop_read_only_and_leaves_the_funnel(cli, lived):
    loop = lived["L1"]
    ended = cli.json("match", "end", loop, "--outcome", "completed", "--reason", "Goals met", user=CORA, now=t(24))
    assert ended == {"id": loop, "outcome": "completed", "ended_at": z(t(24)), "reason": "Goals met"}

    before = cli.snapshot()
    cli.fails("meet", "schedule", loop, "--at", z(t(26)), user=ANA, now=t(25), match="read-only")
    cli.fails("meet", "log", loop, "--at", z(t(24, hours=1)), user=ANA, now=t(25), match="read-only")
    cli.fails("goal", "add", loop, "Another goal", user=ANA, now=t(25), match="read-only")
    cli.fails("feedback", "give", loop, "--rating", 5, user=BO, now=t(25), match="read-only")
    cli.fails("meet", "cancel", lived["M_NEXT"], user=ANA, now=t(25), match="read-only")
    cli.fails("goal", "share", lived["G_PRIVATE"], user=ANA, now=t(25), match="read-only")
    cli.fails("share", loop, user=ANA, now=t(25), match="read-only")
    assert cli.snapshot() == before

    # Ana has no other loop and this one ended completed: an alumna, outside the funnel.
    me = status(cli, ANA, t(25))
    assert me["loops"] == []
    assert me["participant"]["stage"] == "alumni"
    assert me["participant"]["stage_since"] == z(t(24))
    # Bo still mentors Cy: loop 2 only, and no Getting Started line.
    bo = status(cli, BO, t(25))
    assert [entry["loop_id"] for entry in bo["loops"]] == [lived["L2"]]
    assert "stage" not in bo["participant"]

    report = cli.json("coordinator", "report", user=CORA, now=t(25))
    assert report["stages"]["getting_started"] == 1  # Dee
    assert report["alumni"] == 1  # Ana, whose only loop ended completed
    assert report["stages"]["completed"] == 1  # Cy only: loop 1 left the funnel
    assert sum(report["stages"].values()) == 3
    assert report["activity"]["loops"] == {"active": 1, "completed": 1, "cancelled": 0}

    history = status(cli, ANA, t(25), "--history")
    [gone] = history["ended_loops"]
    assert (gone["loop_id"], gone["status"], gone["final_stage"]) == (loop, "completed", "completed")
    assert gone["ended_at"] == z(t(24)) and gone["end_reason"] == "Goals met"

    assert [m["loop_id"] for m in cli.json("match", "list", user=CORA, now=t(25))] == [lived["L2"]]
    everything = cli.json("match", "list", "--all", user=CORA, now=t(25))
    assert [(m["loop_id"], m["status"]) for m in everything] == [(loop, "completed"), (lived["L2"], "active")]
    # Time travel still sees the loop as it was.
    expect(cli, t(23), loop, ANA, "mentee", "completed", t(20))
    # Ending it again is refused.
    cli.fails("match", "end", loop, "--outcome", "cancelled", user=CORA, now=t(26), match="already ended")


# --- the coordinator report ------------------------------------------------------------


def test_coordinator_report_json_shape(cli, lived):
    report = cli.json("coordinator", "report", user=CORA, now=t(23, minutes=1))
    assert {"as_of", "stall_days", "stages", "stalled", "at_risk", "activity"} <= set(report)
    assert report["as_of"] == z(t(23, minutes=1))
    assert report["stall_days"] == 21
    assert list(report["stages"]) == STAGES
    assert report["stages"] == {"getting_started": 1, "matched": 0, "first_meeting": 1, "grow_together": 0,
                                "levelling_up": 0, "completed": 3}
    for row in report["stalled"]:
        assert {"email", "loop_id", "stage", "days_in_stage"} <= set(row)
    [risk] = report["at_risk"]  # Bo's own latest feedback in loop 2 is negative
    assert {k: risk[k] for k in ("loop_id", "mentor", "mentee", "latest_rating")} == {
        "loop_id": lived["L2"], "mentor": BO, "mentee": CY, "latest_rating": 2,
    }
    activity = report["activity"]
    assert activity["loops"] == {"active": 2, "completed": 0, "cancelled": 0}
    assert activity["meetings"] == {"held": 6, "scheduled": 1, "cancelled": 0}
    assert activity["feedback"] == {"total": 7, "positive": 6, "neutral": 0, "negative": 1}
    assert activity["goals"] == {"shared": 2, "completed": 1}
    assert activity["journeys_shared"] == 1
    # No MLOOP_USER and a single coordinator: the report acts as that coordinator.
    assert cli.json("coordinator", "report", now=t(23, minutes=1)) == report


def test_coordinator_report_csv_parses(cli, lived):
    result = cli.ok("coordinator", "report", "--csv", user=CORA, now=t(23, minutes=1))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stderr == ""
    assert {(r["email"], r["loop_id"]) for r in rows} == {
        (ANA, str(lived["L1"])), (BO, str(lived["L1"])), (BO, str(lived["L2"])), (CY, str(lived["L2"])), (DEE, ""),
    }
    bo_2 = next(r for r in rows if r["email"] == BO and r["loop_id"] == str(lived["L2"]))
    assert (bo_2["stage"], bo_2["days_in_stage"], bo_2["stalled"]) == ("first_meeting", "21", "yes")
    assert {"email", "stage", "stage_since", "days_in_stage", "stalled"} <= set(rows[0])


def test_coordinator_report_by_stage_lists_members(cli, lived):
    report = cli.json("coordinator", "report", "--stage", "first_meeting", user=CORA, now=t(23))
    assert [(m["email"], m["loop_id"], m["stage"]) for m in report["members"]] == [(BO, lived["L2"], "first_meeting")]
    labelled = cli.json("coordinator", "report", "--stage", "Completed", user=CORA, now=t(23))
    assert sorted((m["email"], m["loop_id"]) for m in labelled["members"]) == [
        (ANA, lived["L1"]), (BO, lived["L1"]), (CY, lived["L2"]),
    ]
    stalled = cli.json("coordinator", "report", "--stalled", user=CORA, now=t(23, minutes=1))
    assert [row["email"] for row in stalled["stalled"]] == [DEE, BO]
    risky = cli.json("coordinator", "report", "--at-risk", user=CORA, now=t(23))
    assert [row["loop_id"] for row in risky["at_risk"]] == [lived["L2"]]


# --- permissions -------------------------------------------------------------------------


def test_a_participant_cannot_act_in_someone_elses_loop(cli, lived):
    loop = lived["L1"]
    before = cli.snapshot()
    cli.fails("meet", "schedule", loop, "--at", z(t(30)), user=CY, now=t(22), match=f"{CY} is not in loop {loop}")
    cli.fails("meet", "log", loop, "--at", z(t(21)), user=DEE, now=t(22), match=f"not in loop {loop}")
    cli.fails("feedback", "give", loop, "--rating", 1, user=CY, now=t(22), match=f"not in loop {loop}")
    cli.fails("goal", "add", loop, "Sneaky goal", user=CY, now=t(22), match=f"not in loop {loop}")
    cli.fails("meet", "cancel", lived["M_NEXT"], user=CY, now=t(22), match=f"not in loop {loop}")
    cli.fails("share", loop, user=DEE, now=t(22), match=f"not in loop {loop}")
    cli.fails("match", "end", loop, "--outcome", "cancelled", user=CY, now=t(22), match="members or a coordinator")
    cli.fails("goal", "done", lived["G1"], user=CY, now=t(22), match=f"no goal {lived['G1']}")
    cli.fails("status", "--loop", loop, user=CY, now=t(22), match="is not one of")
    assert cli.snapshot() == before


def test_coordinator_commands_refuse_a_participant(cli, lived):
    before = cli.snapshot()
    cli.fails("coordinator", "report", user=ANA, now=t(22), match=f"is for coordinators and {ANA} is not one")
    cli.fails("coordinator", "participant", BO, user=ANA, now=t(22), match="is for coordinators")
    cli.fails("participant", "add", "--name", "Eve", "--email", "eve@example.org", "--role", "mentee",
              user=BO, now=t(22), match="is for coordinators")
    cli.fails("match", "create", "--mentor", BO, "--mentee", DEE, user=ANA, now=t(22), match="is for coordinators")
    cli.fails("export", user=BO, now=t(22), match="is for coordinators")
    # Feedback comes from the loop's members, never from a coordinator.
    cli.fails("feedback", "give", lived["L1"], "--rating", 3, user=CORA, now=t(22), match="not a coordinator")
    assert cli.snapshot() == before
    assert cli.ok("coordinator", "report", now=t(22)).stdout  # no MLOOP_USER, one coordinator


# --- privacy -------------------------------------------------------------------------------


def test_feedback_is_never_shown_to_the_partner(cli, lived):
    mine = cli.json("feedback", "list", user=ANA, now=t(22))
    assert [(f["author"], f["rating"]) for f in mine] == [(ANA, 5), (ANA, 4)]
    assert {f["author"] for f in cli.json("feedback", "list", "--loop", lived["L1"], user=BO, now=t(22))} == {BO}
    assert {f["author"] for f in cli.json("feedback", "list", "--loop", lived["L2"], user=CY, now=t(22))} == {CY}
    everything = cli.json("feedback", "list", user=CORA, now=t(22))
    assert len(everything) == 7 and {f["author"] for f in everything} == {ANA, BO, CY}
    # The partner's negative rating does not leak through status either (no at_risk anywhere).
    status(cli, CY, t(22))
    status(cli, BO, t(22))


def test_coordinators_never_see_agendas_notes_or_goal_titles(cli, lived):
    meetings = cli.json("meet", "list", user=CORA, now=t(22))
    assert len(meetings) == 7
    for meeting in meetings:
        assert not {"agenda", "notes", "actions"} & set(meeting), meeting
    table = cli.ok("meet", "list", user=CORA, now=t(22)).stdout
    assert "Salary talk" not in table and "Get to know" not in table
    csv_out = cli.ok("meet", "list", "--csv", user=CORA, now=t(22)).stdout
    assert "Salary talk" not in csv_out

    goals = cli.json("goal", "list", user=CORA, now=t(22))
    assert {g["id"] for g in goals} == {lived["G1"], lived["G2"]}  # the private goal is not even counted
    for goal in goals:
        assert "title" not in keys_anywhere(goal), goal
    assert "Ship a Python package" not in cli.ok("goal", "list", user=CORA, now=t(22)).stdout

    card = cli.json("coordinator", "participant", ANA, user=CORA, now=t(22))
    text = json.dumps(card)
    for secret in ("Salary talk", "Ship a Python package", "Great momentum", "CV review", "Ask for a promotion"):
        assert secret not in text

    # The members see their own meeting's agenda.
    mine = cli.json("meet", "list", "--upcoming", user=ANA, now=t(22))
    assert [(m["id"], m["agenda"], m["where"]) for m in mine] == [(lived["M_NEXT"], "Salary talk", "Café Rosa")]


def test_a_coordinator_marking_a_meeting_done_does_not_see_its_notes(cli, lived):
    mine = cli.json("meet", "done", lived["M_NEXT"], "--notes", "Raise agreed", user=ANA, now=t(31))
    assert (mine["agenda"], mine["notes"]) == ("Salary talk", "Raise agreed")  # a member sees them
    booked = cli.json("meet", "schedule", lived["L1"], "--at", z(t(32)), "--agenda", "Private agenda",
                      user=ANA, now=t(31))["id"]
    done = cli.json("meet", "done", booked, "--notes", "Coordinator note", user=CORA, now=t(33))
    assert done["status"] == "held"
    assert not {"agenda", "notes", "actions"} & set(done), (
        f"meet done --json shows a coordinator the meeting's private fields: {done}"
    )


def test_a_coordinator_who_also_mentors_sees_no_titles_of_other_loops(cli, lived):
    cli.ok("participant", "add", "--name", "Flo", "--email", "flo@example.org", "--role", "coordinator,mentor",
           user=CORA, now=t(22))
    goals = cli.json("goal", "list", user="flo@example.org", now=t(22))
    for goal in goals:
        assert "title" not in goal, f"goal {goal['id']} of loop {goal['loop_id']} shows its title to a coordinator"


def test_a_private_goal_stays_hidden_from_the_partner_until_shared(cli, lived):
    secret = lived["G_PRIVATE"]
    assert secret in {g["id"] for g in cli.json("goal", "list", user=ANA, now=t(22))}
    assert secret not in {g["id"] for g in cli.json("goal", "list", user=BO, now=t(22))}
    assert "Ask for a promotion" not in cli.ok("goal", "list", user=BO, now=t(22)).stdout
    cli.fails("goal", "done", secret, user=BO, now=t(22), match=f"no goal {secret}")
    cli.fails("goal", "task", "add", secret, "Prepare numbers", user=BO, now=t(22), match=f"no goal {secret}")

    shared = cli.json("goal", "share", secret, user=ANA, now=t(22))
    assert shared["shared_at"] == z(t(22))
    seen = {g["id"]: g for g in cli.json("goal", "list", user=BO, now=t(22, hours=1))}
    assert seen[secret]["title"] == "Ask for a promotion"


def test_a_goal_shared_later_is_hidden_from_the_partner_before_that_moment(cli, lived):
    secret = lived["G_PRIVATE"]
    cli.ok("goal", "share", secret, user=ANA, now=t(22))
    # Time travel: on day 21 and a half the goal was still private (a goal counts from shared_at).
    assert secret not in {g["id"] for g in cli.json("goal", "list", user=BO, now=t(21, hours=12))}


def test_status_never_shows_an_at_risk_flag(cli, lived):
    for email in (ANA, BO, CY, DEE):
        for moment in (t(9, hours=1), t(23)):
            status(cli, email, moment, "--history")


def test_cancelling_the_only_booking_removes_it_as_a_fact(cli, make_program, add_person, make_loop):
    make_program(now=t(-1))
    add_person(CORA, "coordinator", now=t(0))
    add_person(BO, "mentor", "mentee", now=t(0))  # mentors Ana, is mentored by Eli
    add_person(ANA, "mentee", now=t(0))
    add_person("eli@example.org", "mentor", now=t(0))
    loop = make_loop(BO, ANA, now=t(0))
    booked = cli.json("meet", "schedule", loop, "--at", z(t(5)), user=ANA, now=t(1))["id"]
    expect(cli, t(2), loop, ANA, "mentee", "first_meeting", t(1))
    cli.ok("meet", "cancel", booked, user=BO, now=t(2))
    expect(cli, t(2), loop, ANA, "mentee", "matched", t(0))
    cli.ok("meet", "schedule", loop, "--at", z(t(6)), user=BO, now=t(3))
    expect(cli, t(3), loop, BO, "mentor", "first_meeting", t(3))

    other = make_loop("eli@example.org", BO, now=t(4))
    mine = status(cli, BO, t(4))
    assert [(entry["loop_id"], entry["role"], entry["stage"]) for entry in mine["loops"]] == [
        (loop, "mentor", "first_meeting"), (other, "mentee", "matched"),
    ]
    report = cli.json("coordinator", "report", user=CORA, now=t(4))
    assert report["stages"]["first_meeting"] == 2 and report["stages"]["matched"] == 2
    assert report["stages"]["getting_started"] == 0  # Eli mentors, Bo and Ana are in loops
