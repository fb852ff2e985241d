"""Who is who on PostgreSQL, enforced by the server (mloop.store.pgsecurity).

One program with two loops is built once on the suite's PostgreSQL server by
the store's owner; every person gets a login role with 'mloop db grant'
(no password: the test server trusts loopback).  Then each role connects as
itself: through psycopg, running raw SQL as psql would, and through the CLI
with a URL of its own.  The SQLite side and the import format run on SQLite.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest


from conftest import NOW

# Emails unlike any other test's: login roles belong to the whole server.
CORA = "cora.sec@example.org"  # coordinator
CODY = "cody.sec@example.org"  # coordinator who may read content
BO = "bo.sec@example.org"  # mentor of loop 1
ANA = "ana.sec@example.org"  # mentee of loop 1
DEE = "dee.sec@example.org"  # mentor of loop 2, whose role is 'dee_login'
CY = "cy.sec@example.org"  # mentee of loop 2
DEE_ROLE = "dee_login"


class Server:
    """The secured program's database, and a way in for each role."""

    def __init__(self, server, database: str, make_cli, tmp: Path):
        self.server, self.database = server, database
        self.owner = server.url(database)
        self.make_cli, self.tmp = make_cli, tmp

    def url(self, role: str) -> str:
        return f"postgresql+psycopg://{urllib.parse.quote(role, safe='')}@127.0.0.1:{self.server.port}/{self.database}"

    def cli(self, role: str | None = None):
        cli = self.make_cli(self.tmp / "unused.db")
        cli.db = self.owner if role is None else self.url(role)
        return cli

    def sql(self, role: str, statement: str) -> list[tuple]:
        """``statement`` run by ``role`` through psycopg, as psql would; the rows it returns."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.server.port, user=role, dbname=self.database,
                             autocommit=True) as conn:
            cursor = conn.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def refused(self, role: str, statement: str) -> str:
        """The server's refusal of ``statement`` run by ``role``."""
        import psycopg

        with pytest.raises(psycopg.errors.InsufficientPrivilege) as refusal:
            self.sql(role, statement)
        return str(refusal.value)


@pytest.fixture(scope="module")
def secured(pg_server, make_cli, tmp_path_factory):
    database = pg_server.create_database()
    server = Server(pg_server, database, make_cli, tmp_path_factory.mktemp("secured"))
    owner = server.cli()
    owner.ok("init", "--program", "Secure", now=NOW)
    owner.ok("participant", "add", "--name", "Cora", "--email", CORA, "--role", "coordinator")
    people = ((CODY, "coordinator", ()), (BO, "mentor", ()), (ANA, "mentee", ()), (DEE, "mentor", ("--db-role", DEE_ROLE)),
              (CY, "mentee", ()))
    for email, role, extra in people:
        owner.ok("participant", "add", "--name", email.split(".")[0].title(), "--email", email, "--role", role,
                 "--joined", "2026-02-01", *extra, user=CORA)
    owner.ok("program", "goal", "add", "Sign the agreement", user=CORA)
    assert owner.json("match", "create", "--mentor", BO, "--mentee", ANA, "--at", "2026-02-20", user=CORA)["id"] == 1
    assert owner.json("match", "create", "--mentor", DEE, "--mentee", CY, "--at", "2026-02-20", user=CORA)["id"] == 2
    for loop, member, words in ((1, ANA, "L1"), (2, CY, "L2")):
        owner.ok("meet", "log", loop, "--at", "2026-03-01 10:00", "--notes", f"NOTES {words}", "--action",
                 f"ACTION {words}", user=member)
        owner.ok("meet", "schedule", loop, "--at", "2026-03-09 10:00", "--agenda", f"AGENDA {words}", user=member)
        owner.ok("goal", "add", loop, f"GOAL {words}", user=member)
        owner.ok("goal", "task", "add", 3 if loop == 1 else 4, f"TASK {words}", user=member)
    owner.ok("goal", "add", 1, "ANA PRIVATE GOAL", "--private", user=ANA)
    owner.ok("feedback", "give", 1, "--rating", 4, "--comment", "ANA SECRET", user=ANA)
    owner.ok("feedback", "give", 1, "--rating", 2, "--comment", "BO SECRET", user=BO)
    owner.ok("feedback", "give", 2, "--rating", 5, "--comment", "CY SECRET", user=CY)
    for email in (CORA, BO, ANA, DEE, CY):
        owner.ok("db", "grant", email)
    owner.ok("db", "grant", CODY, "--content")
    try:
        yield server
    finally:
        pg_server.drop_database(database)


