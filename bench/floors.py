"""The floors the benchmark compares mloop with, run as whole processes.

``load``: parse the same JSON Lines file with :mod:`json` and insert its rows
into simple tables equivalent to mloop's (same columns, foreign keys and
indexes, UTC times as text on SQLite) with ``executemany`` in one transaction.
Refs and emails become ids through plain dicts: the least work any importer
has to do.

``aggregate``: the report's raw SQL — per-loop aggregates over meetings,
feedback, goals and journey shares, per-member feedback facts and the
unmatched people — fetched into Python and nothing more.

This file is run by path (``python bench/floors.py load sqlite DB FILE``) and
needs only the standard library (and psycopg for PostgreSQL), so that the floor
pays no import the measured command would not also pay.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone

SCHEMA = """
CREATE TABLE program (
    id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE, stall_days INTEGER NOT NULL,
    momentum_meetings INTEGER NOT NULL, is_default BOOLEAN NOT NULL, created_at {time} NOT NULL);
CREATE TABLE participant (
    id INTEGER PRIMARY KEY, program_id INTEGER NOT NULL REFERENCES program(id),
    email VARCHAR(320) NOT NULL, email_key VARCHAR(320) NOT NULL, name VARCHAR(200) NOT NULL,
    is_mentor BOOLEAN NOT NULL, is_mentee BOOLEAN NOT NULL, is_coordinator BOOLEAN NOT NULL,
    joined_at {time} NOT NULL, capacity INTEGER NOT NULL, offers VARCHAR NOT NULL, seeks VARCHAR NOT NULL,
    UNIQUE (program_id, email_key));
CREATE INDEX ix_participant_program_id ON participant (program_id);
CREATE TABLE loop (
    id INTEGER PRIMARY KEY, program_id INTEGER NOT NULL REFERENCES program(id),
    mentor_id INTEGER NOT NULL REFERENCES participant(id), mentee_id INTEGER NOT NULL REFERENCES participant(id),
    matched_at {time} NOT NULL, ended_at {time}, outcome VARCHAR(20), end_reason VARCHAR);
CREATE INDEX ix_loop_program_id ON loop (program_id);
CREATE INDEX ix_loop_mentor_id ON loop (mentor_id);
CREATE INDEX ix_loop_mentee_id ON loop (mentee_id);
CREATE TABLE meeting (
    id INTEGER PRIMARY KEY, loop_id INTEGER NOT NULL REFERENCES loop(id), start {time} NOT NULL,
    duration_min INTEGER NOT NULL, location VARCHAR, agenda VARCHAR, notes VARCHAR, actions VARCHAR NOT NULL,
    status VARCHAR(20) NOT NULL, created_at {time} NOT NULL);
CREATE INDEX ix_meeting_loop_id ON meeting (loop_id);
CREATE TABLE goal (
    id INTEGER PRIMARY KEY, loop_id INTEGER NOT NULL REFERENCES loop(id), author_id INTEGER REFERENCES participant(id),
    title VARCHAR NOT NULL, term VARCHAR(10) NOT NULL, due {time}, created_at {time} NOT NULL,
    shared_at {time}, completed_at {time}, locked BOOLEAN NOT NULL);
CREATE INDEX ix_goal_loop_id ON goal (loop_id);
CREATE TABLE feedback (
    id INTEGER PRIMARY KEY, loop_id INTEGER NOT NULL REFERENCES loop(id), meeting_id INTEGER REFERENCES meeting(id),
    author_id INTEGER NOT NULL REFERENCES participant(id), rating INTEGER NOT NULL, comment VARCHAR,
    created_at {time} NOT NULL);
CREATE INDEX ix_feedback_loop_id ON feedback (loop_id);
CREATE INDEX ix_feedback_meeting_id ON feedback (meeting_id);
CREATE INDEX ix_feedback_author_id ON feedback (author_id);
CREATE TABLE journey_share (
    id INTEGER PRIMARY KEY, loop_id INTEGER NOT NULL REFERENCES loop(id),
    author_id INTEGER NOT NULL REFERENCES participant(id), created_at {time} NOT NULL);
