"""Custom milestones (DESIGN §2): the pure due-date rules, then the commands
define / list / done / undo, and their place in status and the coordinator report."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from mloop import rules
from mloop.timeparse import WhenError

UTC = timezone.utc
CORA, BO, ANA, CY, EVE = "cora@example.org", "bo@example.org", "ana@example.org", "cy@example.org", "eve@example.org"
JAN31 = datetime(2026, 1, 31, 9, 0, tzinfo=UTC)  # the match date: "1 month" later is 28 February


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- rules ----------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "offset"), [
    ("10 days", relativedelta(days=10)), ("1 day", relativedelta(days=1)), ("2 weeks", relativedelta(weeks=2)),
    ("1 week", relativedelta(weeks=1)), ("3 months", relativedelta(months=3)), ("1 month", relativedelta(months=1)),
    ("1 year", relativedelta(years=1)), ("2 years", relativedelta(years=2)),
    ("1 month 2 weeks", relativedelta(months=1, weeks=2)),
])
def test_offsets(text, offset):
    assert rules.milestone_offset(text) == offset


@pytest.mark.parametrize("text", ["", "soon", "0 days", "-2 weeks", "3 hours", "2 fortnights"])
def test_bad_offsets(text):
    with pytest.raises(WhenError, match="use e.g. 10 days, 2 weeks, 3 months"):
        rules.milestone_offset(text)


@pytest.mark.parametrize(("anchor", "due", "expected"), [
    (datetime(2026, 1, 31, 9, tzinfo=UTC), "1 month", datetime(2026, 2, 28, 9, tzinfo=UTC)),
    (datetime(2028, 1, 31, 9, tzinfo=UTC), "1 month", datetime(2028, 2, 29, 9, tzinfo=UTC)),
    (datetime(2026, 3, 31, 9, tzinfo=UTC), "1 month", datetime(2026, 4, 30, 9, tzinfo=UTC)),
    (datetime(2026, 8, 31, 9, tzinfo=UTC), "3 months", datetime(2026, 11, 30, 9, tzinfo=UTC)),
    (datetime(2028, 2, 29, 9, tzinfo=UTC), "1 year", datetime(2029, 2, 28, 9, tzinfo=UTC)),
    (datetime(2026, 1, 31, 9, tzinfo=UTC), "1 month 2 weeks", datetime(2026, 3, 14, 9, tzinfo=UTC)),
    (datetime(2026, 1, 31, 9, tzinfo=UTC), "10 days", datetime(2026, 2, 10, 9, tzinfo=UTC)),
])
def test_due_dates_clip_to_the_end_of_the_month(anchor, due, expected):
    assert rules.milestone_due(anchor, rules.milestone_offset(due)) == expected


def test_states():
    due = datetime(2026, 2, 28, 9, tzinfo=UTC)
    second = timedelta(seconds=1)
    assert rules.milestone_state(due, None, due) == "due"  # due exactly now: not yet overdue
    assert rules.milestone_state(due, None, due + second) == "overdue"
    assert rules.milestone_state(due, due + second, due + second) == "done"
    assert rules.milestone_state(due, due + 2 * second, due + second) == "overdue"  # a mark from the future
    assert rules.milestone_state(due, due - second, due - 2 * second) == "due"


anchors = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC))
offsets = st.builds(
    lambda years, months, weeks, days: relativedelta(years=years, months=months, weeks=weeks, days=days),
    st.integers(0, 2), st.integers(0, 14), st.integers(0, 10), st.integers(0, 40),
).filter(lambda o: o != relativedelta())
thirty_firsts = st.builds(
    lambda year, month, hour: datetime(year, month, 31, hour, tzinfo=UTC),
    st.integers(2020, 2032), st.sampled_from((1, 3, 5, 7, 8, 10, 12)), st.integers(0, 23),
)


@given(anchors, offsets)
def test_due_is_never_before_the_anchor(anchor, offset):
    due = rules.milestone_due(anchor, offset)
    assert due >= anchor
    assert due.time() == anchor.time()  # a calendar offset keeps the time of day


@given(thirty_firsts, st.integers(1, 24))
def test_months_after_a_31st_land_on_a_month_end(anchor, months):
    due = rules.milestone_due(anchor, relativedelta(months=months))
    assert (due + timedelta(days=1)).day == 1  # the last day of its month
    assert (due.year * 12 + due.month) - (anchor.year * 12 + anchor.month) == months


@given(anchors, anchors, offsets)
def test_overdue_bounds_bracket_every_anchor(anchor, now, offset):
    lo, hi = rules.overdue_anchor_bounds(offset, now)
    assert lo < hi <= lo + timedelta(days=8)
    past_due = rules.milestone_due(anchor, offset) < now
    if anchor < lo:
        assert past_due
    if anchor >= hi:
        assert not past_due


@given(st.integers(0, 12 * 24 * 60), offsets)
def test_overdue_bounds_around_month_ends(minutes, offset):
    """Anchors in the days around a month's end, where clipping bunches due dates."""
    anchor = datetime(2026, 1, 27, tzinfo=UTC) + timedelta(minutes=minutes)
    for now in (datetime(2026, 2, 28, 9, tzinfo=UTC), datetime(2026, 3, 31, 23, 59, tzinfo=UTC),
                datetime(2027, 2, 28, 0, 30, tzinfo=UTC)):
        lo, hi = rules.overdue_anchor_bounds(offset, now)
        past_due = rules.milestone_due(anchor, offset) < now
        assert not (anchor < lo and not past_due)
        assert not (anchor >= hi and past_due)


