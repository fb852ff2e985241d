"""Text can't attack its reader: what people type is shown, never obeyed.

Three layers: the pure functions of mloop.text and mloop.store.checks; the
store's writes and imports refusing unsafe text; the CLI's terminal output
showing escapes where a store holds hostile text (one written before these
checks, or by another program), its CSV neutralising formulas and its JSON
keeping values as stored.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mloop.errors import UsageError
from mloop.output import csv_cell
from mloop.store.checks import NAME_LIMIT, TEXT_LIMIT, TITLE_LIMIT, check_email, check_name, check_text, check_title
from mloop.text import BIDI_CONTROLS, first_unsafe, spreadsheet_safe, visible

HOSTILE_NAME = "Ana\x1b[2J\x1b[H"  # clears the screen and homes the cursor
HOSTILE_TITLE = "Learn \u202egnp.exe\u202c fast\x07"  # a right-to-left override, then BEL
UNSAFE = {chr(c) for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]} | set(BIDI_CONTROLS)


def unsafe_in(text: str) -> set[str]:
    """The control and bidi characters in ``text`` (a newline and a tab are a terminal's own)."""
    return {c for c in text if c in UNSAFE} - {"\n", "\t"}


# --- pure: visible, spreadsheet_safe, the checks ------------------------------------------

@given(st.text())
def test_visible_leaves_no_unsafe_character(text):
    shown = visible(text)
    assert first_unsafe(shown) is None
    assert unsafe_in(visible(text, lines=True)) == set()


@given(st.text(alphabet=st.characters(blacklist_characters=sorted(UNSAFE))))
def test_visible_keeps_safe_text_as_it_is(text):
    assert visible(text) == text == visible(text, lines=True)


def test_visible_names_each_character_it_escapes():
    assert visible(HOSTILE_NAME) == "Ana\\x1b[2J\\x1b[H"
    assert visible("a\u202eb\x9bc\x7f") == "a\\u202eb\\x9bc\\x7f"
    assert visible("one\ntwo\tthree") == "one\\x0atwo\\x09three"  # a table cell is one line
    assert visible("one\ntwo\tthree\x07", lines=True) == "one\ntwo\tthree\\x07"


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://evil.example\",\"Ana\")", "+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_a_formula_like_cell_gets_an_apostrophe(cell):
    assert spreadsheet_safe(cell) == "'" + cell
    assert csv_cell(cell) == "'" + cell
    assert csv_cell(cell, raw=True) == cell


@given(st.text())
def test_no_text_cell_starts_like_a_formula(text):
    cell = csv_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell in (text, "'" + text)


@given(st.text(max_size=300))
def test_what_passes_as_a_name_is_one_safe_line(text):
    try:
        name = check_name(text)
    except UsageError:
        return
    assert first_unsafe(name) is None and len(name) <= NAME_LIMIT


def test_numbers_and_plain_text_stay_as_they_are_in_csv():
    assert csv_cell(-3) == "-3" and csv_cell(-0.5) == "-0.5" and csv_cell(4) == "4"
    assert csv_cell("Ana Lima") == "Ana Lima" and csv_cell(None) == "" and csv_cell(True) == "yes"
    assert csv_cell(["=cmd", "python"]) == "'=cmd, python"  # skills joined: text from people


@pytest.mark.parametrize("check, field, limit", [(check_name, "name", NAME_LIMIT), (check_title, "title", TITLE_LIMIT)])
def test_names_and_titles_are_one_printable_line_within_their_limit(check, field, limit):
    assert check("  Ana Lima  ") == "Ana Lima"
    assert check("x" * limit) == "x" * limit
    with pytest.raises(UsageError, match=f"^{field} is too long \\({limit + 1:,} characters; at most {limit:,}\\)$"):
        check("x" * (limit + 1))
    with pytest.raises(UsageError, match=re.escape(f"{field} contains a bidirectional control character (U+202E)")):
        check("Ana\u202eLima")
    for bad, code in (("\x1b", "U+001B"), ("\x07", "U+0007"), ("\x9b", "U+009B"), ("\t", "U+0009")):
        with pytest.raises(UsageError, match=re.escape(f"{field} contains a control character ({code}); remove it")):
            check(f"Ana{bad}Lima")
    for bad, code in (("\n", "U+000A"), ("\r", "U+000D")):
        with pytest.raises(UsageError, match=re.escape(f"{field} contains a line break ({code}); remove it")):
            check(f"Ana{bad}Lima")


def test_free_text_may_hold_lines_and_tabs_but_no_other_control():
    assert check_text("first\n\tsecond", "notes") == "first\n\tsecond"
    assert check_text("pasted\r\nfrom Windows", "notes") == "pasted\r\nfrom Windows"
    with pytest.raises(UsageError, match=re.escape("notes contains a control character (U+000D); remove it")):
        check_text("paid: yes\rpaid: no", "notes")  # a lone CR rewrites the line on a terminal
    assert check_text(None, "notes") is None
    assert check_text("x" * TEXT_LIMIT, "notes") == "x" * TEXT_LIMIT
    with pytest.raises(UsageError, match="^notes is too long \\(20,001 characters; at most 20,000\\)$"):
        check_text("x" * (TEXT_LIMIT + 1), "notes")
    with pytest.raises(UsageError, match=re.escape("agenda contains a control character (U+001B); remove it")):
        check_text("a\x1b]0;title\x07", "agenda")


@pytest.mark.parametrize("email, reason", [
    ("a@b..c", "two periods in a row"),
    (".a@b.c", "cannot start with a period"),
    ("a@-x.org", "hyphen immediately after the @-sign"),
    ("a" * 65 + "@x.org", "too long before the @-sign"),
    ("an\u200ba@example.org", "ZERO WIDTH SPACE"),
    ("ana@x.test", "special-use or reserved name"),
    ("ana@localhost", "It should have a period"),
    ("ana", "must have an @-sign"),
])
def test_look_alike_and_malformed_emails_are_refused_with_the_reason(email, reason):
    with pytest.raises(UsageError) as refused:
        check_email(email)
    assert refused.value.message.startswith(f"email {email!r} is not valid: ")
    assert reason in refused.value.message


@pytest.mark.parametrize("email, stored", [
    ("Ana@Example.ORG", "ana@example.org"),
    ("  ana.lima+mentoring@example.org ", "ana.lima+mentoring@example.org"),
    ("ＡＮＡ@example.org", "ana@example.org"),  # full-width letters: NFKC
    ("coordinator@bench.example", "coordinator@bench.example"),
    ("josé@example.org", "josé@example.org"),
    ("a" * 64 + "@x.org", "a" * 64 + "@x.org"),
])
def test_emails_are_stored_in_one_form(email, stored):
    assert check_email(email) == stored


def test_emails_refuse_control_characters_and_line_breaks_by_field():
    with pytest.raises(UsageError, match=re.escape("email contains a control character (U+001B); remove it")):
        check_email("ana\x1b@example.org")
    with pytest.raises(UsageError, match=re.escape("email contains a line break (U+000A); remove it")):
        check_email("ana@example.org\nBcc: everyone@example.org")


def test_the_sample_data_and_the_bench_generator_pass_the_email_checks():
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo))
    from bench.generate import SIZES, generate  # noqa: E402

    emails = [json.loads(line)["email"] for line in (repo / "sample_data" / "program.jsonl").read_text().splitlines()
              if '"participant"' in line]
    emails += [r["email"] for r in generate(SIZES["small"]) if r["type"] == "participant"]
    assert emails and all(check_email(e) == e for e in emails)


