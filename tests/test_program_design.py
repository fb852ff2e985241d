"""Program design: settings with a stall threshold per stage, several programs,
starter goals, mentoring agreements, live next steps, check-ins and pairing fits."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from mloop import rules
from tests.conftest import NOW, at

CORA = "cora@example.org"
BO = "bo@example.org"  # mentor
ANA = "ana@example.org"  # mentee


def setup_pair(cli, make_program, add_person, make_loop, *, matched_days_ago: float = 0) -> int:
    make_program("Spring")
    add_person(CORA, "coordinator", name="Cora")
    add_person(BO, "mentor", name="Bo", joined=at(-matched_days_ago))
    add_person(ANA, "mentee", name="Ana", joined=at(-matched_days_ago))
    return make_loop(BO, ANA, as_user=CORA, matched_at=at(-matched_days_ago))


def status_loop(cli, who: str, loop_id: int, now=NOW) -> dict:
    return next(entry for entry in cli.json("status", user=who, now=now)["loops"] if entry["loop_id"] == loop_id)


# --- rules --------------------------------------------------------------------

progress_at = st.builds(
    lambda stage, days: rules.Progress(stage, NOW - timedelta(days=days), ()),
    st.sampled_from(rules.STAGES), st.floats(min_value=0, max_value=400),
)
overrides = st.dictionaries(st.sampled_from([s for s in rules.STAGES if s != rules.COMPLETED]),
                            st.integers(min_value=1, max_value=90))


@given(progress_at, st.integers(min_value=1, max_value=90), overrides)
def test_a_stage_with_its_own_threshold_uses_it_and_the_others_use_stall_days(progress, stall_days, own):
    by_stage = rules.stall_days_by_stage(stall_days, own)
    assert rules.COMPLETED not in by_stage
    expected_days = own.get(progress.stage, stall_days)
    expected = progress.stage != rules.COMPLETED and NOW - progress.stage_since > timedelta(days=expected_days)
    assert rules.is_stalled(progress, NOW, stall_days, by_stage) is expected
    if not own:
        assert rules.is_stalled(progress, NOW, stall_days, by_stage) is rules.is_stalled(progress, NOW, stall_days)


@given(st.floats(min_value=0, max_value=700), st.one_of(st.none(), st.floats(min_value=0, max_value=700)))
def test_a_check_in_falls_due_30_days_after_the_match_then_every_60_and_loop_feedback_answers_it(age, feedback_day):
    matched = NOW - timedelta(days=age)
    last = None if feedback_day is None or feedback_day > age else matched + timedelta(days=feedback_day)
    due = rules.checkin_due(matched, last, NOW)
    if age < 30:
        assert due is None
        return
    latest = matched + timedelta(days=30 + 60 * int((age - 30) // 60))
    answered = last is not None and last >= latest - timedelta(days=7)
    assert due == (None if answered else latest)


def test_next_steps_count_live_and_ask_for_the_agreement_until_it_exists():
    t = NOW - timedelta(days=5)

    def steps(facts, role="mentee", **known):
        return rules.next_steps(facts, rules.StepFacts(loop_id=7, role=role, partner="Bo", **known), NOW)

    grow = rules.MembershipFacts(t, t, t, None, None, t)
    assert "Keep meeting: 2 of 3 meetings held" in steps(grow, held_meetings=2, has_fit=True)
    up = rules.MembershipFacts(t, t, t, t, t, t, t, None, (rules.GoalFact(t),))
    assert steps(up, "mentor", held_meetings=3, shared_goals=2, goals_done=1, has_agreement=True,
                 has_fit=True)[0] == "1 of 2 shared goals done"
    matched = rules.MembershipFacts(t)
    assert steps(matched)[0].startswith("Settle your mentoring agreement: mloop agreement set 7 ")
    agreed = steps(matched, has_agreement=True)
    assert not any("agreement set" in s or "takes notes" in s for s in agreed)
    due = steps(rules.MembershipFacts(t, t), "mentor", checkin_due=NOW)
    assert due[0] == f"A check-in is due since {NOW:%Y-%m-%d %H:%M} UTC: rate the loop: mloop feedback give 7 --rating 4"


# --- settings -----------------------------------------------------------------

def test_a_stage_threshold_set_by_the_program_changes_who_is_stalled(cli, make_program, add_person, make_loop):
    loop = setup_pair(cli, make_program, add_person, make_loop, matched_days_ago=15)
    assert status_loop(cli, ANA, loop)["stalled"] is False  # 15 days at Matched: not more than 21
    changed = cli.json("program", "set", "--stage-stall-days", "matched=14", user=CORA)
    assert changed["stage_stall_days"]["matched"] == 14 and changed["stage_stall_days"]["first_meeting"] == 21
    assert changed["changed"] == ["stall days at matched: default -> 14"]
    assert status_loop(cli, ANA, loop)["stalled"] is True
    report = cli.json("coordinator", "report", user=CORA)
    assert {(row["email"], row["stage"]) for row in report["stalled"]} == {(BO, "matched"), (ANA, "matched")}
    assert report["stage_stall_days"]["matched"] == 14
    terminal = cli.ok("coordinator", "report", user=CORA).stdout
    assert "Stalled (more than 21 days in a stage; Matched 14)" in terminal
    cli.json("program", "set", "--stage-stall-days", "matched=default", user=CORA)
    assert status_loop(cli, ANA, loop)["stalled"] is False
    shown = cli.json("program", "show")
    assert shown["stage_stall_days"] == dict.fromkeys(shown["stage_stall_days"], 21)


def test_program_set_refuses_bad_input_and_non_coordinators_and_changes_nothing(cli, make_program, add_person, make_loop):
    setup_pair(cli, make_program, add_person, make_loop)
    before = cli.snapshot()
    cli.fails("program", "set", "--stage-stall-days", "completed=3", user=CORA, code=2,
              match="unknown stage 'completed' in --stage-stall-days: use one of getting_started, matched")
    cli.fails("program", "set", "--stage-stall-days", "matched=0", user=CORA, code=2, match="days must be 1 to 36500")
    cli.fails("program", "set", "--stage-stall-days", "matched", user=CORA, code=2, match="takes STAGE=DAYS")
    cli.fails("program", "set", user=CORA, code=2, match="nothing to change")
    cli.fails("program", "set", "--stall-days", "30", user=ANA, code=1,
              match="changing the program's settings is for coordinators and ana@example.org is not one")
    assert cli.snapshot() == before


def test_several_programs_in_one_store_and_a_default(cli, make_program, add_person):
    make_program("Spring")
    make_program("Autumn", stall_days=30)
    listed = cli.json("program", "list")["programs"]
    assert [(p["program"], p["default"], p["stall_days"]) for p in listed] == [("Autumn", False, 30), ("Spring", True, 21)]
    cli.json("program", "set", "--default", "--program", "Autumn")
    assert cli.json("program", "show")["program"] == "Autumn"
    assert cli.json("program", "show", "--program", "Spring")["default"] is False
    renamed = cli.json("program", "set", "--name", "Autumn 2026")
    assert renamed["program"] == "Autumn 2026"
    cli.fails("program", "set", "--name", "Spring", code=1, match="there is already a program named 'Spring'")


# --- starter goals ------------------------------------------------------------

def test_starter_goals_are_planted_in_new_loops_and_locked_ones_cannot_be_edited(cli, make_program, add_person, make_loop):
    make_program("Spring")
    add_person(CORA, "coordinator")
    add_person(BO, "mentor", capacity=2)
    add_person(ANA, "mentee")
    add_person("dee@example.org", "mentee")
    locked = cli.json("program", "goal", "add", "Sign the mentoring agreement", "--locked", user=CORA)
    free = cli.json("program", "goal", "add", "Pick a stretch project", "--term", "long", user=CORA)
    assert (locked["locked"], free["locked"], free["term"]) == (True, False, "long")
    loop = make_loop(BO, ANA, as_user=CORA)
    goals = cli.json("goal", "list", "--loop", loop, user=ANA)
    titles = {g["title"]: g for g in goals}
    assert set(titles) == {"Sign the mentoring agreement", "Pick a stretch project"}
    planted = titles["Sign the mentoring agreement"]
    assert planted["locked"] is True and planted["shared_at"] is not None
    before = cli.snapshot()
    cli.fails("goal", "edit", planted["id"], "--title", "Something else", user=ANA, code=1,
              match=f"goal {planted['id']} ('Sign the mentoring agreement') is a locked program goal")
    cli.fails("goal", "delete", planted["id"], user=BO, code=1, match="is a locked program goal: it cannot be deleted")
    assert cli.snapshot() == before
    assert cli.json("goal", "done", planted["id"], user=ANA)["completed_at"] is not None
    cli.json("goal", "edit", titles["Pick a stretch project"]["id"], "--title", "Lead a stretch project", user=ANA)
    # Removing a starter goal keeps it in loops that have it; new loops do without.
    cli.json("program", "goal", "remove", locked["id"], user=CORA)
    later = make_loop(BO, "dee@example.org", as_user=CORA)
    assert [g["title"] for g in cli.json("goal", "list", "--loop", later, user="dee@example.org")] == ["Pick a stretch project"]
    assert len(cli.json("goal", "list", "--loop", loop, user=ANA)) == 2
    cli.fails("program", "goal", "add", "Pick a stretch project", user=CORA, code=1, match="already has the starter goal")
    cli.fails("program", "goal", "add", "x", "--term", "medium", user=CORA, code=2, match="Invalid value for '--term': Value error, 'medium' is not one of 'short', 'long'.")
    cli.fails("program", "goal", "remove", 99, user=CORA, code=1, match="no starter goal 99 in Spring")


# --- agreements, fits, check-ins ----------------------------------------------

def test_the_matched_stage_asks_for_the_agreement_until_it_exists(cli, make_program, add_person, make_loop):
    loop = setup_pair(cli, make_program, add_person, make_loop)
    entry = status_loop(cli, ANA, loop)
    assert entry["agreement"] is None
    assert entry["next_steps"][0].startswith(f"Settle your mentoring agreement: mloop agreement set {loop} ")
    assert cli.json("agreement", "show", loop, user=CORA)["agreement"] is None
    made = cli.json("agreement", "set", loop, "--notes-by", "mentee", "--agenda-by", "mentor", "--cadence", "2w",
                    "--ends", "2026-12-01", user=ANA)
    assert (made["created"], made["notes_by"], made["agenda_by"], made["cadence"], made["set_by"]) == (
        True, "mentee", "mentor", "2w", ANA)
    entry = status_loop(cli, ANA, loop)
    assert entry["agreement"]["cadence"] == "2w" and not any("agreement" in s for s in entry["next_steps"])
    assert "Agreement: the mentee takes notes, the mentor sets agendas, every 2w" in cli.ok("status", user=ANA).stdout
    again = cli.json("agreement", "set", loop, "--notes-by", "mentor", "--agenda-by", "mentor", "--cadence", "1 month",
                     user=BO)
    assert (again["created"], again["notes_by"], again["set_by"]) == (False, "mentor", BO)
    assert cli.json("agreement", "show", loop, user=CORA)["agreement"]["cadence"] == "1 month"


def test_agreements_refuse_bad_input_and_outsiders(cli, make_program, add_person, make_loop):
    loop = setup_pair(cli, make_program, add_person, make_loop)
    add_person("eve@example.org", "mentee")
    before = cli.snapshot()
    base = ("agreement", "set", loop, "--agenda-by", "mentor", "--cadence", "2w")
    cli.fails(*base, "--notes-by", "boss", user=ANA, code=2, match="Invalid value for '--notes-by': Value error, 'boss' is not one of 'mentor', 'mentee'.")
    cli.fails("agreement", "set", loop, "--notes-by", "mentee", "--agenda-by", "mentor", "--cadence", "often", user=ANA,
              code=2, match="cannot read 'often' as a meeting cadence")
    cli.fails(*base, "--notes-by", "mentee", user=CORA, code=1, match="is done by the loop's mentor or mentee")
    cli.fails(*base, "--notes-by", "mentee", user="eve@example.org", code=1, match="eve@example.org is not in loop")
    cli.fails("agreement", "show", loop, user="eve@example.org", code=1, match="is not in loop")
    assert cli.snapshot() == before


def test_a_poor_pairing_fit_puts_the_loop_at_risk_and_up_for_re_pairing(cli, make_program, add_person, make_loop):
    loop = setup_pair(cli, make_program, add_person, make_loop, matched_days_ago=10)
    before = cli.snapshot()
    cli.fails("feedback", "give", loop, "--fit", "poor", user=ANA, code=1,
              match=f"loop {loop} has not held its first meeting yet: a pairing fit comes after it")
    cli.fails("feedback", "give", loop, "--fit", "meh", user=ANA, code=2, match="Invalid value for '--fit': Value error, 'meh' is not one of 'good', 'unsure', 'poor'.")
    cli.fails("feedback", "give", loop, user=ANA, code=2, match="give --rating 1-5, --fit good|unsure|poor, or both")
    assert cli.snapshot() == before
    cli.ok("meet", "log", loop, "--at", at(-2), user=BO)
    assert "Say how the pairing fits you" in " ".join(status_loop(cli, ANA, loop)["next_steps"])
    given_fit = cli.json("feedback", "give", loop, "--fit", "poor", user=ANA)
    assert (given_fit["fit"], given_fit["rating"]) == ("poor", None)
    assert status_loop(cli, ANA, loop)["pairing_fit"] == "poor"
    report = cli.json("coordinator", "report", user=CORA)
    assert [(r["loop_id"], r["poor_fit"], r["email"]) for r in report["at_risk"]] == [(loop, True, ANA)]
    assert [(r["loop_id"], r["fit_by"]) for r in report["re_pairing"]] == [(loop, ANA)]
    # A later good fit (with a rating) lifts it.
    both = cli.json("feedback", "give", loop, "--fit", "good", "--rating", "4", user=ANA, now=at(1))
    assert (both["fit"], both["rating"]) == ("good", 4)
    later = cli.json("coordinator", "report", user=CORA, now=at(1))
    assert later["at_risk"] == [] and later["re_pairing"] == []


def test_check_ins_fall_due_and_the_report_counts_the_overdue(cli, make_program, add_person, make_loop):
    loop = setup_pair(cli, make_program, add_person, make_loop, matched_days_ago=29)
    assert status_loop(cli, ANA, loop)["checkin_due"] is None
    assert cli.json("coordinator", "report", user=CORA)["checkins_overdue"] == 0
    day_31 = at(2)
    entry = status_loop(cli, ANA, loop, now=day_31)
    assert entry["checkin_due"] == cli.iso(NOW + timedelta(days=1))
    assert entry["next_steps"][0] == (f"A check-in is due since {NOW + timedelta(days=1):%Y-%m-%d %H:%M} UTC: "
                                      f"rate the loop: mloop feedback give {loop} --rating 4")
    assert cli.json("coordinator", "report", user=CORA, now=day_31)["checkins_overdue"] == 2
    cli.json("feedback", "give", loop, "--rating", "4", user=ANA, now=day_31)
    assert status_loop(cli, ANA, loop, now=day_31)["checkin_due"] is None
    assert status_loop(cli, BO, loop, now=day_31)["checkin_due"] is not None
    assert cli.json("coordinator", "report", user=CORA, now=day_31)["checkins_overdue"] == 1
    day_92 = at(63)  # 60 days after the first check-in: the next one
    assert status_loop(cli, ANA, loop, now=day_92)["checkin_due"] == cli.iso(NOW + timedelta(days=61))
    assert cli.json("coordinator", "report", user=CORA, now=day_92)["checkins_overdue"] == 2


# --- import / export ----------------------------------------------------------

def test_settings_starter_goals_agreements_and_fits_round_trip_through_json_lines(cli, make_program, add_person,
                                                                                   make_loop, tmp_path):
    loop = setup_pair(cli, make_program, add_person, make_loop, matched_days_ago=10)
    cli.json("program", "set", "--stage-stall-days", "first_meeting=14", user=CORA)
    cli.json("program", "goal", "add", "Agree on ground rules", "--locked", user=CORA)
    cli.ok("meet", "log", loop, "--at", at(-2), user=BO)
    cli.json("agreement", "set", loop, "--notes-by", "mentee", "--agenda-by", "mentee", "--cadence", "2w", user=ANA)
    cli.json("feedback", "give", loop, "--fit", "unsure", user=BO)
    exported = cli.ok("export").stdout
    records = [json.loads(line) for line in exported.splitlines()]
    kinds = {r["type"] for r in records}
    assert {"starter_goal", "agreement", "fit"} <= kinds
    assert records[0]["stage_stall_days"] == {"first_meeting": 14}
    other = tmp_path / "other.db"
    source = tmp_path / "program.jsonl"
    source.write_text(exported, encoding="utf-8")
    cli.ok("import", source, db=other)
    assert cli.ok("export", db=other).stdout == exported
    bad = exported.replace('"fit":"unsure"', '"fit":"meh"').replace('"fit": "unsure"', '"fit": "meh"')
    assert bad != exported
    (tmp_path / "bad.jsonl").write_text(bad, encoding="utf-8")
    third = tmp_path / "third.db"
    cli.fails("import", tmp_path / "bad.jsonl", db=third, code=1, match="fit 'meh' is not one of good, unsure, poor")


def test_time_helpers_are_utc():
    assert NOW.tzinfo is not None and datetime.now(timezone.utc).tzinfo is timezone.utc
