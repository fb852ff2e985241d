"""Tests for mloop.ics: importing what calendar clients export, and exporting meetings.

The fixtures in tests/fixtures/ics imitate real exports of Google Calendar,
Outlook, Apple Calendar and Thunderbird (their PRODIDs, X- properties, time
zone blocks, line endings and folding). Expected times are written out in UTC
so that a wrong DST offset shows up as a wrong hour.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop.errors import BadFile
from mloop.ics import (
    DEFAULT_DURATION,
    PRODID,
    CalendarOccurrence,
    CalendarRead,
    ExportEvent,
    read_calendar,
    write_calendar,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
FIXTURES = Path(__file__).parent / "fixtures" / "ics"
YEAR_2025 = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))

GOOGLE_SERIES = "7kukuqrfedlm2f9t0vr42q3r9s@google.com"
GOOGLE_KICKOFF = "2h6v0d1b9o1t2kq3s1t5nmf8c4@google.com"


def z(*fields: int) -> datetime:
    """An aware UTC datetime: z(2025, 3, 3, 8) is 2025-03-03T08:00Z."""
    return datetime(*fields, tzinfo=UTC)


def read(
    data: bytes | str,
    window: tuple[datetime, datetime] = YEAR_2025,
    local_tz=UTC,
) -> CalendarRead:
    if isinstance(data, str):
        data = data.encode()
    return read_calendar(data, window_start=window[0], window_end=window[1], local_tz=local_tz)


def read_fixture(name: str, window: tuple[datetime, datetime] = YEAR_2025, local_tz=UTC) -> CalendarRead:
    return read((FIXTURES / name).read_bytes(), window, local_tz)


def of_uid(result: CalendarRead, uid: str) -> list[CalendarOccurrence]:
    return [occurrence for occurrence in result.occurrences if occurrence.uid == uid]


def calendar(*events: str, method: str = "PUBLISH", timezones: str = "") -> str:
    """A minimal calendar around VEVENT bodies (each given without BEGIN/END lines)."""
    blocks = "".join(f"BEGIN:VEVENT\n{body.strip()}\nEND:VEVENT\n" for body in events)
    return (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//test//EN\n"
        f"METHOD:{method}\n{timezones}{blocks}END:VCALENDAR\n"
    )


def bad_file_message(data: bytes | str) -> str:
    with pytest.raises(BadFile) as caught:
        read(data)
    message = caught.value.message
    assert "\n" not in message and "Traceback" not in message
    return message


# --- Google Calendar ------------------------------------------------------------------


def test_google_weekly_series_keeps_0900_berlin_across_the_dst_change():
    starts = [o.start for o in of_uid(read_fixture("google.ics"), GOOGLE_SERIES)]
    # 09:00 CET is 08:00Z; from 30 March (CEST) it is 07:00Z. 17 March is an EXDATE,
    # 7 April was moved to 11:00 local (09:00Z), and UNTIL (UTC) keeps 14 April.
    assert starts == [
        z(2025, 3, 3, 8),
        z(2025, 3, 10, 8),
        z(2025, 3, 24, 8),
        z(2025, 3, 31, 7),
        z(2025, 4, 7, 9),
        z(2025, 4, 14, 7),
    ]


def test_google_exdate_removes_the_occurrence():
    starts = {o.start for o in read_fixture("google.ics").occurrences}
    assert z(2025, 3, 17, 8) not in starts


def test_google_override_replaces_the_generated_occurrence():
    series = of_uid(read_fixture("google.ics"), GOOGLE_SERIES)
    moved = [o for o in series if o.recurrence_id == z(2025, 4, 7, 7)]
    assert moved == [
        CalendarOccurrence(
            uid=GOOGLE_SERIES,
            recurrence_id=z(2025, 4, 7, 7),
            sequence=1,
            start=z(2025, 4, 7, 9),
            end=z(2025, 4, 7, 10),
            summary="Weekly mentoring sync (moved)",
            description="Moved to 11:00 because of the team offsite.",
            location=None,
            cancelled=False,
        )
    ]


def test_google_cancelled_override_cancels_only_that_occurrence():
    series = of_uid(read_fixture("google.ics"), GOOGLE_SERIES)
    assert [o.start for o in series if o.cancelled] == [z(2025, 3, 24, 8)]


def test_google_generated_occurrences_carry_their_original_start_and_the_series_fields():
    first = of_uid(read_fixture("google.ics"), GOOGLE_SERIES)[0]
    assert first.recurrence_id == first.start == z(2025, 3, 3, 8)
    assert first.end == z(2025, 3, 3, 9)
    assert first.summary == "Weekly mentoring sync"
    assert first.location is None  # Google writes an empty LOCATION
    assert first.description is not None
    # The DESCRIPTION is folded over several physical lines in the file.
    assert "Join with Google Meet: https://meet.google.com/abc-defg-hij\n" in first.description
    assert first.description.endswith("::~:~::-")


def test_google_one_off_event_keeps_non_ascii_text_and_unescapes_it():
    (kickoff,) = of_uid(read_fixture("google.ics"), GOOGLE_KICKOFF)
    assert kickoff.recurrence_id is None
    assert (kickoff.start, kickoff.end) == (z(2025, 3, 12, 13), z(2025, 3, 12, 14, 30))
    assert kickoff.summary == "Kick-off: Zoë Müller & 李雷"
    assert kickoff.location == "Café Übersee, Raum 3"
    assert kickoff.description == (
        "Kick-off für das Mentoring-Tandem Zoë Müller / 李雷.\n"
        "Agenda: Erwartungen klären, Ziele für das Quartal festlegen; nächste Termine planen.\n"
        "Bitte vorher das Formular „Ziele“ ausfüllen – danke! 谢谢！"
    )


def test_google_all_day_event_is_skipped_and_listed():
    result = read_fixture("google.ics")
    assert result.all_day_skipped == ["Mid-term review week"]
    assert all(o.summary != "Mid-term review week" for o in result.occurrences)


def test_occurrences_are_sorted_by_start():
    occurrences = read_fixture("google.ics").occurrences
    assert [o.start for o in occurrences] == sorted(o.start for o in occurrences)
    assert occurrences[2].uid == GOOGLE_KICKOFF  # 12 March, between the series' 10th and 24th


def test_window_keeps_occurrences_starting_inside_it_and_every_one_off_event():
    result = read_fixture("google.ics", window=(z(2025, 3, 20), z(2025, 4, 8)))
    assert [o.start for o in of_uid(result, GOOGLE_SERIES)] == [
        z(2025, 3, 24, 8),
        z(2025, 3, 31, 7),
        z(2025, 4, 7, 9),
    ]
    # The kick-off on 12 March lies before the window but is not part of a series.
    assert len(of_uid(result, GOOGLE_KICKOFF)) == 1


def test_window_bounds_are_inclusive():
    result = read_fixture("google.ics", window=(z(2025, 3, 10, 8), z(2025, 3, 31, 7)))
    assert [o.start for o in of_uid(result, GOOGLE_SERIES)] == [
        z(2025, 3, 10, 8),
        z(2025, 3, 24, 8),
        z(2025, 3, 31, 7),
    ]


def test_an_override_is_kept_or_dropped_by_its_own_start():
    # The 7 April occurrence was due at 07:00Z and moved to 09:00Z: a window around
    # the original time holds neither the original (replaced) nor the override.
    result = read_fixture("google.ics", window=(z(2025, 4, 7, 6), z(2025, 4, 7, 8)))
    assert of_uid(result, GOOGLE_SERIES) == []
    result = read_fixture("google.ics", window=(z(2025, 4, 7, 8), z(2025, 4, 7, 10)))
    assert [o.start for o in of_uid(result, GOOGLE_SERIES)] == [z(2025, 4, 7, 9)]


# --- Outlook --------------------------------------------------------------------------


def test_outlook_windows_zone_series_with_count():
    result = read_fixture("outlook.ics")
    series = [o for o in result.occurrences if o.summary == "Goal check-in"]
    # Every other Thursday at 15:00 "W. Europe Standard Time": CET then CEST.
    assert [o.start for o in series] == [
        z(2025, 3, 20, 14),
        z(2025, 4, 3, 13),
        z(2025, 4, 17, 13),
        z(2025, 5, 1, 13),
    ]
    assert all(o.end - o.start == timedelta(hours=1) and not o.cancelled for o in series)
    assert series[0].location == "Microsoft Teams Meeting"


def test_outlook_cancelled_event_with_quoted_tzid():
    result = read_fixture("outlook.ics")
    (cancelled,) = [o for o in result.occurrences if o.cancelled]
    assert cancelled.summary == "Canceled: Mentoring session with Priya"
    assert (cancelled.start, cancelled.end) == (z(2025, 3, 26, 9), z(2025, 3, 26, 10))
    assert cancelled.sequence == 1
    assert cancelled.recurrence_id is None
    assert result.all_day_skipped == []


@pytest.mark.parametrize(
    ("tzid", "winter", "summer"),
    [
        ("W. Europe Standard Time", z(2025, 1, 15, 9), z(2025, 7, 15, 8)),
        ('"Pacific Standard Time"', z(2025, 1, 15, 18), z(2025, 7, 15, 17)),
        ("GMT Standard Time", z(2025, 1, 15, 10), z(2025, 7, 15, 9)),
        ('"Tokyo Standard Time"', z(2025, 1, 15, 1), z(2025, 7, 15, 1)),
    ],
)
def test_windows_zone_names_resolve_without_a_vtimezone(tzid, winter, summer):
    data = calendar(
        f"UID:w1\nSUMMARY:Winter\nDTSTART;TZID={tzid}:20250115T100000",
        f"UID:w2\nSUMMARY:Summer\nDTSTART;TZID={tzid}:20250715T100000",
    )
    assert [o.start for o in read(data).occurrences] == [winter, summer]


# --- Apple Calendar -------------------------------------------------------------------


def test_apple_biweekly_series_across_the_november_dst_change_with_lf_endings():
    data = (FIXTURES / "apple.ics").read_bytes()
    assert b"\r\n" not in data  # the fixture really uses bare LF, as macOS writes it
    result = read(data)
    # Every other Tuesday 10:00 in Los Angeles: PDT (17:00Z) until 2 November, then PST.
    assert [o.start for o in result.occurrences] == [
        z(2025, 10, 7, 17),
        z(2025, 10, 21, 17),
        z(2025, 11, 4, 18),
        z(2025, 11, 18, 18),
        z(2025, 12, 2, 18),
        z(2025, 12, 16, 18),
    ]
    first = result.occurrences[0]
    assert first.uid == "5A1B8C3E-7D2F-4E6A-9B0C-1D2E3F4A5B6C"
    assert first.location == (
        "Blue Bottle Coffee\nMint Plaza, San Francisco CA 94103, United States"
    )


# --- Thunderbird ----------------------------------------------------------------------


def test_thunderbird_monthly_series_with_exdate_and_sequence():
    result = read_fixture("thunderbird.ics")
    series = [o for o in result.occurrences if o.summary == "Mentoring: portfolio review"]
    # Second Wednesday at 17:30 London: GMT in February, BST from 30 March; 12 March excluded.
    assert [o.start for o in series] == [
        z(2025, 2, 12, 17, 30),
        z(2025, 4, 9, 16, 30),
        z(2025, 5, 14, 16, 30),
    ]
    assert {o.sequence for o in series} == {2}
    assert series[0].location == "Library, 2nd floor"


@pytest.mark.parametrize(
    ("local_tz", "expected_start"),
    [
        (UTC, z(2025, 3, 5, 8)),
        (NEW_YORK, z(2025, 3, 5, 13)),  # EST, before the US change on 9 March
        (BERLIN, z(2025, 3, 5, 7)),
    ],
)
def test_floating_time_is_taken_in_the_local_zone(local_tz, expected_start):
    result = read_fixture("thunderbird.ics", local_tz=local_tz)
    (reading,) = [o for o in result.occurrences if o.summary == "Reading hour"]
    assert (reading.start, reading.end) == (expected_start, expected_start + timedelta(hours=1))
    assert reading.start.tzinfo == UTC


# --- recurrence details ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("until", "expected"),
    [
        ("20250414T070000Z", [z(2025, 4, 7, 7), z(2025, 4, 14, 7)]),  # 09:00 CEST exactly
        ("20250414T065959Z", [z(2025, 4, 7, 7)]),
        ("20250414", [z(2025, 4, 7, 7), z(2025, 4, 14, 7)]),  # a date includes the whole day
    ],
)
def test_until_is_compared_in_the_events_wall_clock_time(until, expected):
    data = calendar(
        f"UID:u\nDTSTART;TZID=Europe/Berlin:20250407T090000\nRRULE:FREQ=WEEKLY;UNTIL={until}"
    )
    assert [o.start for o in read(data).occurrences] == expected


def test_series_keeps_local_time_when_dst_ends():
    data = calendar("UID:u\nDTSTART;TZID=Europe/Berlin:20251020T090000\nRRULE:FREQ=WEEKLY;COUNT=3")
    assert [o.start for o in read(data).occurrences] == [
        z(2025, 10, 20, 7),
        z(2025, 10, 27, 8),
        z(2025, 11, 3, 8),
    ]


def test_rdate_and_several_exdate_lines_in_different_forms():
    data = calendar(
        """
