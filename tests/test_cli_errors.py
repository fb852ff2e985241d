"""Bad input through the CLI: one clear line on stderr, the right exit code, the store unchanged.

The contract (DESIGN §4 and §6): exit 1 for a domain error, 2 for a usage error
(a malformed WHEN, an unknown option, a missing argument, a value of the wrong
form); stderr is exactly one line starting with "mloop: error: "; never a
traceback; nothing on stdout; and the store file (and its WAL) byte-identical.

Every case starts from a copy of one store built once for this module.
"""

from __future__ import annotations

from pathlib import Path

import pytest

CORA, BO, DEE = "cora@example.org", "bo@example.org", "dee@example.org"  # coordinator; mentors (capacity 1, 2)
ANA, CY, EVE = "ana@example.org", "cy@example.org", "eve@example.org"  # mentees
NOBODY = "zed@example.org"
WHEN_FORMS = "use e.g. 2026-12-01 15:00"

FILES: dict[str, bytes] = {
    "wrong_header.csv": b"nom,courriel,role\nXan,xan@example.org,mentee\n",
    "bad_capacity.csv": b"name,email,role,capacity\nXan,xan@example.org,mentor,2\nYu,yu@example.org,mentor,two\n",
    "bad_email.csv": b"name,email,role\nXan,xan@example.org,mentee\nYu,yu-at-example.org,mentee\n",
    "twice.csv": b"name,email,role\nXan,xan@example.org,mentee\nXan again,XAN@example.org,mentee\n",
    "already_there.csv": b"name,email,role\nXan,xan@example.org,mentee\nAna again,ana@example.org,mentee\n",
    "people.txt": b"name,email,role\nXan,xan@example.org,mentee\n",
    "bad_role.jsonl": (b'{"name": "Xan", "email": "xan@example.org", "roles": ["mentee"]}\n'
                       b'{"name": "Yu", "email": "yu@example.org", "roles": ["wizard"]}\n'),
    "bad_line_3.jsonl": (b'{"type": "program", "name": "Autumn 2026"}\n'
                         b'{"type": "participant", "email": "xan@example.org", "name": "Xan", "roles": ["mentee"]}\n'
                         b'{"type": "participant", "email": "not-an-email", "name": "Yu", "roles": ["mentee"]}\n'),
    "bad_line_3_existing.jsonl": (
        b'{"type": "participant", "email": "xan@example.org", "name": "Xan", "roles": ["mentor"]}\n'
        b'{"type": "participant", "email": "yu@example.org", "name": "Yu", "roles": ["mentee"]}\n'
        b'{"type": "match", "ref": "L1", "mentor": "xan@example.org", "mentee": "yu@example.org"}\n'),
    "invalid.jsonl": b'{"type": "program", "name": "Autumn 2026"}\n{"type": "participant", "email": \n',
    "unknown_type.jsonl": b'{"type": "program", "name": "Autumn 2026"}\n{"type": "spaceship", "name": "Apollo"}\n',
    "rating_7.jsonl": (b'{"type": "program", "name": "Autumn 2026"}\n'
                       b'{"type": "participant", "email": "xan@example.org", "name": "Xan", "roles": ["mentor"]}\n'
                       b'{"type": "participant", "email": "yu@example.org", "name": "Yu", "roles": ["mentee"]}\n'
                       b'{"type": "match", "ref": "L1", "mentor": "xan@example.org", "mentee": "yu@example.org", '
                       b'"matched_at": "2026-01-05T09:00:00Z"}\n'
                       b'{"type": "feedback", "loop": "L1", "author": "yu@example.org", "rating": 7, '
                       b'"created_at": "2026-01-06T09:00:00Z"}\n'),
    "not_utf8.jsonl": b'{"type": "program", "name": "Caf\xe9"}\n',
    "notes.txt": b"This is a text file, not a database.\n",
    "locked.jsonl": (
        b'{"type": "participant", "email": "xan@example.org", "name": "Xan", "roles": ["mentor"]}\n'
        b'{"type": "participant", "email": "yu@example.org", "name": "Yu", "roles": ["mentee"]}\n'
        b'{"type": "match", "ref": "L1", "mentor": "xan@example.org", "mentee": "yu@example.org", '
        b'"matched_at": "2026-02-20T09:00:00Z"}\n'
        b'{"type": "goal", "ref": "G1", "loop": "L1", "title": "Sign the agreement", "created_at": '
        b'"2026-02-20T09:00:00Z", "shared_at": "2026-02-20T09:00:00Z", "locked": true}\n'),
}
IMPORT_LOCKED_GOAL = [("import", "{tmp}/locked.jsonl")]  # adds goal {G_LOCKED}, a locked program goal of Yu's loop