def one_line(result) -> str:
    assert result.exit_code == 1 and result.stdout == "", (result.exit_code, result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    return line


# --- raw SQL: the database itself keeps each role to its rows -----------------------


@pytest.mark.postgres
def test_a_mentee_role_reads_only_its_own_loops_rows_and_its_own_feedback(secured):
    assert secured.sql(ANA, "SELECT id FROM loop") == [(1,)]
    meetings = secured.sql(ANA, "SELECT * FROM meeting")
    assert {row[1] for row in meetings} == {1} and len(meetings) == 2
    assert "NOTES L2" not in repr(meetings) and "NOTES L1" in repr(meetings)
    feedback = secured.sql(ANA, "SELECT author_id, rating, comment FROM feedback")
    assert [row[2] for row in feedback] == ["ANA SECRET"]  # not the partner's, not loop 2's
    assert {title for (title,) in secured.sql(ANA, "SELECT title FROM goal")} == {
        "Sign the agreement", "GOAL L1", "ANA PRIVATE GOAL"}
    assert secured.sql(ANA, "SELECT title FROM task") == [("TASK L1",)]
    emails = {email for (email,) in secured.sql(ANA, "SELECT email FROM participant")}
    assert emails == {ANA, BO}  # herself and her partner, no one else


@pytest.mark.postgres
def test_the_partner_sees_neither_private_feedback_nor_private_goals(secured):
    assert [c for (c,) in secured.sql(BO, "SELECT comment FROM feedback")] == ["BO SECRET"]
    titles = {t for (t,) in secured.sql(BO, "SELECT title FROM goal")}
    assert "ANA PRIVATE GOAL" not in titles and "GOAL L1" in titles


@pytest.mark.postgres
def test_a_role_named_by_db_role_is_that_participant(secured):
    assert secured.sql(DEE_ROLE, "SELECT id FROM loop") == [(2,)]
    assert [c for (c,) in secured.sql(DEE_ROLE, "SELECT comment FROM feedback")] == []


@pytest.mark.postgres
def test_a_mentee_role_cannot_write_as_someone_else_or_into_another_loop(secured):
    bo_id, cy_id = (secured.sql(CORA, f"SELECT id FROM participant WHERE email = '{e}'")[0][0] for e in (BO, CY))
    refusal = secured.refused(ANA, "INSERT INTO feedback (loop_id, author_id, rating, created_at) "
                                   f"VALUES (1, {bo_id}, 1, now())")
    assert "row-level security" in refusal
    secured.refused(ANA, "INSERT INTO meeting (loop_id, start, duration_min, actions, status, created_at, sequence) "
                         "VALUES (2, now(), 45, '', 'scheduled', now(), 0)")
    secured.refused(ANA, f"UPDATE participant SET db_role = 'x' WHERE email = '{ANA}'")
    secured.refused(ANA, f"UPDATE loop SET mentee_id = {cy_id} WHERE id = 1")
    # Rows outside its reach are simply not there to change.
    assert secured.sql(ANA, "UPDATE meeting SET notes = 'gone' WHERE loop_id = 2 RETURNING id") == []
    assert secured.sql(CY, "SELECT notes FROM meeting WHERE notes IS NOT NULL") == [("NOTES L2",)]


@pytest.mark.postgres
def test_a_coordinator_role_reads_stages_and_ratings_but_no_content(secured):
    for statement in ("SELECT * FROM meeting", "SELECT agenda FROM meeting", "SELECT notes FROM meeting",
                      "SELECT actions FROM meeting", "SELECT * FROM feedback", "SELECT comment FROM feedback",
                      "SELECT title FROM goal", "SELECT title FROM task"):
        assert "permission denied" in secured.refused(CORA, statement)
    assert len(secured.sql(CORA, "SELECT id, loop_id, status, start FROM meeting")) == 4
    assert sorted(r for (r,) in secured.sql(CORA, "SELECT rating FROM feedback")) == [2, 4, 5]
    assert len(secured.sql(CORA, "SELECT id FROM participant")) == 6
    # Shared goals only: a private goal is its author's.
    assert len(secured.sql(CORA, "SELECT id, shared_at FROM goal")) == 4


@pytest.mark.postgres
def test_a_coordinator_role_with_the_content_grant_reads_content(secured):
    notes = {n for (n,) in secured.sql(CODY, "SELECT notes FROM meeting WHERE notes IS NOT NULL")}
    assert notes == {"NOTES L1", "NOTES L2"}
    assert sorted(c for (c,) in secured.sql(CODY, "SELECT comment FROM feedback")) == ["ANA SECRET", "BO SECRET", "CY SECRET"]


@pytest.mark.postgres
def test_a_login_that_is_nobody_reads_nothing(secured):
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=secured.server.port, user="postgres", dbname=secured.database,
                         autocommit=True) as admin:
        admin.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'stranger_sec') "
                      "THEN CREATE ROLE stranger_sec LOGIN IN ROLE mloop_participant; END IF; END $$")
    assert secured.sql("stranger_sec", "SELECT id FROM loop") == []
    assert secured.sql("stranger_sec", "SELECT id FROM participant") == []
    line = one_line(secured.cli("stranger_sec")("status"))
    assert line == ("mloop: error: you are connected as role 'stranger_sec', which is no participant of any program in this store: "
                    "connect as your own role, or ask the store's owner to run 'mloop db grant EMAIL' for you")


