"""The real CLI against an independent reading of DESIGN §3 (tests/reference.py).

Seeded random programs go through `mloop import`, then `mloop coordinator
report --json` is read at several moments across the timeline and compared
with what the naive reference computes from the same records.
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mloop.cli import app

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

UTC = timezone.utc
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "program.jsonl"
EXPECTED = ROOT / "sample_data" / "expected.json"
SAMPLE_NOW = "2026-06-01T09:00:00Z"

PROGRAM_START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SEEDS = (1, 2, 3, 5, 8, 13)
MESSY_SEEDS = (21, 34, 55)


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Never touch the real home or user data dir, whatever a test forgets."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("MLOOP_DB", str(tmp_path / "default.db"))
    monkeypatch.delenv("MLOOP_USER", raising=False)
    monkeypatch.delenv("MLOOP_PROGRAM", raising=False)
    monkeypatch.setenv("MLOOP_TZ", "UTC")


def iso(t: datetime | None, rng: random.Random | None = None) -> str | None:
    """ISO 8601 with Z, or (now and then) the same instant with another offset."""
    if t is None:
        return None
    if rng is not None and rng.random() < 0.1:
        offset = timezone(timedelta(hours=rng.choice((-5, 2, 5.5))))
        return t.astimezone(offset).isoformat()
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the generator -------------------------------------------------------------


def before_end(moment: datetime | None, ended: datetime | None) -> bool:
    """An ended loop is read-only: what would come at or after its end never happens."""
    return moment is None or ended is None or moment < ended


def generate_program(seed: int, *, messy: bool = False) -> tuple[list[dict], list[datetime]]:
    """A realistic random program, and the moments to look at it.

    Timelines: people join over ~2 months, loops start after both people
    joined, meetings are booked ahead or logged afterwards, feedback follows
    held meetings, goals are shared (or kept private) and completed, some
    members share their journey and some loops end.  Every rule of the import
    holds: mentors within capacity, no pair twice, mentor != mentee, feedback
    by loop members only and on held meetings of that loop only, and nothing
    happens in a loop once it has ended (see ``before_end``).

    ``messy`` keeps the records valid for import but bends the timelines the
    way hand-edited files do: meetings booked before the match, feedback on a
    held meeting dated before the meeting, goals shared before the match,
    fractional seconds.  (A match before one of its people joined is refused.)
    """
    rng = random.Random(seed)

    def at(base: datetime, low_hours: float, high_hours: float) -> datetime:
        # Whole seconds, but with plenty of odd minutes and seconds.
        return base + timedelta(seconds=rng.randint(int(low_hours * 3600), int(high_hours * 3600)))

    records: list[dict] = [
        {"type": "program", "name": f"Crosscheck {seed}", "stall_days": rng.choice((21, 21, 14, 30)),
         "momentum_meetings": rng.choice((3, 3, 2, 4))}
    ]
    stall_days = records[0]["stall_days"]
    records.append({
        "type": "participant", "email": "coord@example.org", "name": "Coordinator", "roles": ["coordinator"],
        "joined_at": utc_text(PROGRAM_START), "capacity": 1, "offers": [], "seeks": [],
    })
    people: list[dict] = []
    n_mentors, n_both, n_mentees = rng.randint(13, 16), rng.randint(2, 4), rng.randint(19, 22)
    for i in range(n_mentors + n_both + n_mentees):
        if i < n_mentors:
            roles = ["mentor"]
        elif i < n_mentors + n_both:
            roles = ["mentor", "mentee"]
        else:
            roles = ["mentee"]
        joined = at(PROGRAM_START, 0, 70 * 24)
        person = {
            "type": "participant", "email": f"p{i:02d}.s{seed}@example.org", "name": f"Person {i}",
            "roles": roles, "joined_at": iso(joined, rng), "capacity": rng.randint(2, 3) if "mentor" in roles else 2,
            "offers": [], "seeks": [],
        }
        people.append({"record": person, "joined": joined, "roles": roles, "loops": 0})
        records.append(person)

    mentors = [p for p in people if "mentor" in p["roles"]]
    mentees = [p for p in people if "mentee" in p["roles"]]
    pairs: set[tuple[str, str]] = set()
    loops: list[dict] = []
    target_loops = rng.randint(23, 27)
    attempts = 0
    while len(loops) < target_loops and attempts < 1000:
        attempts += 1
        mentor = rng.choice(mentors)
        mentee = rng.choice(mentees)
        m_email, e_email = mentor["record"]["email"], mentee["record"]["email"]
        # Capacity counts every loop a mentor ever had, so it holds at all times.
        if mentor is mentee or (m_email, e_email) in pairs or mentor["loops"] >= mentor["record"]["capacity"]:
            continue
        if mentee["loops"] >= 2:
            continue
        pairs.add((m_email, e_email))
        mentor["loops"] += 1
        mentee["loops"] += 1
        matched = at(max(mentor["joined"], mentee["joined"]), 1, 25 * 24)
        ended = at(matched, 5 * 24, 110 * 24) if rng.random() < 0.2 else None
        ref = f"L{len(loops) + 1}"
        loops.append({"ref": ref, "mentor": m_email, "mentee": e_email, "matched": matched, "ended": ended})
        records.append({
            "type": "match", "ref": ref, "mentor": m_email, "mentee": e_email, "matched_at": iso(matched, rng),
            "ended_at": iso(ended, rng), "outcome": rng.choice(("completed", "cancelled")) if ended else None,
            "end_reason": "generated" if ended else None,
        })

    meeting_records, goal_records, feedback_records, share_records = [], [], [], []
    meeting_no = goal_no = 0
    for loop in loops:
        ref, matched, ended = loop["ref"], loop["matched"], loop["ended"]
        members = (loop["mentor"], loop["mentee"])
        held: list[tuple[str, datetime]] = []  # (meeting ref, the time it counts as held from)
        cursor = at(matched, 0, 15 * 24)  # the first meeting's start
        for _ in range(rng.choices(range(8), weights=(3, 2, 2, 3, 3, 2, 2, 1))[0]):
            meeting_no += 1
            mref = f"M{meeting_no}"
            start = cursor
            status = rng.choices(("held", "cancelled", "scheduled"), weights=(7, 2, 2))[0]
            if status == "held" and rng.random() < 0.35:
                created = at(start, 0, 72)  # logged after it happened
            else:
                created = max(matched, start - timedelta(seconds=rng.randint(600, 12 * 24 * 3600)))  # booked ahead
            if rng.random() < 0.05:
                created = start  # booked for "right now"
            if status == "held" and not before_end(start, ended):
                status = "cancelled"  # booked for after the loop ended: called off
            elif status == "held" and created >= start and not before_end(created, ended):
                created = ended - timedelta(seconds=1)  # logged just before the loop ended
            record = {
                "type": "meeting", "ref": mref, "loop": ref, "start": iso(start, rng),
                "duration_min": rng.choice((30, 45, 60)), "status": status, "created_at": iso(created, rng),
                "agenda": "agenda", "notes": None,
            }
            cursor = at(cursor, 2 * 24, 20 * 24)
            if not before_end(created, ended):
                continue  # never booked: the loop had ended
            meeting_records.append(record)
            if status == "held":
                held.append((mref, max(start, created)))

        last_fb: datetime | None = None
        for mref, held_at in held:
            for member in members:
                if rng.random() < 0.55:
                    created = at(held_at, 0, 96)
                    if last_fb is not None and rng.random() < 0.1:
                        created = max(last_fb, held_at)  # ties: file order decides the latest
                    last_fb = created
                    record = {
                        "type": "feedback", "loop": ref, "meeting": mref, "author": member,
                        "rating": rng.choices((1, 2, 3, 4, 5), weights=(1, 2, 2, 4, 4))[0],
                        "created_at": iso(created, rng), "comment": None,
                    }
                    if before_end(created, ended):
                        feedback_records.append(record)
        for member in members:
            for _ in range(rng.choices(range(4), weights=(3, 4, 2, 1))[0]):
                created = at(matched, 1, 90 * 24)
                if last_fb is not None and rng.random() < 0.1:
                    created = last_fb
                last_fb = created
                record = {
                    "type": "feedback", "loop": ref, "meeting": None, "author": member,
                    "rating": rng.choices((1, 2, 3, 4, 5), weights=(2, 2, 2, 4, 5))[0],
                    "created_at": iso(created, rng), "comment": None,
                }
                if before_end(created, ended):
                    feedback_records.append(record)

        for _ in range(rng.choices(range(4), weights=(2, 4, 3, 2))[0]):
            created = at(matched, 0, 40 * 24)
            shared = at(created, 0, 20 * 24) if rng.random() < 0.75 else None
            completed = None
            if rng.random() < 0.55:
                # Usually after sharing; sometimes a goal is done privately, then shared.
                completed = at(shared or created, 2 * 24, 50 * 24) if rng.random() < 0.85 else at(created, 0, 24)
            record = {
                "type": "goal", "ref": f"G{goal_no + 1}", "loop": ref, "title": f"goal {goal_no + 1}", "term": "short",
                "created_at": iso(created, rng), "shared_at": iso(shared, rng), "completed_at": iso(completed, rng),
                "due": None, "locked": False,
            }
            # What the loop's end cut short stays undone: kept private, not completed.
            if not before_end(shared, ended):
                record["shared_at"] = None
            if not before_end(completed, ended):
                record["completed_at"] = None
            if before_end(created, ended):
                goal_no += 1
                goal_records.append(record)
        for member in members:
            if rng.random() < 0.25:
                moment = at(matched, 20 * 24, 100 * 24)
                record = {"type": "share", "loop": ref, "author": member, "created_at": iso(moment, rng)}
                if before_end(moment, ended):
                    share_records.append(record)

    # File order is not time order: the latest feedback is found by created_at.
    rng.shuffle(feedback_records)
    records += meeting_records + goal_records + feedback_records + share_records
    if messy:
        bend_timelines(records, rng)

    moments = [PROGRAM_START + timedelta(days=d, seconds=rng.randint(0, 86399)) for d in (20, 50, 85, 125, 190)]
    # Exactly at some fact's time: facts dated at `now` count.
    some_fact = rng.choice(feedback_records + meeting_records)["created_at"]
    moments.append(reference.parse_time(some_fact))
    # Exactly stall_days after someone's stage_since, and one second later.
    probe = reference.compute(records, moments[2])
    waiting = sorted((m for m in probe["memberships"] if m["stage"] != "completed"), key=lambda m: (m["email"], m["loop"] or ""))
    if waiting:
        since = rng.choice(waiting)["since"]
        moments.append(since + timedelta(days=stall_days))
        moments.append(since + timedelta(days=stall_days, seconds=1))
    # Exactly when a loop starts, and exactly when one ends.
    moments.append(reference.parse_time(rng.choice([r for r in records if r["type"] == "match"])["matched_at"]))
    ended = [r for r in records if r["type"] == "match" and r["ended_at"]]
    if ended:
        moments.append(reference.parse_time(rng.choice(ended)["ended_at"]))
    return records, moments


def bend_timelines(records: list[dict], rng: random.Random) -> None:
    """Valid for import, odd in time (see generate_program)."""
    loops = {r["ref"]: r for r in records if r["type"] == "match"}
    meetings = {r["ref"]: r for r in records if r["type"] == "meeting"}
    people = {r["email"]: r for r in records if r["type"] == "participant"}
    # Emails are case-insensitive: some people write theirs with capitals, and
    # other records refer to them in yet another case.
    for email, person in people.items():
        if rng.random() < 0.2:
            person["email"] = email[0].upper() + email[1:]
    for r in records:
        for key in ("mentor", "mentee", "author"):
            if key in r and rng.random() < 0.1:
                r[key] = r[key].upper()

    def shift(text: str, hours: float) -> str:
        moved = reference.parse_time(text) + timedelta(seconds=int(hours * 3600), microseconds=rng.choice((0, 0, 250000)))
        return moved.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moved.microsecond else utc_text(moved)

    for r in records:
        roll = rng.random()
        if r["type"] == "meeting" and roll < 0.15:
            r["created_at"] = shift(loops[r["loop"]]["matched_at"], -rng.uniform(1, 240))
        elif r["type"] == "feedback" and r["meeting"] is not None and roll < 0.2:
            r["created_at"] = shift(meetings[r["meeting"]]["start"], -rng.uniform(1, 100))
        elif r["type"] == "goal" and r["shared_at"] and roll < 0.2:
            r["shared_at"] = shift(loops[r["loop"]]["matched_at"], -rng.uniform(1, 100))
        elif r["type"] in ("feedback", "share") and roll < 0.1:
            moved = shift(r["created_at"], rng.uniform(-3, 3))
            ended = loops[r["loop"]]["ended_at"]
            if ended is None or reference.parse_time(moved) < reference.parse_time(ended):  # never past the end
                r["created_at"] = moved


# --- running the CLI ------------------------------------------------------------


def run(runner: CliRunner, args: list[str], db: Path, now: str) -> str:
    env = {"MLOOP_DB": str(db), "MLOOP_NOW": now, "MLOOP_USER": None, "MLOOP_PROGRAM": None, "MLOOP_TZ": "UTC"}
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, f"{args} at {now}: exit {result.exit_code}\n{result.output}\n{result.exception!r}"
    return result.stdout


def import_program(runner: CliRunner, tmp_path: Path, records: list[dict], name: str, now: str,
                   db: Path | str | None = None) -> Path | str:
    """Import ``records`` into ``db`` (a path or URL; default a new NAME.db in ``tmp_path``)."""
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = tmp_path / f"{name}.db" if db is None else db
    run(runner, ["import", str(path), "--json"], db, now)
    return db


def report(runner: CliRunner, db: Path, now: str, *extra: str) -> dict:
    return json.loads(run(runner, ["coordinator", "report", "--json", *extra], db, now))


def loop_ids(records: list[dict]) -> dict[str, int]:
    """Loop ids in a fresh store: 1.. in the file order of match records."""
    refs = [r["ref"] for r in records if r["type"] == "match"]
    return {ref: i for i, ref in enumerate(refs, start=1)}


def expected_from_reference(records: list[dict], now: datetime) -> dict:
    ids = loop_ids(records)
    ref = reference.compute(records, now)
    # mloop stores an email in lower case, however the file spells it.
    return {
        "stages": ref["stages"],
        "alumni": ref["alumni"],
        "stalled": {(email.lower(), ids[loop] if loop else None, stage, days)
                    for email, loop, stage, days in ref["stalled"]},
        "at_risk": {ids[loop] for loop in ref["at_risk"]},
        "memberships": [dict(m, email=m["email"].lower()) for m in ref["memberships"]],
    }


def actual_from_report(document: dict) -> dict:
    return {
        "stages": document["stages"],
        "alumni": document["alumni"],
        "stalled": {(s["email"], s["loop_id"], s["stage"], s["days_in_stage"]) for s in document["stalled"]},
        "at_risk": {r["loop_id"] for r in document["at_risk"]},
    }


def assert_same(records: list[dict], document: dict, now: datetime, label: str,
                keys: tuple[str, ...] = ("stages", "alumni", "stalled", "at_risk")) -> None:
    want = expected_from_reference(records, now)
    got = actual_from_report(document)
    for key in keys:
        if key == "stalled":
            missing, extra = want[key] - got[key], got[key] - want[key]
            assert not missing and not extra, (
                f"{label} at {utc_text(now)}: stalled differs\n only in reference: {sorted(missing, key=str)}\n"
                f" only in report: {sorted(extra, key=str)}"
            )
        else:
            assert got[key] == want[key], f"{label} at {utc_text(now)}: {key} report={got[key]} reference={want[key]}"


# --- the tests ---------------------------------------------------------------------


def test_generator_is_deterministic_and_realistic():
    first, moments = generate_program(7)
    again, moments_again = generate_program(7)
    assert first == again and moments == moments_again
    kinds = [r["type"] for r in first]
    order = ("program", "participant", "match", "meeting", "goal", "feedback", "share")
    assert kinds == sorted(kinds, key=order.index)
    assert sum(1 for r in first if r["type"] == "participant" and "coordinator" in r["roles"]) == 1
    assert 35 <= kinds.count("participant") <= 45 and 20 <= kinds.count("match") <= 30
    statuses = {r["status"] for r in first if r["type"] == "meeting"}
    assert statuses == {"held", "cancelled", "scheduled"}
    meetings = {r["ref"]: r for r in first if r["type"] == "meeting"}
    loops = {r["ref"]: r for r in first if r["type"] == "match"}
    for r in first:
        if r["type"] == "feedback":
            assert r["author"] in (loops[r["loop"]]["mentor"], loops[r["loop"]]["mentee"])
            if r["meeting"] is not None:
                assert meetings[r["meeting"]]["status"] == "held" and meetings[r["meeting"]]["loop"] == r["loop"]
    pairs = [(r["mentor"], r["mentee"]) for r in loops.values()]
    assert len(pairs) == len(set(pairs)) and all(a != b for a, b in pairs)


CASES = [pytest.param(seed, False, id=f"seed{seed}") for seed in SEEDS] + [
    pytest.param(seed, True, id=f"messy{seed}") for seed in MESSY_SEEDS
]


@dataclass
class Imported:
    records: list[dict]
    db: Path
    runner: CliRunner
    reports: list[tuple[datetime, dict]]  # (now, coordinator report --json at now)


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Each generated program imported once per module, with its reports at every moment."""
    cache: dict[tuple[int, bool], Imported] = {}

    def get(seed: int, messy: bool) -> Imported:
        if (seed, messy) not in cache:
            records, moments = generate_program(seed, messy=messy)
            runner = CliRunner()
            folder = tmp_path_factory.mktemp(f"{'messy' if messy else 'seed'}{seed}")
            db = import_program(runner, folder, records, "program", utc_text(max(moments)))
            reports = [(now, report(runner, db, utc_text(now))) for now in moments]
            cache[seed, messy] = Imported(records, db, runner, reports)
        return cache[seed, messy]

    return get