CREATE INDEX ix_journey_share_loop_id ON journey_share (loop_id);
"""

INSERTS = {
    "participant": "INSERT INTO participant VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "loop": "INSERT INTO loop VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
    "meeting": "INSERT INTO meeting VALUES (?, ?, ?, ?, NULL, ?, ?, '', ?, ?)",
    "goal": "INSERT INTO goal VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
    "feedback": "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?)",
    "journey_share": "INSERT INTO journey_share VALUES (?, ?, ?, ?)",
}
BATCH = 5000

# The report's facts as plain aggregates, one query per table like mloop's own
# fact reader: per active loop (meetings, goals) and per loop member (feedback,
# journey shares), merged in Python.
ACTIVE = "SELECT id, mentor_id, mentee_id, matched_at FROM loop WHERE program_id = 1 AND ended_at IS NULL"
PER_LOOP = {
    "meetings": """
        SELECT m.loop_id,
               MIN(CASE WHEN m.status <> 'cancelled' THEN m.created_at END) AS first_booked,
               SUM(CASE WHEN m.status = 'held' AND m.start <= ? THEN 1 ELSE 0 END) AS held,
               MIN(CASE WHEN m.status = 'held' AND m.start <= ? THEN m.start END) AS first_held,
               MAX(CASE WHEN m.status = 'held' AND m.start <= ? THEN m.start END) AS last_held,
               MIN(CASE WHEN m.status = 'scheduled' AND m.start > ? THEN m.start END) AS next_meeting
        FROM meeting m JOIN loop l ON l.id = m.loop_id
        WHERE l.program_id = 1 AND l.ended_at IS NULL GROUP BY m.loop_id""",
    "goals": """
        SELECT g.loop_id, COUNT(g.shared_at) AS shared, MIN(g.shared_at) AS first_shared,
               SUM(CASE WHEN g.shared_at IS NOT NULL AND g.completed_at IS NULL THEN 1 ELSE 0 END) AS open_goals,
               MAX(g.completed_at) AS last_completed
        FROM goal g JOIN loop l ON l.id = g.loop_id
        WHERE l.program_id = 1 AND l.ended_at IS NULL GROUP BY g.loop_id""",
}
PER_MEMBER = {
    "feedback": """
        SELECT f.loop_id, f.author_id,
               MIN(CASE WHEN f.meeting_id IS NOT NULL THEN f.created_at END) AS first_meeting_feedback,
               MIN(CASE WHEN f.meeting_id IS NULL AND f.rating >= 4 THEN f.created_at END) AS first_good_loop_feedback
        FROM feedback f JOIN loop l ON l.id = f.loop_id
        WHERE l.program_id = 1 AND l.ended_at IS NULL GROUP BY f.loop_id, f.author_id""",
    "latest_rating": """
        SELECT loop_id, author_id, rating FROM (
            SELECT f.loop_id, f.author_id, f.rating,
                   ROW_NUMBER() OVER (PARTITION BY f.loop_id, f.author_id ORDER BY f.created_at DESC, f.id DESC) AS nth
            FROM feedback f JOIN loop l ON l.id = f.loop_id
            WHERE l.program_id = 1 AND l.ended_at IS NULL) AS ranked
        WHERE nth = 1""",
    "shares": """
        SELECT s.loop_id, s.author_id, MIN(s.created_at) FROM journey_share s JOIN loop l ON l.id = s.loop_id
        WHERE l.program_id = 1 AND l.ended_at IS NULL GROUP BY s.loop_id, s.author_id""",
}
PEOPLE = "SELECT id, email, name, is_mentor, is_mentee, joined_at FROM participant WHERE program_id = 1"

UNMATCHED = """
SELECT p.id, p.joined_at FROM participant p
WHERE p.program_id = 1 AND (p.is_mentor OR p.is_mentee)
  AND p.id NOT IN (SELECT mentor_id FROM loop WHERE ended_at IS NULL UNION ALL
                   SELECT mentee_id FROM loop WHERE ended_at IS NULL)
"""
LAST_ENDED = """
SELECT person_id, MAX(ended_at) FROM (
    SELECT mentor_id AS person_id, ended_at FROM loop WHERE program_id = 1 AND ended_at IS NOT NULL UNION ALL
    SELECT mentee_id, ended_at FROM loop WHERE program_id = 1 AND ended_at IS NOT NULL) AS ended
GROUP BY person_id
"""

ACTIVITY = """
SELECT 'meeting', status, COUNT(*) FROM meeting GROUP BY status
UNION ALL SELECT 'feedback', CAST(rating AS VARCHAR), COUNT(*) FROM feedback GROUP BY rating
UNION ALL SELECT 'goal', CASE WHEN completed_at IS NOT NULL THEN 'completed' WHEN shared_at IS NOT NULL THEN 'shared'
                              ELSE 'private' END, COUNT(*) FROM goal GROUP BY 2
UNION ALL SELECT 'loop', COALESCE(outcome, 'active'), COUNT(*) FROM loop GROUP BY 2
"""


def utc_text(value: str | None) -> str | None:
    """ISO 8601 with an offset -> naive UTC text, the way mloop stores times on SQLite."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def utc_aware(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


