"""The activity report (issue 5, item 9): its tallies against counts made here by hand.

A seeded program (JSON Lines, imported) spreads meetings, feedback, goals,
milestones and matches before, inside and after the window; the test counts
the same things from the records it wrote, and compares.  Nothing happens in
a loop once it has ended (the import refuses such facts, as the commands do).
"""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta, timezone

import pytest

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
SINCE = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday: ISO week 2026-W01
CORA = "cora@example.org"


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def inside(moment: datetime | None) -> bool:
    return moment is not None and SINCE <= moment <= NOW


def before_end(moment: datetime, ended: datetime | None) -> bool:
    """An ended loop is read-only: what would come at or after its end (in whole
    seconds, as the file has it) never happens."""
    return ended is None or moment < ended.replace(microsecond=0)


def build(seed: int = 7) -> tuple[list[dict], dict]:
    """The program's records, and the activity counted by hand from them."""
    rng = random.Random(seed)

    def moment(low_days: float, high_days: float) -> datetime:
        return (NOW + timedelta(days=rng.uniform(low_days, high_days))).replace(microsecond=0)

    records: list[dict] = [
        {"type": "program", "name": "Activity", "stall_days": 21, "momentum_meetings": 3},
        {"type": "milestone", "name": "Kick-off call", "kind": "relationship", "role": "mentor", "due": "2 weeks"},
        {"type": "milestone", "name": "Mid-point review", "kind": "relationship", "role": "mentee", "due": "6 weeks"},
        {"type": "participant", "email": CORA, "name": "Cora", "roles": ["coordinator"],
         "joined_at": iso(NOW - timedelta(days=400)), "capacity": 1, "offers": [], "seeks": []},
    ]
    mentors = [f"mentor{n}@example.org" for n in range(6)]
    mentees = [f"mentee{n}@example.org" for n in range(12)]
    for email in mentors + mentees:
        records.append({"type": "participant", "email": email, "name": email.split("@")[0].title(),
                        "roles": ["mentor" if email in mentors else "mentee"],
                        "joined_at": iso(NOW - timedelta(days=300)), "capacity": 3, "offers": [], "seeks": []})
    held_weeks: dict[str, int] = {}
    expected = {
        "feedback": {"positive": 0, "neutral": 0, "negative": 0},
        "goals": {"created": 0, "completed": 0},
        "milestones": {},
        "matches": {"made": 0, "ended": 0, "completed": 0, "cancelled": 0},
    }
    for n, mentee in enumerate(mentees):
        mentor = mentors[n % len(mentors)]
        ref = f"L{n}"
        matched = moment(-150, -5)
        ended = outcome = None
        if n % 4 == 1:
            ended, outcome = min(matched + timedelta(days=rng.uniform(10, 120)), NOW - timedelta(hours=1)), "completed"
        elif n % 4 == 2:
            ended, outcome = min(matched + timedelta(days=rng.uniform(5, 60)), NOW - timedelta(hours=1)), "cancelled"
        records.append({"type": "match", "ref": ref, "mentor": mentor, "mentee": mentee, "matched_at": iso(matched),
                        "ended_at": iso(ended) if ended else None, "outcome": outcome, "end_reason": None})
        expected["matches"]["made"] += inside(matched)
        if inside(ended):
            expected["matches"][outcome] += 1
            expected["matches"]["ended"] += 1
        last = ended or NOW + timedelta(days=10)
        for m in range(rng.randint(2, 8)):
            start = (matched + timedelta(days=rng.uniform(1, (last - matched).days + 1))).replace(microsecond=0)
            status = rng.choice(["held", "held", "held", "scheduled", "cancelled"])
            booked = start - timedelta(days=rng.uniform(0, 5))
            if m == 0 and n % 3 == 0:
                booked = NOW + timedelta(days=1)  # booked after the report's moment: not yet known
            booked = max(booked, matched)
            if status == "held" and not before_end(start, ended):
                status = "cancelled"  # booked for after the loop ended: called off
            if not before_end(booked.replace(microsecond=0), ended):
                continue  # never booked: the loop had ended
            records.append({"type": "meeting", "ref": f"{ref}M{m}", "loop": ref, "start": iso(start),
                            "duration_min": 45, "status": status, "created_at": iso(booked.replace(microsecond=0))})
            if status == "held" and inside(start) and booked.replace(microsecond=0) <= NOW:
                year, week, _ = start.isocalendar()
                key = f"{year}-W{week:02d}"
                held_weeks[key] = held_weeks.get(key, 0) + 1
        for f in range(rng.randint(0, 4)):
            at = (matched + timedelta(days=rng.uniform(0, (last - matched).days))).replace(microsecond=0)
            rating = rng.randint(1, 5)
            records.append({"type": "feedback", "loop": ref, "meeting": None, "author": rng.choice([mentor, mentee]),
                            "rating": rating, "created_at": iso(at)})
            if inside(at):
                key = "positive" if rating >= 4 else "neutral" if rating == 3 else "negative"
                expected["feedback"][key] += 1
        for g in range(rng.randint(0, 3)):
            created = (matched + timedelta(days=rng.uniform(0, 40))).replace(microsecond=0)
            completed = (created + timedelta(days=rng.uniform(1, 60))).replace(microsecond=0) if rng.random() < 0.6 else None
            if not before_end(created, ended):
                continue
            if completed is not None and not before_end(completed, ended):
                completed = None  # the loop ended first
            records.append({"type": "goal", "ref": f"{ref}G{g}", "loop": ref, "title": f"goal {g}", "term": "short",
                            "created_at": iso(created), "shared_at": iso(created),
                            "completed_at": iso(completed) if completed else None, "due": None, "locked": False})
            expected["goals"]["created"] += inside(created)
            expected["goals"]["completed"] += inside(completed)
        for name, by, role in (("Kick-off call", mentor, "mentor"), ("Mid-point review", mentee, "mentee"),
                               ("Mid-point review", mentor, "mentor")):
            if rng.random() < 0.5:
                done = (matched + timedelta(days=rng.uniform(1, 90))).replace(microsecond=0)
                if not before_end(done, ended):
                    continue
                records.append({"type": "milestone_done", "milestone": name, "loop": ref, "by": by, "done_at": iso(done)})
                if inside(done):
                    expected["milestones"][(name, role)] = expected["milestones"].get((name, role), 0) + 1
    expected["held_weeks"] = held_weeks
    return records, expected


