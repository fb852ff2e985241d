"""Meetings in real calendars through the CLI: series, reminders, .ics export and import (issue 4).

Each test runs the real commands against a store of its own.  The calendar
files imitate what the calendar programs write (tests/test_ics.py covers the
file format itself, client by client); here the point is what mloop does
with them: which meetings it books, updates, cancels or leaves alone.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday; Europe's clocks go forward on 29 March
CORA, BO, ANA, CY = "cora@example.org", "bo@example.org", "ana@example.org", "cy@example.org"


def z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def loop(cli, make_program, add_person, make_loop) -> int:
    """Bo mentors Ana (loop 1) and Cy (loop 2); Cora coordinates."""
    make_program("Spring 2026")
    add_person(CORA, "coordinator", name="Cora")
    add_person(BO, "mentor", name="Bo Brandt", capacity=2, as_user=CORA)
    add_person(ANA, "mentee", name="Ana Zoë Müller", as_user=CORA)
    add_person(CY, "mentee", name="Cy", as_user=CORA)
    first = make_loop(BO, ANA, as_user=CORA)
    make_loop(BO, CY, as_user=CORA)
    return first


# --- recurring series ----------------------------------------------------------------


def test_a_weekly_series_keeps_its_local_time_across_the_dst_change(cli, loop):
    booked = cli.json("meet", "schedule", loop, "--at", "2026-03-16 09:00", "--every", "1w", "--count", 4,
                      user=ANA, tz="Europe/Berlin")
    starts = [m["start"] for m in booked["meetings"]]
    # 09:00 in Berlin: 08:00Z in winter, 07:00Z once the clocks have gone forward (29 March).
    assert starts == ["2026-03-16T08:00:00Z", "2026-03-23T08:00:00Z", "2026-03-30T07:00:00Z", "2026-04-06T07:00:00Z"]
    assert booked["ids"] == [m["id"] for m in booked["meetings"]] and len(set(booked["ids"])) == 4
    assert booked["series"]
    listed = cli.json("meet", "list", "--loop", loop, user=ANA)
    assert [m["start"] for m in listed] == starts


def test_a_series_until_a_date_includes_that_date_and_a_monthly_one_clips_to_month_ends(cli, loop):
    weekly = cli.json("meet", "schedule", loop, "--at", "2026-03-09 15:00", "--every", "2w", "--until", "2026-04-20 15:00",
                      user=ANA)
    assert [m["start"][:10] for m in weekly["meetings"]] == ["2026-03-09", "2026-03-23", "2026-04-06", "2026-04-20"]
    monthly = cli.json("meet", "schedule", loop, "--at", "2026-03-31 10:00", "--every", "1 month", "--count", 3, user=ANA)
    assert [m["start"][:10] for m in monthly["meetings"]] == ["2026-03-31", "2026-04-30", "2026-05-31"]


@pytest.mark.parametrize("args, message", [
    (["--count", "3"], "--count and --until belong to a series"),
    (["--every", "2w"], "--count N or --until WHEN"),
    (["--every", "2w", "--count", "3", "--until", "+3w"], "--count N or --until WHEN"),
    (["--every", "2w", "--count", "0"], "a series has 1 to 200 meetings"),
    (["--every", "1d", "--until", "+2y"], "more than 200 meetings"),
    (["--every", "fortnightly", "--count", "3"], "cannot read 'fortnightly' as a repeat interval"),
    (["--every", "2w", "--until", "2026-03-01 10:00"], "--until is before the first meeting"),
])
def test_a_series_that_cannot_be_booked_is_a_usage_error_and_books_nothing(cli, loop, args, message):
    before = cli.snapshot()
    cli.fails("meet", "schedule", loop, "--at", "2026-03-09 15:00", *args, code=2, match=message, user=ANA)
    assert cli.snapshot() == before


def test_cancel_one_occurrence_or_the_rest_of_the_series(cli, loop):
    ids = cli.json("meet", "schedule", loop, "--at", "2026-03-09 15:00", "--every", "1w", "--count", 5, user=ANA)["ids"]
    cli.ok("meet", "done", ids[0], user=ANA, now=datetime(2026, 3, 9, 16, tzinfo=UTC))
    assert cli.json("meet", "cancel", ids[2], user=BO) == {"id": ids[2], "loop_id": loop, "status": "cancelled"}
    rest = cli.json("meet", "cancel", ids[1], "--rest", user=BO)
    # The one already cancelled stays as it was; the held one is history.
    assert [m["id"] for m in rest["cancelled"]] == [ids[1], ids[3], ids[4]]
    statuses = {m["id"]: m["status"] for m in cli.json("meet", "list", "--loop", loop, user=ANA,
                                                        now=datetime(2026, 3, 10, tzinfo=UTC))}
    assert statuses == {ids[0]: "held", ids[1]: "cancelled", ids[2]: "cancelled", ids[3]: "cancelled", ids[4]: "cancelled"}
    cli.fails("meet", "cancel", ids[4], "--rest", match="nothing left to cancel", user=BO)


def test_cancel_rest_needs_a_series(cli, loop):
    single = cli.json("meet", "schedule", loop, "--at", "+3d", user=ANA)["id"]
    cli.fails("meet", "cancel", single, "--rest", match=f"meeting {single} is not part of a series", user=ANA)


# --- reminders: what to confirm, and loops with nothing booked --------------------------


def test_upcoming_within_lists_the_meetings_to_confirm(cli, loop):
    soon = cli.json("meet", "schedule", loop, "--at", z(NOW + timedelta(hours=30)), user=ANA)["id"]
    cli.json("meet", "schedule", loop, "--at", z(NOW + timedelta(days=5)), user=ANA)
    called_off = cli.json("meet", "schedule", loop, "--at", z(NOW + timedelta(hours=20)), user=ANA)["id"]
    cli.ok("meet", "cancel", called_off, user=ANA)
    assert [m["id"] for m in cli.json("meet", "list", "--upcoming", "--within", "2d", user=ANA)] == [soon]
    assert [m["id"] for m in cli.json("meet", "list", "--upcoming", "--within", "36h", user=BO)] == [soon]
    assert len(cli.json("meet", "list", "--upcoming", user=ANA)) == 2
    assert cli.json("meet", "list", "--upcoming", "--within", "1d", user=ANA) == []
    # Three and a half days on, the five-day one is within two days.
    later = NOW + timedelta(days=3, hours=12)
    assert len(cli.json("meet", "list", "--upcoming", "--within", "2d", user=ANA, now=later)) == 1


@pytest.mark.parametrize("args, message", [
    (["--within", "2d"], "add --upcoming"),
    (["--upcoming", "--within", "1 month"], "cannot read '1 month' as a time span"),
    (["--upcoming", "--within", "soon"], "cannot read 'soon' as a time span"),
])
def test_within_errors(cli, loop, args, message):
    cli.fails("meet", "list", *args, code=2, match=message, user=ANA)


def test_status_shows_the_next_meeting_or_asks_to_book_one(cli, loop):
    entry = cli.json("status", user=ANA)["loops"][0]
    assert entry["next_meeting"] is None and entry["no_meeting_booked"] is True
    text = cli.ok("status", user=ANA).stdout
    assert f'Book your first meeting with Bo Brandt: mloop meet schedule {loop} --at "next tue 14:00"' in text
    booked = cli.json("meet", "schedule", loop, "--at", z(NOW + timedelta(days=2)), user=ANA)["id"]
    entry = cli.json("status", user=ANA)["loops"][0]
    assert entry["next_meeting"]["id"] == booked and entry["no_meeting_booked"] is False
    text = cli.ok("status", user=ANA).stdout
    assert "mloop meet schedule" not in text and f"(meeting {booked})" in text


# --- export ------------------------------------------------------------------------------


def events_of(path: Path) -> dict[str, dict]:
    """UID -> the event's properties as text, read with icalendar (not mloop's reader)."""
    import icalendar

    calendar = icalendar.Calendar.from_ical(path.read_bytes())
    assert (str(calendar["VERSION"]), str(calendar["METHOD"])) == ("2.0", "PUBLISH")
    found = {}
    for event in calendar.walk("VEVENT"):
        found[str(event["UID"])] = {
            "start": event.decoded("DTSTART"), "end": event.decoded("DTEND"), "summary": str(event["SUMMARY"]),
            "description": str(event["DESCRIPTION"]) if "DESCRIPTION" in event else None,
            "location": str(event["LOCATION"]) if "LOCATION" in event else None,
            "status": str(event["STATUS"]), "sequence": int(event["SEQUENCE"]),
            "organizer": str(event["ORGANIZER"]), "attendees": sorted(str(a) for a in event.get("ATTENDEE", [])),
            "alarms": [str(a["TRIGGER"].to_ical(), "ascii") for a in event.walk("VALARM")],
        }
    return found


def test_export_writes_each_meeting_with_a_stable_uid_and_a_growing_sequence(cli, loop, tmp_path):
    first = cli.json("meet", "schedule", loop, "--at", "2026-03-10 15:00", "--duration", "1h", "--agenda", "CV, and a plan",
                     "--where", "Café Rosa", user=ANA)["id"]
    second = cli.json("meet", "schedule", loop, "--at", "2026-03-17 15:00", user=ANA)["id"]
    out = tmp_path / "ana.ics"
    assert cli.json("meet", "export", "--out", out, user=ANA) == {"out": str(out), "meetings": 2}
    before = events_of(out)
    assert len(before) == 2
    event = next(e for e in before.values() if e["description"] == "CV, and a plan")
    assert event["start"] == datetime(2026, 3, 10, 15, tzinfo=UTC) and event["end"] == datetime(2026, 3, 10, 16, tzinfo=UTC)
    assert event["summary"] == "Mentoring: Bo Brandt & Ana Zoë Müller"
    assert event["location"] == "Café Rosa" and event["status"] == "CONFIRMED" and event["sequence"] == 0
    assert event["organizer"] == f"mailto:{BO}" and event["attendees"] == [f"mailto:{ANA}", f"mailto:{BO}"]
    assert event["alarms"] == ["-P1D"]

    cli.ok("meet", "cancel", second, user=BO)
    cli.ok("meet", "export", "--out", out, user=ANA)
    after = events_of(out)
    assert after.keys() == before.keys()  # the same UIDs: a calendar updates its events
    changed = [uid for uid in after if after[uid] != before[uid]]
    assert len(changed) == 1
    assert after[changed[0]]["status"] == "CANCELLED" and after[changed[0]]["sequence"] == 1
    assert after[changed[0]]["alarms"] == []
    assert first  # the booked one is unchanged


def test_export_to_stdout_is_the_calendar_with_crlf_lines_and_no_agenda_for_a_coordinator(cli, loop, tmp_path):
    cli.json("meet", "schedule", loop, "--at", "2026-03-10 15:00", "--agenda", "Private agenda", user=ANA)
    text = cli.ok("meet", "export", user=CORA).stdout_bytes.decode()  # .stdout would turn CRLF into LF
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "Private agenda" not in text and "Zoë" in text
    (tmp_path / "cora.ics").write_bytes(text.encode())
    assert [e["description"] for e in events_of(tmp_path / "cora.ics").values()] == [None]
    # Ana sees her agenda; Cy, in another loop of Bo's, sees nothing of Ana's loop.
    assert "Private agenda" in cli.ok("meet", "export", user=ANA).stdout
    assert "BEGIN:VEVENT" not in cli.ok("meet", "export", user=CY).stdout


def test_export_upcoming_and_errors(cli, loop, tmp_path):
    cli.json("meet", "log", loop, "--at", z(NOW), user=ANA, now=NOW + timedelta(hours=2))
    cli.json("meet", "schedule", loop, "--at", "+3d", user=ANA, now=NOW + timedelta(hours=2))
    text = cli.ok("meet", "export", "--upcoming", user=ANA, now=NOW + timedelta(hours=2)).stdout
    assert text.count("BEGIN:VEVENT") == 1
    cli.fails("meet", "export", "--json", code=2, match="add --out FILE.ics", user=ANA)
    cli.fails("meet", "export", "--out", tmp_path / "missing" / "x.ics", match="folder", user=ANA)
    cli.fails("meet", "export", "--loop", 99, match="99", user=ANA)


# --- import ------------------------------------------------------------------------------

GOOGLE = """BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:PUBLISH
X-WR-CALNAME:Mentoring
X-WR-TIMEZONE:Europe/Berlin
BEGIN:VTIMEZONE
TZID:Europe/Berlin
X-LIC-LOCATION:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260316T094500
RRULE:FREQ=WEEKLY;COUNT=4
EXDATE;TZID=Europe/Berlin:20260323T090000
DTSTAMP:20260301T120000Z
UID:weekly-sync-123@google.com
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Weekly sync with Bo
DESCRIPTION:Goals\\, progress and next steps
LOCATION:Meet: https://meet.google.com/abc-defg-hij
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Europe/Berlin:20260402T140000
DTEND;TZID=Europe/Berlin:20260402T150000
RECURRENCE-ID;TZID=Europe/Berlin:20260330T090000
DTSTAMP:20260301T120000Z
UID:weekly-sync-123@google.com
SEQUENCE:1
STATUS:CONFIRMED
SUMMARY:Weekly sync with Bo (moved)
END:VEVENT
BEGIN:VEVENT
DTSTART;VALUE=DATE:20260320
DTEND;VALUE=DATE:20260321
DTSTAMP:20260301T120000Z
UID:offsite-9@google.com
SUMMARY:Team offsite
END:VEVENT
BEGIN:VEVENT
DTSTART:20260312T160000Z
DTEND:20260312T163000Z
DTSTAMP:20260301T120000Z
UID:coffee-1@google.com
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Coffee with Ana Zoë
END:VEVENT
END:VCALENDAR
"""


def write_calendar(path: Path, text: str) -> Path:
    path.write_bytes(text.replace("\n", "\r\n").encode())
    return path


def test_import_books_a_google_calendar_once_and_updates_what_changed(cli, loop, tmp_path):
    calendar = write_calendar(tmp_path / "google.ics", GOOGLE)
    result = cli(*["meet", "import", calendar, "--loop", loop, "--json"], user=ANA)
    assert result.exit_code == 0, result.stderr
    summary = __import__("json").loads(result.stdout)
    assert len(summary["booked"]) == 4 and summary["all_day_skipped"] == ["Team offsite"]
    assert "Skipped 1 all-day event(s), which are not meetings: Team offsite" in result.stderr
    meetings = cli.json("meet", "list", "--loop", loop, user=ANA)
    # 09:00 Berlin, the 23rd left out, the 30th moved to 2 April 14:00 (CEST), plus the coffee.
    assert [(m["start"], m["duration_min"]) for m in meetings] == [
        ("2026-03-12T16:00:00Z", 30), ("2026-03-16T08:00:00Z", 45), ("2026-04-02T12:00:00Z", 60),
        ("2026-04-06T07:00:00Z", 45),
    ]
    assert meetings[1]["agenda"] == "Goals, progress and next steps"
    assert meetings[1]["where"] == "Meet: https://meet.google.com/abc-defg-hij"
    assert meetings[0]["agenda"] == "Coffee with Ana Zoë"

    before = cli.snapshot()
    again = cli.json("meet", "import", calendar, "--loop", loop, user=ANA)
    assert again["booked"] == [] and again["updated"] == [] and again["unchanged"] == 4
    assert len(cli.json("meet", "list", "--loop", loop, user=ANA)) == 4

    moved = GOOGLE.replace("DTSTART:20260312T160000Z\nDTEND:20260312T163000Z", "DTSTART:20260313T160000Z\nDTEND:20260313T170000Z")
    moved = moved.replace("UID:coffee-1@google.com\nSEQUENCE:0", "UID:coffee-1@google.com\nSEQUENCE:1")
    moved = moved.replace("RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE;TZID=Europe/Berlin:20260323T090000\nDTSTAMP:20260301T120000Z\n"
                          "UID:weekly-sync-123@google.com\nSEQUENCE:0\nSTATUS:CONFIRMED",
                          "RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE;TZID=Europe/Berlin:20260323T090000\nDTSTAMP:20260301T120000Z\n"
                          "UID:weekly-sync-123@google.com\nSEQUENCE:2\nSTATUS:CANCELLED")
    changed = cli.json("meet", "import", write_calendar(tmp_path / "moved.ics", moved), "--loop", loop, user=ANA)
    # The coffee moved; the series was cancelled as a whole, its moved occurrence with it.
    assert len(changed["updated"]) == 1 and len(changed["cancelled"]) == 3 and changed["unchanged"] == 0
    statuses = [(m["start"], m["status"]) for m in cli.json("meet", "list", "--loop", loop, user=ANA)]
    assert statuses == [("2026-03-13T16:00:00Z", "scheduled"), ("2026-03-16T08:00:00Z", "cancelled"),
                        ("2026-04-02T12:00:00Z", "cancelled"), ("2026-04-06T07:00:00Z", "cancelled")]


def test_import_expands_recurring_events_only_within_the_window(cli, loop, tmp_path):
    calendar = write_calendar(tmp_path / "google.ics", GOOGLE)
    summary = cli.json("meet", "import", calendar, "--loop", loop, "--from", "2026-03-20", "--until", "2026-04-03", user=ANA)
    starts = [m["start"] for m in cli.json("meet", "list", "--loop", loop, user=ANA)]
    # The one-off coffee always; of the series only the moved 30 March one falls in the window.
    assert starts == ["2026-03-12T16:00:00Z", "2026-04-02T12:00:00Z"] and len(summary["booked"]) == 2


def test_a_meeting_already_held_is_never_rewritten_by_an_import(cli, loop, tmp_path):
    calendar = write_calendar(tmp_path / "google.ics", GOOGLE)
    cli.ok("meet", "import", calendar, "--loop", loop, user=ANA)
    coffee = cli.json("meet", "list", "--loop", loop, user=ANA)[0]
    later = datetime(2026, 3, 12, 17, tzinfo=UTC)
    cli.ok("meet", "done", coffee["id"], user=ANA, now=later)
    moved = GOOGLE.replace("DTSTART:20260312T160000Z", "DTSTART:20260312T150000Z").replace("SEQUENCE:0\nSTATUS:CONFIRMED\nSUMMARY:Coffee", "SEQUENCE:5\nSTATUS:CANCELLED\nSUMMARY:Coffee")
    summary = cli.json("meet", "import", write_calendar(tmp_path / "m.ics", moved), "--loop", loop, user=ANA, now=later)
    assert summary["kept_held"] == 1
    assert cli.json("meet", "list", "--loop", loop, user=ANA, now=later)[0]["status"] == "held"


def test_reimporting_an_mloop_export_changes_nothing(cli, loop, tmp_path):
    cli.json("meet", "schedule", loop, "--at", "2026-03-10 15:00", "--every", "1w", "--count", 3, "--agenda", "Plan", user=ANA)
    out = tmp_path / "mine.ics"
    cli.ok("meet", "export", "--loop", loop, "--out", out, user=ANA)
    before = cli.json("meet", "list", "--loop", loop, user=ANA)
    summary = cli.json("meet", "import", out, "--loop", loop, user=ANA)
    assert summary["booked"] == [] and summary["updated"] == [] and summary["unchanged"] == 3
    assert cli.json("meet", "list", "--loop", loop, user=ANA) == before


@pytest.mark.parametrize("content, message", [
    ("hello, this is not a calendar\n", "not an iCalendar file: expected BEGIN:VCALENDAR on the first line"),
    ("BEGIN:VCALENDAR\nVERSION:2.0\nthis is garbage\nEND:VCALENDAR\n",
     "calendar file: line 3 is not an iCalendar line: 'this is garbage'"),
    ("BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:x@y\nDTSTART:20260310T100000Z\n",
     "calendar file: BEGIN:VEVENT on line 3 has no END:VEVENT"),
])
def test_a_file_that_cannot_be_read_at_all_books_nothing(cli, loop, tmp_path, content, message):
    before = cli.snapshot()
    result = cli.fails("meet", "import", write_calendar(tmp_path / "bad.ics", content), "--loop", loop, user=ANA)
    assert result.stderr == f"mloop: error: {message}\n"
    assert cli.snapshot() == before


# Events as the clients write them, each odd in one way; the good ones around them are booked.
ZERO_LENGTH_GOOGLE = """BEGIN:VEVENT
DTSTART:20260310T100000Z
DTEND:20260310T100000Z
DTSTAMP:20260301T120000Z
UID:0r5c2h1k9v3m@google.com
SEQUENCE:0
STATUS:CONFIRMED
SUMMARY:Quick check-in
END:VEVENT
"""
ODD_EVENTS = """BEGIN:VEVENT
DTEND;TZID="W. Europe Standard Time":20260311T100000
DTSTAMP:20260301T120000Z
UID:040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5@outlook.com
SUMMARY:No start (Outlook)
END:VEVENT
BEGIN:VEVENT
DTSTART;TZID=Mars/Olympus:20260310T100000
DTEND;TZID=Mars/Olympus:20260310T110000
UID:mars-1@example.org
SUMMARY:Far away
END:VEVENT
BEGIN:VEVENT
DTSTART:20260313T100000Z
DTEND:20260313T090000Z
UID:backwards-7@thunderbird.net
SUMMARY:Backwards
END:VEVENT
BEGIN:VEVENT
DTSTART:20260314T100000Z
DTEND:20260316T100000Z
UID:two-days@google.com
SUMMARY:Two days
END:VEVENT
BEGIN:VEVENT
DTSTART:2026-03-15 10:00
UID:typed@example.org
SUMMARY:Typed by hand
END:VEVENT
"""
SKIPPED = [
    {"event": "event 'No start (Outlook)' (UID 040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5@outlook.com)",
     "reason": "has no DTSTART"},
    {"event": "event 'Far away' (UID mars-1@example.org)",
     "reason": "uses unknown time zone TZID 'Mars/Olympus': there is no VTIMEZONE for it in the file"},
    {"event": "event 'Backwards' (UID backwards-7@thunderbird.net)", "reason": "ends before it starts"},
    {"event": "event 'Typed by hand' (UID typed@example.org)", "reason": "has an unreadable DTSTART '2026-03-15 10:00'"},
    {"event": "event 'Two days' (UID two-days@google.com)",
     "reason": "on 2026-03-14 10:00 UTC lasts 2880 minutes; a meeting lasts 1 minute to 24 hours"},
]


def test_odd_events_are_skipped_with_their_reasons_and_the_rest_booked(cli, loop, tmp_path):
    mixed = GOOGLE.replace("END:VCALENDAR\n", ZERO_LENGTH_GOOGLE + ODD_EVENTS + "END:VCALENDAR\n")
    calendar = write_calendar(tmp_path / "mixed.ics", mixed)
    result = cli("meet", "import", calendar, "--loop", loop, "--json", user=ANA)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert len(summary["booked"]) == 5  # the four of the Google calendar and the zero-length check-in
    assert summary["skipped"] == SKIPPED
    assert summary["default_length"] == ["event 'Quick check-in' (UID 0r5c2h1k9v3m@google.com)"]
    assert result.stderr.splitlines() == [
        "Skipped 1 all-day event(s), which are not meetings: Team offsite",
        *(f"Skipped {s['event']}: it {s['reason']}." for s in SKIPPED),
        "Gave 1 zero-length event(s) (DTEND equal to DTSTART) the default length of 45 minutes: "
        "event 'Quick check-in' (UID 0r5c2h1k9v3m@google.com)",
    ]
    meetings = cli.json("meet", "list", "--loop", loop, user=ANA)
    assert [(m["start"], m["duration_min"]) for m in meetings] == [
        ("2026-03-10T10:00:00Z", 45), ("2026-03-12T16:00:00Z", 30), ("2026-03-16T08:00:00Z", 45),
        ("2026-04-02T12:00:00Z", 60), ("2026-04-06T07:00:00Z", 45),
    ]
    # Again: nothing new is booked, the same events are skipped for the same reasons.
    again = cli.json("meet", "import", calendar, "--loop", loop, user=ANA)
    assert again["booked"] == [] and again["unchanged"] == 5 and again["skipped"] == SKIPPED
    human = cli.ok("meet", "import", calendar, "--loop", loop, user=ANA).stdout
    assert " ".join(human.split()) == (f"Imported {calendar} into loop {loop}: 0 booked, 0 updated, 0 cancelled, "
                                       "5 unchanged, 5 skipped (see above).")


def test_import_permissions_and_usage(cli, loop, tmp_path):
    calendar = write_calendar(tmp_path / "google.ics", GOOGLE)
    before = cli.snapshot()
    cli.fails("meet", "import", calendar, "--loop", loop, user=CY)  # not her loop
    cli.fails("meet", "import", tmp_path / "nope.ics", "--loop", loop, match="no file", user=ANA)
    cli.fails("meet", "import", calendar, "--loop", loop, "--from", "2026-05-01", "--until", "2026-04-01",
              code=2, match="--until must be after --from", user=ANA)
    assert cli.snapshot() == before
    # A coordinator may import for a loop too.
    assert len(cli.json("meet", "import", calendar, "--loop", loop, user=CORA)["booked"]) == 4


# --- bounded work: a small file cannot make mloop expand without end ----------------


def daily_series(count: int, *, events: int = 30, rule: str = "FREQ=DAILY;COUNT=99999") -> str:
    """``events`` daily series starting the day after NOW: the file of the 7.9 GB report is 30 of them."""
    body = "".join(
        f"BEGIN:VEVENT\nUID:series-{i}@example.org\nSUMMARY:Series {i}\nDTSTART:20260303T{i % 24:02d}0000Z\n"
        f"DTEND:20260303T{i % 24:02d}3000Z\nRRULE:{rule}\nEND:VEVENT\n"
        for i in range(events)
    )
    return f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n"


def test_a_file_over_the_meeting_cap_is_refused_in_one_line_and_books_nothing(cli, loop, tmp_path):
    bomb = write_calendar(tmp_path / "bomb.ics", daily_series(99999))
    assert bomb.stat().st_size < 5_000
    before = cli.snapshot()
    cli.fails("meet", "import", bomb, "--loop", loop, "--until", "2300-01-01", user=ANA,
              match=f"{bomb}: more than 5,000 meetings in the window (--max-meetings 5000); nothing was booked")
    # The default window (six months) of 30 daily series is over 5,000 too.
    cli.fails("meet", "import", bomb, "--loop", loop, user=ANA, match="--max-meetings 5000")
    cli.fails("meet", "import", bomb, "--loop", loop, "--max-meetings", 100, user=ANA,
              match="more than 100 meetings in the window (--max-meetings 100)")
    assert cli.snapshot() == before
    assert cli.json("meet", "list", "--loop", loop, user=ANA) == []


def test_the_cap_counts_one_off_events_and_can_be_raised(cli, loop, tmp_path, monkeypatch):
    one_offs = "".join(
        f"BEGIN:VEVENT\nUID:one-{i}@example.org\nDTSTART:20260310T{i:02d}0000Z\nDTEND:20260310T{i:02d}3000Z\nEND:VEVENT\n"
        for i in range(4)
    )
    calendar = write_calendar(tmp_path / "four.ics", f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n{one_offs}END:VCALENDAR\n")
    cli.fails("meet", "import", calendar, "--loop", loop, "--max-meetings", 3, user=ANA, match="more than 3 meetings")
    assert len(cli.json("meet", "import", calendar, "--loop", loop, "--max-meetings", 4, user=ANA)["booked"]) == 4
    cli.fails("meet", "import", calendar, "--loop", loop, "--max-meetings", 0, user=ANA, code=2, match="--max-meetings")


def test_series_that_repeat_before_the_window_are_bounded_per_file(cli, loop, tmp_path, monkeypatch):
    """No occurrence falls in the window, but expanding up to it would take millions of steps."""
    monkeypatch.setattr("mloop.ics.MAX_GENERATED_PER_FILE", 1_000)
    calendar = write_calendar(tmp_path / "old.ics", daily_series(99999, events=3))
    before = cli.snapshot()
    cli.fails("meet", "import", calendar, "--loop", loop, "--from", "2299-06-01", "--until", "2300-01-01", user=ANA,
              match=f"{calendar}: its recurring events repeat more than 1,000 times up to the end of the window")
    assert cli.snapshot() == before


def test_a_calendar_file_over_the_size_limit_is_refused_before_it_is_read(cli, loop, tmp_path, monkeypatch):
    monkeypatch.setattr("mloop.ics.MAX_FILE_BYTES", 1_000)
    calendar = write_calendar(tmp_path / "big.ics", daily_series(2, events=10))
    cli.fails("meet", "import", calendar, "--loop", loop, user=ANA,
              match=f"{calendar} is larger than 1,000 bytes")
    cli.fails("meet", "import", "-", "--loop", loop, user=ANA, input=calendar.read_text(),
              match="- is larger than 1,000 bytes")