@pytest.fixture(scope="module")
def template(tmp_path_factory, make_cli) -> tuple[Path, dict[str, int]]:
    """Cora coordinates; Bo (capacity 1) mentors Ana; Dee (capacity 2) mentors Cy, and mentored Eve
    in a loop that has ended. Built ten days before the tests' clock."""
    db = tmp_path_factory.mktemp("template") / "template.db"
    cli = make_cli(db)
    day = lambda n, hours=0: cli.at(days=n - 10, hours=hours)  # noqa: E731 - day 0 of the build is NOW - 10d
    ids: dict[str, int] = {}
    cli.ok("init", "--program", "Spring 2026", now=day(0))
    for name, email, role, capacity in (("Cora", CORA, "coordinator", 1), ("Bo", BO, "mentor", 1),
                                         ("Dee", DEE, "mentor", 2), ("Ana", ANA, "mentee", 1),
                                         ("Cy", CY, "mentee", 1), ("Eve", EVE, "mentee", 1)):
        cli.ok("participant", "add", "--name", name, "--email", email, "--role", role, "--capacity", capacity,
               now=day(0))
    match = lambda mentor, mentee: cli.json("match", "create", "--mentor", mentor, "--mentee", mentee,  # noqa: E731
                                            now=day(0))["id"]
    ids["L_ACTIVE"], ids["L_OTHER"], ids["L_ENDED"] = match(BO, ANA), match(DEE, CY), match(DEE, EVE)
    ids["M_HELD"] = cli.json("meet", "log", ids["L_ACTIVE"], "--at", day(1), user=ANA, now=day(1, 1))["id"]
    ids["M_FUTURE"] = cli.json("meet", "schedule", ids["L_ACTIVE"], "--at", cli.at(days=7), user=ANA, now=day(2))["id"]
    ids["M_CANCELLED"] = cli.json("meet", "schedule", ids["L_ACTIVE"], "--at", day(5), user=BO, now=day(2))["id"]
    cli.ok("meet", "cancel", ids["M_CANCELLED"], user=BO, now=day(3))
    ids["G_DONE"] = cli.json("goal", "add", ids["L_ACTIVE"], "Learn SQL", user=ANA, now=day(3))["id"]
    cli.ok("goal", "done", ids["G_DONE"], user=ANA, now=day(4))
    ids["M_OTHER"] = cli.json("meet", "log", ids["L_OTHER"], "--at", day(2), user=CY, now=day(2, 1))["id"]
    cli.ok("match", "end", ids["L_ENDED"], "--outcome", "cancelled", "--reason", "Moved away", now=day(5))
    ids["G_LOCKED"] = ids["G_DONE"] + 1  # the next goal id: the one IMPORT_LOCKED_GOAL adds
    return db, ids


def case(case_id: str, *args, code: int = 1, match: str, user: str | None = None, setup=(),
         db: str | None = None, env: dict | None = None):
    return pytest.param(args, code, match, user, setup, db, env, id=case_id)