UID:u
DTSTART;TZID=Europe/Berlin:20250106T090000
DURATION:PT30M
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=5
EXDATE;TZID=Europe/Berlin:20250113T090000
EXDATE:20250120T080000Z
EXDATE;TZID=America/New_York:20250127T030000
RDATE;TZID=Europe/Berlin:20250108T170000,20250110T170000
"""
    )
    occurrences = read(data).occurrences
    assert [o.start for o in occurrences] == [
        z(2025, 1, 6, 8),
        z(2025, 1, 8, 16),
        z(2025, 1, 10, 16),
        z(2025, 2, 3, 8),
    ]
    assert all(o.end - o.start == timedelta(minutes=30) for o in occurrences)


def test_monthly_by_month_day_and_daily_interval():
    data = calendar(
        "UID:m\nDTSTART:20250115T100000Z\nRRULE:FREQ=MONTHLY;BYMONTHDAY=15;COUNT=3",
        "UID:d\nDTSTART:20250101T100000Z\nRRULE:FREQ=DAILY;INTERVAL=10;UNTIL=20250125T235959Z",
    )
    result = read(data)
    assert [o.start for o in of_uid(result, "m")] == [
        z(2025, 1, 15, 10),
        z(2025, 2, 15, 10),
        z(2025, 3, 15, 10),
    ]
    assert [o.start for o in of_uid(result, "d")] == [
        z(2025, 1, 1, 10),
        z(2025, 1, 11, 10),
        z(2025, 1, 21, 10),
    ]


def test_series_that_began_long_ago_only_yields_the_window():
    data = calendar("UID:u\nDTSTART;TZID=Europe/Berlin:19900105T090000\nRRULE:FREQ=DAILY")
    result = read(data, window=(z(2025, 3, 29), z(2025, 3, 31, 23)))
    assert [o.start for o in result.occurrences] == [
        z(2025, 3, 29, 8),
        z(2025, 3, 30, 7),
        z(2025, 3, 31, 7),
    ]


def test_duration_and_the_default_length():
    data = calendar(
        "UID:a\nDTSTART:20250301T100000Z\nDURATION:PT1H30M",
        "UID:b\nDTSTART:20250302T100000Z",
    )
    result = read(data)
    assert of_uid(result, "a")[0].end == z(2025, 3, 1, 11, 30)
    assert of_uid(result, "b")[0].end == z(2025, 3, 2, 10) + DEFAULT_DURATION
    assert DEFAULT_DURATION == timedelta(minutes=45)


def test_cancelled_series_cancels_every_occurrence_including_overrides():
    data = calendar(
        "UID:s\nSTATUS:CANCELLED\nDTSTART:20250303T100000Z\nRRULE:FREQ=WEEKLY;COUNT=3",
        "UID:s\nRECURRENCE-ID:20250310T100000Z\nDTSTART:20250310T120000Z\nSEQUENCE:1",
    )
    occurrences = read(data).occurrences
    assert [(o.start, o.cancelled) for o in occurrences] == [
        (z(2025, 3, 3, 10), True),
        (z(2025, 3, 10, 12), True),
        (z(2025, 3, 17, 10), True),
    ]


def test_method_cancel_cancels_every_event():
    data = calendar(
        "UID:a\nDTSTART:20250303T100000Z\nRRULE:FREQ=DAILY;COUNT=2",
        "UID:b\nSTATUS:CONFIRMED\nDTSTART:20250304T100000Z",
        method="CANCEL",
    )
    occurrences = read(data).occurrences
    assert len(occurrences) == 3 and all(o.cancelled for o in occurrences)


def test_override_takes_missing_fields_from_its_series():
    data = calendar(
        "UID:s\nSUMMARY:Sync\nLOCATION:Room 1\nDTSTART:20250303T100000Z\n"
        "DTEND:20250303T101500Z\nRRULE:FREQ=WEEKLY;COUNT=2",
        "UID:s\nRECURRENCE-ID:20250310T100000Z\nDTSTART:20250310T140000Z\nSEQUENCE:3",
    )
    override = read(data).occurrences[1]
    assert (override.summary, override.location, override.sequence) == ("Sync", "Room 1", 3)
    assert override.end == z(2025, 3, 10, 14, 15)


def test_override_matching_nothing_is_still_returned_when_in_the_window():
    data = calendar(
        "UID:s\nSUMMARY:Sync\nDTSTART:20250303T100000Z\nRRULE:FREQ=WEEKLY;COUNT=2",
        "UID:s\nSUMMARY:Extra\nRECURRENCE-ID:20250305T100000Z\nDTSTART:20250305T100000Z",
        "UID:orphan\nSUMMARY:Only this one\nRECURRENCE-ID:20250306T100000Z\n"
        "DTSTART:20250306T090000Z",
        "UID:late\nSUMMARY:Outside\nRECURRENCE-ID:20270306T100000Z\nDTSTART:20270306T090000Z",
    )
    result = read(data)
    assert [(o.uid, o.summary, o.start) for o in result.occurrences] == [
        ("s", "Sync", z(2025, 3, 3, 10)),
        ("s", "Extra", z(2025, 3, 5, 10)),
        ("orphan", "Only this one", z(2025, 3, 6, 9)),
        ("s", "Sync", z(2025, 3, 10, 10)),
    ]
    assert result.occurrences[2].recurrence_id == z(2025, 3, 6, 10)


def test_the_copy_with_the_higher_sequence_wins():
    data = calendar(
        "UID:a\nSEQUENCE:4\nSUMMARY:Newer\nDTSTART:20250303T100000Z",
        "UID:a\nSEQUENCE:2\nSUMMARY:Older\nDTSTART:20250301T100000Z",
    )
    assert [(o.summary, o.sequence) for o in read(data).occurrences] == [("Newer", 4)]


def test_missing_uid_gets_a_stable_derived_one():
    first = read(calendar("SUMMARY:Sync\nDTSTART:20250303T100000Z")).occurrences[0]
    again = read(calendar("SUMMARY:Sync\nDTSTART:20250303T100000Z")).occurrences[0]
    other = read(calendar("SUMMARY:Other\nDTSTART:20250303T100000Z")).occurrences[0]
    assert first.uid == again.uid != other.uid
    assert first.uid


def test_vtimezone_in_the_file_comes_first():
    # Outlook writes a custom zone's rules under a made-up name; the rules count.
    custom = """BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