# --- commands -------------------------------------------------------------------------

@pytest.fixture
def program(cli, add_person, make_loop):
    """Cora coordinates; Bo mentors Ana (loop 1) and Cy (loop 2), matched on 31 January; Eve mentors nobody."""
    before = JAN31 - timedelta(days=30)
    cli.json("init", "--program", "Spring", now=before)
    cli.json("participant", "add", "--name", "Cora", "--email", CORA, "--role", "coordinator", now=before)
    add_person(BO, "mentor", capacity=2, as_user=CORA, now=before)
    add_person(ANA, "mentee", as_user=CORA, now=before)
    add_person(CY, "mentee", as_user=CORA, now=before)
    add_person(EVE, "mentor", as_user=CORA, now=before, joined=z(JAN31))
    loops = [make_loop(BO, ANA, as_user=CORA, now=JAN31), make_loop(BO, CY, as_user=CORA, now=JAN31)]
    assert loops == [1, 2]
    return loops


def define(cli, name, kind, role, due, **kwargs):
    return cli.json("milestone", "define", name, "--kind", kind, "--role", role, "--due", due,
                    user=CORA, now=JAN31, **kwargs)


def test_define_and_list_definitions(cli, program):
    record = define(cli, "Check-in", "relationship", "mentee", "1 month")
    assert record == {"name": "Check-in", "kind": "relationship", "role": "mentee", "due": "1 month", "description": None}
    cli.json("milestone", "define", "Intro", "--kind", "Program", "--role", "MENTOR", "--due", "10 days",
             "--description", "Say hello to the cohort", user=CORA, now=JAN31)
    listed = cli.json("milestone", "list", user=CORA, now=JAN31)
    assert listed == [
        {"name": "Check-in", "kind": "relationship", "role": "mentee", "due": "1 month", "description": None,
         "done": 0, "overdue": 0},
        {"name": "Intro", "kind": "program", "role": "mentor", "due": "10 days",
         "description": "Say hello to the cohort", "done": 0, "overdue": 1},  # Bo joined on 1 January
    ]
    table = cli.ok("milestone", "list", user=CORA, now=JAN31).stdout
    assert "Check-in" in table and "relationship" in table