# --- the CLI: refusals at input, the same in imports -----------------------------------------

@pytest.fixture
def program(cli, make_program, add_person, make_loop):
    make_program()
    add_person("cora@example.org", "coordinator", name="Cora")
    add_person("bo@example.org", "mentor", name="Bo", joined="2026-01-15")
    add_person("ana@example.org", "mentee", name="Ana", joined="2026-01-15")
    return make_loop("bo@example.org", "ana@example.org", as_user="cora@example.org", matched_at="2026-02-01 09:00")


@pytest.mark.parametrize("args, message", [
    (["participant", "add", "--name", HOSTILE_NAME, "--email", "x@example.org", "--role", "mentee"],
     "name contains a control character (U+001B); remove it"),
    (["participant", "add", "--name", "Ana\r\nBcc: x", "--email", "x@example.org", "--role", "mentee"],
     "name contains a line break (U+000D); remove it"),
    (["participant", "add", "--name", "x" * 201, "--email", "x@example.org", "--role", "mentee"],
     "name is too long (201 characters; at most 200)"),
    (["participant", "add", "--name", "Xu", "--email", "x\x07@example.org", "--role", "mentee"],
     "email contains a control character (U+0007); remove it"),
    (["participant", "add", "--name", "Xu", "--email", "a@b..c", "--role", "mentee"],
     "email 'a@b..c' is not valid: an email address cannot have two periods in a row"),
    (["participant", "add", "--name", "Xu", "--email", "an\u200ba@example.org", "--role", "mentee"],
     "email 'an\\u200ba@example.org' is not valid: the email address contains unsafe characters"),
    (["participant", "edit", "ana@example.org", "--name", "Ana\x1b]0;pwned\x07"],
     "name contains a control character (U+001B); remove it"),
    (["participant", "add", "--name", "Xu", "--email", "xu@example.org", "--role", "mentor", "--offers", "py\x1bthon"],
     "skill contains a control character (U+001B); remove it"),
    (["goal", "add", "1", HOSTILE_TITLE], "goal title contains a bidirectional control character (U+202E); remove it"),
    (["goal", "add", "1", "x" * 501], "goal title is too long (501 characters; at most 500)"),
    (["meet", "schedule", "1", "--at", "2026-03-05 10:00", "--agenda", "plan\x1b[2J"],
     "agenda contains a control character (U+001B); remove it"),
    (["meet", "schedule", "1", "--at", "2026-03-05 10:00", "--where", "room\x9b1"],
     "location contains a control character (U+009B); remove it"),
    (["meet", "log", "1", "--at", "2026-03-02 08:00", "--notes", "x" * 20_001],
     "notes is too long (20,001 characters; at most 20,000)"),
    (["meet", "log", "1", "--at", "2026-03-02 08:00", "--action", "ship\x00it"],
     "actions contains a control character (U+0000); remove it"),
    (["match", "end", "1", "--outcome", "cancelled", "--reason", "moved\x1b[31m"],
     "reason contains a control character (U+001B); remove it"),
    (["milestone", "define", "Kick\x1boff", "--kind", "relationship", "--role", "mentor", "--due", "2 weeks"],
     "milestone name contains a control character (U+001B); remove it"),
    (["program", "set", "--name", "Spring\n2026"], "program name contains a line break (U+000A); remove it"),
    (["program", "goal", "add", "Meet\x07"], "starter goal title contains a control character (U+0007); remove it"),
])
def test_unsafe_text_is_refused_at_input_and_nothing_is_stored(cli, program, args, message):
    user = "ana@example.org" if args[0] in ("goal", "meet") else "cora@example.org"
    before = cli.snapshot()
    cli.fails(*args, code=2, match=message, user=user)
    assert cli.snapshot() == before


