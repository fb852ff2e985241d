"""Matching (issue 6): pure scoring and the optimal assignment, then 'match suggest' and profiles through the CLI."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.matching import Profile, ScoreParts, score, score_matrix, suggest, total_score

AT = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # winter: Lisbon is UTC+0, Berlin UTC+1, New York UTC-5

CORA = "cora@example.org"


def mentor(pid, email, offers=(), capacity=1, timezone=None, department=None):
    return Profile(pid, email, offers=tuple(offers), timezone=timezone, department=department, capacity=capacity)


def mentee(pid, email, seeks=(), timezone=None, department=None):
    return Profile(pid, email, seeks=tuple(seeks), timezone=timezone, department=department)


# --- scoring ------------------------------------------------------------------------------------------


def test_score_adds_shared_skills_time_zone_closeness_and_a_different_department():
    parts = score(mentor(1, "m@x.org", ["Python", "SQL", "career"], timezone="Europe/Lisbon", department="Eng"),
                  mentee(2, "t@x.org", ["sql", "python", "design"], timezone="Europe/Berlin", department="Sales"), at=AT)
    assert parts == ScoreParts(skills=20.0, timezone=2.75, department=2.0, shared_skills=("sql", "python"))
    assert parts.total == 24.75
    assert parts.as_dict() == {"skills": 20, "timezone": 2.75, "department": 2}


def test_score_parts_are_zero_when_unknown_or_alike():
    same_department = score(mentor(1, "m@x.org", department="Eng"), mentee(2, "t@x.org", department="eng"), at=AT)
    assert same_department == ScoreParts(0.0, 0.0, 0.0, ())
    one_zone = score(mentor(1, "m@x.org", timezone="Europe/Lisbon"), mentee(2, "t@x.org"), at=AT)
    assert one_zone.timezone == 0.0
    far = score(mentor(1, "m@x.org", timezone="Asia/Tokyo"), mentee(2, "t@x.org", timezone="America/New_York"), at=AT)
    assert far.timezone == 0.0  # 14 hours apart


def test_time_zones_are_compared_at_the_reference_instant():
    summer = datetime(2026, 7, 1, 9, 0, tzinfo=timezone.utc)  # New York UTC-4, Lisbon UTC+1
    pair = (mentor(1, "m@x.org", timezone="Europe/Lisbon"), mentee(2, "t@x.org", timezone="America/New_York"))
    assert score(*pair, at=AT).timezone == 3 - 5 / 4
    assert score(*pair, at=summer).timezone == 3 - 5 / 4
    assert score(mentor(1, "m@x.org", timezone="Europe/London"), mentee(2, "t@x.org", timezone="UTC"), at=summer).timezone == 3 - 1 / 4


def test_self_and_former_or_current_partners_are_excluded():
    both = Profile(1, "both@x.org", offers=("python",), seeks=("python",))
    assert score(both, both, at=AT) is None
    m, t = mentor(1, "m@x.org", ["python"]), mentee(2, "t@x.org", ["python"])
    assert score(m, t, at=AT, former_pairs={(1, 2)}) is None
    assert score(m, t, at=AT, former_pairs={(2, 1)}) is None  # they met the other way round
    assert score(m, t, at=AT, former_pairs={(1, 3)}) is not None


# --- the assignment ------------------------------------------------------------------------------------


def test_the_optimum_beats_the_greedy_choice():
    # Greedy takes the best pair first (p–a, 30) and leaves q only b, who shares nothing: 30 in all.
    # The optimum gives p to b (20) and q to a (20): 40.
    mentors = [mentor(1, "a@x.org", ["x", "y", "z", "w"]), mentor(2, "b@x.org", ["x", "y"])]
    mentees = [mentee(3, "p@x.org", ["x", "y", "z"]), mentee(4, "q@x.org", ["z", "w"])]
    proposal = suggest(mentors, mentees, at=AT, min_score=5)
    assert [(s.mentee, s.mentor, s.score) for s in proposal.suggestions] == [
        ("p@x.org", "b@x.org", 20.0), ("q@x.org", "a@x.org", 20.0)]
    assert proposal.unmatched == []


def test_a_high_score_is_not_given_up_for_more_matches():
    # Pairing b with m1 would match both mentees (a with m2 at 0) but total only 10; a with m1 is 20.
    mentors = [mentor(1, "m1@x.org", ["python", "sql"]), mentor(2, "m2@x.org", [])]
    mentees = [mentee(3, "a@x.org", ["python", "sql"]), mentee(4, "b@x.org", ["python"])]
    proposal = suggest(mentors, mentees, at=AT, former_pairs={(2, 4)})
    assert [(s.mentee, s.mentor, s.score) for s in proposal.suggestions] == [("a@x.org", "m1@x.org", 20.0)]
    assert proposal.unmatched == ["b@x.org"]
    # A pair scoring 0 is still a match when nothing better is left.
    assert [(s.mentee, s.mentor) for s in suggest(mentors, mentees, at=AT).suggestions] == [
        ("a@x.org", "m1@x.org"), ("b@x.org", "m2@x.org")]


def test_capacity_slots_and_min_score():
    mentors = [mentor(1, "m@x.org", ["python"], capacity=2), mentor(9, "full@x.org", ["python"], capacity=0)]
    mentees = [mentee(i, f"t{i}@x.org", ["python"]) for i in (2, 3, 4)]
    proposal = suggest(mentors, mentees, at=AT)
    assert [s.mentor for s in proposal.suggestions] == ["m@x.org", "m@x.org"]
    assert len(proposal.unmatched) == 1
    assert suggest(mentors, mentees, at=AT, min_score=11).suggestions == []


profiles = st.lists(st.sampled_from(["python", "sql", "design", "career", "go"]), max_size=3)
zones = st.sampled_from([None, "UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Asia/Tokyo"])
departments = st.sampled_from([None, "eng", "sales", "ops"])


@st.composite
def cases(draw):
    n_mentors, n_mentees = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    mentors = [mentor(i, f"m{i}@x.org", draw(profiles), draw(st.integers(0, 3)), draw(zones), draw(departments))
               for i in range(1, n_mentors + 1)]
    mentees = [mentee(100 + i, f"t{i}@x.org", draw(profiles), draw(zones), draw(departments))
               for i in range(1, n_mentees + 1)]
    people = [m.id for m in mentors] + [t.id for t in mentees]
    former = set(draw(st.lists(st.tuples(st.sampled_from(people), st.sampled_from(people)), max_size=4)))
    return mentors, mentees, former, draw(st.sampled_from([0.0, 3.0, 10.0]))


def brute_force_best(mentors, mentees, former, min_score):
    """The best total over every assignment (each mentee to a mentor or to nobody) within capacities."""
    best = 0.0
    for choice in itertools.product([None, *range(len(mentors))], repeat=len(mentees)):
        if any(choice.count(i) > m.capacity for i, m in enumerate(mentors)):
            continue
        total = 0.0
        for mentee_, column in zip(mentees, choice):
            if column is None:
                continue
            parts = score(mentors[column], mentee_, at=AT, former_pairs=former)
            if parts is None or parts.total < min_score:
                break
            total += parts.total
        else:
            best = max(best, total)
    return best


@settings(max_examples=150, deadline=None)
@given(cases())
def test_suggest_is_optimal_within_capacity_and_never_pairs_excluded_people(case):
    mentors, mentees, former, min_score = case
    proposal = suggest(mentors, mentees, at=AT, former_pairs=former, min_score=min_score)
    by_email = {m.email: m for m in mentors}
    for m in mentors:
        assert sum(s.mentor == m.email for s in proposal.suggestions) <= m.capacity
    assert len({s.mentee for s in proposal.suggestions}) == len(proposal.suggestions)
    for s in proposal.suggestions:
        assert (s.mentor_id, s.mentee_id) not in former and (s.mentee_id, s.mentor_id) not in former
        assert s.mentor_id != s.mentee_id and s.score >= min_score
        assert s.parts == score(by_email[s.mentor], next(t for t in mentees if t.email == s.mentee), at=AT,
                                former_pairs=former)
    assert sorted([s.mentee for s in proposal.suggestions] + proposal.unmatched) == sorted(t.email for t in mentees)
    assert total_score(proposal.suggestions) == pytest.approx(brute_force_best(mentors, mentees, former, min_score))
    # Same input, in any order, same proposal.
    again = suggest(list(reversed(mentors)), list(reversed(mentees)), at=AT, former_pairs=former, min_score=min_score)
    assert again == proposal


@settings(max_examples=60, deadline=None)
@given(cases())
def test_the_score_matrix_agrees_with_score(case):
    import math

    mentors, mentees, former, _ = case
    matrix = score_matrix(mentors, mentees, at=AT, former_pairs=former)
    for row, t in enumerate(mentees):
        for column, m in enumerate(mentors):
            parts = score(m, t, at=AT, former_pairs=former)
            if parts is None:
                assert math.isnan(matrix[row, column])
            else:
                assert matrix[row, column] == parts.total


# --- the CLI -------------------------------------------------------------------------------------------


@pytest.fixture
def people(cli, make_program, add_person):
    make_program("Spring")
    add_person(CORA, "coordinator")
    add_person("mo@x.org", "mentor", offers="python,sql", capacity=1, timezone="Europe/Lisbon", department="Eng")
    add_person("max@x.org", "mentor", offers="python", capacity=2, department="Sales", timezone="Europe/Lisbon")
    add_person("ana@x.org", "mentee", seeks="python,sql", department="Eng")
    add_person("bea@x.org", "mentee", seeks="sql,design", department="Ops")
    add_person("cy@x.org", "mentee", seeks="python", timezone="Europe/Berlin")
    return cli


def test_suggest_json_shape_and_the_optimum(people):
    cli = people
    result = cli.json("match", "suggest", user=CORA)
    assert set(result) == {"suggestions", "applied", "loops", "unmatched"}
    assert result["applied"] is False and result["loops"] == [] and result["unmatched"] == []
    # Greedy would give ana to mo (20, the best pair) and bea to max (2): 34.75 in all; the optimum is 36.75.
    assert result["suggestions"] == [
        {"mentee": "cy@x.org", "mentor": "max@x.org", "score": 12.75,
         "parts": {"skills": 10, "timezone": 2.75, "department": 0}, "shared_skills": ["python"]},
        {"mentee": "ana@x.org", "mentor": "max@x.org", "score": 12, "parts": {"skills": 10, "timezone": 0, "department": 2},
         "shared_skills": ["python"]},
        {"mentee": "bea@x.org", "mentor": "mo@x.org", "score": 12, "parts": {"skills": 10, "timezone": 0, "department": 2},
         "shared_skills": ["sql"]},
    ]
    # The same store gives the same proposal, and a dry run changes nothing.
    before = cli.snapshot()
    assert cli.json("match", "suggest", "--dry-run", user=CORA) == result
    assert cli.snapshot() == before
    assert cli.json("match", "list", user=CORA) == []


def test_suggest_table_csv_limit_min_score_and_one_mentee(people):
    cli = people
    table = cli.ok("match", "suggest", user=CORA).stdout
    assert "Suggested matches (dry run" in table and "skills 10 + department 2" in table
    rows = cli.ok("match", "suggest", "--csv", user=CORA).stdout.splitlines()
    assert rows[0] == "mentee,mentor,score,skills_points,timezone_points,department_points,shared_skills"
    assert rows[1] == "cy@x.org,max@x.org,12.75,10,2.75,0,python"
    limited = cli.json("match", "suggest", "--limit", 1, user=CORA)
    assert [s["mentee"] for s in limited["suggestions"]] == ["cy@x.org"]
    strict = cli.json("match", "suggest", "--min-score", 12.5, user=CORA)
    assert [(s["mentee"], s["mentor"]) for s in strict["suggestions"]] == [("ana@x.org", "mo@x.org"), ("cy@x.org", "max@x.org")]
    assert strict["unmatched"] == ["bea@x.org"]
    assert "no acceptable mentor for: bea@x.org" in cli.ok("match", "suggest", "--min-score", 12.5, user=CORA).stdout
    one = cli.json("match", "suggest", "--mentee", "ana@x.org", user=CORA)
    assert [(s["mentee"], s["mentor"], s["score"]) for s in one["suggestions"]] == [("ana@x.org", "mo@x.org", 20)]


def test_apply_creates_the_loops_with_starter_goals_and_then_nothing_is_left(people):
    cli = people
    cli.json("program", "goal", "add", "Agree on ground rules", user=CORA)
    proposal = cli.json("match", "suggest", user=CORA)
    applied = cli.json("match", "suggest", "--apply", user=CORA)
    assert applied["applied"] is True and len(applied["loops"]) == 3
    assert applied["suggestions"] == proposal["suggestions"]
    loops = {(l["mentee"], l["mentor"]): l["loop_id"] for l in cli.json("match", "list", user=CORA)}
    assert loops == {(s["mentee"], s["mentor"]): i for s, i in zip(applied["suggestions"], applied["loops"])}
    goals = cli.json("goal", "list", "--loop", loops[("ana@x.org", "max@x.org")], user="ana@x.org")
    assert [g["title"] for g in goals] == ["Agree on ground rules"]
    # Every mentee matched, every slot used: nothing more to suggest.
    assert cli.json("match", "suggest", user=CORA) == {"suggestions": [], "applied": False, "loops": [], "unmatched": []}
    assert "no suggestions" in cli.ok("match", "suggest", user=CORA).stdout
    assert "Created 0 loops" in cli.ok("match", "suggest", "--apply", user=CORA).stdout


def test_pairs_with_nothing_in_common_are_proposed_only_when_asked(cli, make_program, add_person):
    make_program("Spring")
    add_person(CORA, "coordinator")
    add_person("mo@x.org", "mentor", offers="python", capacity=1, department="Eng")
    add_person("ana@x.org", "mentee", seeks="design", department="Eng")
    default = cli.json("match", "suggest", user=CORA)
    assert default["suggestions"] == [] and default["unmatched"] == ["ana@x.org"]
    asked = cli.json("match", "suggest", "--min-score", 0, user=CORA)
    assert [(s["mentee"], s["mentor"], s["score"]) for s in asked["suggestions"]] == [("ana@x.org", "mo@x.org", 0)]


def test_apply_prints_what_it_made(people):
    out = people.ok("match", "suggest", "--apply", "--limit", 1, user=CORA).stdout
    assert "Created 1 loop" in out and "cy@x.org" in out and "max@x.org" in out


def test_capacity_and_former_partners_are_respected(people, make_loop):
    cli = people
    # mo already mentors a new mentee; max mentored ana before (ended).
    cli.json("participant", "add", "--name", "Dot", "--email", "dot@x.org", "--role", "mentee", user=CORA)
    make_loop("mo@x.org", "dot@x.org", as_user=CORA)
    old = make_loop("max@x.org", "ana@x.org", as_user=CORA)
    cli.json("match", "end", old, "--outcome", "cancelled", user=CORA)
    result = cli.json("match", "suggest", user=CORA)
    pairs = {(s["mentee"], s["mentor"]) for s in result["suggestions"]}
    assert all(mentor != "mo@x.org" for _, mentor in pairs)  # no room left
    assert ("ana@x.org", "max@x.org") not in pairs  # former partners
    assert "ana@x.org" in result["unmatched"]
    assert sum(mentor == "max@x.org" for _, mentor in pairs) <= 2
    assert "dot@x.org" not in {s["mentee"] for s in result["suggestions"]} | set(result["unmatched"])


def test_alumni_are_proposed_only_when_asked(people, make_loop):
    """A mentee whose last loop ended completed is an alumna: outside Getting
    Started, so no new mentor is proposed unless --include-alumni."""
    cli = people
    done = make_loop("mo@x.org", "ana@x.org", as_user=CORA)
    cli.json("match", "end", done, "--outcome", "completed", user=CORA)
    assert cli.json("coordinator", "report", user=CORA)["alumni"] == 2  # ana, and mo (no other loop)
    default = cli.json("match", "suggest", user=CORA)
    assert "ana@x.org" not in {s["mentee"] for s in default["suggestions"]} | set(default["unmatched"])
    cli.fails("match", "suggest", "--mentee", "ana@x.org", user=CORA, code=1,
              match="ana@x.org completed their last loop (an alumnus): add --include-alumni")
    asked = cli.json("match", "suggest", "--include-alumni", user=CORA)
    assert "ana@x.org" in {s["mentee"] for s in asked["suggestions"]} | set(asked["unmatched"])


def test_refusals_leave_the_store_unchanged(people):
    cli = people
    before = cli.snapshot()
    cli.fails("match", "suggest", "--apply", user="ana@x.org", code=1,
              match="suggesting matches is for coordinators and ana@x.org is not one")
    cli.fails("match", "suggest", "--apply", "--dry-run", user=CORA, code=2, match="choose one of --apply and --dry-run")
    cli.fails("match", "suggest", "--json", "--csv", user=CORA, code=2)
    cli.fails("match", "suggest", "--mentee", "nobody@x.org", "--apply", user=CORA, code=1,
              match="no mentee with email 'nobody@x.org'")
    cli.fails("match", "suggest", "--mentee", "mo@x.org", "--apply", user=CORA, code=1, match="mo@x.org is not a mentee")
    cli.fails("match", "suggest", "--limit", 0, user=CORA, code=2)
    cli.fails("match", "suggest", "--min-score", -1, user=CORA, code=2)
    assert cli.snapshot() == before
    cli.json("match", "suggest", "--mentee", "cy@x.org", "--apply", user=CORA)
    cli.fails("match", "suggest", "--mentee", "cy@x.org", user=CORA, code=1, match="cy@x.org already has an active loop")


# --- profiles --------------------------------------------------------------------------------------------


def test_profile_fields_add_edit_show_and_clear(cli, make_program, add_person):
    make_program("Spring")
    add_person(CORA, "coordinator")
    added = cli.json("participant", "add", "--name", "Mo", "--email", "mo@x.org", "--role", "mentor",
                     "--timezone", "Europe/Lisbon", "--department", "Eng", "--goals", "Grow leaders", user=CORA)
    assert (added["timezone"], added["department"], added["goals"]) == ("Europe/Lisbon", "Eng", "Grow leaders")
    plain = add_person("ana@x.org", "mentee", as_user=CORA)
    assert "timezone" not in cli.json("participant", "show", plain.email, user=CORA)
    edited = cli.json("participant", "edit", "mo@x.org", "--capacity", 3, "--offers", "Python, SQL",
                      "--timezone", "", "--name", "Mo Ray", user=CORA)
    assert (edited["capacity"], edited["offers"], edited["name"]) == (3, ["python", "sql"], "Mo Ray")
    assert "timezone" not in edited and edited["department"] == "Eng"
    own = cli.json("participant", "edit", "ana@x.org", "--seeks", "sql", "--goals", "Lead a team", user="ana@x.org")
    assert (own["seeks"], own["goals"]) == (["sql"], "Lead a team")
    assert "time zone: -   department: Eng" in cli.ok("participant", "show", "mo@x.org", user=CORA).stdout


def test_profile_refusals(cli, make_program, add_person):
    make_program("Spring")
    add_person(CORA, "coordinator")
    add_person("ana@x.org", "mentee", as_user=CORA)
    add_person("bo@x.org", "mentor", as_user=CORA)
    before = cli.snapshot()
    cli.fails("participant", "add", "--name", "X", "--email", "x@x.org", "--role", "mentee", "--timezone", "Mars/Base",
              user=CORA, code=2, match="time zone 'Mars/Base' is not known")
    cli.fails("participant", "edit", "ana@x.org", "--timezone", "Nowhere", user=CORA, code=2, match="is not known")
    cli.fails("participant", "edit", "ana@x.org", user=CORA, code=2, match="nothing to change")
    cli.fails("participant", "edit", "bo@x.org", "--name", "B", user="ana@x.org", code=1,
              match="ana@x.org cannot edit bo@x.org's profile")
    cli.fails("participant", "edit", "bo@x.org", "--capacity", 4, user="bo@x.org", code=1,
              match="capacity is set by a coordinator")
    cli.fails("participant", "edit", "zed@x.org", "--name", "Z", user=CORA, code=1, match="no participant with email")
    cli.fails("participant", "edit", "ana@x.org", "--name", " ", user=CORA, code=2, match="needs a name")
    assert cli.snapshot() == before


def test_csv_and_jsonl_import_and_export_carry_the_profile(cli, make_program, add_person, tmp_path):
    make_program("Spring")
    add_person(CORA, "coordinator")
    people = tmp_path / "people.csv"
    people.write_text("name,email,role,offers,timezone,department,goals\n"
                      "Mo,mo@x.org,mentor,python,Europe/Lisbon,Eng,Help others\n"
                      "Ana,ana@x.org,mentee,,,,\n")
    assert cli.json("participant", "import", people, user=CORA)["imported"] == 2
    mo = cli.json("participant", "show", "mo@x.org", user=CORA)
    assert (mo["timezone"], mo["department"], mo["goals"]) == ("Europe/Lisbon", "Eng", "Help others")
    assert "department" not in cli.json("participant", "show", "ana@x.org", user=CORA)
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email,role,timezone\nZed,zed@x.org,mentee,Mars/Base\n")
    before = cli.snapshot()
    cli.fails("participant", "import", bad, user=CORA, code=1, match="line 2: time zone 'Mars/Base' is not known")
    jsonl = tmp_path / "people.jsonl"
    jsonl.write_text(json.dumps({"type": "participant", "email": "bo@x.org", "name": "Bo", "roles": ["mentor"],
                                 "timezone": "America/New_York", "department": "Ops"}) + "\n")
    assert cli.snapshot() == before
    assert cli.json("participant", "import", jsonl, user=CORA)["imported"] == 1

    exported = [json.loads(line) for line in cli.ok("export", user=CORA).stdout.splitlines()]
    by_email = {r["email"]: r for r in exported if r["type"] == "participant"}
    assert (by_email["mo@x.org"]["timezone"], by_email["mo@x.org"]["goals"]) == ("Europe/Lisbon", "Help others")
    assert by_email["bo@x.org"]["department"] == "Ops"
    assert not {"timezone", "department", "goals"} & set(by_email["ana@x.org"])
    # Program import: the profile round-trips, and a bad zone names its line.
    text = cli.ok("export", user=CORA).stdout
    copy = tmp_path / "copy.jsonl"
    copy.write_text(text.replace('"name": "Spring"', '"name": "Copy"', 1).replace('"name":"Spring"', '"name":"Copy"', 1))
    cli.json("import", copy, user=CORA)
    again = cli.ok("export", "--program", "Copy", user=CORA).stdout
    assert again.replace("Copy", "Spring") == text
    broken = tmp_path / "broken.jsonl"
    broken.write_text(text.replace("Europe/Lisbon", "Europe/Nowhere").replace("Spring", "Broken"))
    before = cli.snapshot()
    result = cli("import", broken, user=CORA)
    assert result.exit_code == 1 and "time zone 'Europe/Nowhere' is not known" in result.stderr
    assert cli.snapshot() == before


def test_a_failure_while_applying_keeps_nothing(people, monkeypatch):
    import mloop.store.loops as loops
    from mloop.errors import Conflict

    cli = people
    real = loops.create_match
    made = []

    def fail_on_the_second(*args, **kwargs):
        if made:
            raise Conflict("the second loop could not be made")
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(loops, "create_match", fail_on_the_second)
    before = cli.snapshot()
    cli.fails("match", "suggest", "--apply", user=CORA, code=1, match="the second loop could not be made")
    assert made and cli.snapshot() == before
    assert cli.json("match", "list", user=CORA) == []


def test_too_many_pairs_are_refused_with_a_way_out(people, monkeypatch):
    import mloop.store.matching as store_matching

    monkeypatch.setattr(store_matching, "MAX_PAIRS", 5)
    people.fails("match", "suggest", user=CORA, code=1,
                 match="3 unmatched mentees × 3 free mentor places is too many pairs to weigh at once")
    assert len(people.json("match", "suggest", "--mentee", "ana@x.org", user=CORA)["suggestions"]) == 1