CASES = [
    # unknown people, loops, meetings, goals
    case("match-create-unknown-mentee", "match", "create", "--mentor", BO, "--mentee", NOBODY,
         match=f"no mentee with email '{NOBODY}'"),
    case("match-create-unknown-mentor", "match", "create", "--mentor", NOBODY, "--mentee", CY,
         match=f"no mentor with email '{NOBODY}'"),
    case("participant-show-unknown", "participant", "show", NOBODY, match=f"no participant with email '{NOBODY}'"),
    case("coordinator-card-unknown", "coordinator", "participant", NOBODY, match=f"'{NOBODY}'"),
    case("as-unknown", "status", "--as", NOBODY, match=f"acting user '{NOBODY}' is not in Spring 2026"),
    case("user-env-unknown", "match", "list", env={"MLOOP_USER": NOBODY}, match=f"acting user '{NOBODY}'"),
    case("unknown-program", "status", "--program", "Winter 1999", user=ANA, match="no program named 'Winter 1999'"),
    case("unknown-loop", "meet", "schedule", "99", "--at", "2026-03-10 10:00", user=ANA, match="no loop 99"),
    case("unknown-loop-feedback", "feedback", "give", "99", "--rating", "4", user=ANA, match="no loop 99"),
    case("unknown-loop-end", "match", "end", "99", "--outcome", "completed", match="no loop 99"),
    case("unknown-meeting-done", "meet", "done", "99", user=ANA, match="no meeting 99"),
    case("unknown-meeting-cancel", "meet", "cancel", "99", user=ANA, match="no meeting 99"),
    case("unknown-goal", "goal", "done", "99", user=ANA, match="no goal 99"),
    # an id the store's 64-bit integers cannot hold is a usage error (tests/test_failures.py covers every number)
    case("huge-meeting-id", "meet", "done", "99999999999999999999999", user=ANA, code=2,
         match="'MEETING': 99999999999999999999999 is too large"),
    case("huge-loop-id", "meet", "schedule", "99999999999999999999999", "--at", "+1d", user=ANA, code=2,
         match="'LOOP': 99999999999999999999999 is too large"),
    case("unknown-goal-task", "goal", "task", "add", "99", "Read a book", user=ANA, match="no goal 99"),
    # dates, times, numbers
    case("malformed-date", "meet", "schedule", "{L_ACTIVE}", "--at", "next blursday", user=ANA, code=2,
         match=f"cannot read 'next blursday' as a date/time: {WHEN_FORMS}"),
    case("impossible-date", "meet", "schedule", "{L_ACTIVE}", "--at", "2026-02-30", user=ANA, code=2,
         match="cannot read '2026-02-30' as a date/time (day is out of range for month)"),
    case("impossible-time", "meet", "log", "{L_ACTIVE}", "--at", "2026-02-27 25:00", user=ANA, code=2,
         match="cannot read '2026-02-27 25:00' as a date/time"),
    case("malformed-due", "goal", "add", "{L_ACTIVE}", "Ship it", "--due", "someday", user=ANA, code=2,
         match="cannot read 'someday' as a date/time"),
    case("malformed-duration", "meet", "schedule", "{L_ACTIVE}", "--at", "+2d", "--duration", "forever",
         user=ANA, code=2, match="cannot read 'forever' as a duration"),
    case("meet-log-in-the-future", "meet", "log", "{L_ACTIVE}", "--at", "+2d", user=ANA, code=2,
         match="--at 2026-03-04 09:00 UTC is still ahead (now is 2026-03-02 09:00 UTC): 'meet log' records a "
               "meeting already held; book one ahead with 'mloop meet schedule {L_ACTIVE} --at WHEN', "
               "or set --now/MLOOP_NOW to a later time"),
    case("match-in-the-future", "match", "create", "--mentor", DEE, "--mentee", ANA, "--at", "+3d", code=2,
         match="--at 2026-03-05 09:00 UTC is still ahead (now is 2026-03-02 09:00 UTC): a match starts now "
               "or in the past, or set --now/MLOOP_NOW to a later time"),
    case("meet-schedule-in-the-past", "meet", "schedule", "{L_ACTIVE}", "--at", "-1h", user=ANA, code=2,
         match="--at 2026-03-02 08:00 UTC has passed (now is 2026-03-02 09:00 UTC): 'meet schedule' books a "
               "meeting ahead; record one already held with 'mloop meet log {L_ACTIVE} --at WHEN'"),
    case("meet-series-starting-in-the-past", "meet", "schedule", "{L_ACTIVE}", "--at", "-1d", "--every", "1w",
         "--count", "3", user=ANA, code=2, match="--at 2026-03-01 09:00 UTC has passed"),
    case("now-env-garbage", "status", user=ANA, env={"MLOOP_NOW": "half past never"}, code=2,
         match="--now/MLOOP_NOW: cannot read 'half past never' as a date/time"),
    case("now-option-garbage", "status", "--now", "soon-ish", user=ANA, code=2, match="--now/MLOOP_NOW"),
    case("tz-garbage", "status", "--tz", "Mars/Olympus_Mons", user=ANA, code=2,
         match="--tz/MLOOP_TZ: unknown time zone 'Mars/Olympus_Mons'"),
    case("tz-env-garbage", "status", user=ANA, env={"MLOOP_TZ": "Nowhere/Land"}, code=2, match="--tz/MLOOP_TZ"),
    case("rating-0", "feedback", "give", "{L_ACTIVE}", "--rating", "0", user=ANA,
         match="rating 0 is out of range: give 1 (poor) to 5 (great)"),
    case("rating-6", "feedback", "give", "{L_ACTIVE}", "--rating", "6", user=ANA, match="rating 6 is out of range"),
    case("rating-not-a-number", "feedback", "give", "{L_ACTIVE}", "--rating", "five", user=ANA, code=2,
         match="Invalid value for '--rating'"),
    case("negative-capacity", "participant", "add", "--name", "Xan", "--email", "xan@example.org", "--role",
         "mentor", "--capacity", "-1", code=2, match="--capacity"),
    # matching rules
    case("mentor-is-mentee", "match", "create", "--mentor", DEE, "--mentee", DEE, match="cannot mentor themselves"),
    case("duplicate-active-pair", "match", "create", "--mentor", DEE, "--mentee", CY,
         match=f"{DEE} and {CY} already have an active loop"),
    case("capacity-exceeded", "match", "create", "--mentor", BO, "--mentee", CY,
         match=f"{BO} is at capacity (1 of 1 active loops)"),
    case("non-mentor-as-mentor", "match", "create", "--mentor", ANA, "--mentee", CY, match=f"{ANA} is not a mentor"),
    case("non-mentee-as-mentee", "match", "create", "--mentor", DEE, "--mentee", BO, match=f"{BO} is not a mentee"),
    # an ended loop is read-only
    case("meeting-in-ended-loop", "meet", "schedule", "{L_ENDED}", "--at", "+1d", user=EVE,
         match="ended on 2026-02-25 (cancelled) and is read-only: cannot book a meeting"),
    case("goal-in-ended-loop", "goal", "add", "{L_ENDED}", "Finish the course", user=EVE,
         match="is read-only: cannot add a goal"),
    case("feedback-in-ended-loop", "feedback", "give", "{L_ENDED}", "--rating", "3", user=EVE,
         match="is read-only: cannot give feedback"),
    case("share-in-ended-loop", "share", "{L_ENDED}", user=EVE, match="is read-only"),
    case("match-end-twice", "match", "end", "{L_ENDED}", "--outcome", "completed",
         match="already ended on 2026-02-25 (cancelled)"),
    case("unknown-outcome", "match", "end", "{L_ACTIVE}", "--outcome", "abandoned", code=2,
         match="Invalid value for '--outcome': Value error, 'abandoned' is not one of 'completed', 'cancelled'."),
    # meetings and feedback
    case("feedback-on-unheld-meeting", "feedback", "give", "{L_ACTIVE}", "--meeting", "{M_FUTURE}", "--rating", "4",
         user=ANA, match="has not been held yet: mark it done with 'mloop meet done"),
    case("feedback-on-cancelled-meeting", "feedback", "give", "{L_ACTIVE}", "--meeting", "{M_CANCELLED}",
         "--rating", "4", user=ANA, match="has not been held yet"),
    case("feedback-on-other-loops-meeting", "feedback", "give", "{L_ACTIVE}", "--meeting", "{M_OTHER}",
         "--rating", "4", user=ANA, match="no meeting {M_OTHER} in loop {L_ACTIVE}"),
    case("meet-done-future", "meet", "done", "{M_FUTURE}", user=ANA, match="meeting {M_FUTURE} at 2026-03-09 09:00 UTC is still ahead (now is 2026-03-02 09:00 UTC): "
               "mark it done once it has happened, or set --now/MLOOP_NOW to a later time"),
    case("meet-done-twice", "meet", "done", "{M_HELD}", user=ANA, match="meeting {M_HELD} is already marked done"),
    case("meet-done-cancelled", "meet", "done", "{M_CANCELLED}", user=ANA, match="was cancelled"),
    case("cancel-held-meeting", "meet", "cancel", "{M_HELD}", user=BO, match="was held and cannot be cancelled"),
    case("cancel-twice", "meet", "cancel", "{M_CANCELLED}", user=BO, match="is already cancelled"),
    case("goal-done-twice", "goal", "done", "{G_DONE}", user=BO, match="goal {G_DONE} is already done"),
    case("goal-bad-term", "goal", "add", "{L_ACTIVE}", "Ship it", "--term", "medium", user=ANA, code=2,
         match="Invalid value for '--term': Value error, 'medium' is not one of 'short', 'long'."),
    case("edit-locked-goal", "goal", "edit", "{G_LOCKED}", "--title", "Skip the agreement", user="yu@example.org",
         setup=IMPORT_LOCKED_GOAL, match="goal {G_LOCKED} ('Sign the agreement') is a locked program goal"),
    case("delete-locked-goal", "goal", "delete", "{G_LOCKED}", user="xan@example.org", setup=IMPORT_LOCKED_GOAL,
         match="is a locked program goal: it cannot be deleted"),
    case("meet-log-before-the-match", "meet", "log", "{L_ACTIVE}", "--at", "2026-02-01 10:00", user=ANA, code=2,
         match="--at 2026-02-01 10:00 UTC is before loop {L_ACTIVE} was matched (2026-02-20): check the date"),
    case("time-skipped-by-dst", "meet", "schedule", "{L_ACTIVE}", "--at", "2026-03-29 02:30", user=ANA, code=2,
         env={"MLOOP_TZ": "Europe/Paris"}, match="2026-03-29 02:30 does not exist in Europe/Paris"),
    case("time-repeated-by-dst", "meet", "schedule", "{L_ACTIVE}", "--at", "2026-10-25 02:30", user=ANA, code=2,
         env={"MLOOP_TZ": "Europe/Paris"}, match="is ambiguous in Europe/Paris"),
    case("export-to-missing-folder", "export", "--out", "{tmp}/no/such/folder/program.jsonl",
         match="folder {tmp}/no/such/folder does not exist"),
    # people
    case("participant-duplicate-email", "participant", "add", "--name", "Ana Two", "--email", "ANA@Example.org",
         "--role", "mentee", match="ana@example.org is already in Spring 2026"),
    case("participant-bad-email", "participant", "add", "--name", "Xan", "--email", "xan.example.org",
         "--role", "mentee", code=2, match="email 'xan.example.org' is not valid: an email address must have an @-sign"),
    case("participant-bad-role", "participant", "add", "--name", "Xan", "--email", "xan@example.org",
         "--role", "wizard", code=2, match="unknown role 'wizard': use mentor, mentee or coordinator"),
    case("participant-list-bad-role", "participant", "list", "--role", "wizard", code=2,
         match="Invalid value for '--role': Value error, 'wizard' is not one of 'mentor', 'mentee', 'coordinator'."),
    # files: participant import (all or nothing, the bad line named)
    case("csv-wrong-header", "participant", "import", "{tmp}/wrong_header.csv",
         match="the CSV header lacks email, name: it needs name,email,role"),
    case("csv-bad-capacity", "participant", "import", "{tmp}/bad_capacity.csv",
         match="bad_capacity.csv line 3: capacity 'two' is not a whole number"),
    case("csv-bad-email", "participant", "import", "{tmp}/bad_email.csv", match="line 3: email 'yu-at-example.org' is not valid"),
    case("csv-email-twice", "participant", "import", "{tmp}/twice.csv",
         match="line 3: xan@example.org already appears on line 2"),
    case("csv-email-in-store", "participant", "import", "{tmp}/already_there.csv",
         match="already_there.csv line 3: ana@example.org is already in Spring 2026; nothing was imported"),
    case("jsonl-people-bad-role", "participant", "import", "{tmp}/bad_role.jsonl", match="line 2: unknown role 'wizard'"),
    case("people-unknown-format", "participant", "import", "{tmp}/people.txt", code=2,
         match="cannot tell the format of"),
    case("people-missing-file", "participant", "import", "{tmp}/missing.csv", match="no file"),
    # files: whole-program import (one transaction, the bad line named)
    case("import-bad-line-3", "import", "{tmp}/bad_line_3.jsonl",
         match="bad_line_3.jsonl line 3: email 'not-an-email' is not valid: an email address must have an @-sign; "
               "use the form name@example.org; nothing was imported"),
    case("import-bad-line-3-existing-program", "import", "{tmp}/bad_line_3_existing.jsonl",
         match="line 3: matched_at is missing"),
    case("import-invalid-json", "import", "{tmp}/invalid.jsonl", match="invalid.jsonl line 2: not valid JSON"),
    case("import-unknown-type", "import", "{tmp}/unknown_type.jsonl",
         match="line 2: unknown record type 'spaceship'"),
    case("import-rating-7", "import", "{tmp}/rating_7.jsonl", match="line 5: rating 7 is out of range: give 1 (poor) to 5 (great)"),
    case("import-not-utf8", "import", "{tmp}/not_utf8.jsonl", match="is not UTF-8"),
    case("import-missing-file", "import", "{tmp}/missing.jsonl", match="no file"),
    case("import-a-folder", "import", "{tmp}/folder", match="is a folder"),
    case("import-by-mentee", "import", "{tmp}/bad_line_3_existing.jsonl", user=ANA,
         match=f"is for coordinators and {ANA} is not one"),
    # stores
    case("store-is-a-text-file", "status", user=ANA, db="{tmp}/notes.txt",
         match="is not an mloop store (the file is not a database)"),
    case("store-is-a-directory", "status", user=ANA, db="{tmp}/folder", match="is a directory: give a file path"),
    case("store-url-unknown-database", "status", user=ANA, db="nosuchdb://somewhere/store",
         match="nosuchdb"),
    case("store-url-missing-driver", "status", user=ANA, db="postgresql+nodriver://localhost/mloop",
         match="nodriver"),
    case("store-folder-missing", "init", db="{tmp}/no/such/folder/m.db", match="does not exist"),
    case("store-missing-for-a-read", "status", user=ANA, db="{tmp}/nowhere.db",
         match="no store at {tmp}/nowhere.db (from --db/MLOOP_DB): create one with 'mloop init', "
               "'mloop demo' (a sample program) or 'mloop import FILE.jsonl'"),
    # who may do what
    case("report-as-mentee", "coordinator", "report", user=ANA, match=f"is for coordinators and {ANA} is not one"),
    case("export-as-mentor", "export", user=BO, match="is for coordinators"),
    case("participant-add-as-mentee", "participant", "add", "--name", "Xan", "--email", "xan@example.org",
         "--role", "mentee", user=ANA, match="adding participants is for coordinators"),
    case("act-in-someone-elses-loop", "meet", "schedule", "{L_OTHER}", "--at", "+1d", user=ANA,
         match=f"{ANA} is not in loop {{L_OTHER}}"),
    case("coordinator-gives-feedback", "feedback", "give", "{L_ACTIVE}", "--rating", "5", user=CORA,
         match="not a coordinator"),
    case("status-two-coordinators", "status", match="say who you are with --as EMAIL",
         setup=[("participant", "add", "--name", "Cosmo", "--email", "cosmo@example.org", "--role", "coordinator")]),
    case("report-two-coordinators", "coordinator", "report", match="this program has several",
         setup=[("participant", "add", "--name", "Cosmo", "--email", "cosmo@example.org", "--role", "coordinator")]),
    case("status-of-unknown-loop", "status", "--loop", "{L_OTHER}", user=ANA, match="is not one of"),
    # usage
    case("json-and-csv", "coordinator", "report", "--json", "--csv", code=2, match="choose one of --json and --csv"),
    case("json-and-csv-listing", "match", "list", "--json", "--csv", code=2, match="choose one of --json and --csv"),
    case("unknown-stage", "coordinator", "report", "--stage", "flying", code=2, match="Invalid value for '--stage': Value error, 'flying' is not one of 'getting_started'"),
    case("unknown-option", "status", "--colour", "red", user=ANA, code=2, match="No such option: --colour"),
    case("unknown-command", "frobnicate", code=2, match="No such command 'frobnicate'"),
    case("unknown-subcommand", "coordinator", "repotr", code=2, match="No such command 'repotr'. Did you mean 'report'?"),
    case("missing-argument", "participant", "show", code=2, match="Missing argument"),
    case("missing-option", "match", "create", "--mentor", BO, code=2, match="Missing option '--mentee'"),
    case("loop-id-not-a-number", "meet", "schedule", "one", "--at", "+1d", user=ANA, code=2,
         match="Invalid value for 'LOOP'"),
]