@pytest.mark.parametrize(("args", "code", "message"), [
    (("Check-in", "--kind", "relationship", "--role", "mentee", "--due", "2 weeks"), 1,
     "Spring already has a milestone named 'Check-in': pick another name"),
    (("X", "--kind", "loop", "--role", "mentee", "--due", "2 weeks"), 2,
     "Invalid value for '--kind': Value error, 'loop' is not one of 'relationship', 'program'."),
    (("X", "--kind", "program", "--role", "coach", "--due", "2 weeks"), 2,
     "Invalid value for '--role': Value error, 'coach' is not one of 'mentor', 'mentee'."),
    (("X", "--kind", "program", "--role", "mentee", "--due", "soon"), 2,
     "--due: cannot read 'soon' as a due offset: use e.g. 10 days, 2 weeks, 3 months"),
    (("X", "--kind", "program", "--role", "mentee", "--due", "0 days"), 2, "as a due offset"),
    (("  ", "--kind", "program", "--role", "mentee", "--due", "2 weeks"), 2, "a milestone needs a name"),
])
def test_define_refusals_leave_the_store_unchanged(cli, program, args, code, message):
    define(cli, "Check-in", "relationship", "mentee", "1 month")
    before = cli.snapshot()
    cli.fails("milestone", "define", *args, user=CORA, now=JAN31, code=code, match=message)
    assert cli.snapshot() == before


def test_only_coordinators_define(cli, program):
    before = cli.snapshot()
    cli.fails("milestone", "define", "X", "--kind", "program", "--role", "mentee", "--due", "2 weeks",
              user=ANA, now=JAN31, code=1,
              match="defining a milestone is for coordinators and ana@example.org is not one")
    assert cli.snapshot() == before


def test_member_list_shows_overdue_as_a_word_in_red(cli, program):
    define(cli, "Check-in", "relationship", "mentee", "1 month")
    later = datetime(2026, 2, 28, 9, 0, 1, tzinfo=UTC)
    table = cli.ok("milestone", "list", user=ANA, now=later).stdout
    row = next(line for line in table.splitlines() if "Check-in" in line)
    assert "overdue" in row and "[red]" not in table and "[/red]" not in table
    colored = cli.ok("milestone", "list", user=ANA, now=later, env={"FORCE_COLOR": "1", "NO_COLOR": None}).stdout
    assert "\x1b[31moverdue\x1b[0m" in colored
    assert "due" in next(line for line in cli.ok("milestone", "list", user=ANA, now=JAN31).stdout.splitlines()
                         if "Check-in" in line)


def test_month_end_due_date_and_overdue_everywhere(cli, program):
    define(cli, "Check-in", "relationship", "mentee", "1 month")
    due = datetime(2026, 2, 28, 9, tzinfo=UTC)
    mine = cli.json("milestone", "list", user=ANA, now=JAN31)
    assert mine == [{"name": "Check-in", "kind": "relationship", "role": "mentee", "loop_id": 1, "due": z(due),
                     "state": "due", "done_at": None, "offset": "1 month", "description": None}]
    # Due exactly now is not overdue yet; a second later it is.
    status = cli.json("status", user=ANA, now=due)
    assert status["loops"][0]["milestones"] == [{"name": "Check-in", "due": z(due), "state": "due", "done_at": None}]
    later = due + timedelta(seconds=1)
    status = cli.json("status", user=ANA, now=later)
    assert status["loops"][0]["milestones"][0]["state"] == "overdue"
    assert status["participant"]["milestones"] == []
    assert "Milestone Check-in: overdue since 2026-02-28 09:00" in cli.ok("status", user=ANA, now=later).stdout
    # The mentor sees no mentee milestone in his loops.
    assert [loop["milestones"] for loop in cli.json("status", user=BO, now=later)["loops"]] == [[], []]

    report = cli.json("coordinator", "report", user=CORA, now=due)
    assert report["milestones"] == [{"name": "Check-in", "kind": "relationship", "role": "mentee", "done": 0, "overdue": 0}]
    report = cli.json("coordinator", "report", user=CORA, now=later)
    assert report["milestones"] == [{"name": "Check-in", "kind": "relationship", "role": "mentee", "done": 0, "overdue": 2}]
    cli.json("milestone", "done", "Check-in", user=ANA, now=later)
    report = cli.json("coordinator", "report", user=CORA, now=later)
    assert report["milestones"][0] == {"name": "Check-in", "kind": "relationship", "role": "mentee",
                                           "done": 1, "overdue": 1}
    assert "Custom milestones" in cli.ok("coordinator", "report", user=CORA, now=later).stdout


def test_report_without_milestones(cli, program):
    assert cli.json("coordinator", "report", user=CORA, now=JAN31)["milestones"] == []
    assert "Custom milestones" not in cli.ok("coordinator", "report", user=CORA, now=JAN31).stdout