@pytest.mark.parametrize(("seed", "messy"), CASES)
def test_stages_and_stalled_match_reference(seed, messy, imported):
    program = imported(seed, messy)
    seen_stages = set()
    for now, document in program.reports:
        assert document["as_of"] == utc_text(now)
        assert_same(program.records, document, now, f"seed {seed}", ("stages", "stalled"))
        seen_stages |= {stage for stage, n in document["stages"].items() if n}
    # The generated timelines reach (nearly) every stage at one moment or another.
    assert len(seen_stages) >= 5, seen_stages


@pytest.mark.parametrize(("seed", "messy"), CASES)
def test_at_risk_matches_reference(seed, messy, imported):
    """A loop is at risk when the latest feedback (by created_at, then file order)
    by either member is negative: a later positive rating clears it."""
    program = imported(seed, messy)
    for now, document in program.reports:
        assert_same(program.records, document, now, f"seed {seed}", ("at_risk",))


@pytest.mark.parametrize(("seed", "messy"), [CASES[0], CASES[-1]])
def test_stage_members_match_reference(seed, messy, imported):
    """Beyond the counts: who is in each stage, since when, in which loop."""
    program = imported(seed, messy)
    ids = loop_ids(program.records)
    now = program.reports[3][0]
    want = expected_from_reference(program.records, now)["memberships"]
    for stage in reference.STAGE_ORDER:
        document = report(program.runner, program.db, utc_text(now), "--stage", stage)
        got = {(m["email"], m["loop_id"], m["role"], m["stage_since"], m["days_in_stage"]) for m in document["members"]}
        expected = {
            (m["email"], ids[m["loop"]] if m["loop"] else None, m["role"], utc_text(m["since"]), m["days_in_stage"])
            for m in want
            if m["stage"] == stage
        }
        assert got == expected, f"seed {seed} stage {stage}: only report {got - expected}, only reference {expected - got}"


