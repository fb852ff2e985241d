"""Nudges (issue 5, item 7): one message per stalled person, never two in a week."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # conftest's NOW

CORA = "cora@example.org"
BO = "bo@example.org"
ANA = "ana@example.org"
DEE = "dee@example.org"


@pytest.fixture
def stalled_program(cli, make_program, add_person, make_loop):
    """Bo and Ana matched on NOW and never met; Dee never matched: all three stalled 30 days later."""
    make_program()
    add_person(CORA, "coordinator", name="Cora Diaz")
    add_person(BO, "mentor", name="Bo Chen")
    add_person(ANA, "mentee", name="Ana Lima")
    add_person(DEE, "mentee", name="Dee Park")
    loop = make_loop(BO, ANA)
    return loop


def day(n: float) -> str:
    return (NOW + timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_nudging_twice_in_a_week_skips_those_nudged_and_a_week_later_nudges_them_again(cli, stalled_program):
    first = cli.json("coordinator", "nudge", "--stalled", now=day(30))
    assert first["dry_run"] is False and first["out"] is None and first["skipped"] == []
    assert sorted((m["email"], m["loop_id"], m["stage"]) for m in first["sent"]) == [
        (ANA, stalled_program, "matched"), (BO, stalled_program, "matched"), (DEE, None, "getting_started"),
    ]
    again = cli.json("coordinator", "nudge", now=day(33))
    assert again["sent"] == []
    assert sorted((s["email"], s["nudged_days_ago"], s["last_nudged_at"]) for s in again["skipped"]) == [
        (ANA, 3, day(30)), (BO, 3, day(30)), (DEE, 3, day(30)),
    ]
    text = cli.ok("coordinator", "nudge", now=day(36)).stdout
    assert "Nudged 0 people." in text and "Skipped 3 people nudged in the last 7 days." in text
    week_later = cli.json("coordinator", "nudge", now=day(37))
    assert len(week_later["sent"]) == 3 and week_later["skipped"] == []


def test_a_dry_run_shows_the_messages_and_records_nothing(cli, stalled_program, tmp_path):
    before = cli.snapshot()
    dry = cli.json("coordinator", "nudge", "--dry-run", "--out", tmp_path / "mail", now=day(30))
    assert dry["dry_run"] is True and len(dry["sent"]) == 3
    assert cli.snapshot() == before
    assert not (tmp_path / "mail").exists()
    shown = cli.ok("coordinator", "nudge", "--dry-run", now=day(30)).stdout
    assert "Dry run: would nudge 3 people" in shown and "To: Bo Chen <bo@example.org>" in shown
    assert len(cli.json("coordinator", "nudge", now=day(30))["sent"]) == 3  # nothing was recorded by the dry runs


def test_messages_are_filled_from_the_stage_template(cli, stalled_program):
    sent = {m["email"]: m for m in cli.json("coordinator", "nudge", now=day(30))["sent"]}
    ana = sent[ANA]
    assert ana["subject"] == "Spring 2026: book your first meeting with Bo Chen"
    assert ana["body"].startswith("Hi Ana,\n")
    assert f"(loop {stalled_program}) 30 days ago" in ana["body"] and ana["body"].rstrip().endswith("Cora Diaz")
    assert ana["days_in_stage"] == 30
    assert sent[DEE]["subject"] == "Spring 2026: let's find you a match"


def test_eml_files_parse_back_with_the_right_headers(cli, stalled_program, tmp_path):
    out = tmp_path / "outbox"
    document = cli.json("coordinator", "nudge", "--out", out, now=day(30))
    assert document["out"] == str(out)
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(m["file"] for m in document["sent"])
    assert f"0001-{document['sent'][0]['email']}-" in files[0]
    for message in document["sent"]:
        mail = email.message_from_bytes((out / message["file"]).read_bytes(), policy=email.policy.default)
        assert mail["To"].addresses[0].addr_spec == message["email"]
        assert mail["From"].addresses[0].addr_spec == CORA
        assert mail["Subject"] == message["subject"]
        assert mail["Date"].datetime == NOW + timedelta(days=30)
        assert mail.get_content() == message["body"]
    assert (document["sent"][0]["loop_id"] is None) == files[0].endswith("-unmatched.eml")


def test_a_failed_write_records_nothing(cli, stalled_program, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    before = cli.snapshot()
    cli.fails("coordinator", "nudge", "--out", blocker, now=day(30), match="give a folder for --out")
    assert cli.snapshot() == before


def test_stage_filter_and_bad_stages(cli, stalled_program):
    only = cli.json("coordinator", "nudge", "--stage", "matched", now=day(30))
    assert sorted(m["email"] for m in only["sent"]) == [ANA, BO]
    rest = cli.json("coordinator", "nudge", now=day(31))
    assert [m["email"] for m in rest["sent"]] == [DEE] and len(rest["skipped"]) == 2
    before = cli.snapshot()
    cli.fails("coordinator", "nudge", "--stage", "completed", now=day(31), code=2, match="'completed' is not one of 'getting_started', 'matched', 'first_meeting', 'grow_together', 'levelling_up'")
    cli.fails("coordinator", "nudge", "--stage", "lunch", now=day(31), code=2,
              match="Invalid value for '--stage': Value error, 'lunch' is not one of 'getting_started'")
    assert cli.snapshot() == before


def test_only_coordinators_nudge(cli, stalled_program):
    before = cli.snapshot()
    cli.fails("coordinator", "nudge", user=ANA, now=day(30), match="coordinator")
    cli.fails("coordinator", "nudge-template", "set", "matched", "--subject", "x", "--body-file", "-",
              user=ANA, input="hi", now=day(30), match="coordinator")
    assert cli.snapshot() == before


def test_a_programs_own_template_replaces_the_built_in_one(cli, stalled_program, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("Dear {name},\n{days} days at {stage} in {program}; {{braces}} stay.\n— {coordinator}\n")
    record = cli.json("coordinator", "nudge-template", "set", "matched",
                      "--subject", "{first_name}, meet {partner} (loop {loop})", "--body-file", body)
    assert record == {"stage": "matched", "subject": "{first_name}, meet {partner} (loop {loop})",
                      "body": body.read_text(), "custom": True}
    listed = {t["stage"]: t for t in cli.json("coordinator", "nudge-template", "list")}
    assert listed["matched"]["custom"] is True and listed["first_meeting"]["custom"] is False
    assert "levelling_up" in listed and "completed" not in listed
    sent = {m["email"]: m for m in cli.json("coordinator", "nudge", "--dry-run", now=day(30))["sent"]}
    assert sent[ANA]["subject"] == f"Ana, meet Bo Chen (loop {stalled_program})"
    assert sent[ANA]["body"] == "Dear Ana Lima,\n30 days at Matched in Spring 2026; {braces} stay.\n— Cora Diaz\n"
    assert sent[DEE]["subject"] == "Spring 2026: let's find you a match"  # other stages keep the built-in one
    assert cli.json("coordinator", "nudge-template", "reset", "matched") == {"reset": ["matched"]}
    assert cli.json("coordinator", "nudge-template", "reset") == {"reset": []}
    sent = {m["email"]: m for m in cli.json("coordinator", "nudge", "--dry-run", now=day(30))["sent"]}
    assert sent[ANA]["subject"] == "Spring 2026: book your first meeting with Bo Chen"


def test_an_unknown_placeholder_is_refused_when_set(cli, stalled_program, tmp_path):
    body = tmp_path / "body.txt"
    body.write_text("Hi {nickname}\n")
    before = cli.snapshot()
    cli.fails("coordinator", "nudge-template", "set", "matched", "--subject", "Hi", "--body-file", body,
              code=2, match="unknown placeholder {nickname} in the body")
    cli.fails("coordinator", "nudge-template", "set", "matched", "--subject", "Hi {name!r}", "--body-file", body,
              code=2, match="unknown placeholder {name} in the subject")
    cli.fails("coordinator", "nudge-template", "set", "matched", "--subject", "Hi {", "--body-file", body,
              code=2, match="the subject is not a valid template")
    cli.fails("coordinator", "nudge-template", "set", "matched", "--subject", "Hi", "--body-file", tmp_path / "none.txt",
              match="no file")
    assert cli.snapshot() == before


def test_the_report_shows_when_each_stalled_person_was_last_nudged(cli, stalled_program):
    cli.json("coordinator", "nudge", "--stage", "matched", now=day(30))
    report = cli.json("coordinator", "report", "--stalled", now=day(33))
    found = {row["email"]: (row["last_nudged_at"], row["nudged_days_ago"]) for row in report["stalled"]}
    assert found == {ANA: (day(30), 3), BO: (day(30), 3), DEE: (None, None)}
    table = cli.ok("coordinator", "report", "--stalled", now=day(33)).stdout
    assert "Nudged" in table
    line = next(line for line in table.splitlines() if ANA in line)
    assert line.rstrip().endswith("3 days ago")
    assert "ago" not in next(line for line in table.splitlines() if DEE in line)
    # A nudge later than the report's moment is not seen.
    early = cli.json("coordinator", "report", "--stalled", now=day(29))
    assert all(row["nudged_days_ago"] is None for row in early["stalled"])


def test_many_messages_are_summed_up_in_a_table(cli, make_program, add_person):
    make_program()
    add_person(CORA, "coordinator", name="Cora Diaz")
    for n in range(7):
        add_person(f"m{n}@example.org", "mentee")
    text = cli.ok("coordinator", "nudge", now=day(30)).stdout
    assert "Nudges" in text and "Nudged 7 people." in text and "Hi M0" not in text