def test_program_milestones_count_from_the_join_date(cli, program):
    define(cli, "Intro", "program", "mentor", "1 month")
    bo_due = datetime(2026, 1, 1, 9, tzinfo=UTC) + relativedelta(months=1)  # Bo joined on 1 January
    at = datetime(2026, 2, 15, tzinfo=UTC)
    status = cli.json("status", user=BO, now=at)
    assert status["participant"]["milestones"] == [{"name": "Intro", "due": z(bo_due), "state": "overdue", "done_at": None}]
    assert cli.json("status", user=EVE, now=at)["participant"]["milestones"] == [
        {"name": "Intro", "due": "2026-02-28T09:00:00Z", "state": "due", "done_at": None}]
    assert cli.json("status", user=ANA, now=at)["participant"]["milestones"] == []
    report = cli.json("coordinator", "report", user=CORA, now=at)
    assert report["milestones"] == [{"name": "Intro", "kind": "program", "role": "mentor", "done": 0, "overdue": 1}]
    done = cli.json("milestone", "done", "Intro", user=BO, now=at)
    assert (done["state"], done["done_at"], done["loop_id"]) == ("done", z(at), None)
    assert cli.json("coordinator", "report", user=CORA, now=at)["milestones"][0]["done"] == 1
    # A mark counts from its time: the day before, Bo had not done it.
    assert cli.json("status", user=BO, now=at - timedelta(days=1))["participant"]["milestones"][0]["state"] == "overdue"
    assert cli.json("coordinator", "report", user=CORA, now=at - timedelta(days=1))["milestones"][0]["done"] == 0


def test_only_the_responsible_role_marks_it_done(cli, program):
    define(cli, "Check-in", "relationship", "mentee", "1 month")
    define(cli, "Intro", "program", "mentor", "2 weeks")
    before = cli.snapshot()
    cli.fails("milestone", "done", "Check-in", user=BO, now=JAN31, code=1,
              match="only a loop's mentee can mark milestone 'Check-in', and bo@example.org is not the mentee of any active loop")
    cli.fails("milestone", "done", "Check-in", "--loop", 1, user=BO, now=JAN31, code=1,
              match="only the mentee of loop 1 can mark milestone 'Check-in', and bo@example.org is its mentor")
    cli.fails("milestone", "done", "Check-in", "--loop", 2, user=ANA, now=JAN31, code=1,
              match="ana@example.org is not in loop 2")
    cli.fails("milestone", "done", "Intro", user=ANA, now=JAN31, code=1,
              match="only mentors can mark milestone 'Intro', and ana@example.org is not a mentor")
    cli.fails("milestone", "done", "Intro", "--loop", 1, user=BO, now=JAN31, code=2, match="leave out --loop")
    cli.fails("milestone", "done", "Nope", user=ANA, now=JAN31, code=1,
              match="no milestone named 'Nope' in Spring: see 'mloop milestone list'")
    cli.fails("milestone", "done", "Check-in", user=CORA, now=JAN31, code=1, match="only a loop's mentee")
    assert cli.snapshot() == before


def test_done_twice_and_several_loops(cli, program):
    define(cli, "Kick-off", "relationship", "mentor", "2 weeks")
    before = cli.snapshot()
    cli.fails("milestone", "done", "Kick-off", user=BO, now=JAN31, code=2,
              match="bo@example.org is the mentor of loops 1, 2: say which with --loop LOOP")
    assert cli.snapshot() == before
    record = cli.json("milestone", "done", "kick-off", "--loop", 2, user=BO, now=JAN31)
    assert record["name"] == "Kick-off" and record["loop_id"] == 2 and record["state"] == "done"
    assert record["due"] == "2026-02-14T09:00:00Z"
    before = cli.snapshot()
    cli.fails("milestone", "done", "Kick-off", "--loop", 2, user=BO, now=JAN31, code=1,
              match="milestone 'Kick-off' is already done in loop 2")
    assert cli.snapshot() == before
    states = {loop["loop_id"]: loop["milestones"][0]["state"]
              for loop in cli.json("status", user=BO, now=JAN31 + timedelta(days=20))["loops"]}
    assert states == {1: "overdue", 2: "done"}


