"""Who sees what (docs/privacy.md), row by row, through the CLI: the member,
the partner, a coordinator, the store's owner exporting with --include-content;
and a store and the files mloop writes are their owner's alone."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import NOW, at

CORA, BO, ANA = "cora@example.org", "bo@example.org", "ana@example.org"
DEMO_NOW = "2026-06-01T09:00:00Z"
SAMPLE_COORDINATOR = "priya.raman@example.org"

# What Ana and Bo write in their loop: none of it may reach a coordinator.
AGENDA, NOTES, ACTION, PLACE = "AGENDA-salary-talk", "NOTES-raise-agreed", "ACTION-draft-cv", "PLACE-cafe-rosa"
GOAL, TASK, PRIVATE_GOAL = "GOAL-ship-a-package", "TASK-pick-a-name", "PRIVATE-GOAL-leave-the-team"
ANA_COMMENT, BO_COMMENT = "ANA-COMMENT-he-is-always-late", "BO-COMMENT-she-needs-more-focus"
CONTENT = (AGENDA, NOTES, ACTION, PLACE, GOAL, TASK, PRIVATE_GOAL, ANA_COMMENT, BO_COMMENT)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@contextmanager
def umask(value: int):
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def loop(cli, add_person, make_loop) -> dict:
    """One coordinator (the store's only one), Bo mentoring Ana, and content of every kind."""
    cli.json("init", "--program", "Spring 2026", now=NOW)
    add_person(CORA, "coordinator")
    add_person(BO, "mentor", capacity=2, joined=at(-30))
    add_person(ANA, "mentee", joined=at(-30))
    loop_id = make_loop(BO, ANA, matched_at=at(-10), now=at(-10))
    later = at(days=3)
    held = cli.json("meet", "log", loop_id, "--at", at(days=1), "--agenda", AGENDA, "--notes", NOTES,
                    "--action", ACTION, "--where", PLACE, user=ANA, now=later)["id"]
    goal = cli.json("goal", "add", loop_id, GOAL, user=ANA, now=later)["id"]
    cli.json("goal", "task", "add", goal, TASK, user=ANA, now=later)
    cli.json("goal", "add", loop_id, PRIVATE_GOAL, "--private", user=ANA, now=later)
    cli.json("feedback", "give", loop_id, "--meeting", held, "--rating", 2, "--comment", ANA_COMMENT, user=ANA, now=later)
    cli.json("feedback", "give", loop_id, "--rating", 4, "--comment", BO_COMMENT, user=BO, now=later)
    return {"id": loop_id, "meeting": held, "goal": goal, "now": later}


def everything_seen(cli, user, loop, *views) -> str:
    """The stdout of each view, as a table, JSON and CSV, for one reader."""
    out = []
    for view in views:
        for fmt in ((), ("--json",), ("--csv",)):
            if fmt and view[:2] == ("meet", "export") or fmt == ("--csv",) and view[0] == "coordinator":
                continue  # a calendar only as itself; the card and the report have no --csv of these
            out.append(cli.ok(*view, *fmt, user=user, now=loop["now"]).stdout)
    return "\n".join(out)


# --- the store file and the files mloop writes ------------------------------------------------


@pytest.mark.parametrize("mask", [0o022, 0o002])
def test_a_new_store_and_its_wal_and_shm_are_the_owners_alone_whatever_the_umask(cli, db_path, mask):
    with umask(mask):
        cli.ok("participant", "add", "--name", "Cora", "--email", CORA, "--role", "coordinator")
        assert mode_of(db_path) == 0o600
        # While a connection is open the WAL and the shared-memory file exist: same mode.
        held = sqlite3.connect(db_path)
        try:
            held.execute("SELECT count(*) FROM participant").fetchall()
            cli.ok("participant", "add", "--name", "Ana", "--email", ANA, "--role", "mentee")
            for suffix in ("-wal", "-shm"):
                assert mode_of(f"{db_path}{suffix}") == 0o600, suffix
        finally:
            held.close()


def test_an_existing_looser_store_is_left_alone_and_init_says_so_once(cli, db_path):
    cli.ok("init")
    os.chmod(db_path, 0o644)
    result = cli.ok("init")
    notes = [line for line in result.stderr.splitlines() if "others may read" in line]
    assert notes == [f"note: others may read the store {db_path} (mode 0644); 'chmod 600 {db_path}' makes it "
                     "its owner's alone (mloop leaves it as it is)"]
    assert mode_of(db_path) == 0o644
    # Other commands go about their work without repeating it.
    assert "others may read" not in cli.ok("participant", "list").stderr
    os.chmod(db_path, 0o600)
    assert "others may read" not in cli.ok("init").stderr


def test_files_mloop_writes_are_the_owners_alone(make_cli, tmp_path):
    cli = make_cli(tmp_path / "demo.db")
    with umask(0o022):
        cli.ok("demo", now=DEMO_NOW)
        cli.ok("export", "--out", tmp_path / "program.jsonl", now=DEMO_NOW)
        cli.ok("meet", "export", "--out", tmp_path / "meetings.ics", now=DEMO_NOW)
        cli.ok("coordinator", "nudge", "--out", tmp_path / "nudges", now=DEMO_NOW)
        cli.ok("share", 5, "--out", tmp_path / "certificates", user="carmen.lopez@example.org", now=DEMO_NOW)
    written = [tmp_path / "program.jsonl", tmp_path / "meetings.ics",
               *(tmp_path / "nudges").iterdir(), *(tmp_path / "certificates").iterdir()]
    assert len(written) > 4
    assert {path.name: mode_of(path) for path in written} == {path.name: 0o600 for path in written}


# --- who sees what: one test per row of docs/privacy.md --------------------------------------


def test_the_member_sees_their_loops_content_and_their_own_feedback(cli, loop):
    seen = everything_seen(cli, ANA, loop, ("meet", "list"), ("goal", "list"), ("goal", "task", "list"),
                           ("feedback", "list"), ("meet", "export"))
    for text in (AGENDA, NOTES, ACTION, PLACE, GOAL, TASK, PRIVATE_GOAL, ANA_COMMENT):
        assert text in seen, text
    assert BO_COMMENT not in seen  # the partner's feedback is his alone
    assert [(f["author"], f["rating"], f["comment"]) for f in cli.json("feedback", "list", user=ANA, now=loop["now"])] \
        == [(ANA, 2, ANA_COMMENT)]


def test_the_partner_never_sees_the_members_feedback_or_private_goals(cli, loop):
    seen = everything_seen(cli, BO, loop, ("meet", "list"), ("goal", "list"), ("goal", "task", "list"),
                           ("feedback", "list"), ("meet", "export"))
    for text in (AGENDA, NOTES, ACTION, PLACE, GOAL, TASK, BO_COMMENT):  # the loop's shared content
        assert text in seen, text
    assert ANA_COMMENT not in seen and PRIVATE_GOAL not in seen
    feedback = cli.json("feedback", "list", "--loop", loop["id"], user=BO, now=loop["now"])
    assert {f["author"] for f in feedback} == {BO}  # not even Ana's rating
    assert len(cli.json("goal", "list", user=BO, now=loop["now"])) == 1  # the private goal is not counted


@pytest.mark.parametrize("user", [CORA, None], ids=["as-coordinator", "no-as-one-coordinator"])
def test_a_coordinator_sees_stages_counts_and_ratings_never_content(cli, loop, user):
    """With no --as, a store with one coordinator acts as that coordinator: the
    same view, so it no longer shows anyone's comments."""
    seen = everything_seen(cli, user, loop, ("meet", "list"), ("goal", "list"), ("goal", "task", "list"),
                           ("feedback", "list"), ("meet", "export"), ("coordinator", "participant", ANA),
                           ("coordinator", "report"), ("match", "list"))
    for text in CONTENT:
        assert text not in seen, text
    feedback = cli.json("feedback", "list", "--loop", loop["id"], user=user, now=loop["now"])
    assert [{k: f[k] for k in ("author", "rating", "sentiment", "meeting_id")} for f in feedback] == [
        {"author": ANA, "rating": 2, "sentiment": "negative", "meeting_id": loop["meeting"]},
        {"author": BO, "rating": 4, "sentiment": "positive", "meeting_id": None},
    ]
    assert all("comment" not in f and f["created_at"] for f in feedback)
    assert "Comment" not in cli.ok("feedback", "list", user=user, now=loop["now"]).stdout
    meetings = cli.json("meet", "list", user=user, now=loop["now"])
    assert [(m["id"], m["status"]) for m in meetings] == [(loop["meeting"], "held")]
    assert not {"agenda", "notes", "actions", "where"} & set(meetings[0])
    report = cli.json("coordinator", "report", user=user, now=loop["now"])
    assert sum(report["stages"].values()) == 2 and report["activity"]["feedback"]["negative"] == 1


def test_a_coordinator_who_marks_a_meeting_done_does_not_see_its_content(cli, loop):
    booked = cli.json("meet", "schedule", loop["id"], "--at", at(days=4), "--agenda", AGENDA, "--where", PLACE,
                      user=ANA, now=loop["now"])["id"]
    done = cli.json("meet", "done", booked, "--notes", "COORDINATOR-NOTE", user=CORA, now=at(days=5))
    assert not {"agenda", "notes", "actions", "where"} & set(done)


def test_a_coordinators_export_leaves_content_out_and_says_what_in_one_line(cli, loop, tmp_path):
    result = cli.ok("export", user=CORA, now=loop["now"])
    for text in CONTENT:
        assert text not in result.stdout, text
    assert result.stderr == ("export: left out loop content (goal titles, task titles, meeting places, agendas, notes, "
                             "actions, feedback comments); add --include-content as the store's owner to keep it\n")
    records = [json.loads(line) for line in result.stdout.splitlines()]
    meeting = next(r for r in records if r["type"] == "meeting")
    assert (meeting["agenda"], meeting["notes"], meeting["actions"], meeting["where"]) == (
        "(withheld)", "(withheld)", ["(withheld)"], "(withheld)")
    assert [r["title"] for r in records if r["type"] in ("goal", "task")] == ["(withheld)"] * 3
    assert [(r["rating"], r["comment"]) for r in records if r["type"] == "feedback"] == [
        (2, "(withheld)"), (4, "(withheld)")]
    # The same with --out, and as one JSON array.
    cli.ok("export", "--out", tmp_path / "out.jsonl", user=CORA, now=loop["now"])
    assert (tmp_path / "out.jsonl").read_text() == result.stdout
    assert cli.json("export", user=CORA, now=loop["now"]) == records


def test_nothing_to_leave_out_means_no_note(cli, add_person):
    cli.json("init")
    add_person(CORA, "coordinator")
    assert cli.ok("export").stderr == ""


def test_the_stores_owner_exports_everything_with_include_content(cli, loop):
    result = cli.ok("export", "--include-content", user=CORA, now=loop["now"])
    for text in CONTENT:
        assert text in result.stdout, text
    assert "(withheld)" not in result.stdout and result.stderr == ""


def test_include_content_is_refused_to_anyone_but_the_stores_owner(cli, loop, db_path, monkeypatch, tmp_path):
    monkeypatch.setattr(os, "getuid", lambda: os.stat(db_path).st_uid + 1)  # another OS user than the file's
    out = tmp_path / "program.jsonl"
    cli.fails("export", "--include-content", "--out", out, user=CORA, now=loop["now"],
              match=f"--include-content is for the store's owner, the user who owns {db_path}")
    assert not out.exists()
    assert cli.ok("export", user=CORA, now=loop["now"]).stdout  # without it, the export goes ahead


def test_a_participant_may_not_export_at_all(cli, loop):
    for user in (ANA, BO):
        cli.fails("export", user=user, now=loop["now"], match="exporting the program is for coordinators")
        cli.fails("export", "--include-content", user=user, now=loop["now"], match="is for coordinators")


# --- an export without content still loads and gives the same funnel --------------------------


def test_an_export_without_content_imports_and_gives_the_same_stages(make_cli, tmp_path):
    demo = make_cli(tmp_path / "demo.db")
    demo.ok("demo", now=DEMO_NOW)
    exported = demo.ok("export", now=DEMO_NOW)
    assert "(withheld)" in exported.stdout and exported.stderr.startswith("export: left out loop content")

    copy = make_cli(tmp_path / "copy.db")
    copy.ok("import", "-", input=exported.stdout, now=DEMO_NOW)
    report = {name: cli.json("coordinator", "report", user=SAMPLE_COORDINATOR, now=DEMO_NOW) for name, cli in
              (("demo", demo), ("copy", copy))}
    for key in ("stages", "stalled", "at_risk", "activity"):
        assert report["copy"][key] == report["demo"][key], key
    # Exporting the copy gives the same file; its members read the marker where the text was.
    assert copy.ok("export", "--include-content", now=DEMO_NOW).stdout == exported.stdout
    goals = copy.json("goal", "list", "--loop", 1, user="kofi.asante@example.org", now=DEMO_NOW)
    assert {g["title"] for g in goals} == {"(withheld)"}


# --- PostgreSQL: --include-content follows the role mloop_content ---------------------------------


@pytest.mark.postgres
def test_on_postgresql_include_content_needs_the_role_mloop_content(pg_server, pg_url):
    import sqlalchemy as sa
    from sqlmodel import Session

    from mloop.errors import Forbidden
    from mloop.store.access import require_content_right

    role = f"privacy_reader_{os.getpid()}"
    with pg_server._admin() as conn:
        conn.execute("DO $$ BEGIN CREATE ROLE mloop_content NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        conn.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        superuser = sa.create_engine(pg_url)  # the suite's superuser is a member of every role
        outsider = sa.create_engine(sa.engine.make_url(pg_url).set(username=role))
        with Session(superuser) as session:
            require_content_right(session)
        with Session(outsider) as session, pytest.raises(Forbidden, match="in the role mloop_content"):
            require_content_right(session)
        with pg_server._admin() as conn:
            conn.execute(f'GRANT mloop_content TO "{role}"')
        with Session(outsider) as session:
            require_content_right(session)
        superuser.dispose()
        outsider.dispose()
    finally:
        with pg_server._admin() as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')