# --- the CLI run as each role ---------------------------------------------------------


@pytest.mark.postgres
def test_a_mentee_role_acts_as_herself_and_sees_her_own_loop(secured):
    ana = secured.cli(ANA)
    status = ana.json("status")
    assert status["participant"]["email"] == ANA and [loop["loop_id"] for loop in status["loops"]] == [1]
    assert {m["loop_id"] for m in ana.json("meet", "list")} == {1}
    assert [f["comment"] for f in ana.json("feedback", "list")] == ["ANA SECRET"]
    assert ana.json("db", "whoami") == {"role": ANA, "owner": False, "content": False, "program": "Secure",
                                        "participant": ANA, "coordinator": False}


@pytest.mark.postgres
@pytest.mark.parametrize("other", [BO, CORA])
def test_a_participant_role_may_not_act_as_anyone_else(secured, other):
    line = one_line(secured.cli(ANA)("feedback", "list", "--loop", 1, user=other))
    assert line == (f"mloop: error: --as {other}: you are connected as role {ANA} (participant {ANA}); "
                    "only a coordinator's role may act as someone else")
    assert one_line(secured.cli(ANA)("export")).startswith("mloop: error: exporting the program is for coordinators")


@pytest.mark.postgres
def test_a_participant_role_acting_as_itself_by_email_is_fine(secured):
    assert secured.cli(ANA).json("status", user=ANA.upper())["participant"]["email"] == ANA


@pytest.mark.postgres
def test_a_coordinator_role_runs_the_coordinator_commands_without_reading_content(secured, tmp_path):
    cora = secured.cli(CORA)
    report = cora.json("coordinator", "report")
    assert sum(report["stages"].values()) >= 4
    assert isinstance(cora.json("coordinator", "report", "--stalled")["stalled"], list)
    assert {m["loop_id"] for m in cora.json("match", "list")} >= {1, 2}
    card = cora.json("coordinator", "participant", ANA)
    assert "ANA SECRET" not in json.dumps(card) and "GOAL L1" not in json.dumps(card)
    ratings = cora.json("feedback", "list")
    assert sorted(f["rating"] for f in ratings) == [2, 4, 5] and not any(f.get("comment") for f in ratings)
    tasks = cora.json("goal", "task", "list")
    assert tasks and "TASK L1" not in json.dumps(tasks)
    exported = cora("export")
    assert exported.exit_code == 0, exported.stderr
    for secret in ("NOTES L1", "AGENDA L2", "ACTION L1", "GOAL L1", "TASK L2", "ANA SECRET", "ANA PRIVATE GOAL"):
        assert secret not in exported.stdout
    assert sum(json.loads(line)["type"] == "meeting" for line in exported.stdout.splitlines()) == 4


