"""Loop health: the published formula (rules.loop_health), its parts and weights,
and where it shows (coordinator report --health, status, program settings)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mloop import rules

NOW = datetime(2026, 6, 1, 9, tzinfo=timezone.utc)
DAY = timedelta(days=1)
LOOP_STAGES = rules.STAGES[1:]  # a member of an active loop is at least Matched
RANK = {stage: i for i, stage in enumerate(rules.STAGES)}


def facts(**changes) -> rules.HealthFacts:
    base = dict(matched_at=NOW - 60 * DAY, stages=(rules.GROW_TOGETHER, rules.GROW_TOGETHER),
                last_held=NOW - 10 * DAY, cadence=None, latest_rating=5, latest_fit=rules.GOOD_FIT, checkins_owed=0)
    return rules.HealthFacts(**{**base, **changes})


def test_a_loop_on_track_scores_100():
    health = rules.loop_health(facts(), NOW)
    assert health.score == 100
    assert all(part.raise_by is None for part in health.parts)


def test_the_formula_by_hand():
    # Matched 20 days ago (expected: First Meeting, rank 2), slower member Matched (rank 1): progress 0.5.
    # No meeting yet, 20 days since the match, cadence 14 days: 1 − (20 − 14) / 28 = 0.7857…
    # Latest rating 3: 0.5. Fit unsure: 0.5. One member owes a check-in: 0.5.
    health = rules.loop_health(facts(matched_at=NOW - 20 * DAY, stages=(rules.MATCHED, rules.FIRST_MEETING),
                                     last_held=None, cadence=14 * DAY, latest_rating=3,
                                     latest_fit=rules.UNSURE_FIT, checkins_owed=1), NOW)
    values = {part.name: part.value for part in health.parts}
    assert values == pytest.approx({"progress": 0.5, "cadence": 1 - 6 / 28, "sentiment": 0.5, "fit": 0.5,
                                    "checkins": 0.5})
    expected = (30 * 0.5 + 25 * (1 - 6 / 28) + 20 * 0.5 + 10 * 0.5 + 15 * 0.5)  # weights sum to 100
    assert health.score == round(expected) == 57
    advice = {part.name: part.raise_by for part in health.parts}
    assert advice["progress"] == "reach First Meeting: a loop matched 20 days ago is expected at First Meeting"
    assert advice["cadence"] == "hold a first meeting: matched 20 days ago"
    assert advice["checkins"] == "answer the check-in with loop feedback"


def test_weights_choose_what_counts():
    poor = facts(latest_rating=1)
    assert rules.loop_health(poor, NOW).score == 80
    only_sentiment = {part: 0 for part in rules.HEALTH_PARTS} | {"sentiment": 1}
    assert rules.loop_health(poor, NOW, only_sentiment).score == 0
    with pytest.raises(ValueError):
        rules.check_health_weights({part: 0 for part in rules.HEALTH_PARTS})


health_facts = st.builds(
    rules.HealthFacts,
    matched_at=st.integers(0, 400).map(lambda d: NOW - d * DAY),
    stages=st.tuples(st.sampled_from(LOOP_STAGES), st.sampled_from(LOOP_STAGES)),
    last_held=st.one_of(st.none(), st.integers(0, 400).map(lambda d: NOW - d * DAY)),
    cadence=st.one_of(st.none(), st.integers(1, 90).map(lambda d: d * DAY)),
    latest_rating=st.one_of(st.none(), st.integers(1, 5)),
    latest_fit=st.sampled_from([None, *rules.FITS]),
    checkins_owed=st.integers(0, 2),
)
weights = st.fixed_dictionaries({part: st.integers(0, 50) for part in rules.HEALTH_PARTS}).filter(
    lambda w: any(w.values()))


def _better(f: rules.HealthFacts, what: str, data) -> rules.HealthFacts:
    """The same loop with one fact better than (or as good as) before."""
    if what == "stage":
        member = data.draw(st.integers(0, 1))
        higher = [s for s in LOOP_STAGES if RANK[s] >= RANK[f.stages[member]]]
        stages = list(f.stages)
        stages[member] = data.draw(st.sampled_from(higher))
        return f._replace(stages=tuple(stages))
    if what == "meeting":  # a held meeting more recent than the last (after the match)
        start = max(f.last_held or f.matched_at, f.matched_at)
        days = (NOW - start).days
        return f._replace(last_held=NOW - data.draw(st.integers(0, max(days, 0))) * DAY)
    if what == "rating":
        if f.latest_rating is None:
            return f._replace(latest_rating=data.draw(st.integers(3, 5)))
        return f._replace(latest_rating=data.draw(st.integers(f.latest_rating, 5)))
    if what == "fit":
        order = [rules.POOR_FIT, rules.UNSURE_FIT, None, rules.GOOD_FIT]
        return f._replace(latest_fit=data.draw(st.sampled_from(order[order.index(f.latest_fit):])))
    return f._replace(checkins_owed=data.draw(st.integers(0, f.checkins_owed)))


@given(health_facts, weights, st.sampled_from(["stage", "meeting", "rating", "fit", "checkins"]), st.data())
def test_better_facts_never_lower_the_score(f, w, what, data):
    before = rules.loop_health(f, NOW, w)
    after = rules.loop_health(_better(f, what, data), NOW, w)
    assert after.score >= before.score
    assert 0 <= before.score <= 100


@given(health_facts, weights)
def test_the_score_is_the_sum_of_its_parts(f, w):
    health = rules.loop_health(f, NOW, w)
    assert health.score == round(sum(part.points for part in health.parts))
    for part in health.parts:
        assert 0 <= part.value <= 1
        assert (part.raise_by is None) == (part.value >= 1)


# --- where it shows ---------------------------------------------------------------------

DEMO_NOW = "2026-06-01T09:00:00Z"


@pytest.fixture
def demo(cli):
    cli.ok("demo", now=None)


def test_the_health_report_lists_loops_lowest_first(cli, demo):
    document = cli.json("coordinator", "report", "--health", now=DEMO_NOW)
    loops = document["loops"]
    assert [row["score"] for row in loops] == sorted(row["score"] for row in loops)
    assert document["weights"] == rules.HEALTH_WEIGHTS
    for row in loops:  # the points are shown to one decimal: their sum is the score give or take that
        assert abs(row["score"] - sum(part["points"] for part in row["parts"].values())) <= 0.5 + 5 * 0.05
    # Its scores are the status's scores for each member.
    first = loops[0]
    status = cli.json("status", "--as", first["mentee"], "--loop", first["loop_id"], now=DEMO_NOW)
    assert status["loops"][0]["health"] == {"score": first["score"], "parts": first["parts"]}
    text = cli.ok("status", "--as", first["mentee"], "--loop", first["loop_id"], now=DEMO_NOW).stdout
    assert f"Loop health {first['score']}/100; to raise it: " in text


def test_the_programs_weights(cli, demo, tmp_path):
    before = cli.json("coordinator", "report", "--health", now=DEMO_NOW)
    cli.ok("program", "set", "--health-weight", "sentiment=100", "--health-weight", "fit=0", now=DEMO_NOW)
    after = cli.json("coordinator", "report", "--health", now=DEMO_NOW)
    assert after["weights"] == {**rules.HEALTH_WEIGHTS, "sentiment": 100, "fit": 0}
    assert before["loops"] != after["loops"]
    assert cli.json("program", "show", now=DEMO_NOW)["health_weights"] == after["weights"]
    # Kept by export and import, and by the program file.
    exported = tmp_path / "p.jsonl"
    cli.ok("export", "--out", exported, now=DEMO_NOW)
    other = tmp_path / "other.db"
    cli.ok("import", exported, db=other, now=DEMO_NOW)
    assert cli.json("program", "show", db=other, now=DEMO_NOW)["health_weights"] == after["weights"]
    assert "[program.health_weights]\nsentiment = 100\nfit = 0\n" in cli.ok("program", "dump", now=DEMO_NOW).stdout
    cli.ok("program", "set", "--health-weight", "sentiment=default", "--health-weight", "fit=default", now=DEMO_NOW)
    assert cli.json("program", "show", now=DEMO_NOW)["health_weights"] == rules.HEALTH_WEIGHTS


@pytest.mark.parametrize("args, error", [
    (["--health-weight", "mood=3"], "--health-weight takes PART=WEIGHT with PART one of progress, cadence, "
                                    "sentiment, fit, checkins, not 'mood=3'"),
    (["--health-weight", "fit=-1"], "--health-weight 'fit=-1': the weight is a whole number from 0 to 1000, or 'default'"),
    ([f"--health-weight={part}=0" for part in rules.HEALTH_PARTS],
     "--health-weight: at least one health weight must be above 0"),
])
def test_bad_weights_are_refused(cli, demo, args, error):
    before = cli.snapshot()
    cli.fails("program", "set", *args, code=2, match=error, now=DEMO_NOW)
    assert cli.snapshot() == before