def test_free_text_keeps_its_lines(cli, program):
    cli.ok("meet", "log", "1", "--at", "2026-03-02 08:00", "--notes", "first\n\tsecond", user="ana@example.org")
    [meeting] = cli.json("meet", "list", user="ana@example.org")
    assert meeting["notes"] == "first\n\tsecond"


def test_feedback_comments_refuse_control_characters(cli, program):
    cli.ok("meet", "log", "1", "--at", "2026-03-02 08:00", user="ana@example.org")
    cli.fails("feedback", "give", "1", "--rating", "4", "--comment", "great\x1b[8m", code=2,
              match="comment contains a control character (U+001B); remove it", user="ana@example.org")


def test_an_email_is_stored_and_found_in_one_form(cli, program):
    record = cli.json("participant", "add", "--name", "Dee", "--email", "ＤＥＥ@Example.org", "--role", "mentee",
                      user="cora@example.org")
    assert record["email"] == "dee@example.org"
    assert cli.json("participant", "show", "DEE@example.org", user="cora@example.org")["name"] == "Dee"
    cli.fails("participant", "add", "--name", "Dee again", "--email", "dee@EXAMPLE.org", "--role", "mentee",
              match="dee@example.org is already in", user="cora@example.org")


def test_an_email_already_stored_is_still_found_though_the_checks_would_refuse_it(cli, program):
    with sqlite3.connect(cli.db) as db:
        db.execute("UPDATE participant SET email = 'ana@b..c', email_key = 'ana@b..c' WHERE email = 'ana@example.org'")
    db.close()
    assert cli.json("participant", "show", "ana@b..c", user="cora@example.org")["name"] == "Ana"
    assert cli.json("status", user="ana@b..c")["participant"]["email"] == "ana@b..c"


JSONL_LINES = [
    '{"type": "program", "name": "Imported"}',
    '{"type": "participant", "email": "cy@example.org", "name": "Cy", "roles": ["coordinator"]}',
]