def side_files(path: Path) -> set[str]:
    return {p.name for p in path.parent.iterdir() if p.name.startswith(path.name) and p != path}


@pytest.mark.parametrize("args, code, match, user, setup, db, env", CASES)
def test_bad_input_is_one_line_and_changes_nothing(cli, template, tmp_path, args, code, match, user, setup, db, env):
    template_db, ids = template
    cli.copy_from(template_db)
    for name, content in FILES.items():
        (tmp_path / name).write_bytes(content)
    (tmp_path / "folder").mkdir()
    values = dict(ids, tmp=tmp_path)
    for step in setup:
        cli.ok(*(str(a).format(**values) for a in step))

    before = cli.snapshot()
    other_db = db.format(**values) if db else None  # a path or an SQLAlchemy URL, as typed
    other_path = Path(other_db) if other_db and "://" not in other_db else None
    other_before = other_path.read_bytes() if other_path and other_path.is_file() else None
    result = cli(*(str(a).format(**values) for a in args), user=user, db=other_db, env=env)

    line = cli.check_error(result, code=code, match=match.format(**values))
    assert "unexpected" not in line, "the last-resort guard caught an error that should have been handled"
    assert cli.snapshot() == before, "the store changed"
    if other_before is not None:
        assert other_path.read_bytes() == other_before, "the file given as a store was modified"
        assert side_files(other_path) == set(), "the file given as a store grew -wal/-shm/-journal companions"