END:STANDARD
END:VTIMEZONE
"""
    data = calendar("UID:c\nDTSTART;TZID=Customized Time Zone:20250303T100000", timezones=custom)
    assert read(data).occurrences[0].start == z(2025, 3, 3, 4, 30)
    # Even a file's own definition of an IANA name wins over the zone database.
    redefined = custom.replace("Customized Time Zone", "Europe/Berlin")
    data = calendar("UID:c\nDTSTART;TZID=Europe/Berlin:20250303T100000", timezones=redefined)
    assert read(data).occurrences[0].start == z(2025, 3, 3, 4, 30)


def test_bom_and_a_fold_inside_a_multibyte_character():
    summary = "SUMMARY:Zoë".encode()
    split_at = len(summary) - 1  # between the two bytes of "ë"
    data = (
        b"\xef\xbb\xbf"
        + calendar("UID:u\nDTSTART:20250303T100000Z\nSUMMARY_LINE").encode()
    ).replace(b"SUMMARY_LINE", summary[:split_at] + b"\r\n " + summary[split_at:])
    assert read(data).occurrences[0].summary == "Zoë"


def test_all_day_series_is_listed_once_and_untitled_events_by_uid():
    data = calendar(
        "UID:h\nSUMMARY:Holiday\nDTSTART;VALUE=DATE:20250303\nRRULE:FREQ=WEEKLY;COUNT=3",
        "UID:h\nSUMMARY:Holiday\nRECURRENCE-ID;VALUE=DATE:20250310\nDTSTART;VALUE=DATE:20250311",
        "UID:no-title\nDTSTART:20250304",
    )
    result = read(data)
    assert result.occurrences == []
    assert result.all_day_skipped == ["Holiday", "no-title"]


# --- bad files and odd events -----------------------------------------------------------


def skipped_reasons(data: bytes | str, **options) -> list[tuple[str, str]]:
    """Reading works; what was left out and why."""
    return [(skipped.event, skipped.reason) for skipped in read(data, **options).skipped]


def test_a_file_that_is_not_a_calendar_is_refused():
    assert bad_file_message((FIXTURES / "not-a-calendar.ics").read_bytes()) == (
        "not an iCalendar file: expected BEGIN:VCALENDAR on the first line"
    )


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("no-dtstart.ics", ("event 'Weekly sync' (UID abc@google.com)", "has no DTSTART")),
        (
            "bad-rrule.ics",
            (
                "event 'Fortnightly sync' (UID fortnightly@google.com)",
                "has an unreadable RRULE 'FREQ=FORTNIGHTLY;BYDAY=MO': Expected frequency, got: FORTNIGHTLY",
            ),
        ),
        (
            "unknown-tzid.ics",
            (
                "event 'Goal check-in' (UID mars-1@example.org)",
                "uses unknown time zone TZID 'Mars Standard Time': there is no VTIMEZONE for it in the file",
            ),
        ),
    ],
)
def test_an_odd_event_in_a_fixture_is_skipped_with_its_reason(fixture, expected):
    assert skipped_reasons((FIXTURES / fixture).read_bytes()) == [expected]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"", "not an iCalendar file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not an iCalendar file"),
        (b'{"events": []}', "not an iCalendar file"),
        ("BEGIN:VCALENDAR\nthis is garbage\nEND:VCALENDAR\n", "line 2 is not an iCalendar line"),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\nEND:VCALENDAR\n", "line 4: END:VCALENDAR where END:VEVENT"),
        ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n", "BEGIN:VEVENT on line 2 has no END:VEVENT"),
        ("BEGIN:VCALENDAR\nEND:VCALENDAR\nUID:x\n", "line 3: 'UID:x' is outside VCALENDAR"),
        (b"BEGIN:VCALENDAR\nSUMMARY:\xff\xfe\nEND:VCALENDAR\n", "line 2 is not UTF-8 text"),
    ],
)
def test_a_file_that_cannot_be_read_at_all_raises_bad_file_with_one_line(data, fragment):
    assert fragment in bad_file_message(data)


ODD_EVENTS = [
    ("UID:x\nSUMMARY:Sync\nDTSTART:2025-03-03 10:00", "event 'Sync' (UID x)",
     "has an unreadable DTSTART '2025-03-03 10:00'"),
    ("UID:x\nDTSTART:PT1H", "event with UID x", "has an unreadable DTSTART 'PT1H'"),
    ("UID:x\nDTSTART:20250303T100000Z\nDTSTART:20250304T100000Z", "event with UID x",
     "has 2 DTSTART lines; one is allowed"),
    ("UID:x\nDTSTART:20250303T100000Z\nRRULE:FREQ=HOURLY", "event with UID x",
     "has RRULE FREQ=HOURLY; only DAILY, WEEKLY, MONTHLY, YEARLY are supported"),
    ("UID:x\nDTSTART:20250303T100000Z\nRRULE:COUNT=3", "event with UID x",
     "has RRULE FREQ=(missing); only DAILY, WEEKLY, MONTHLY, YEARLY are supported"),
    ("UID:x\nDTSTART:20250303T100000Z\nRRULE:FREQ=WEEKLY;INTERVAL=0", "event with UID x",
     "has RRULE INTERVAL=0; it must be 1 or more"),
    ("UID:x\nDTSTART:20250303T100000Z\nRRULE:FREQ=WEEKLY;BYSETPOS=0", "event with UID x",
     "has an unusable RRULE: bysetpos must be between 1 and 366, or between -366 and -1"),
    ("UID:x\nDTSTART:20250303T100000Z\nEXDATE:tomorrow\nRRULE:FREQ=DAILY", "event with UID x",
     "has an unreadable EXDATE 'tomorrow'"),
    ("UID:x\nDTSTART:20250303T100000Z\nDTEND:20250303T090000Z", "event with UID x", "ends before it starts"),
    ("UID:x\nDTSTART:20250303T100000Z\nSEQUENCE:two", "event with UID x", "has an unreadable SEQUENCE 'two'"),
    ("UID:x\nDTSTART:99991231T233000Z", "event with UID x", "has a date too close to year 1 or 9999 to use"),
    ("UID:x\nDTSTART:20250303T100000Z\nDURATION:an hour", "event with UID x",
     "has an unreadable DURATION 'an hour'"),
    ("UID:x\nDTSTART;TZID=Europe/Atlantis:20250303T100000", "event with UID x",
     "uses unknown time zone TZID 'Europe/Atlantis': there is no VTIMEZONE for it in the file"),
    ("UID:x\nRECURRENCE-ID;TZID=../../etc/passwd:20250303T100000\nDTSTART:20250303T100000Z", "event with UID x",
     "uses unknown time zone TZID '../../etc/passwd': there is no VTIMEZONE for it in the file"),
    ("SUMMARY:Lunch\nDTSTART:20250303T120000Z\nDTEND;VALUE=DATE:20250304", "event 'Lunch'",
     "has a date DTEND but a date-time DTSTART"),
]


@pytest.mark.parametrize(("body", "event", "reason"), ODD_EVENTS)
def test_an_odd_event_is_skipped_with_its_reason_and_the_rest_are_kept(body, event, reason):
    good = "UID:good\nSUMMARY:Weekly sync\nDTSTART:20250310T100000Z\nDTEND:20250310T110000Z"
    result = read(calendar(good, body, good.replace("good", "also-good").replace("20250310", "20250311")))
    assert [(s.event, s.reason) for s in result.skipped] == [(event, reason)]
    assert [(o.uid, o.start, o.end) for o in result.occurrences] == [
        ("good", z(2025, 3, 10, 10), z(2025, 3, 10, 11)), ("also-good", z(2025, 3, 11, 10), z(2025, 3, 11, 11)),
    ]


def test_a_daily_series_that_never_reaches_the_window_is_skipped(monkeypatch):
    monkeypatch.setattr("mloop.ics.MAX_GENERATED", 50)
    data = calendar("UID:x\nSUMMARY:Forever\nDTSTART:20250101T100000Z\nRRULE:FREQ=DAILY")
    assert skipped_reasons(data) == [
        ("event 'Forever' (UID x)", "repeats more than 50 times before the end of the import window")
    ]


def test_a_zero_length_event_lasts_the_default_length_and_is_listed():
    """Google Calendar writes DTEND equal to DTSTART for an event with no length."""
    data = calendar(
        "UID:zero@google.com\nSUMMARY:Quick sync\nDTSTART:20250303T100000Z\nDTEND:20250303T100000Z",
        "UID:series\nSUMMARY:Daily\nDTSTART;TZID=Europe/Berlin:20250304T090000\n"
        "DTEND;TZID=Europe/Berlin:20250304T090000\nRRULE:FREQ=DAILY;COUNT=2",
        "UID:timed\nSUMMARY:Timed\nDTSTART:20250306T100000Z\nDTEND:20250306T103000Z",
    )
    result = read(data)
    assert [(o.uid, o.start, o.end - o.start) for o in result.occurrences] == [
        ("zero@google.com", z(2025, 3, 3, 10), DEFAULT_DURATION),
        ("series", z(2025, 3, 4, 8), DEFAULT_DURATION),
        ("series", z(2025, 3, 5, 8), DEFAULT_DURATION),
        ("timed", z(2025, 3, 6, 10), timedelta(minutes=30)),
    ]
    assert result.default_length == ["event 'Quick sync' (UID zero@google.com)", "event 'Daily' (UID series)"]
    assert result.skipped == []


GOOGLE_LINES = (FIXTURES / "google.ics").read_bytes().split(b"\r\n")
VALUE_NOISE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=80, deadline=None)
@given(
    cut=st.integers(min_value=0, max_value=len(GOOGLE_LINES)),
    damaged=st.integers(min_value=0, max_value=len(GOOGLE_LINES) - 1),
    new_value=st.one_of(VALUE_NOISE, st.sampled_from(["", "20250303", "PT1H", "FREQ=WEEKLY;X=1"])),
    keep_name=st.booleans(),
)
def test_damaged_files_give_a_result_or_bad_file_never_another_error(
    cut, damaged, new_value, keep_name
):
    # Either the property keeps its name and gets a wrong value, or the whole line is junk.
    name = GOOGLE_LINES[damaged].split(b":")[0] + b":" if keep_name else b""
    lines = GOOGLE_LINES[:damaged] + [name + new_value.encode()] + GOOGLE_LINES[damaged + 1 : cut]
    try:
        read(b"\r\n".join(lines))
    except BadFile as error:
        assert "\n" not in error.message


# --- export ---------------------------------------------------------------------------

STAMP = z(2026, 3, 2, 9)
LONG_DESCRIPTION = (
    "Agenda for Zoë Müller and 李雷: goals, blockers; next steps.\n"
    "Path C:\\New folder\\notes — bring the \"career map\" 🗺️. " * 4
)
CONFIRMED = ExportEvent(
    uid="loop-17-meeting-3@mloop",
    sequence=2,
    start=datetime(2026, 3, 10, 9, 0, tzinfo=BERLIN),
    end=datetime(2026, 3, 10, 10, 0, tzinfo=BERLIN),
    summary="Mentoring: Zoë Müller ↔ 李雷, session 3; \"goals\"",
    description=LONG_DESCRIPTION,
    location="Café Übersee, Raum 3; 2nd floor",
    organizer=("mentor@example.org", "Zoë Müller"),
    attendees=(("li.lei@example.cn", "李雷"), ("tom@example.org", 'Tom "TJ" Jones, PhD')),
    cancelled=False,
    created=z(2026, 2, 1, 8, 30),
    last_modified=z(2026, 2, 20, 17, 45),
)
CANCELLED = ExportEvent(
    uid="loop-17-meeting-4@mloop",
    sequence=5,
    start=z(2026, 3, 17, 8),
    end=z(2026, 3, 17, 9),
    summary="Mentoring: session 4",
    description=None,
    location=None,
    organizer=("mentor@example.org", "Zoë Müller"),
    attendees=(("li.lei@example.cn", "李雷"),),
    cancelled=True,
)


def unfold(data: bytes) -> list[str]:
    """RFC 5545 unfolding, written independently of icalendar: CRLF + one space/tab joins."""
    assert data.endswith(b"\r\n")
    logical: list[str] = []
    for physical in data[:-2].split(b"\r\n"):
        text = physical.decode("utf-8")  # each physical line alone must be valid UTF-8
        if text[:1] in (" ", "\t"):
            logical[-1] += text[1:]
        else:
            logical.append(text)
    return logical


def split_content_line(line: str) -> tuple[str, dict[str, str], str]:
    """NAME;PARAM=value;...:VALUE, with ':' and ';' inside double quotes not splitting."""
    pieces, current, quoted = [], "", False
    for position, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        if char in ";:" and not quoted:
            pieces.append(current)
            current = ""
            if char == ":":
                name, *params = pieces
                pairs = (param.split("=", 1) for param in params)
                unquoted = {key: value.removeprefix('"').removesuffix('"') for key, value in pairs}
                return name, unquoted, line[position + 1 :]
            continue
        current += char
    raise AssertionError(f"no value separator in {line!r}")


def components(data: bytes) -> dict:
    """The component tree of an export, checking BEGIN/END nesting on the way."""
    root = {"name": None, "props": [], "children": []}
    stack = [root]
    for line in unfold(data):
        name, params, value = split_content_line(line)
        if name == "BEGIN":
            child = {"name": value, "props": [], "children": []}
            stack[-1]["children"].append(child)
            stack.append(child)
        elif name == "END":
            assert stack[-1]["name"] == value, f"END:{value} closes {stack[-1]['name']}"
            stack.pop()
        else:
            stack[-1]["props"].append((name, params, value))
    assert stack == [root], "unclosed component"
    (vcalendar,) = root["children"]
    return vcalendar


def props(component: dict, name: str) -> list[tuple[dict[str, str], str]]:
    return [(params, value) for prop, params, value in component["props"] if prop == name]


def value_of(component: dict, name: str) -> str:
    (found,) = props(component, name)
    return found[1]


def export(*events: ExportEvent, **options) -> bytes:
    return write_calendar(events, stamp=STAMP, **options)


def test_export_physical_lines_are_crlf_and_at_most_75_octets():
    data = export(CONFIRMED, CANCELLED, name="Mentoring — Zoë's loops")
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"") and b"\r" not in data.replace(b"\r\n", b"")
    lines = data.split(b"\r\n")[:-1]
    assert max(len(line) for line in lines) <= 75
    assert any(line.startswith(b" ") for line in lines)  # the long description really is folded
    for line in lines:
        line.decode("utf-8")  # folding never splits a multi-byte character


def test_export_calendar_properties():
    vcalendar = components(export(CONFIRMED, name="Mentoring, spring; cohort"))
    assert value_of(vcalendar, "VERSION") == "2.0"
    assert value_of(vcalendar, "PRODID") == PRODID == "-//mloop//mloop//EN"
    assert value_of(vcalendar, "CALSCALE") == "GREGORIAN"
    assert value_of(vcalendar, "METHOD") == "PUBLISH"
    assert value_of(vcalendar, "X-WR-CALNAME") == r"Mentoring\, spring\; cohort"
    assert "X-WR-CALNAME" not in [name for name, _, _ in components(export(CONFIRMED))["props"]]


def test_export_event_properties():
    vcalendar = components(export(CONFIRMED, CANCELLED))
    confirmed, cancelled = vcalendar["children"]
    assert [value_of(event, "UID") for event in (confirmed, cancelled)] == [
        "loop-17-meeting-3@mloop",
        "loop-17-meeting-4@mloop",
    ]
    assert value_of(confirmed, "DTSTAMP") == value_of(cancelled, "DTSTAMP") == "20260302T090000Z"
    assert value_of(confirmed, "DTSTART") == "20260310T080000Z"  # 09:00 CET
    assert value_of(confirmed, "DTEND") == "20260310T090000Z"
    assert value_of(confirmed, "CREATED") == "20260201T083000Z"
    assert value_of(confirmed, "LAST-MODIFIED") == "20260220T174500Z"
    assert (value_of(confirmed, "STATUS"), value_of(cancelled, "STATUS")) == ("CONFIRMED", "CANCELLED")
    assert (value_of(confirmed, "SEQUENCE"), value_of(cancelled, "SEQUENCE")) == ("2", "5")
    for name in ("DESCRIPTION", "LOCATION", "CREATED", "LAST-MODIFIED"):
        assert props(cancelled, name) == []
    for event in (confirmed, cancelled):
        for name in ("DTSTART", "DTEND", "DTSTAMP"):
            assert re.fullmatch(r"\d{8}T\d{6}Z", value_of(event, name))
            assert props(event, name)[0][0] == {}  # no TZID on UTC times


def test_export_text_is_escaped():
    confirmed = components(export(CONFIRMED))["children"][0]
    assert value_of(confirmed, "SUMMARY") == (
        r'Mentoring: Zoë Müller ↔ 李雷\, session 3\; "goals"'
    )
    assert value_of(confirmed, "LOCATION") == r"Café Übersee\, Raum 3\; 2nd floor"
    assert value_of(confirmed, "DESCRIPTION").startswith(
        r"Agenda for Zoë Müller and 李雷: goals\, blockers\; next steps.\nPath C:\\New folder\\notes"
    )  # a literal backslash-N stays one (icalendar's own escaping would make it a line break)


def test_export_people_keep_their_names():
    confirmed = components(export(CONFIRMED))["children"][0]
    ((organizer_params, organizer),) = props(confirmed, "ORGANIZER")
    assert (organizer, organizer_params) == ("mailto:mentor@example.org", {"CN": "Zoë Müller"})
    attendees = props(confirmed, "ATTENDEE")
    assert [value for _, value in attendees] == ["mailto:li.lei@example.cn", "mailto:tom@example.org"]
    assert attendees[0][0] == {"CN": "李雷", "PARTSTAT": "ACCEPTED", "ROLE": "REQ-PARTICIPANT"}
    # A double quote cannot appear in a parameter; RFC 6868 writes it as ^'.
    assert attendees[1][0]["CN"] == "Tom ^'TJ^' Jones, PhD"


def test_export_alarm_only_for_events_that_are_not_cancelled():
    confirmed, cancelled = components(export(CONFIRMED, CANCELLED))["children"]
    (alarm,) = confirmed["children"]
    assert alarm["name"] == "VALARM"
    assert value_of(alarm, "ACTION") == "DISPLAY"
    assert value_of(alarm, "TRIGGER") == "-P1D"
    assert value_of(alarm, "DESCRIPTION") == "Mentoring meeting tomorrow: confirm it with your partner"
    assert cancelled["children"] == []


def test_export_alarm_lead_time_is_configurable():
    (alarm,) = components(export(CONFIRMED, alarm_before=timedelta(hours=2)))["children"][0]["children"]
    assert value_of(alarm, "TRIGGER") == "-PT2H"
    assert value_of(alarm, "DESCRIPTION") == "Mentoring meeting in 2 hours: confirm it with your partner"


def test_export_drops_control_characters_and_normalises_line_breaks():
    event = ExportEvent(
        uid="u", sequence=0, start=z(2026, 1, 1, 9), end=z(2026, 1, 1, 10),
        summary="Bell\x07 and\r\nbreaks\rhere\x00", description=None, location=None,
        organizer=("a@example.org", "Line\nbreak"), attendees=(), cancelled=False,
    )
    vevent = components(export(event))["children"][0]
    assert value_of(vevent, "SUMMARY") == r"Bell and\nbreaks\nhere"
    assert props(vevent, "ORGANIZER")[0][0] == {"CN": "Line break"}


def test_export_refuses_naive_datetimes_and_a_non_positive_alarm():
    naive = ExportEvent(
        uid="u", sequence=0, start=datetime(2026, 1, 1, 9), end=z(2026, 1, 1, 10),
        summary="s", description=None, location=None, organizer=("a@example.org", "A"),
        attendees=(), cancelled=False,
    )
    with pytest.raises(ValueError, match="start must be a timezone-aware datetime"):
        export(naive)
    with pytest.raises(ValueError, match="alarm_before"):
        export(CONFIRMED, alarm_before=timedelta(0))


def test_export_of_no_events_is_a_valid_empty_calendar():
    vcalendar = components(export())
    assert vcalendar["children"] == []
    assert read(export()).occurrences == []


def test_round_trip_through_read_calendar():
    result = read(export(CONFIRMED, CANCELLED), window=(z(2026, 1, 1), z(2027, 1, 1)))
    assert result.all_day_skipped == []
    assert [fields(o) for o in result.occurrences] == [fields(event) for event in (CONFIRMED, CANCELLED)]


def test_text_starting_with_a_zero_width_no_break_space_survives_export():
    """U+FEFF at the start of a value is text the person typed (icalendar
    would read it as a byte-order mark and drop it if handed bytes)."""
    from dataclasses import replace

    event = replace(CONFIRMED, summary="\ufeffHello", description="\ufeff", location="\ufeffRoom 3")
    result = read(export(event), window=(z(2026, 1, 1), z(2027, 1, 1)))
    assert [fields(o) for o in result.occurrences] == [fields(event)]


def fields(event) -> tuple:
    """What must survive a round trip, of an ExportEvent or a CalendarOccurrence."""
    return (event.uid, event.start.astimezone(UTC), event.end.astimezone(UTC), event.summary, event.description,
            event.location, event.cancelled, event.sequence)


# Text as people type it: any letter, mark, symbol or emoji, plus line breaks, tabs and
# the characters RFC 5545 escapes; no other control characters (the export drops them).
TEXT_CHARACTERS = st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\n\t,;\\:\"")
TEXT = st.text(TEXT_CHARACTERS, min_size=1, max_size=300).filter(lambda text: text.strip())
NAMES = st.text(TEXT_CHARACTERS, max_size=40)


@st.composite
def export_events(draw) -> list[ExportEvent]:
    count = draw(st.integers(min_value=0, max_value=4))
    events = []
    for index in range(count):
        start = draw(
            st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31))
        ).replace(microsecond=0)
        zone = draw(st.sampled_from([UTC, BERLIN, NEW_YORK, ZoneInfo("Asia/Kolkata")]))
        start = start.replace(tzinfo=zone)
        events.append(
            ExportEvent(
                uid=f"{index}-{draw(st.uuids())}@mloop",
                sequence=draw(st.integers(min_value=0, max_value=10_000)),
                start=start,
                end=start + timedelta(minutes=draw(st.integers(min_value=1, max_value=600))),  # a meeting lasts a minute or more
                summary=draw(TEXT),
                description=draw(st.none() | TEXT),
                location=draw(st.none() | TEXT),
                organizer=(draw(st.emails()), draw(NAMES)),
                attendees=tuple(draw(st.lists(st.tuples(st.emails(), NAMES), max_size=3))),
                cancelled=draw(st.booleans()),
            )
        )
    return events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=export_events(), name=st.none() | NAMES)
def test_any_export_is_well_formed_and_round_trips(events, name):
    data = write_calendar(events, stamp=STAMP, name=name)
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")
    vcalendar = components(data)
    assert len(vcalendar["children"]) == len(events)

    result = read(data, window=(z(1999, 1, 1), z(2037, 1, 1)))
    assert sorted(fields(o) for o in result.occurrences) == sorted(fields(e) for e in events)


# --- module import cost ---------------------------------------------------------------


def test_importing_the_module_loads_neither_icalendar_nor_dateutil():
    code = (
        "import sys, mloop.ics; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'icalendar', 'dateutil'}))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"
