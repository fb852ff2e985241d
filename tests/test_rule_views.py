"""Every view asks the rules: the report, status, the card, the certificate's
refusal and the activity tallies follow a rule changed in ``mloop.rules`` alone,
and say why a loop is at risk and who is an alumnus."""

from __future__ import annotations

import pytest

from mloop import rules
from tests.conftest import at

CORA, BO, ANA, CY, DEE = "cora@example.org", "bo@example.org", "ana@example.org", "cy@example.org", "dee@example.org"


@pytest.fixture
def program(cli, make_program, add_person, make_loop):
    """Bo mentors Ana (loop 1: meetings held, a shared goal, Ana's loop feedback of 4) and Cy (loop 2)."""
    make_program(now=at(-60))
    add_person(CORA, "coordinator", now=at(-60))
    add_person(BO, "mentor", capacity=3, as_user=CORA, now=at(-60))
    for mentee in (ANA, CY, DEE):
        add_person(mentee, "mentee", as_user=CORA, now=at(-60))
    first = make_loop(BO, ANA, as_user=CORA, now=at(-50))
    second = make_loop(BO, CY, as_user=CORA, now=at(-50))
    meetings = [cli.json("meet", "log", first, "--at", at(-45 + 5 * i), user=ANA, now=at(-45 + 5 * i, 1))["id"]
                for i in range(3)]
    cli.ok("feedback", "give", first, "--meeting", meetings[0], "--rating", 5, user=ANA, now=at(-44))
    cli.ok("goal", "add", first, "Speak at a meetup", user=ANA, now=at(-40))
    cli.ok("feedback", "give", first, "--rating", 4, user=ANA, now=at(-20))
    return cli, first, second


def test_a_positive_rating_threshold_changed_in_the_rules_moves_every_view(program, monkeypatch):
    cli, first, _second = program
    ana = cli.json("status", user=ANA)["loops"][0]
    assert ana["stage"] == "levelling_up"
    report = cli.json("coordinator", "report", user=CORA)
    assert report["stages"]["levelling_up"] == 1
    assert report["activity"]["feedback"]["positive"] == 2

    monkeypatch.setattr(rules, "POSITIVE_FROM", 5)  # only a 5 is positive now
    ana = cli.json("status", user=ANA)["loops"][0]
    assert ana["stage"] == "grow_together"
    assert any("a 5 counts towards Levelling Up" in step for step in ana["next_steps"])
    report = cli.json("coordinator", "report", user=CORA)
    assert report["stages"]["levelling_up"] == 0 and report["stages"]["grow_together"] == 1
    assert report["activity"]["feedback"] == {"total": 2, "positive": 1, "neutral": 1, "negative": 0}
    refused = cli("share", first, user=ANA)
    assert refused.exit_code == 1
    assert f"your loop feedback rated 5 ('mloop feedback give {first} --rating 5')" in refused.stderr


def test_the_at_risk_table_says_why_and_by_whom(program):
    cli, first, second = program
    cli.ok("feedback", "give", second, "--rating", 2, user=CY)
    cli.ok("meet", "log", first, "--at", at(-2), user=BO)
    cli.ok("feedback", "give", first, "--fit", "poor", user=BO)
    report = cli.json("coordinator", "report", user=CORA)
    why = {row["loop_id"]: (row["reasons"], row["rating_by"], row["fit_by"]) for row in report["at_risk"]}
    assert why == {first: (["poor_fit"], ANA, BO), second: (["negative_rating"], CY, None)}
    table = cli.ok("coordinator", "report", "--at-risk", user=CORA).stdout
    assert "poor fit by mentor" in table and "2/5 by mentee" in table
    assert "4/5" not in table  # a good latest rating is no reason
    card = cli.json("coordinator", "participant", ANA, user=CORA)["loops"][0]
    assert card["at_risk"] is True and card["at_risk_reasons"] == ["poor_fit"]


def test_alumni_and_getting_started_after_a_loop_ends(program):
    cli, first, second = program
    cli.ok("match", "end", first, "--outcome", "completed", user=CORA, now=at(-10))
    cli.ok("match", "end", second, "--outcome", "cancelled", user=CORA, now=at(-30))
    report = cli.json("coordinator", "report", user=CORA)
    assert report["alumni"] == 2  # Ana, and Bo, whose last loop to end completed
    stalled = {row["email"]: (row["stage"], row["days_in_stage"]) for row in report["stalled"]}
    assert stalled[CY] == ("getting_started", 30)  # waiting since the cancelled loop ended
    assert stalled[DEE] == ("getting_started", 60)  # never matched: since joining
    assert ANA not in stalled and BO not in stalled
    assert "Alumni (last loop completed, outside the funnel): 2" in cli.ok("coordinator", "report", user=CORA).stdout
    me = cli.json("status", user=ANA)["participant"]
    assert (me["stage"], me["stalled"]) == ("alumni", False)
    assert "No active loop: Alumni since" in cli.ok("status", user=ANA).stdout
    nudged = cli.json("coordinator", "nudge", "--dry-run", user=CORA)
    assert {message["email"] for message in nudged["sent"]} == {CY, DEE}