def test_the_snapshot_sees_a_change(cli, template):
    cli.copy_from(template[0])
    before = cli.snapshot()
    cli.ok("participant", "add", "--name", "Xan", "--email", "xan@example.org", "--role", "mentee")
    assert cli.snapshot() != before


def test_there_are_enough_cases():
    assert len(CASES) >= 30


def test_participant_import_needs_a_coordinator(cli, template, tmp_path):
    cli.copy_from(template[0])
    good = tmp_path / "good.csv"
    good.write_text("name,email,role\nXan,xan@example.org,mentee\n")
    before = cli.snapshot()
    cli.fails("participant", "import", good, user=ANA, match="importing participants is for coordinators")
    assert cli.snapshot() == before


def test_a_failed_import_keeps_nothing(cli, template, tmp_path):
    """'nothing from the file is kept': the good lines before the bad one are gone too."""
    cli.copy_from(template[0])
    (tmp_path / "bad.jsonl").write_bytes(FILES["bad_line_3.jsonl"])
    (tmp_path / "bad.csv").write_bytes(FILES["already_there.csv"])
    cli.fails("import", tmp_path / "bad.jsonl", match="line 3")
    cli.fails("participant", "import", tmp_path / "bad.csv", match="line 3")
    cli.fails("participant", "show", "xan@example.org", match="no participant")
    cli.fails("status", "--program", "Autumn 2026", user=ANA, match="no program named 'Autumn 2026'")


