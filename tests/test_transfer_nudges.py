"""Export → import keeps a program's nudge templates and the nudges it sent."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import ERROR_PREFIX, NOW, assert_clean_error, iso, store_snapshot

CORA = "cora@example.org"
BO = "bo@example.org"
ANA = "ana@example.org"
DEE = "dee@example.org"


def day(n: float) -> str:
    return iso(NOW + timedelta(days=n))


@pytest.fixture
def exported(cli, make_program, add_person, make_loop, tmp_path) -> str:
    """Bo and Ana matched, Dee unmatched; two custom templates (set out of stage order); two nudge runs."""
    make_program()
    add_person(CORA, "coordinator", name="Cora Diaz")
    add_person(BO, "mentor", name="Bo Chen")
    add_person(ANA, "mentee", name="Ana Lima")
    add_person(DEE, "mentee", name="Dee Park")
    make_loop(BO, ANA)
    body = tmp_path / "body.txt"
    body.write_text("Dear {name},\n{days} days at {stage}; {{braces}} stay.\n— {coordinator}\n", encoding="utf-8")
    cli.json("coordinator", "nudge-template", "set", "matched", "--subject", "{first_name}, meet {partner}",
             "--body-file", body)
    cli.json("coordinator", "nudge-template", "set", "getting_started", "--subject", "Still waiting, {first_name}?",
             "--body-file", body)
    assert len(cli.json("coordinator", "nudge", now=day(30))["sent"]) == 3
    assert len(cli.json("coordinator", "nudge", now=day(38))["sent"]) == 3
    return cli.ok("export", now=day(40)).stdout


def records_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_templates_and_nudges_round_trip_byte_for_byte(cli, exported, tmp_path):
    records = records_of(exported)
    kinds = [r["type"] for r in records]
    # After every other record: the templates in stage order, then the nudges by time.
    assert kinds[-8:] == ["nudge_template"] * 2 + ["nudge"] * 6
    assert [r["stage"] for r in records[-8:-6]] == ["getting_started", "matched"]
    assert records[-7]["subject"] == "{first_name}, meet {partner}"
    nudges = records[-6:]
    assert [r["sent_at"] for r in nudges] == [day(30)] * 3 + [day(38)] * 3
    ana = next(r for r in nudges if r["email"] == ANA)
    assert ana == {"type": "nudge", "email": ANA, "loop": "L1", "stage": "matched", "days_in_stage": 30,
                   "subject": "Ana, meet Bo Chen", "body": ana["body"], "sent_at": day(30)}
    assert "{braces} stay." in ana["body"]
    dee = next(r for r in nudges if r["email"] == DEE)
    assert dee["loop"] is None and dee["stage"] == "getting_started" and dee["subject"] == "Still waiting, Dee?"

    source = tmp_path / "program.jsonl"
    source.write_text(exported, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    summary = cli.json("import", source, db=fresh)
    assert summary["records"]["nudge_template"] == 2 and summary["records"]["nudge"] == 6
    assert cli.ok("export", db=fresh, now=day(40)).stdout == exported

    card = cli.json("coordinator", "participant", ANA, db=fresh, now=day(40))
    assert [(n["sent_at"], n["stage"], n["days_in_stage"]) for n in card["loops"][0]["nudges"]] == [
        (day(30), "matched", 30), (day(38), "matched", 38),
    ]
    dee_card = cli.json("coordinator", "participant", DEE, db=fresh, now=day(40))
    assert [n["sent_at"] for n in dee_card["participant"]["nudges"]] == [day(30), day(38)]
    # The templates are the program's own again, and the week's quiet holds.
    listed = {t["stage"]: t for t in cli.json("coordinator", "nudge-template", "list", db=fresh)}
    assert listed["matched"]["custom"] and listed["getting_started"]["custom"] and not listed["grow_together"]["custom"]
    assert cli.json("coordinator", "nudge", "--dry-run", db=fresh, now=day(40))["sent"] == []


def without_nudges(text: str) -> list[dict]:
    return [r for r in records_of(text) if r["type"] not in ("nudge", "nudge_template")]


def template(stage: str = "matched", subject: str = "Hi {first_name}", body: str = "Book it.\n") -> dict:
    return {"type": "nudge_template", "stage": stage, "subject": subject, "body": body}


def nudge(email: str = ANA, loop: str | None = "L1", **extra) -> dict:
    return {"type": "nudge", "email": email, "loop": loop, "stage": "matched", "days_in_stage": 30,
            "subject": "Hi", "body": "Book it.\n", "sent_at": day(30), **extra}


def refused(cli, tmp_path: Path, records: list[dict], message: str, line: int | None = None) -> None:
    """The import exits 1 naming the line (the last unless given), and the store is unchanged."""
    source = tmp_path / "bad.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    other = tmp_path / "other.db"
    if not other.exists():
        cli.ok("init", "--program", "Another program", db=other)
    before = store_snapshot(other)
    error = assert_clean_error(cli("import", source, db=other), code=1)
    number = len(records) if line is None else line
    # The message begins with ``message`` (the whole of it, where the case gives it all).
    assert error.startswith(f"{ERROR_PREFIX}{source} line {number}: {message}"), error
    assert error.endswith("; nothing was imported"), error
    assert store_snapshot(other) == before, "the failed import changed the store"


CASES = {
    "template at a stage nobody is nudged at": (
        [template("completed")], "nobody is nudged at completed: use one of "
                                 "getting_started, matched, first_meeting, grow_together, levelling_up"),
    "template at an unknown stage": ([template("lunch")], "unknown stage 'lunch'"),
    "template with an unknown placeholder": (
        [template(body="Hi {nickname}\n")], "unknown placeholder {nickname} in the body"),
    "template subject on two lines": (
        [template(subject="Hi\nthere")], "the subject must be one non-empty line"),
    "nudge at an unknown stage": ([nudge(stage="lunch")], "stage 'lunch' is not one of"),
    "nudge to an unknown person": (
        [nudge("zed@example.org")], "email 'zed@example.org' is not a participant of this file"),
    "nudge naming a loop that is not a match": ([nudge(loop="L9")], "loop 'L9' does not name a match on an earlier line"),
    "nudge to someone outside the loop": ([nudge(DEE)], f"email {DEE} is not a member of loop L1"),
    "nudge with negative days": ([nudge(days_in_stage=-1)], "days_in_stage -1 is out of range (at least 0)"),
    "nudge with days that are not a number": ([nudge(days_in_stage="30")], "days_in_stage must be a whole number"),
    "nudge without a time": ([nudge(sent_at=None)], "sent_at is missing"),
    "nudge at a time that is not one": ([nudge(sent_at="soon")], "sent_at:"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_nudge_record_is_refused_with_its_line(cli, exported, tmp_path, name):
    extra, message = CASES[name]
    refused(cli, tmp_path, without_nudges(exported) + extra, message)


def test_a_second_template_for_a_stage_is_refused(cli, exported, tmp_path):
    records = without_nudges(exported) + [template("matched"), template("first_meeting"), template("Matched")]
    refused(cli, tmp_path, records,
            f"stage matched already has a nudge template on line {len(records) - 2}: give one per stage")


def test_a_template_for_a_stage_the_program_already_has_is_refused(cli, exported, tmp_path):
    source = tmp_path / "more.jsonl"
    source.write_text(json.dumps(template("matched")) + "\n", encoding="utf-8")
    before = cli.snapshot()
    cli.fails("import", source, "--program", "Spring 2026", user=CORA,
              match="line 1: stage matched already has a nudge template in Spring 2026")
    assert cli.snapshot() == before


def test_templates_and_nudges_are_optional(cli, exported, tmp_path):
    source = tmp_path / "plain.jsonl"
    plain = "".join(json.dumps(r) + "\n" for r in without_nudges(exported))
    source.write_text(plain, encoding="utf-8")
    fresh = tmp_path / "fresh.db"
    cli.ok("import", source, db=fresh)
    assert '"nudge' not in cli.ok("export", db=fresh).stdout


@pytest.mark.postgres
def test_templates_and_nudges_round_trip_through_postgresql(cli, exported, pg_url):
    """Into PostgreSQL (rows by COPY): the same file back, and new nudges take the next ids."""
    summary = cli.json("import", "-", input=exported, db=pg_url, now=day(40))
    assert summary["records"]["nudge"] == 6
    assert cli.ok("export", db=pg_url, now=day(40)).stdout == exported
    assert len(cli.json("coordinator", "nudge", db=pg_url, now=day(46))["sent"]) == 3
    card = cli.json("coordinator", "participant", ANA, db=pg_url, now=day(46))
    assert [n["sent_at"] for n in card["loops"][0]["nudges"]] == [day(30), day(38), day(46)]
