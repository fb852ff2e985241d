"""A deterministic synthetic mentoring program, written as mloop JSON Lines.

Sizes (participants, loops, meetings, feedback, goals):
  small: 2,000 / 1,000 / 8,000 / 3,000 / 2,000
  large: 100,000 / 50,000 / 400,000 / 150,000 / 100,000

Timelines are realistic: loops are matched over the year before ``NOW``; each
loop books meetings (some cancelled, some logged late, some still ahead),
gives feedback on held meetings and on the loop, shares and completes goals,
and sometimes ends, after which nothing more happens in it (an ended loop is
read-only, and the import refuses facts dated at or after its end).  Every
stage ends up populated, with stalled and at-risk people among them.  The
same seed and size always give the same bytes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

NOW = datetime(2027, 6, 1, 9, 0, tzinfo=timezone.utc)
YEAR = timedelta(days=365)


@dataclass(frozen=True)
class Size:
    participants: int
    loops: int
    meetings: int
    feedback: int
    goals: int


SIZES = {
    "tiny": Size(200, 100, 800, 300, 200),
    "small": Size(2_000, 1_000, 8_000, 3_000, 2_000),
    "large": Size(100_000, 50_000, 400_000, 150_000, 100_000),
}

SKILLS = ("python", "leadership", "design", "data", "public speaking", "career change", "product",
          "negotiation", "writing", "cloud", "security", "management")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def generate(size: Size, seed: int = 7):
    """Yield the program's records (dicts) in import order."""
    rng = random.Random(seed)
    yield {"type": "program", "name": "Benchmark program", "stall_days": 21, "momentum_meetings": 3}

    n_mentors = size.participants * 2 // 5
    people = []
    yield {"type": "participant", "email": "coordinator@bench.example", "name": "Coordinator",
           "roles": ["coordinator"], "joined_at": iso(NOW - 2 * YEAR), "capacity": 1, "offers": [], "seeks": []}
    for i in range(size.participants - 1):
        mentor = i < n_mentors
        joined = NOW - 2 * YEAR + timedelta(minutes=rng.randrange(int(1.9 * YEAR.total_seconds() // 60)))
        email = f"{'mentor' if mentor else 'mentee'}{i}@bench.example"
        people.append((email, joined))
        yield {
            "type": "participant", "email": email, "name": f"{'Mentor' if mentor else 'Mentee'} {i}",
            "roles": ["mentor"] if mentor else ["mentee"], "joined_at": iso(joined),
            "capacity": 3 if mentor else 1,
            "offers": rng.sample(SKILLS, 2) if mentor else [], "seeks": [] if mentor else rng.sample(SKILLS, 1),
        }
    mentors = people[:n_mentors]
    mentees = people[n_mentors:]

    # Loops: each mentee at most once at a time, each mentor at most three active loops.
    loops = []
    for index in range(size.loops):
        mentee_email, mentee_joined = mentees[index % len(mentees)]
        mentor_email, mentor_joined = mentors[(index * 7919) % len(mentors)]
        start = max(mentee_joined, mentor_joined, NOW - YEAR)
        span = max(1, int((NOW - start).total_seconds() // 60) - 60)
        matched = start + timedelta(minutes=rng.randrange(span))
        ended = None
        outcome = None
        if index >= len(mentees) or rng.random() < 0.08:
            # Earlier loops of a mentee that is matched again, and a few cancelled ones, have ended.
            # Whole seconds, as the file has it: a fact before it stays before it once written.
            ended = (matched + (NOW - matched) * rng.uniform(0.2, 0.9)).replace(microsecond=0)
            outcome = rng.choice(("completed", "cancelled"))
        ref = f"L{index + 1}"
        loops.append((ref, matched, ended, mentor_email, mentee_email))
        yield {"type": "match", "ref": ref, "mentor": mentor_email, "mentee": mentee_email,
               "matched_at": iso(matched), "ended_at": iso(ended) if ended else None, "outcome": outcome,
               "end_reason": "benchmark" if ended else None}

    # Meetings: spread over loops; momentum varies per loop so every stage fills.
    held_by_loop: dict[str, list[tuple[str, datetime]]] = {}
    weights = [rng.choice((0, 1, 2, 4, 8, 12)) for _ in loops]
    total_weight = sum(weights) or 1
    meeting_no = 0
    for (ref, matched, ended, _mentor, _mentee), weight in zip(loops, weights):
        count = round(size.meetings * weight / total_weight)
        limit = ended or NOW
        for k in range(count):
            if meeting_no >= size.meetings:
                break
            meeting_no += 1
            booked = matched + (limit - matched) * (k + rng.random()) / (count + 1)
            start = booked + timedelta(days=rng.randint(1, 10))
            late = rng.random() < 0.1
            if late and (ended is None or start + timedelta(days=1) < ended):  # logged a day late, while the loop ran
                booked, start = start + timedelta(days=1), start
            if start > NOW:
                status = "scheduled"
            else:
                status = "cancelled" if rng.random() < 0.07 else "held"
            if ended is not None and start >= ended:
                status = "cancelled"  # booked for after the loop ended: called off
            mref = f"M{meeting_no}"
            if status == "held":
                held_by_loop.setdefault(ref, []).append((mref, max(start, booked)))
            yield {"type": "meeting", "ref": mref, "loop": ref, "start": iso(start), "duration_min": 45,
                   "status": status, "created_at": iso(min(booked, NOW)), "agenda": "Check in", "notes": None}

    # Goals: shared mostly, completed sometimes.
    goal_no = 0
    goals_by_loop: dict[str, list[str]] = {}
    for _ in range(size.goals):
        ref, matched, ended, _mentor, _mentee = loops[rng.randrange(len(loops))]
        limit = ended or NOW
        goal_no += 1
        created = matched + (limit - matched) * rng.uniform(0.1, 0.6)
        shared = created if rng.random() < 0.85 else None
        completed = None
        if shared is not None and rng.random() < 0.5:
            completed = shared + (limit - shared) * rng.uniform(0.2, 1.0)
        gref = f"G{goal_no}"
        goals_by_loop.setdefault(ref, []).append(gref)
        yield {"type": "goal", "ref": gref, "loop": ref, "title": f"Goal {goal_no}", "term": rng.choice(("short", "long")),
               "created_at": iso(created), "shared_at": iso(shared) if shared else None,
               "completed_at": iso(completed) if completed else None, "due": None, "locked": False}

    # Feedback: on held meetings and on the loop, by either member.
    loops_with_meetings = [loop for loop in loops if loop[0] in held_by_loop]
    for _ in range(size.feedback):
        ref, matched, ended, mentor, mentee = loops_with_meetings[rng.randrange(len(loops_with_meetings))]
        author = mentor if rng.random() < 0.5 else mentee
        held = held_by_loop[ref]
        rating = rng.choices((1, 2, 3, 4, 5), weights=(3, 4, 10, 40, 43))[0]
        if rng.random() < 0.6:
            mref, at = held[rng.randrange(len(held))]
            created = at + timedelta(hours=rng.randint(1, 72))
        else:
            mref = None
            created = held[0][1] + timedelta(days=rng.randint(1, 60))
        if created > NOW or (ended and created > ended):
            created = min(NOW, ended or NOW) - timedelta(minutes=1)
            if mref is not None and created < held[0][1]:
                mref = None
        yield {"type": "feedback", "loop": ref, "meeting": mref, "author": author, "rating": rating,
               "created_at": iso(created), "comment": None}

    # Journey shares for some loops that went far.
    for ref, matched, ended, mentor, mentee in loops:
        if len(held_by_loop.get(ref, ())) >= 3 and rng.random() < 0.2:
            moment = held_by_loop[ref][2][1] + timedelta(days=rng.randint(1, 30))
            if (moment < ended) if ended else (moment <= NOW):
                yield {"type": "share", "loop": ref, "author": mentee, "created_at": iso(moment)}


def write(path: str, size: str = "large", seed: int = 7) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(path, "w", encoding="utf-8") as handle:
        for record in generate(SIZES[size], seed):
            counts[record["type"]] = counts.get(record["type"], 0) + 1
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")
    return counts


if __name__ == "__main__":
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else "program.jsonl"
    chosen = sys.argv[2] if len(sys.argv) > 2 else "small"
    print(write(target, chosen))