class Target:
    """One database reached through DB-API: SQLite by path, PostgreSQL by URL."""

    def __init__(self, engine: str, where: str):
        self.engine = engine
        if engine == "sqlite":
            import sqlite3

            self.conn = sqlite3.connect(where, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.time = utc_text
            self.time_type = "DATETIME"
        else:
            import psycopg

            self.conn = psycopg.connect(pg_dsn(where), autocommit=True)
            self.time = utc_aware
            self.time_type = "TIMESTAMP WITH TIME ZONE"

    def sql(self, text: str) -> str:
        return text if self.engine == "sqlite" else text.replace("?", "%s")

    def begin(self):
        cursor = self.conn.cursor()
        cursor.execute("BEGIN")
        return cursor


def pg_dsn(url: str) -> str:
    """An SQLAlchemy URL (postgresql+psycopg://…) -> a libpq one."""
    scheme, sep, rest = url.partition("://")
    return "postgresql://" + rest if sep else url


def load(engine: str, where: str, path: str) -> dict[str, int]:
    target = Target(engine, where)
    time = target.time
    cursor = target.begin()
    for statement in SCHEMA.format(time=target.time_type).split(";"):
        if statement.strip():
            cursor.execute(statement)
    buffers: dict[str, list[tuple]] = {table: [] for table in INSERTS}
    counts: dict[str, int] = {}
    people: dict[str, int] = {}
    loops: dict[str, int] = {}
    meetings: dict[str, int] = {}

    def add(table: str, row: tuple) -> None:
        rows = buffers[table]
        rows.append(row)
        if len(rows) >= BATCH:
            flush()

    def flush() -> None:
        # Parents before children, as foreign keys require.
        for table, rows in buffers.items():
            if rows:
                cursor.executemany(target.sql(INSERTS[table]), rows)
                counts[table] = counts.get(table, 0) + len(rows)
                rows.clear()

    with open(path, encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            kind = r["type"]
            if kind == "program":
                cursor.execute(
                    target.sql("INSERT INTO program VALUES (1, ?, ?, ?, ?, ?)"),
                    (r["name"], r.get("stall_days", 21), r.get("momentum_meetings", 3), True,
                     time("2027-06-01T09:00:00Z")),
                )
            elif kind == "participant":
                person = people[r["email"].lower()] = len(people) + 1
                roles = r["roles"]
                add("participant", (person, r["email"], r["email"].lower(), r["name"], "mentor" in roles,
                                    "mentee" in roles, "coordinator" in roles, time(r["joined_at"]),
                                    r.get("capacity", 1), ",".join(r.get("offers", ())), ",".join(r.get("seeks", ()))))
            elif kind == "match":
                loop = loops[r["ref"]] = len(loops) + 1
                add("loop", (loop, people[r["mentor"].lower()], people[r["mentee"].lower()], time(r["matched_at"]),
                             time(r.get("ended_at")), r.get("outcome"), r.get("end_reason")))
            elif kind == "meeting":
                meeting = meetings[r["ref"]] = len(meetings) + 1
                add("meeting", (meeting, loops[r["loop"]], time(r["start"]), r.get("duration_min", 45),
                                r.get("agenda"), r.get("notes"), r["status"], time(r["created_at"])))
            elif kind == "goal":
                add("goal", (counts.get("goal", 0) + len(buffers["goal"]) + 1, loops[r["loop"]], r["title"],
                             r.get("term", "short"), time(r.get("due")), time(r["created_at"]),
                             time(r.get("shared_at")), time(r.get("completed_at")), bool(r.get("locked"))))
            elif kind == "feedback":
                meeting = r.get("meeting")
                add("feedback", (counts.get("feedback", 0) + len(buffers["feedback"]) + 1, loops[r["loop"]],
                                 meetings[meeting] if meeting else None, people[r["author"].lower()], r["rating"],
                                 r.get("comment"), time(r["created_at"])))
            elif kind == "share":
                add("journey_share", (counts.get("journey_share", 0) + len(buffers["journey_share"]) + 1,
                                      loops[r["loop"]], people[r["author"].lower()], time(r["created_at"])))
    flush()
    cursor.execute("COMMIT")
    target.conn.close()
    return counts


def aggregate(engine: str, where: str, now: str) -> int:
    target = Target(engine, where)
    moment = target.time(now)
    cursor = target.begin()
    loops = cursor.execute(ACTIVE).fetchall()
    per_loop = {}
    for name, query in PER_LOOP.items():
        cursor.execute(target.sql(query), (moment,) * query.count("?"))
        per_loop[name] = {row[0]: row[1:] for row in cursor.fetchall()}
    per_member = {}
    for name, query in PER_MEMBER.items():
        cursor.execute(target.sql(query))
        per_member[name] = {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
    people = {row[0]: row[1:] for row in cursor.execute(PEOPLE).fetchall()}
    last_ended = dict(cursor.execute(LAST_ENDED).fetchall())
    unmatched = [(person_id, joined_at, last_ended.get(person_id))
                 for person_id, joined_at in cursor.execute(UNMATCHED).fetchall()]
    activity = cursor.execute(ACTIVITY).fetchall()
    cursor.execute("COMMIT")
    target.conn.close()
    # One row of facts per member of each active loop: what the rules would be fed.
    members = []
    for loop_id, mentor_id, mentee_id, matched_at in loops:
        loop_facts = tuple(per_loop[name].get(loop_id) for name in PER_LOOP)
        for person_id in (mentor_id, mentee_id):
            members.append((loop_id, people[person_id], matched_at, loop_facts,
                            tuple(per_member[name].get((loop_id, person_id)) for name in PER_MEMBER)))
    return len(members) + len(unmatched) + len(activity)


if __name__ == "__main__":
    action, engine, where = sys.argv[1:4]
    if action == "load":
        print(json.dumps(load(engine, where, sys.argv[4])))
    elif action == "aggregate":
        print(aggregate(engine, where, sys.argv[4]))
    else:
        raise SystemExit(f"unknown action {action!r}: load or aggregate")