def test_undo(cli, program):
    define(cli, "Check-in", "relationship", "mentee", "1 month")
    define(cli, "Intro", "program", "mentor", "2 weeks")
    cli.json("milestone", "done", "Check-in", user=ANA, now=JAN31)
    cli.json("milestone", "done", "Intro", user=BO, now=JAN31)
    before = cli.snapshot()
    cli.fails("milestone", "undo", "Check-in", "--loop", 1, user=BO, now=JAN31, code=1, match="only the mentee of loop 1")
    cli.fails("milestone", "undo", "Intro", "--for", BO, user=ANA, now=JAN31, code=1,
              match="undoing someone else's milestone is for coordinators")
    cli.fails("milestone", "undo", "Intro", user=EVE, now=JAN31, code=1,
              match="milestone 'Intro' is not done for eve@example.org: nothing to undo")
    assert cli.snapshot() == before

    assert cli.json("milestone", "undo", "Check-in", user=ANA, now=JAN31) == {
        "name": "Check-in", "kind": "relationship", "loop_id": 1, "participant": None, "undone": 1}
    cli.fails("milestone", "undo", "Check-in", user=ANA, now=JAN31, code=1,
              match="milestone 'Check-in' is not done in loop 1: nothing to undo")
    assert cli.json("milestone", "list", user=ANA, now=JAN31)[0]["state"] == "due"
    cli.json("milestone", "done", "Check-in", user=ANA, now=JAN31)
    # A coordinator takes marks back with --loop or --for.
    assert cli.json("milestone", "undo", "Check-in", "--loop", 1, user=CORA, now=JAN31)["undone"] == 1
    assert cli.json("milestone", "undo", "Intro", "--for", BO, user=CORA, now=JAN31)["participant"] == BO
    assert [m["done"] for m in cli.json("milestone", "list", user=CORA, now=JAN31)] == [0, 0]
    cli.fails("milestone", "undo", "Check-in", "--for", ANA, user=CORA, now=JAN31, code=2, match="--loop LOOP, not --for")


def test_ended_loops_have_no_milestones_to_mark(cli, program):
    define(cli, "Check-in", "relationship", "mentee", "1 month")
    cli.json("match", "end", 1, "--outcome", "completed", user=CORA, now=JAN31 + timedelta(days=1))
    later = JAN31 + timedelta(days=40)
    assert cli.json("status", user=ANA, now=later)["loops"] == []
    before = cli.snapshot()
    cli.fails("milestone", "done", "Check-in", "--loop", 1, user=ANA, now=later, code=1, match="read-only")
    assert cli.snapshot() == before
    assert cli.json("coordinator", "report", user=CORA, now=later)["milestones"][0]["overdue"] == 1  # Cy's loop only


def test_export_import_round_trip(cli, program, tmp_path):
    define(cli, "Check-in", "relationship", "mentee", "1 month")
    define(cli, "Intro", "program", "mentor", "2 weeks")
    define(cli, "Wrap-up", "relationship", "mentor", "3 months")
    cli.json("milestone", "done", "Check-in", user=ANA, now=JAN31)
    cli.json("milestone", "done", "Check-in", user=CY, now=JAN31)
    cli.json("milestone", "done", "Intro", user=BO, now=JAN31)
    cli.json("milestone", "undo", "Check-in", user=CY, now=JAN31)
    exported = cli.ok("export", user=CORA, now=JAN31).stdout
    records = [json.loads(line) for line in exported.splitlines()]
    done = [r for r in records if r["type"] == "milestone_done"]
    assert [(r["milestone"], r["by"], r["loop"] is None) for r in done] == [
        ("Check-in", ANA, False), ("Intro", BO, True)]
    copy = tmp_path / "copy.jsonl"
    copy.write_text(exported.replace('"name": "Spring"', '"name": "Copy"', 1).replace('"name":"Spring"', '"name":"Copy"', 1))
    cli.json("import", copy, user=CORA, now=JAN31)
    again = cli.ok("export", "--program", "Copy", user=CORA, now=JAN31).stdout
    assert again.replace('"Copy"', '"Spring"') == exported
    later = JAN31 + timedelta(days=30)
    assert (cli.json("coordinator", "report", "--program", "Copy", user=CORA, now=later)["milestones"]
            == cli.json("coordinator", "report", user=CORA, now=later)["milestones"])