@pytest.mark.parametrize("record, message", [
    ({"type": "participant", "email": "ed@example.org", "name": HOSTILE_NAME, "roles": ["mentee"]},
     "line 3: name contains a control character (U+001B); remove it"),
    ({"type": "participant", "email": "a@-x.org", "name": "Ed", "roles": ["mentee"]},
     "line 3: email 'a@-x.org' is not valid: an email address cannot have a hyphen immediately after the @-sign"),
    ({"type": "participant", "email": "ed@example.org", "name": "E" * 201, "roles": ["mentee"]},
     "line 3: name is too long (201 characters; at most 200)"),
    ({"type": "milestone", "name": "Kick\x1boff", "kind": "program", "role": "mentee", "due": "2 weeks"},
     "line 3: milestone name contains a control character (U+001B); remove it"),
    ({"type": "starter_goal", "title": "Meet\u202e"},
     "line 3: starter goal title contains a bidirectional control character (U+202E); remove it"),
    ({"type": "milestone", "name": "Kickoff", "kind": "program", "role": "mentee", "due": "2 weeks",
      "description": "x" * 20_001},
     "line 3: description is too long (20,001 characters; at most 20,000)"),
])
def test_import_refuses_what_the_commands_refuse(cli, tmp_path, make_program, record, message):
    make_program()
    path = tmp_path / "program.jsonl"
    path.write_text("\n".join([*JSONL_LINES, json.dumps(record)]) + "\n", encoding="utf-8")
    before = cli.snapshot()
    cli.fails("import", path, code=1, match=message)
    assert cli.snapshot() == before


def test_participant_import_refuses_a_hostile_name_naming_the_line(cli, tmp_path, program):
    path = tmp_path / "people.csv"
    path.write_text('name,email,role\nEd,ed@example.org,mentee\n"Fi\x1b[2J",fi@example.org,mentee\n', encoding="utf-8")
    before = cli.snapshot()
    cli.fails("participant", "import", path, code=1,
              match="line 3: name contains a control character (U+001B); remove it", user="cora@example.org")
    assert cli.snapshot() == before


def test_a_calendar_import_refuses_an_event_with_a_control_character(cli, tmp_path, program):
    path = tmp_path / "bad.ics"
    path.write_bytes(b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:e1@x\r\n"
                     b"DTSTART:20260310T100000Z\r\nDTEND:20260310T110000Z\r\nSUMMARY:Plan\x1b[2J\r\n"
                     b"END:VEVENT\r\nEND:VCALENDAR\r\n")
    before = cli.snapshot()
    cli.fails("meet", "import", path, "--loop", "1", code=2, user="ana@example.org",
              match="event 'Plan\\x1b[2J' (UID e1@x): agenda contains a control character (U+001B); remove it")
    assert cli.snapshot() == before


# --- the CLI: a store holding hostile text --------------------------------------------------

@pytest.fixture
def hostile_store(cli, program):
    """A loop whose people and content hold escape sequences and bidi controls, as a
    store written before these checks (or by another program) may hold them."""
    cli.ok("meet", "log", "1", "--at", "2026-03-02 08:00", "--notes", "notes", "--agenda", "agenda",
           user="ana@example.org")
    cli.ok("feedback", "give", "1", "--rating", "2", "--comment", "comment", user="ana@example.org")
    cli.ok("goal", "add", "1", "A goal", user="ana@example.org")
    with sqlite3.connect(cli.db) as db:
        db.execute("UPDATE participant SET name = ? WHERE email = 'ana@example.org'", (HOSTILE_NAME,))
        db.execute("UPDATE goal SET title = ?", (HOSTILE_TITLE,))
        db.execute("UPDATE meeting SET agenda = ?, notes = ?, location = ?",
                   ("plan\x1b]0;pwned\x07", "notes\x9b2J", "room \u202e1"))
        db.execute("UPDATE feedback SET comment = ?", ("bad\x1b[8mhidden",))
    db.close()
    return cli


LATER = "2026-06-01T09:00:00Z"  # everyone stalled, so the report lists Ana by name


@pytest.mark.parametrize("args, user, shown", [
    (["match", "list"], "cora@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["coordinator", "report"], "cora@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["coordinator", "report", "--stalled"], "cora@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["coordinator", "participant", "ana@example.org"], "cora@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["coordinator", "participant", "bo@example.org"], "cora@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["participant", "list"], "cora@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["participant", "show", "ana@example.org"], "cora@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["status"], "bo@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["status"], "ana@example.org", "Ana\\x1b[2J\\x1b[H"),
    (["goal", "list"], "ana@example.org", "Learn \\u202egnp.exe\\u202c fast\\x07"),
    (["meet", "list"], "ana@example.org", "plan\\x1b]0;pwned\\x07"),
    (["meet", "list"], "ana@example.org", "room \\u202e1"),
    (["feedback", "list"], "ana@example.org", "bad\\x1b[8mhidden"),
])
def test_terminal_output_shows_escapes_and_no_control_character(hostile_store, args, user, shown):
    result = hostile_store.ok(*args, user=user, now=LATER)
    assert unsafe_in(result.stdout) == set(), result.stdout
    assert shown in result.stdout