def tiny_program(feedback: list[tuple[str, int, str]]) -> list[dict]:
    """One active loop (L1, mentor bo, mentee ana) and the given loop feedback
    as (author, rating, created_at), in file order."""
    records = [
        {"type": "program", "name": "Tiny", "stall_days": 21, "momentum_meetings": 3},
        {"type": "participant", "email": "cy@example.org", "name": "Cy", "roles": ["coordinator"],
         "joined_at": "2026-01-01T00:00:00Z"},
        {"type": "participant", "email": "bo@example.org", "name": "Bo", "roles": ["mentor"],
         "joined_at": "2026-01-01T00:00:00Z", "capacity": 1},
        {"type": "participant", "email": "ana@example.org", "name": "Ana", "roles": ["mentee"],
         "joined_at": "2026-01-01T00:00:00Z"},
        {"type": "match", "ref": "L1", "mentor": "bo@example.org", "mentee": "ana@example.org",
         "matched_at": "2026-01-02T00:00:00Z", "ended_at": None, "outcome": None, "end_reason": None},
    ]
    for author, rating, created_at in feedback:
        records.append({"type": "feedback", "loop": "L1", "meeting": None, "author": f"{author}@example.org",
                        "rating": rating, "created_at": created_at, "comment": None})
    return records


@pytest.mark.parametrize(
    ("feedback", "at_risk"),
    [
        pytest.param([("ana", 2, "2026-01-10T00:00:00Z")], True, id="only-negative"),
        pytest.param([("ana", 2, "2026-01-10T00:00:00Z"), ("bo", 5, "2026-01-11T00:00:00Z")], False,
                     id="partner-praise-later"),
        pytest.param([("bo", 5, "2026-01-10T00:00:00Z"), ("ana", 1, "2026-01-11T00:00:00Z")], True,
                     id="complaint-later"),
        pytest.param([("ana", 3, "2026-01-10T00:00:00Z")], False, id="neutral"),
        # Same created_at: the later line in the file is the latest.
        pytest.param([("ana", 2, "2026-01-10T00:00:00Z"), ("bo", 4, "2026-01-10T00:00:00Z")], False, id="tie-praise-last"),
        pytest.param([("bo", 4, "2026-01-10T00:00:00Z"), ("ana", 2, "2026-01-10T00:00:00Z")], True, id="tie-complaint-last"),
        # Feedback after now does not count yet.
        pytest.param([("ana", 2, "2026-01-10T00:00:00Z"), ("bo", 5, "2026-03-01T00:00:00Z")], True, id="praise-after-now"),
    ],
)
def test_at_risk_is_the_latest_member_feedback(feedback, at_risk, tmp_path):
    records = tiny_program(feedback)
    now = "2026-02-01T00:00:00Z"
    assert reference.compute(records, reference.parse_time(now))["at_risk"] == ({"L1"} if at_risk else set())
    runner = CliRunner()
    db = import_program(runner, tmp_path, records, "tiny", now)
    document = report(runner, db, now)
    assert {r["loop_id"] for r in document["at_risk"]} == ({1} if at_risk else set())