def test_csv_with_bom_and_crlf_imports(cli, template, tmp_path):
    cli.copy_from(template[0])
    people = tmp_path / "people.csv"
    people.write_bytes(
        "\ufeffName,Email,Role,Capacity,Offers,Seeks\r\n"
        "Xan Li,xan@example.org,mentor,3,\"python, sql\",\r\n"
        "Yu Sato,yu@example.org,mentee;coordinator,,,Leadership\r\n"
        "\r\n".encode("utf-8")
    )
    result = cli.json("participant", "import", people)
    assert result == {"imported": 2, "emails": ["xan@example.org", "yu@example.org"]}
    xan = cli.json("participant", "show", "xan@example.org")
    assert (xan["name"], xan["roles"], xan["capacity"], xan["offers"]) == ("Xan Li", ["mentor"], 3, ["python", "sql"])
    yu = cli.json("participant", "show", "yu@example.org")
    assert (yu["roles"], yu["capacity"], yu["seeks"]) == (["mentee", "coordinator"], 1, ["leadership"])


def test_a_failed_first_command_leaves_no_program(cli):
    """A first write on an empty store creates the default program; when it fails, that goes too."""
    cli.fails("match", "create", "--mentor", BO, "--mentee", ANA, match="no mentor with email")
    # The store was created (with its schema) by opening it; it must still hold no program.
    cli.fails("participant", "list", match="has no program yet")
