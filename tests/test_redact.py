"""export --redact (docs/privacy.md): people pseudonymised, free text removed,
dates and ratings kept; the file still imports and gives the same report."""

from __future__ import annotations

import json
import re

import pytest

from mloop.redaction import FIELDS, REDACTED, Redactor
from mloop.store.transfer import RECORD_TYPES

DEMO_NOW = "2026-06-01T09:00:00Z"
COORDINATOR = "priya.raman@example.org"
ANA = "ana.beltran@example.org"
KEY = "research-2026-secret"

# The fields of an export that say who someone is or what they wrote: none of
# their values may be found in a redacted file.  Everything else an export
# holds is the program's own design (its name, milestones, starter goals, nudge
# templates, the skills people may offer and seek), a vocabulary word, a time,
# a number or a ref: TEST_KEPT lists those fields, and together the two must
# name every field the export writes.
PERSONAL = {
    "participant": ("email", "name", "department", "goals", "db_role", "timezone"),
    "match": ("mentor", "mentee", "end_reason"),
    "meeting": ("agenda", "notes", "where", "actions", "uid", "series"),
    "goal": ("title", "author"),
    "task": ("title",),
    "feedback": ("author", "comment"),
    "share": ("author",),
    "milestone_done": ("by",),
    "agreement": ("by",),
    "fit": ("author",),
    "nudge": ("email", "subject", "body"),
}
TEST_KEPT = {
    "program": ("name", "stall_days", "momentum_meetings", "stage_stall_days", "health_weights", "min_group"),
    "starter_goal": ("title", "term", "locked", "created_at"),
    "milestone": ("name", "kind", "role", "due", "description"),
    "participant": ("roles", "joined_at", "capacity", "offers", "seeks"),
    "match": ("ref", "matched_at", "ended_at", "outcome"),
    "meeting": ("ref", "loop", "start", "duration_min", "status", "created_at", "sequence"),
    "goal": ("ref", "loop", "term", "created_at", "shared_at", "completed_at", "due", "locked"),
    "task": ("goal", "due", "done_at"),
    "feedback": ("loop", "meeting", "rating", "created_at"),
    "share": ("loop", "created_at"),
    "milestone_done": ("milestone", "loop", "done_at"),
    "agreement": ("loop", "notes_by", "agenda_by", "cadence", "ends_at", "created_at", "updated_at"),
    "fit": ("loop", "fit", "created_at"),
    "nudge_template": ("stage", "subject", "body"),
    "nudge": ("loop", "stage", "days_in_stage", "sent_at"),
}


