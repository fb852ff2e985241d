"""Many writers on one store (DESIGN §6): real processes, every write lands.

Eight worker processes start together, on an SQLite file and on PostgreSQL
(``store_url``).  In the main test each acts in its own loop as its mentor and
runs ``mloop meet log`` then ``mloop feedback give --meeting`` over and over;
in the race, all eight try to give one mentor of capacity 1 a mentee at the
same moment; in the last, all eight open a store that does not exist yet.
The workers (tests/workers.py) are Python processes that import mloop once and
then run the CLI's own entry point per command, as separate ``mloop``
invocations would.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from workers import run_together

from mloop.store import migrations

WRITERS = 8
ROUNDS = 15
COORDINATOR = "coord@example.org"


def _program_lines(writers: int, *, capacity: int = 1) -> list[str]:
    records: list[dict] = [{"type": "program", "name": "Busy", "stall_days": 21, "momentum_meetings": 3}]
    records.append({"type": "participant", "email": COORDINATOR, "name": "Coord", "roles": ["coordinator"],
                    "joined_at": "2026-01-01T00:00:00Z"})
    for i in range(writers):
        for role in ("mentor", "mentee"):
            records.append({"type": "participant", "email": f"{role}{i}@example.org", "name": f"{role.title()} {i}",
                            "roles": [role], "capacity": capacity, "joined_at": "2026-01-01T00:00:00Z"})
    return [json.dumps(r) for r in records]


def _matches(writers: int) -> list[str]:
    return [json.dumps({"type": "match", "ref": f"L{i}", "mentor": f"mentor{i}@example.org",
                        "mentee": f"mentee{i}@example.org", "matched_at": "2026-01-05T00:00:00Z"})
            for i in range(writers)]


def _counts(store: str, query: str) -> dict:
    engine = sa.create_engine(store)
    try:
        with engine.connect() as conn:
            return {row[0]: row[1] for row in conn.exec_driver_sql(query)}
    finally:
        engine.dispose()


@pytest.mark.slow
def test_eight_processes_write_to_one_store_at_once(cli, store_url: str, tmp_path: Path):
    source = tmp_path / "program.jsonl"
    source.write_text("\n".join(_program_lines(WRITERS) + _matches(WRITERS)) + "\n")
    cli.ok("import", source, "--json", db=store_url)
    loops = _counts(store_url, "SELECT p.email, l.id FROM loop l JOIN participant p ON p.id = l.mentor_id")
    assert len(loops) == WRITERS

    reports, elapsed = run_together(
        tmp_path, store_url, [(email, ["log", str(loop_id), str(ROUNDS)]) for email, loop_id in loops.items()]
    )

    for report in reports:
        assert len(report["results"]) == 2 * ROUNDS, report
        for code, stderr in report["results"]:
            assert code == 0, f"{report['user']}: exit {code}: {stderr}"
            assert "locked" not in stderr and "busy" not in stderr.lower(), stderr
    meetings = _counts(store_url, "SELECT loop_id, count(*) FROM meeting GROUP BY loop_id")
    feedback = _counts(store_url, "SELECT loop_id, count(*) FROM feedback GROUP BY loop_id")
    on_own_meetings = _counts(
        store_url,
        "SELECT 'n', count(*) FROM feedback f JOIN meeting m ON m.id = f.meeting_id AND m.loop_id = f.loop_id",
    )["n"]
    assert meetings == {loop_id: ROUNDS for loop_id in loops.values()}
    assert feedback == {loop_id: ROUNDS for loop_id in loops.values()}
    assert on_own_meetings == WRITERS * ROUNDS
    if store_url.startswith("sqlite"):
        engine = sa.create_engine(store_url)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        engine.dispose()
    print(f"\n{WRITERS} writers x {2 * ROUNDS} commands on {store_url.split(':')[0]}: {elapsed:.1f} s")


@pytest.mark.slow
def test_racing_coordinators_cannot_overfill_a_mentor(cli, store_url: str, tmp_path: Path):
    """Eight 'match create' for one mentor of capacity 1 at the same moment: exactly one wins.

    The capacity rule is checked, then the loop inserted; writers must take turns
    for that to hold (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL).
    """
    source = tmp_path / "program.jsonl"
    source.write_text("\n".join(_program_lines(WRITERS)) + "\n")
    cli.ok("import", source, "--json", db=store_url)

    reports, _elapsed = run_together(tmp_path, store_url, [
        (COORDINATOR, ["once", "match", "create", "--mentor", "mentor0@example.org",
                       "--mentee", f"mentee{i}@example.org", "--at", "2026-03-01T00:00:00Z"])
        for i in range(WRITERS)
    ])

    outcomes = [report["results"][0] for report in reports]
    assert sorted(code for code, _ in outcomes) == [0] + [1] * (WRITERS - 1), outcomes
    for code, stderr in outcomes:
        if code:
            assert stderr.startswith("mloop: error: mentor0@example.org is at capacity"), stderr
    loops = _counts(store_url, "SELECT mentor_id, count(*) FROM loop GROUP BY mentor_id")
    assert list(loops.values()) == [1]


@pytest.mark.slow
def test_eight_processes_open_a_new_store_at_once(store_url: str, tmp_path: Path):
    """The first open migrates once; the first write creates one default program."""
    reports, _elapsed = run_together(tmp_path, store_url, [
        (None, ["once", "participant", "add", "--name", f"P{i}", "--email", f"p{i}@example.org", "--role", "mentee"])
        for i in range(WRITERS)
    ])
    for report in reports:
        assert report["results"] == [[0, ""]], report
    assert _counts(store_url, "SELECT 'n', count(*) FROM participant") == {"n": WRITERS}
    assert _counts(store_url, "SELECT 'n', count(*) FROM program") == {"n": 1}
    assert _counts(store_url, "SELECT key, value FROM mloop_meta") == {"schema_version": str(migrations.LATEST)}