@pytest.mark.postgres
def test_a_coordinator_role_adds_people_matches_them_and_nudges(secured, tmp_path):
    cora = secured.cli(CORA)
    cora.ok("participant", "add", "--name", "Fay", "--email", "fay.sec@example.org", "--role", "mentor")
    cora.ok("participant", "add", "--name", "Gus", "--email", "gus.sec@example.org", "--role", "mentee")
    loop = cora.json("match", "create", "--mentor", "fay.sec@example.org", "--mentee", "gus.sec@example.org")["id"]
    assert loop in {m["loop_id"] for m in cora.json("match", "list")}
    later = "2026-05-01T09:00:00Z"
    nudged = cora.json("coordinator", "nudge", "--stalled", "--out", tmp_path / "nudges", now=later)
    assert nudged
    # Someone was stalled by then, and the nudges were recorded as this role.
    assert secured.sql("postgres", "SELECT count(*) FROM nudge")[0][0] > 0
    assert secured.cli(ANA).json("match", "list") and loop not in {m["loop_id"] for m in secured.cli(ANA).json("match", "list")}


@pytest.mark.postgres
def test_a_coordinator_role_imports_people_but_not_whole_programs(secured, tmp_path):
    cora = secured.cli(CORA)
    people = tmp_path / "people.csv"
    people.write_text("name,email,role\nHu,hu.sec@example.org,mentee\n")
    cora.ok("participant", "import", people)
    assert "hu.sec@example.org" in {p["email"] for p in cora.json("participant", "list")}
    program = tmp_path / "program.jsonl"
    program.write_text(secured.cli().ok("export", user=CORA).stdout)
    line = one_line(cora("--program", "Secure", "import", program))
    assert line == ("mloop: error: on PostgreSQL, importing a program is for the store's owner (the role that ran "
                    f"'mloop init'), and you are connected as role {CORA}")


@pytest.mark.postgres
def test_a_coordinator_role_may_act_as_a_participant(secured):
    status = secured.cli(CORA).json("status", user=ANA)
    assert status["participant"]["email"] == ANA and [loop["loop_id"] for loop in status["loops"]] == [1]


@pytest.mark.postgres
def test_the_store_owner_acts_as_on_sqlite(secured):
    owner = secured.cli()
    assert owner.json("status", user=ANA)["participant"]["email"] == ANA
    assert owner.json("db", "whoami")["owner"] is True
    assert "BO SECRET" not in owner.ok("export", user=CORA).stdout  # content only when asked for
    assert "BO SECRET" in owner.ok("export", "--include-content", user=CORA).stdout


@pytest.mark.postgres
def test_only_the_owner_grants_roles(secured):
    line = one_line(secured.cli(CORA)("db", "grant", ANA))
    assert line == (f"mloop: error: mloop db grant is for the store's owner (the role that ran 'mloop init') or a "
                    f"superuser, and you are connected as role {CORA}")
    result = secured.cli()("db", "grant", ANA, "--content")
    assert result.exit_code == 2 and "--content is for coordinators" in result.stderr