def records_of(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def program(make_cli, tmp_path_factory):
    """The demo program with a record of every kind and each profile field set."""
    base = tmp_path_factory.mktemp("redact")
    cli = make_cli(base / "demo.db")
    run = lambda *args, user=None: cli.ok(*args, user=user, now=DEMO_NOW)  # noqa: E731
    run("demo")
    run("participant", "edit", "hana.novak@example.org", "--department", "DEPT Quantum Ledger",
        "--goals", "PROFILE-GOAL become CTO", "--timezone", "Europe/Prague")
    run("participant", "add", "--name", "Zed Quillfeather", "--email", "zed.quill@example.org", "--role", "mentee",
        "--db-role", "zedq_login", "--department", "DEPT Night Shift")
    run("agreement", "set", 2, "--notes-by", "mentee", "--agenda-by", "mentor", "--cadence", "2w", user=ANA)
    run("feedback", "give", 2, "--fit", "good", user=ANA)
    run("meet", "schedule", 2, "--at", "2026-06-10T10:00Z", "--every", "2w", "--count", 3,
        "--where", "PLACE Room Saffron", "--agenda", "AGENDA budget pitch", user=ANA)
    run("meet", "log", 2, "--at", "2026-05-30T10:00Z", "--notes", "NOTES promotion talk",
        "--action", "ACTION call Ravi", "--action", "ACTION book course", "--where", "PLACE Cafe Umbria", user=ANA)
    body = base / "body.txt"
    body.write_text("Hello {first_name}, time to meet {partner}.\n")
    run("coordinator", "nudge-template", "set", "matched", "--subject", "Meet {partner}", "--body-file", body)
    run("program", "goal", "add", "Read the program handbook", "--locked")
    run("coordinator", "nudge", "--stalled")
    full = cli.ok("export", "--include-content", now=DEMO_NOW).stdout
    redacted = cli.ok("export", "--redact", "--key", KEY, now=DEMO_NOW)
    return {"cli": cli, "base": base, "full": full, "redacted": redacted}


def test_every_record_type_and_field_the_export_writes_has_a_treatment(program):
    assert set(FIELDS) == set(RECORD_TYPES)
    full = records_of(program["full"])
    assert {r["type"] for r in full} == set(RECORD_TYPES), "the fixture has a record of every kind"
    for record in full:
        kind = record["type"]
        assert set(record) - {"type"} <= set(FIELDS[kind]) - {"type"}, kind
        assert set(record) - {"type"} <= set(PERSONAL.get(kind, ())) | set(TEST_KEPT[kind]), kind


def test_a_redacted_export_holds_no_name_email_or_free_text_of_the_original(program):
    text = program["redacted"].stdout.casefold()
    secrets = set()
    for record in records_of(program["full"]):
        for field in PERSONAL.get(record["type"], ()):
            value = record.get(field)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and item and item != "(withheld)":
                    secrets.add(item)
        if record["type"] == "participant":
            secrets.add(record["email"].split("@")[0])
            secrets.update(word for word in re.split(r"[\s.-]+", record["name"]) if len(word) > 2)
    assert {"zed.quill@example.org", "Zed Quillfeather", "DEPT Quantum Ledger", "ACTION call Ravi",
            "PLACE Room Saffron", "Europe/Prague", "zedq_login"} <= secrets
    assert len(secrets) > 150
    found = sorted(secret for secret in secrets if secret.casefold() in text)
    assert found == []
    # Each person is one pseudonym, the same in every record that names them.
    redacted = records_of(program["redacted"].stdout)
    people = [r for r in redacted if r["type"] == "participant"]
    for person in people:
        digits = re.fullmatch(r"person-([0-9a-f]{16})@redacted\.example", person["email"]).group(1)
        assert person["name"] == f"Person {digits}"
        assert set(person) == {"type", "email", "name", "roles", "joined_at", "capacity", "offers", "seeks"}
    emails = {p["email"] for p in people}
    named = {r[f] for r in redacted for f in ("mentor", "mentee", "author", "by", "email") if r.get(f)}
    assert named <= emails


def test_a_redacted_export_keeps_dates_ratings_and_the_programs_design(program):
    full, redacted = records_of(program["full"]), records_of(program["redacted"].stdout)
    assert len(full) == len(redacted)
    for before, after in zip(full, redacted):
        assert before["type"] == after["type"]
        for field in TEST_KEPT[before["type"]]:
            assert after.get(field) == before.get(field), (before["type"], field)
    meetings = [r for r in redacted if r["type"] == "meeting"]
    assert {m["agenda"] for m in meetings} == {REDACTED, None}  # the logged meeting had none
    logged = next(m for m in meetings if m["actions"])
    assert logged["actions"] == [REDACTED, REDACTED]  # the count of actions stays
    assert logged["where"] == REDACTED and logged["notes"] == REDACTED
    # A field that was empty stays empty.
    assert any(m["where"] is None for m in meetings) and any(m["notes"] is None for m in meetings)
    series = {m["series"] for m in meetings if m["series"]}
    assert len(series) == 1  # the series still groups its meetings, under another id


def test_a_redacted_export_imports_and_gives_the_same_report(program, make_cli):
    cli, base = program["cli"], program["base"]
    copy = make_cli(base / "copy.db")
    copy.ok("import", "-", input=program["redacted"].stdout, now=DEMO_NOW)
    pseudonym = Redactor(KEY.encode()).email
    original = cli.json("coordinator", "report", user=COORDINATOR, now=DEMO_NOW)
    redacted = copy.json("coordinator", "report", user=pseudonym(COORDINATOR), now=DEMO_NOW)
    for key in ("stages", "alumni", "activity", "checkins_overdue", "milestones"):
        assert redacted[key] == original[key], key
    assert len(original["stalled"]) > 0 and len(original["at_risk"]) > 0
    same_people = lambda rows, fields: [tuple(row[f] for f in fields) for row in rows]  # noqa: E731
    assert same_people(redacted["stalled"], ("email", "stage", "stage_since", "days_in_stage", "last_nudged_at")) == [
        (pseudonym(row["email"]), row["stage"], row["stage_since"], row["days_in_stage"], row["last_nudged_at"])
        for row in original["stalled"]]
    assert same_people(redacted["at_risk"], ("loop_id", "reasons", "latest_rating")) == same_people(
        original["at_risk"], ("loop_id", "reasons", "latest_rating"))
    week = ["coordinator", "report", "--activity", "--since", "2026-01-01"]
    assert (copy.json(*week, user=pseudonym(COORDINATOR), now=DEMO_NOW)
            == cli.json(*week, user=COORDINATOR, now=DEMO_NOW))


def test_the_same_key_gives_the_same_file_and_no_key_a_new_one_each_time(program):
    cli, first = program["cli"], program["redacted"]
    assert first.stderr == ""
    assert cli.ok("export", "--redact", "--key", KEY, now=DEMO_NOW).stdout == first.stdout
    from_env = cli.ok("export", "--redact", now=DEMO_NOW, env={"MLOOP_REDACT_KEY": KEY})
    assert from_env.stdout == first.stdout and from_env.stderr == ""

    def emails(text: str) -> set[str]:
        return {r["email"] for r in records_of(text) if r["type"] == "participant"}

    other_key = cli.ok("export", "--redact", "--key", "another secret", now=DEMO_NOW).stdout
    assert emails(other_key).isdisjoint(emails(first.stdout))
    once, twice = (cli.ok("export", "--redact", now=DEMO_NOW) for _ in range(2))
    assert emails(once.stdout).isdisjoint(emails(twice.stdout))
    assert emails(once.stdout).isdisjoint(emails(first.stdout))
    assert once.stderr.startswith("export: pseudonyms come from a random key used for this export only")
    assert len(once.stderr.splitlines()) == 1


def test_redact_writes_a_file_and_json_like_any_export(program):
    cli, out = program["cli"], program["base"] / "redacted.jsonl"
    result = cli.ok("export", "--redact", "--key", KEY, "--out", out, now=DEMO_NOW)
    assert out.read_text() == program["redacted"].stdout
    assert result.stderr.startswith("Exported ") and "redacted records" in result.stderr
    assert cli.json("export", "--redact", "--key", KEY, now=DEMO_NOW) == records_of(program["redacted"].stdout)


@pytest.mark.parametrize("args, code, message", [
    (("--redact", "--include-content"), 2, "--redact and --include-content do not go together"),
    (("--key", KEY), 2, "--key goes with --redact"),
    (("--redact", "--key", " "), 2, "the redaction key is empty"),
])
def test_redact_refuses_options_that_do_not_fit(program, args, code, message):
    cli = program["cli"]
    before = cli.snapshot()
    cli.fails("export", *args, code=code, match=message, now=DEMO_NOW)
    assert cli.snapshot() == before


def test_a_participant_may_not_export_redacted_either(program):
    program["cli"].fails("export", "--redact", user=ANA, now=DEMO_NOW, match="exporting the program is for coordinators")


def test_a_record_the_redactor_does_not_know_is_refused_not_passed_on():
    from mloop.errors import MloopError

    redactor = Redactor(b"k")
    with pytest.raises(MloopError, match="unexpected field 'nickname'"):
        redactor.record({"type": "participant", "email": "a@example.org", "name": "A", "nickname": "Al"})
    with pytest.raises(MloopError, match="unexpected record type 'diary'"):
        redactor.record({"type": "diary", "text": "dear diary"})