@pytest.fixture
def program(cli, tmp_path):
    records, expected = build()
    source = tmp_path / "activity.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    cli.ok("import", source, now=NOW)
    return expected


def weeks_between(first: datetime, last: datetime) -> list[str]:
    monday = (first - timedelta(days=first.weekday())).date()
    weeks = []
    while monday <= last.date():
        year, week, _ = monday.isocalendar()
        weeks.append(f"{year}-W{week:02d}")
        monday += timedelta(days=7)
    return weeks


def test_the_tallies_match_counts_made_by_hand(cli, program):
    doc = cli.json("coordinator", "report", "--activity", "--since", "2026-01-01", now=NOW, user=CORA)
    assert doc["since"] == "2026-01-01T00:00:00Z" and doc["as_of"] == iso(NOW)
    weeks = doc["meetings"]["per_week"]
    assert [w["week"] for w in weeks] == weeks_between(SINCE, NOW)
    assert weeks[0] == {"week": "2026-W01", "week_start": "2025-12-29", "held": program["held_weeks"].get("2026-W01", 0)}
    assert {w["week"]: w["held"] for w in weeks if w["held"]} == program["held_weeks"]
    assert doc["meetings"]["held"] == sum(program["held_weeks"].values()) > 0
    assert doc["feedback"] == {"total": sum(program["feedback"].values()), **program["feedback"]}
    assert doc["goals"] == program["goals"]
    assert {(m["milestone"], m["role"]): m["completed"] for m in doc["milestones"]} == program["milestones"]
    assert doc["matches"] == program["matches"]
    assert doc["matches"]["made"] > 0 and doc["goals"]["created"] > 0 and doc["feedback"]["total"] > 0


def test_csv_rows_carry_the_same_counts(cli, program):
    doc = cli.json("coordinator", "report", "--activity", "--since", "2026-01-01", now=NOW, user=CORA)
    text = cli.ok("coordinator", "report", "--activity", "--since", "2026-01-01", "--csv", now=NOW, user=CORA).stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["section", "key", "count"]
    by_section: dict[str, dict[str, int]] = {}
    for row in rows:
        by_section.setdefault(row["section"], {})[row["key"]] = int(row["count"])
    assert by_section["meetings_held"] == {w["week"]: w["held"] for w in doc["meetings"]["per_week"]}
    assert by_section["feedback"] == program["feedback"]
    assert by_section["goals"] == program["goals"]
    assert by_section["matches"] == program["matches"]
    assert by_section.get("milestones", {}) == {f"{n} ({r})": c for (n, r), c in program["milestones"].items()}


def test_the_default_window_is_twelve_weeks_and_the_terminal_draws_bars(cli, program):
    doc = cli.json("coordinator", "report", "--activity", now=NOW, user=CORA)
    assert doc["since"] == iso(NOW - timedelta(weeks=12))
    assert len(doc["meetings"]["per_week"]) == 13  # NOW is a Monday: 12 whole weeks and this one
    text = cli.ok("coordinator", "report", "--activity", now=NOW, user=CORA).stdout
    assert "Meetings held per week" in text and "█" in text and "Feedback" in text and "Custom milestones" in text


def test_an_empty_program_lists_every_week_with_zeros(cli, make_program):
    make_program()
    doc = cli.json("coordinator", "report", "--activity", "--since", "3 weeks ago", now=NOW)
    assert [w["held"] for w in doc["meetings"]["per_week"]] == [0, 0, 0, 0]
    assert doc["milestones"] == [] and doc["matches"] == {"made": 0, "ended": 0, "completed": 0, "cancelled": 0}
    assert "No custom milestone" in cli.ok("coordinator", "report", "--activity", now=NOW).stdout


def test_bad_combinations_are_usage_errors(cli, program):
    cli.fails("coordinator", "report", "--since", "2026-01-01", now=NOW, user=CORA, code=2, match="--since goes with --activity")
    cli.fails("coordinator", "report", "--activity", "--stalled", now=NOW, user=CORA, code=2, match="drop --stage")
    cli.fails("coordinator", "report", "--activity", "--since", "in 2 weeks", now=NOW, user=CORA, code=2, match="is after now")
    cli.fails("coordinator", "report", "--activity", "--since", "whenever", now=NOW, user=CORA, code=2)
    cli.fails("coordinator", "report", "--activity", now=NOW, user="mentee0@example.org", match="coordinator")