@pytest.mark.postgres
def test_grant_moves_a_role_to_the_group_of_the_persons_roles_and_sets_a_password(secured, tmp_path):
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    record = secured.cli().json("db", "grant", BO, "--password-file", password)
    assert record == {"email": BO, "role": BO, "created": False, "group": "mloop_participant", "content": False,
                      "password": True}
    groups = secured.sql("postgres", f"SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                                     f"JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = '{BO}'")
    assert groups == [("mloop_participant",)]
    assert secured.sql("postgres", f"SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '{BO}'") == [(True,)]


@pytest.mark.postgres
def test_a_password_is_asked_twice_hidden_and_content_is_taken_back_without_content(secured):
    owner = secured.cli()
    assert json.loads(owner.ok("db", "grant", CY, "--json", "--password", input="pw1\npw1\n").stdout)["password"] is True
    assert secured.sql("postgres", f"SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '{CY}'") == [(True,)]
    owner.ok("db", "grant", CODY)
    assert "permission denied" in secured.refused(CODY, "SELECT notes FROM meeting")
    owner.ok("db", "grant", CODY, "--content")
    assert secured.sql(CODY, "SELECT count(notes) FROM meeting") == [(2,)]


@pytest.mark.postgres
def test_a_superuser_or_the_owner_is_never_made_a_participants_login(make_cli, pg_url, tmp_path):
    owner = make_cli(tmp_path / "unused.db")
    owner.db = pg_url
    owner.ok("init")
    owner.ok("participant", "add", "--name", "Root", "--email", "root.sec@example.org", "--role", "mentee",
             "--db-role", "postgres")
    owner.fails("db", "grant", "root.sec@example.org", code=2,
                match="role 'postgres' is a superuser, may create roles or owns this store: it cannot be")


@pytest.mark.postgres
def test_init_again_restores_the_policies_and_changes_nothing_else(secured):
    count = "SELECT count(*) FROM pg_policies WHERE schemaname = 'public'"
    before = secured.sql("postgres", count)
    secured.sql("postgres", "ALTER TABLE meeting DISABLE ROW LEVEL SECURITY")
    assert len(secured.sql(ANA, "SELECT id FROM meeting")) > 2  # an unprotected table shows every row
    secured.cli().ok("init", "--program", "Secure")
    assert secured.sql("postgres", count) == before
    assert {loop for (loop,) in secured.sql(ANA, "SELECT loop_id FROM meeting")} == {1}


# --- SQLite and the import format ----------------------------------------


def test_db_grant_is_for_postgresql_stores(cli):
    cli.ok("init")
    cli.ok("participant", "add", "--name", "Ana", "--email", ANA, "--role", "mentee")
    line = cli.fails("db", "grant", ANA, code=2).stderr.strip()
    assert line == ("mloop: error: mloop db grant is for PostgreSQL stores: an SQLite store is one file, one trust "
                    "domain, and whoever can write it can do anything")


def test_a_db_role_is_checked_kept_and_exported(cli, tmp_path):
    cli.ok("init")
    added = cli.json("participant", "add", "--name", "Dee", "--email", DEE, "--role", "mentor", "--db-role", DEE_ROLE)
    assert added["db_role"] == DEE_ROLE
    cli.fails("participant", "add", "--name", "Bo", "--email", BO, "--role", "mentor", "--db-role", DEE_ROLE,
              match=f"database role {DEE_ROLE!r} is already {DEE}'s")
    cli.fails("participant", "add", "--name", "Bo", "--email", BO, "--role", "mentor", "--db-role", "x" * 64,
              code=2, match="longer than PostgreSQL's 63 bytes")
    cli.ok("participant", "add", "--name", "Ana", "--email", ANA, "--role", "mentee")
    cli.fails("participant", "add", "--name", "Bo", "--email", BO, "--role", "mentor", "--db-role", ANA,
              match=f"database role {ANA!r} is already {ANA}'s")  # without a db_role, the email is the role
    exported = cli.ok("export").stdout
    [dee] = [json.loads(line) for line in exported.splitlines() if DEE in line and '"participant"' in line]
    assert dee["db_role"] == DEE_ROLE
    copy = tmp_path / "copy.db"
    (tmp_path / "p.jsonl").write_text(exported)
    cli.ok("import", tmp_path / "p.jsonl", db=copy)
    assert cli.ok("export", db=copy).stdout == exported


def test_an_import_file_giving_two_people_one_role_is_refused(cli, tmp_path):
    lines = [{"type": "program", "name": "P"}] + [
        {"type": "participant", "email": email, "name": "X", "roles": ["mentee"], "db_role": "same"}
        for email in (ANA, BO)]
    path = tmp_path / "two.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    cli.fails("import", path, match="line 3: db_role 'same' is already ana.sec@example.org's")