def test_two_programs_in_one_store(tmp_path):
    """Facts of one program never leak into another's report; loop ids continue
    across programs in one store."""
    first, first_moments = generate_program(SEEDS[0])
    second, second_moments = generate_program(SEEDS[1], messy=True)
    runner = CliRunner()
    db = import_program(runner, tmp_path, first, "first", utc_text(max(first_moments)))
    path = tmp_path / "second.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in second), encoding="utf-8")
    run(runner, ["import", str(path), "--json"], db, utc_text(max(second_moments)))
    offset = len(loop_ids(first))
    for records, moments, name, shift in ((first, first_moments, first[0]["name"], 0),
                                          (second, second_moments, second[0]["name"], offset)):
        for now in moments[1:4]:
            document = report(runner, db, utc_text(now), "--program", name)
            assert document["program"] == name
            want = expected_from_reference(records, now)
            got = actual_from_report(document)
            assert got["stages"] == want["stages"], name
            assert got["stalled"] == {
                (email, loop + shift if loop else None, stage, days) for email, loop, stage, days in want["stalled"]
            }, name


def test_sample_program_matches_expected_and_reference(tmp_path):
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert expected["as_of"] == SAMPLE_NOW
    runner = CliRunner()
    db = tmp_path / "sample.db"
    run(runner, ["import", str(SAMPLE), "--json"], db, SAMPLE_NOW)
    document = report(runner, db, SAMPLE_NOW)
    now = reference.parse_time(SAMPLE_NOW)

    assert document["as_of"] == SAMPLE_NOW
    assert document["stall_days"] == expected["stall_days"]
    assert document["stages"] == expected["stages"]
    assert {(s["email"], s["loop_id"], s["stage"], s["days_in_stage"]) for s in document["stalled"]} == {
        (s["email"], s["loop_id"], s["stage"], s["days_in_stage"]) for s in expected["stalled"]
    }
    assert len(document["stalled"]) == len(expected["stalled"])
    assert [(r["loop_id"], r["mentor"], r["mentee"], r["latest_rating"]) for r in document["at_risk"]] == [
        (r["loop_id"], r["mentor"], r["mentee"], r["latest_rating"]) for r in expected["at_risk"]
    ]
    assert expected["loop_refs"] == loop_ids(records)
    assert_same(records, document, now, "sample")

    # Every membership's stage and stage_since, stage by stage.
    want = {
        (m["email"], m["loop_id"], m["role"], m["stage"], m["stage_since"], m["days_in_stage"], m["stalled"])
        for m in expected["memberships"]
    }
    got = set()
    for stage in reference.STAGE_ORDER:
        members = report(runner, db, SAMPLE_NOW, "--stage", stage)["members"]
        got |= {
            (m["email"], m["loop_id"], m["role"], m["stage"], m["stage_since"], m["days_in_stage"], m["stalled"])
            for m in members
        }
    assert got == want