def test_errors_that_echo_input_show_escapes(cli, program):
    result = cli("--tz", "x\x1b[2J", "status", user="ana@example.org")
    assert result.exit_code == 2 and unsafe_in(result.stderr) == set()
    assert "\\x1b[2J" in result.stderr
    # Whatever a message holds, the one error line shows it escaped.
    from mloop.cli import _one_line

    assert _one_line("no loop named Ana\x1b[2J\u202e\nat all") == "no loop named Ana\\x1b[2J\\u202e at all"


def test_json_keeps_the_stored_value(hostile_store):
    result = hostile_store.ok("participant", "show", "ana@example.org", "--json", user="cora@example.org")
    assert "\x1b" not in result.stdout and "Ana\\u001b[2J\\u001b[H" in result.stdout  # JSON's own escape
    assert json.loads(result.stdout)["name"] == HOSTILE_NAME
    [goal] = hostile_store.json("goal", "list", user="ana@example.org")
    assert goal["title"] == HOSTILE_TITLE


def test_user_text_is_never_read_as_markup(cli, program):
    cli.ok("participant", "edit", "ana@example.org", "--name", "[bold red]Ana[/] [link=http://evil.example]x[/link]",
           user="cora@example.org")
    result = cli.ok("participant", "show", "ana@example.org", user="cora@example.org")
    assert "[bold red]Ana[/] [link=http://evil.example]x[/link]" in result.stdout
    assert "[bold red]Ana[/]" in cli.ok("match", "list", user="cora@example.org").stdout


# --- CSV: formulas neutralised, --csv-raw as stored -----------------------------------------

FORMULA = '=HYPERLINK("http://evil.example","Ana")'


@pytest.fixture
def formula_store(cli, program):
    cli.ok("participant", "edit", "ana@example.org", "--name", FORMULA, user="cora@example.org")
    cli.ok("meet", "log", "1", "--at", "2026-03-02 08:00", "--agenda", "-1+2", user="ana@example.org")
    cli.ok("feedback", "give", "1", "--rating", "2", "--comment", "@SUM(A1:A9)", user="ana@example.org")
    cli.ok("goal", "add", "1", "+cmd|' /C calc'!A0", user="ana@example.org")
    return cli


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("args, user, column, stored", [
    (["participant", "list"], "cora@example.org", "name", FORMULA),
    (["match", "list"], "cora@example.org", "mentee_name", FORMULA),
    (["coordinator", "report"], "cora@example.org", "name", FORMULA),
    (["meet", "list"], "ana@example.org", "agenda", "-1+2"),
    (["feedback", "list"], "ana@example.org", "comment", "@SUM(A1:A9)"),
    (["goal", "list"], "ana@example.org", "title", "+cmd|' /C calc'!A0"),
])
def test_csv_neutralises_formulas_and_csv_raw_keeps_them(formula_store, args, user, column, stored):
    safe = csv_rows(formula_store.ok(*args, "--csv", user=user, now=LATER).stdout)
    raw = csv_rows(formula_store.ok(*args, "--csv-raw", user=user, now=LATER).stdout)
    assert "'" + stored in [row[column] for row in safe]
    assert stored in [row[column] for row in raw] and stored not in [row[column] for row in safe]


def test_csv_leaves_numbers_alone(formula_store):
    [row] = csv_rows(formula_store.ok("feedback", "list", "--csv", user="ana@example.org").stdout)
    assert (row["rating"], row["loop_id"]) == ("2", "1")
    rows = csv_rows(formula_store.ok("coordinator", "report", "--activity", "--csv", user="cora@example.org",
                                     now=LATER).stdout)
    assert all(not row["count"].startswith("'") and not row["key"].startswith("'") for row in rows)


def test_csv_and_csv_raw_and_json_exclude_each_other(cli, program):
    cli.fails("participant", "list", "--csv", "--csv-raw", code=2, match="choose one of --csv and --csv-raw",
              user="cora@example.org")


# --- start-up: the email validator loads only where an email is checked ---------------------

def test_read_commands_do_not_import_the_email_validator(cli, program):
    code = (
        "import sys\n"
        "from mloop.cli import run\n"
        "sys.argv = ['mloop', '--as', 'cora@example.org', 'participant', 'show', 'ana@example.org']\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print('email_validator' in sys.modules, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**__import__("os").environ, "MLOOP_DB": str(cli.db)})
    assert result.stderr.strip().splitlines()[-1] == "False", result.stderr