def test_sample_boundaries_from_its_readme(tmp_path):
    """L12 has been in its stage exactly 21 days (not stalled); Oliver Brown 21 days
    and 13 hours (days_in_stage 21, stalled)."""
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    l12 = [m for m in expected["memberships"] if m["loop_id"] == 12]
    assert l12 and all(m["days_in_stage"] == 21 and not m["stalled"] for m in l12)
    oliver = [m for m in expected["memberships"] if m["email"] == "oliver.brown@example.org"]
    assert oliver and oliver[0]["days_in_stage"] == 21 and oliver[0]["stalled"]
    runner = CliRunner()
    db = tmp_path / "sample.db"
    run(runner, ["import", str(SAMPLE), "--json"], db, SAMPLE_NOW)
    document = report(runner, db, SAMPLE_NOW)
    stalled = {(s["email"], s["loop_id"]) for s in document["stalled"]}
    assert not any(m["loop_id"] == 12 for m in document["stalled"])
    assert ("oliver.brown@example.org", None) in stalled
    # One second later L12 stalls too.
    later = utc_text(reference.parse_time(SAMPLE_NOW) + timedelta(seconds=1))
    stalled_later = {s["loop_id"] for s in report(runner, db, later)["stalled"]}
    assert 12 in stalled_later


def test_reference_agrees_with_expected_json():
    """The reference itself reproduces the sample's expected report."""
    records = [json.loads(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    result = reference.compute(records, reference.parse_time(SAMPLE_NOW))
    assert result["stages"] == expected["stages"]
    assert result["at_risk"] == {r["loop_ref"] for r in expected["at_risk"]}
    refs = {v: k for k, v in expected["loop_refs"].items()}
    assert result["stalled"] == {
        (s["email"], refs.get(s["loop_id"]), s["stage"], s["days_in_stage"]) for s in expected["stalled"]
    }
