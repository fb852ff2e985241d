"""Tests for mloop.timeparse: plain function calls with a fixed clock and zones."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import assume, given
from hypothesis import strategies as st

from mloop.timeparse import (
    WhenError,
    format_local,
    isoformat_utc,
    local_zone,
    parse_duration,
    parse_iso,
    parse_offset,
    parse_when,
    to_local,
)

UTC = timezone.utc
PARIS = ZoneInfo("Europe/Paris")  # CET +01:00 / CEST +02:00
NEW_YORK = ZoneInfo("America/New_York")  # EST -05:00 / EDT -04:00
UTC_ZONE = ZoneInfo("UTC")

# Monday 23 November 2026: 11:00 in Paris, 05:00 in New York.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def paris(*args: int) -> datetime:
    """A Paris wall-clock time (unambiguous ones only) as aware UTC."""
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


def when_error(text: str, now: datetime = NOW, tz=PARIS) -> str:
    with pytest.raises(WhenError) as caught:
        parse_when(text, now, tz)
    return str(caught.value)


# --------------------------------------------------------------------------
# ISO 8601


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # A date alone is local midnight.
        ("2026-12-01", PARIS, utc(2026, 11, 30, 23, 0)),
        ("2026-12-01", NEW_YORK, utc(2026, 12, 1, 5, 0)),
        ("2026-12-01", UTC_ZONE, utc(2026, 12, 1, 0, 0)),
        # Without an offset: local time.
        ("2026-12-01T15:00", PARIS, utc(2026, 12, 1, 14, 0)),
        ("2026-12-01 15:00", PARIS, utc(2026, 12, 1, 14, 0)),
        ("2026-12-01 15:00", NEW_YORK, utc(2026, 12, 1, 20, 0)),
        ("2026-12-01T15:00:30", UTC_ZONE, utc(2026, 12, 1, 15, 0, 30)),
        ("2026-07-01 15:00", PARIS, utc(2026, 7, 1, 13, 0)),  # summer time
        # With Z or an offset: taken as given, whatever the local zone.
        ("2026-12-01T15:00:00Z", PARIS, utc(2026, 12, 1, 15, 0)),
        ("2026-12-01T15:00:00Z", NEW_YORK, utc(2026, 12, 1, 15, 0)),
        ("2026-12-01T15:00Z", PARIS, utc(2026, 12, 1, 15, 0)),
        ("2026-12-01T15:00+02:00", PARIS, utc(2026, 12, 1, 13, 0)),
        ("2026-12-01T15:00-05:00", PARIS, utc(2026, 12, 1, 20, 0)),
        ("2026-12-01 15:00+00:00", NEW_YORK, utc(2026, 12, 1, 15, 0)),
        # Case and surrounding spaces do not matter.
        ("  2026-12-01t15:00:00z  ", PARIS, utc(2026, 12, 1, 15, 0)),
        ("2026-12-01   15:00", PARIS, utc(2026, 12, 1, 14, 0)),
        # An ISO date followed by an everyday time.
        ("2026-12-01 9pm", PARIS, utc(2026, 12, 1, 20, 0)),
        ("2026-12-01 9:30am", UTC_ZONE, utc(2026, 12, 1, 9, 30)),
    ],
)
def test_iso_forms(text, tz, expected):
    assert parse_when(text, NOW, tz) == expected


def test_result_is_aware_utc():
    for text in ("2026-12-01 15:00", "2026-12-01T15:00+02:00", "tomorrow", "+3d", "now"):
        result = parse_when(text, NOW, PARIS)
        assert result.tzinfo is UTC, text


# --------------------------------------------------------------------------
# now / today / tomorrow / yesterday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("NOW", NOW),
        ("today", paris(2026, 11, 23, 0, 0)),
        ("tomorrow", paris(2026, 11, 24, 0, 0)),
        ("yesterday", paris(2026, 11, 22, 0, 0)),
        ("tomorrow 9:30", paris(2026, 11, 24, 9, 30)),
        ("today 17:00", paris(2026, 11, 23, 17, 0)),
        ("tomorrow 9am", paris(2026, 11, 24, 9, 0)),
        ("today 5:30pm", paris(2026, 11, 23, 17, 30)),
        ("today 5:30 pm", paris(2026, 11, 23, 17, 30)),
        ("yesterday 23:15", paris(2026, 11, 22, 23, 15)),
        ("tomorrow at 9:30", paris(2026, 11, 24, 9, 30)),
        ("  Tomorrow   9:30  ", paris(2026, 11, 24, 9, 30)),
        ("tomorrow 12am", paris(2026, 11, 24, 0, 0)),
        ("tomorrow 12pm", paris(2026, 11, 24, 12, 0)),
        ("tomorrow 9:30:15", paris(2026, 11, 24, 9, 30, 15)),
    ],
)
def test_day_words(text, expected):
    assert parse_when(text, NOW, PARIS) == expected


def test_today_is_the_local_day_not_the_utc_day():
    # 03:00 UTC on Tuesday is still Monday 22:00 in New York.
    late = utc(2026, 11, 24, 3, 0)
    assert parse_when("today", late, NEW_YORK) == utc(2026, 11, 23, 5, 0)
    assert parse_when("tomorrow 9:00", late, NEW_YORK) == utc(2026, 11, 24, 14, 0)
    assert parse_when("today", late, UTC_ZONE) == utc(2026, 11, 24, 0, 0)


def test_now_is_returned_as_utc_even_when_given_in_another_zone():
    assert parse_when("now", NOW.astimezone(PARIS), NEW_YORK) == NOW


def test_naive_now_is_taken_as_utc():
    assert parse_when("+1h", NOW.replace(tzinfo=None), PARIS) == utc(2026, 11, 23, 11, 0)


# --------------------------------------------------------------------------
# Relative offsets


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+3d", utc(2026, 11, 26, 10, 0)),
        ("+2w", utc(2026, 12, 7, 10, 0)),
        ("+90m", utc(2026, 11, 23, 11, 30)),
        ("+1h", utc(2026, 11, 23, 11, 0)),
        ("-2d", utc(2026, 11, 21, 10, 0)),
        ("+1h30m", utc(2026, 11, 23, 11, 30)),
        ("+1h 30m", utc(2026, 11, 23, 11, 30)),
        ("+ 3 days", utc(2026, 11, 26, 10, 0)),
        ("-1h30m", utc(2026, 11, 23, 8, 30)),
        ("+1d2h", utc(2026, 11, 24, 12, 0)),
        ("+0d", NOW),
        ("in 2 weeks", utc(2026, 12, 7, 10, 0)),
        ("in 3 days", utc(2026, 11, 26, 10, 0)),
        ("in 45 minutes", utc(2026, 11, 23, 10, 45)),
        ("in 1 hour", utc(2026, 11, 23, 11, 0)),
        ("in 1 week 2 days", utc(2026, 12, 2, 10, 0)),
        ("2 days ago", utc(2026, 11, 21, 10, 0)),
        ("3 hours ago", utc(2026, 11, 23, 7, 0)),
        ("+1mo", utc(2026, 12, 23, 10, 0)),
        ("+2 months", utc(2027, 1, 23, 10, 0)),
        ("+1y", utc(2027, 11, 23, 10, 0)),
        ("in 2 years", utc(2028, 11, 23, 10, 0)),
        ("+5min", utc(2026, 11, 23, 10, 5)),
        ("IN 2 WEEKS", utc(2026, 12, 7, 10, 0)),
    ],
)
def test_relative_offsets(text, expected):
    assert parse_when(text, NOW, PARIS) == expected


@pytest.mark.parametrize(
    ("now", "text", "expected"),
    [
        (utc(2026, 1, 31, 10, 0), "+1mo", utc(2026, 2, 28, 10, 0)),
        (utc(2028, 1, 31, 10, 0), "+1mo", utc(2028, 2, 29, 10, 0)),  # leap year
        (utc(2026, 3, 31, 10, 0), "-1mo", utc(2026, 2, 28, 10, 0)),
        (utc(2026, 8, 31, 10, 0), "in 1 month", utc(2026, 9, 30, 10, 0)),
        (utc(2028, 2, 29, 10, 0), "+1y", utc(2029, 2, 28, 10, 0)),
        (utc(2026, 1, 31, 10, 0), "+1mo1d", utc(2026, 3, 1, 10, 0)),
    ],
)
def test_month_and_year_ends_clamp_to_the_last_day(now, text, expected):
    assert parse_when(text, now, UTC_ZONE) == expected


def test_month_end_uses_the_local_calendar():
    # 31 Jan 23:30 in Paris is already 31 Jan; in UTC it is 22:30 the same day.
    now = paris(2026, 1, 31, 23, 30)
    assert parse_when("+1mo", now, PARIS) == paris(2026, 2, 28, 23, 30)


# --------------------------------------------------------------------------
# DST: calendar offsets keep the wall clock, elapsed offsets are exact


def test_plus_one_day_across_spring_forward_keeps_local_hour():
    now = paris(2026, 3, 28, 10, 0)  # Saturday 10:00 CET = 09:00Z
    result = parse_when("+1d", now, PARIS)
    assert to_local(result, PARIS).replace(tzinfo=None) == datetime(2026, 3, 29, 10, 0)
    assert result - now == timedelta(hours=23)


def test_plus_one_day_across_fall_back_keeps_local_hour():
    now = paris(2026, 10, 24, 10, 0)  # Saturday 10:00 CEST = 08:00Z
    result = parse_when("+1d", now, PARIS)
    assert to_local(result, PARIS).replace(tzinfo=None) == datetime(2026, 10, 25, 10, 0)
    assert result - now == timedelta(hours=25)


def test_hours_across_dst_are_elapsed_time():
    now = paris(2026, 3, 28, 10, 0)
    assert parse_when("+24h", now, PARIS) - now == timedelta(hours=24)
    assert format_local(parse_when("+24h", now, PARIS), PARIS) == "2026-03-29 11:00 CEST"
    now = paris(2026, 10, 24, 10, 0)
    assert format_local(parse_when("in 24 hours", now, PARIS), PARIS) == "2026-10-25 09:00 CET"


def test_weeks_and_new_york_dst_keep_local_hour():
    now = utc(2026, 3, 5, 14, 0)  # 09:00 EST, DST starts 8 March
    assert format_local(parse_when("in 1 week", now, NEW_YORK), NEW_YORK) == "2026-03-12 09:00 EDT"
    now = utc(2026, 10, 30, 13, 0)  # 09:00 EDT, DST ends 1 November
    assert format_local(parse_when("+3d", now, NEW_YORK), NEW_YORK) == "2026-11-02 09:00 EST"
    assert format_local(parse_when("2 days ago", utc(2026, 11, 2, 14, 0), NEW_YORK), NEW_YORK) == (
        "2026-10-31 09:00 EDT"
    )


def test_derived_time_in_a_gap_moves_forward_by_the_jump():
    # 02:30 CET on Saturday; Sunday 02:30 does not exist -> 03:30 CEST.
    now = utc(2026, 3, 28, 1, 30)
    result = parse_when("+1d", now, PARIS)
    assert format_local(result, PARIS) == "2026-03-29 03:30 CEST"
    assert result == utc(2026, 3, 29, 1, 30)
    # Going back into the gap lands on the same side.
    assert format_local(parse_when("-1d", utc(2026, 3, 30, 0, 30), PARIS), PARIS) == (
        "2026-03-29 03:30 CEST"
    )


def test_derived_time_in_an_overlap_takes_the_first_occurrence():
    now = utc(2026, 10, 24, 0, 30)  # 02:30 CEST on Saturday
    assert parse_when("+1d", now, PARIS) == utc(2026, 10, 25, 0, 30)  # 02:30 CEST


def test_hour_offsets_from_inside_an_overlap_are_exact():
    second_0230 = utc(2026, 10, 25, 1, 30)  # the second 02:30 (CET)
    assert parse_when("+30m", second_0230, PARIS) == utc(2026, 10, 25, 2, 0)
    assert parse_when("-1h", second_0230, PARIS) == utc(2026, 10, 25, 0, 30)


def test_midnight_that_does_not_exist_starts_the_day_at_the_jump():
    # Chile: on 6 September 2026 clocks go from 00:00 straight to 01:00.
    santiago = ZoneInfo("America/Santiago")
    now = utc(2026, 9, 5, 15, 0)  # Saturday 11:00 -04:00
    for text in ("tomorrow", "2026-09-06", "sun"):
        assert format_local(parse_when(text, now, santiago), santiago) == "2026-09-06 01:00 UTC-03:00", text
    assert "does not exist in America/Santiago" in when_error("2026-09-06 00:30", now, santiago)


# --------------------------------------------------------------------------
# Typed wall-clock times that do not exist or happen twice


@pytest.mark.parametrize(
    ("text", "tz", "message"),
    [
        (
            "2026-03-29 02:30",
            PARIS,
            "2026-03-29 02:30 does not exist in Europe/Paris (clocks jump forward): "
            "pick another time",
        ),
        (
            "2026-03-29T02:00",
            PARIS,
            "2026-03-29 02:00 does not exist in Europe/Paris (clocks jump forward): "
            "pick another time",
        ),
        (
            "2026-03-08 2:30am",
            NEW_YORK,
            "2026-03-08 02:30 does not exist in America/New_York (clocks jump forward): "
            "pick another time",
        ),
        (
            "2026-10-25 02:30",
            PARIS,
            "2026-10-25 02:30 is ambiguous in Europe/Paris (clocks fall back, so it happens "
            "twice): add an offset, e.g. 2026-10-25T02:30+02:00 or 2026-10-25T02:30+01:00",
        ),
        (
            "2026-11-01 01:30",
            NEW_YORK,
            "2026-11-01 01:30 is ambiguous in America/New_York (clocks fall back, so it "
            "happens twice): add an offset, e.g. 2026-11-01T01:30-04:00 or "
            "2026-11-01T01:30-05:00",
        ),
    ],
)
def test_nonexistent_and_ambiguous_times_are_refused(text, tz, message):
    assert when_error(text, NOW, tz) == message


def test_times_next_to_the_gap_and_overlap_are_fine():
    assert parse_when("2026-03-29 01:59", NOW, PARIS) == utc(2026, 3, 29, 0, 59)
    assert parse_when("2026-03-29 03:00", NOW, PARIS) == utc(2026, 3, 29, 1, 0)
    assert parse_when("2026-10-25 01:59", NOW, PARIS) == utc(2026, 10, 24, 23, 59)
    assert parse_when("2026-10-25 03:00", NOW, PARIS) == utc(2026, 10, 25, 2, 0)


def test_offset_disambiguates_an_ambiguous_time():
    assert parse_when("2026-10-25T02:30+02:00", NOW, PARIS) == utc(2026, 10, 25, 0, 30)
    assert parse_when("2026-10-25T02:30+01:00", NOW, PARIS) == utc(2026, 10, 25, 1, 30)


def test_everyday_forms_check_dst_too():
    saturday = utc(2026, 3, 28, 12, 0)
    assert "does not exist" in when_error("tomorrow 2:30", saturday)
    assert "does not exist" in when_error("sun 2:30am", saturday)
    assert "is ambiguous" in when_error("tomorrow 2:30", utc(2026, 10, 24, 12, 0))
    assert "2026-03-29 02:30" in when_error("2:30", utc(2026, 3, 29, 9, 0))


def test_utc_zone_has_no_dst_problems():
    assert parse_when("2026-03-29 02:30", NOW, UTC_ZONE) == utc(2026, 3, 29, 2, 30)
    assert parse_when("2026-10-25 02:30", NOW, UTC) == utc(2026, 10, 25, 2, 30)


# --------------------------------------------------------------------------
# Weekdays


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # NOW is a Monday: the next such day is strictly after today.
        ("tue", paris(2026, 11, 24, 0, 0)),
        ("fri", paris(2026, 11, 27, 0, 0)),
        ("friday", paris(2026, 11, 27, 0, 0)),
        ("Friday", paris(2026, 11, 27, 0, 0)),
        ("sun", paris(2026, 11, 29, 0, 0)),
        ("mon", paris(2026, 11, 30, 0, 0)),
        ("monday", paris(2026, 11, 30, 0, 0)),
        ("next tue 14:00", paris(2026, 11, 24, 14, 0)),
        ("tue 14:00", paris(2026, 11, 24, 14, 0)),
        ("tue 9:30", paris(2026, 11, 24, 9, 30)),
        ("mon 9am", paris(2026, 11, 30, 9, 0)),
        ("next mon", paris(2026, 11, 30, 0, 0)),
        ("wednesday at 3pm", paris(2026, 11, 25, 15, 0)),
        ("thurs 8:15", paris(2026, 11, 26, 8, 15)),
        ("sat 10:00", paris(2026, 11, 28, 10, 0)),
    ],
)
def test_weekdays(text, expected):
    assert parse_when(text, NOW, PARIS) == expected


def test_next_weekday_equals_bare_weekday():
    for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
        assert parse_when(f"next {day} 10:00", NOW, PARIS) == parse_when(f"{day} 10:00", NOW, PARIS)


def test_weekday_counts_from_the_local_day():
    late = utc(2026, 11, 24, 3, 0)  # Tuesday in UTC, still Monday evening in New York
    assert parse_when("tue", late, NEW_YORK) == utc(2026, 11, 24, 5, 0)
    assert parse_when("tue", late, UTC_ZONE) == utc(2026, 12, 1, 0, 0)


# --------------------------------------------------------------------------
# A time alone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15:00", paris(2026, 11, 23, 15, 0)),
        ("9:30pm", paris(2026, 11, 23, 21, 30)),
        ("9:30 PM", paris(2026, 11, 23, 21, 30)),
        ("7am", paris(2026, 11, 23, 7, 0)),
        ("at 15:00", paris(2026, 11, 23, 15, 0)),
        ("00:00", paris(2026, 11, 23, 0, 0)),
        ("23:59", paris(2026, 11, 23, 23, 59)),
        ("08:05", paris(2026, 11, 23, 8, 5)),
    ],
)
def test_time_alone_is_today(text, expected):
    assert parse_when(text, NOW, PARIS) == expected


# --------------------------------------------------------------------------
# Impossible dates and garbage


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2026-02-30", "day is out of range for month"),
        ("2026-13-01", "month must be in 1..12"),
        ("2026-00-10", "month must be in 1..12"),
        ("2026-02-29 10:00", "day is out of range for month"),
        ("25:00", "the hour must be 0-23"),
        ("24:00", "the hour must be 0-23"),
        ("tomorrow 25:00", "the hour must be 0-23"),
        ("2026-12-01T25:00", "the hour must be 0-23"),
        ("10:60", "the minutes must be 0-59"),
        ("10:30:61", "the seconds must be 0-59"),
        ("13pm", "the hour must be 1-12 with am/pm"),
        ("0am", "the hour must be 1-12 with am/pm"),
        ("+999999y", "out of range"),
    ],
)
def test_impossible_dates_say_why(text, reason):
    message = when_error(text)
    assert message.startswith(f"cannot read '{text}' as a date/time ({reason}): use e.g. ")


@pytest.mark.parametrize(
    "text",
    [
        "xyz",
        "soon",
        "next",
        "next week",
        "tomorrow 9",  # 09:00 or 21:00? not guessed
        "now 9:30",
        "9",
        "1530",
        "+3",
        "+3x",
        "3d",
        "in",
        "in 2",
        "in two weeks",
        "ago",
        "2 days",
        "2 days from now",
        "tomorrow tomorrow",
        "fri fri",
        "2026-12-01x15:00",
        "2026-12-01T15:00 +99:00",
        "2026-12",
        "12/01/2026",
        "1 December 2026",
        "2026-12-01 garbage",
        "friday the 13th",
        "+1d and some",
        "٣d",
        "+٣d",
        "tomorrow 9:3",
    ],
)
def test_garbage_is_refused_with_the_accepted_forms(text):
    message = when_error(text)
    assert message == (
        f"cannot read '{text}' as a date/time: use e.g. 2026-12-01 15:00, 2026-12-01T15:00Z, "
        "tomorrow 9:30, +3d, in 2 weeks, next tue 14:00"
    )


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_empty_input_is_an_error(text):
    assert when_error(text).startswith("a date/time is required: use e.g. 2026-12-01 15:00")


def test_error_messages_are_one_line_and_short():
    message = when_error("line one\nline two")
    assert "\n" not in message
    assert "'line one\\nline two'" in message
    message = when_error("x" * 500)
    assert len(message) < 200


# --------------------------------------------------------------------------
# Durations


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("45m", 45),
        ("45", 45),
        ("1h", 60),
        ("1h30m", 90),
        ("1h 30m", 90),
        ("1h30", 90),
        ("90min", 90),
        ("90 mins", 90),
        ("1:30", 90),
        ("0:45", 45),
        ("2 hours", 120),
        ("1 hour 15 minutes", 75),
        ("  2H  ", 120),
        ("1 hr", 60),
    ],
)
def test_durations(text, minutes):
    assert parse_duration(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "-45m", "-1h", "1:75", "1d", "2 weeks", "45s", "1.5h", "h", "m45", "1h30x"],
)
def test_bad_durations(text):
    with pytest.raises(WhenError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"cannot read '{text}' as a duration: use e.g. 45m, 1h, 1h30m"
    )


@pytest.mark.parametrize("text", ["0", "0m", "0h0m", "0:00"])
def test_zero_duration_is_refused(text):
    with pytest.raises(WhenError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        f"cannot read '{text}' as a duration (it must be longer than zero): "
        "use e.g. 45m, 1h, 1h30m"
    )


# --------------------------------------------------------------------------
# Due offsets for custom milestones


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 days", relativedelta(days=10)),
        ("2 weeks", relativedelta(weeks=2)),
        ("3 months", relativedelta(months=3)),
        ("1 year", relativedelta(years=1)),
        ("10d", relativedelta(days=10)),
        ("2w", relativedelta(weeks=2)),
        ("3mo", relativedelta(months=3)),
        ("1 day", relativedelta(days=1)),
        ("6 Weeks", relativedelta(weeks=6)),
        ("+2w", relativedelta(weeks=2)),
        ("1 month 2 weeks", relativedelta(months=1, weeks=2)),
    ],
)
def test_offsets(text, expected):
    assert parse_offset(text) == expected


def test_offset_applies_calendar_months():
    matched_at = datetime(2026, 1, 31, 9, 0)
    assert matched_at + parse_offset("1 month") == datetime(2026, 2, 28, 9, 0)


@pytest.mark.parametrize(
    "text", ["", "soon", "0 days", "0w", "-2 weeks", "-3d", "2 hours", "45m", "10", "2 fortnights"]
)
def test_bad_offsets(text):
    with pytest.raises(WhenError) as caught:
        parse_offset(text)
    assert str(caught.value) == (
        f"cannot read '{text}' as a due offset: use e.g. 10 days, 2 weeks, 3 months"
    )


# --------------------------------------------------------------------------
# Strict ISO 8601 for import files


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2026-12-01T15:00:00Z", PARIS, utc(2026, 12, 1, 15, 0)),
        ("2026-12-01T15:00:00.250000Z", PARIS, utc(2026, 12, 1, 15, 0, 0, 250000)),
        ("2026-12-01T15:00:00+02:00", NEW_YORK, utc(2026, 12, 1, 13, 0)),
        ("2026-12-01T15:00:00-05:00", PARIS, utc(2026, 12, 1, 20, 0)),
        ("2026-12-01T15:00:00", PARIS, utc(2026, 12, 1, 14, 0)),
        ("2026-12-01T15:00:00", NEW_YORK, utc(2026, 12, 1, 20, 0)),
        ("2026-12-01T15:00:00", UTC_ZONE, utc(2026, 12, 1, 15, 0)),
        ("2026-12-01 15:00", PARIS, utc(2026, 12, 1, 14, 0)),
        ("2026-12-01", PARIS, utc(2026, 11, 30, 23, 0)),
        (" 2026-12-01t15:00:00z ", PARIS, utc(2026, 12, 1, 15, 0)),
        ("2026-10-25T02:30:00+01:00", PARIS, utc(2026, 10, 25, 1, 30)),
    ],
)
def test_parse_iso(text, tz, expected):
    result = parse_iso(text, tz)
    assert result == expected
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    "text", ["", "tomorrow", "+3d", "2026-02-30T10:00:00Z", "2026-12-01T25:00Z", "12/01/2026", "x"]
)
def test_parse_iso_refuses_anything_else(text):
    with pytest.raises(WhenError) as caught:
        parse_iso(text, PARIS)
    assert str(caught.value) == f"'{text}' is not an ISO 8601 time (e.g. 2026-12-01T15:00:00Z)"


def test_parse_iso_refuses_non_strings():
    with pytest.raises(WhenError, match="is not an ISO 8601 time"):
        parse_iso(None, PARIS)  # type: ignore[arg-type]


def test_parse_iso_out_of_range():
    with pytest.raises(WhenError, match="out of range"):
        parse_iso("0001-01-01T00:00:00+01:00", PARIS)


def test_parse_iso_checks_dst_for_naive_times():
    with pytest.raises(WhenError, match="does not exist in Europe/Paris"):
        parse_iso("2026-03-29T02:30:00", PARIS)
    with pytest.raises(WhenError, match="is ambiguous in Europe/Paris"):
        parse_iso("2026-10-25T02:30:00", PARIS)


# --------------------------------------------------------------------------
# Zones and rendering


def test_local_zone_by_name():
    assert local_zone("Europe/Paris") == PARIS
    assert local_zone(" America/New_York ") == NEW_YORK


@pytest.mark.parametrize("name", [None, "", "  "])
def test_local_zone_defaults_to_the_system_zone(name):
    zone = local_zone(name)
    # Whatever the machine's zone, it must convert both ways.
    assert parse_when("2026-12-01 12:00", NOW, zone).tzinfo is UTC


@pytest.mark.parametrize(
    "name", ["Mars/Olympus", "Europe", "../etc/passwd", "/etc/localtime", "CET\0"]
)
def test_unknown_zone(name):
    with pytest.raises(WhenError) as caught:
        local_zone(name)
    message = str(caught.value)
    assert message.startswith("unknown time zone ")
    assert message.endswith(": use an IANA name such as Europe/Paris")
    assert "\n" not in message


def test_to_local_and_format_local():
    moment = utc(2026, 12, 1, 14, 0)
    assert to_local(moment, PARIS) == datetime(2026, 12, 1, 15, 0, tzinfo=PARIS)
    assert to_local(moment, PARIS).utcoffset() == timedelta(hours=1)
    # Every time shown to a person names its zone: the abbreviation, else the offset.
    assert format_local(moment, PARIS) == "2026-12-01 15:00 CET"
    assert format_local(moment, NEW_YORK) == "2026-12-01 09:00 EST"
    assert format_local(utc(2026, 7, 1, 14, 0), PARIS) == "2026-07-01 16:00 CEST"
    assert format_local(moment, timezone.utc) == "2026-12-01 14:00 UTC"
    assert format_local(moment, ZoneInfo("UTC")) == "2026-12-01 14:00 UTC"
    assert format_local(moment, ZoneInfo("Asia/Dubai")) == "2026-12-01 18:00 UTC+04:00"
    assert format_local(moment, timezone(timedelta(hours=-3, minutes=-30))) == "2026-12-01 10:30 UTC-03:30"
    assert format_local(None, PARIS) == ""


def test_naive_datetimes_are_taken_as_utc_when_rendering():
    naive = datetime(2026, 12, 1, 14, 0)  # as SQLite hands stored times back
    assert format_local(naive, PARIS) == "2026-12-01 15:00 CET"
    assert isoformat_utc(naive) == "2026-12-01T14:00:00Z"


def test_isoformat_utc():
    assert isoformat_utc(utc(2026, 12, 1, 14, 0)) == "2026-12-01T14:00:00Z"
    assert isoformat_utc(datetime(2026, 12, 1, 15, 0, tzinfo=PARIS)) == "2026-12-01T14:00:00Z"
    assert isoformat_utc(utc(2026, 12, 1, 14, 0, 5, 123000)) == "2026-12-01T14:00:05.123000Z"
    assert isoformat_utc(None) is None


# --------------------------------------------------------------------------
# Properties

ZONES = st.sampled_from([PARIS, NEW_YORK, UTC_ZONE, ZoneInfo("Australia/Lord_Howe")])
# 1996 on: Paris and New York have changed clocks at 02:00 local ever since.
MOMENTS = st.datetimes(
    min_value=datetime(1996, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(moment=st.datetimes(timezones=st.just(UTC)), zone=ZONES)
def test_isoformat_utc_round_trips_through_parse_iso(moment, zone):
    text = isoformat_utc(moment)
    assert text.endswith("Z")
    assert parse_iso(text, zone) == moment
    whole = moment.replace(microsecond=0)
    assert "." not in isoformat_utc(whole)
    assert parse_iso(isoformat_utc(whole), zone) == whole


@given(
    now=MOMENTS,
    days=st.integers(min_value=0, max_value=3650),
    zone=st.sampled_from([PARIS, NEW_YORK]),
)
def test_plus_days_keeps_the_local_wall_clock(now, days, zone):
    local_now = to_local(now, zone)
    assume(local_now.hour != 2)  # 02:xx may fall in a spring-forward gap
    result = to_local(parse_when(f"+{days}d", now, zone), zone)
    assert (result.hour, result.minute, result.second) == (
        local_now.hour,
        local_now.minute,
        local_now.second,
    )
    assert result.date() == local_now.date() + timedelta(days=days)


@given(now=MOMENTS, days=st.integers(min_value=0, max_value=3650))
def test_plus_days_in_utc_is_exact(now, days):
    assert parse_when(f"+{days}d", now, UTC_ZONE) - now == timedelta(days=days)
    assert parse_when(f"{days} days ago", now, UTC_ZONE) - now == timedelta(days=-days)


@given(now=MOMENTS, minutes=st.integers(min_value=0, max_value=100_000), zone=ZONES)
def test_minute_offsets_are_exact_elapsed_time(now, minutes, zone):
    assert parse_when(f"+{minutes}m", now, zone) - now == timedelta(minutes=minutes)
    assert parse_when(f"in {minutes} minutes", now, zone) - now == timedelta(minutes=minutes)


@given(moment=MOMENTS, zone=ZONES)
def test_format_local_reads_back_unless_ambiguous(moment, zone):
    text, abbreviation = format_local(moment, zone).rsplit(" ", 1)
    assert abbreviation == to_local(moment, zone).tzname() or abbreviation.startswith("UTC")
    try:
        result = parse_when(text, NOW, zone)
    except WhenError as error:
        # A fall-back hour prints the same wall time twice; parse_when asks.
        assert "is ambiguous" in str(error)
        assert to_local(moment, zone).replace(fold=1).utcoffset() != to_local(
            moment, zone
        ).replace(fold=0).utcoffset()
    else:
        assert result == moment.replace(second=0, microsecond=0)


@given(text=st.text(max_size=40), zone=ZONES)
def test_parse_when_returns_utc_or_raises_when_error(text, zone):
    try:
        result = parse_when(text, NOW, zone)
    except WhenError as error:
        assert "\n" not in str(error)
    else:
        assert result.tzinfo is UTC


@given(
    text=st.text(alphabet="0123456789+-: .hmdwoyinagtuesfrTZ", max_size=25),
    zone=ZONES,
)
def test_parse_when_on_near_miss_text(text, zone):
    try:
        result = parse_when(text, NOW, zone)
    except WhenError as error:
        assert "\n" not in str(error)
    else:
        assert result.tzinfo is UTC


@given(text=st.text(max_size=30))
def test_duration_and_offset_parsers_only_raise_when_error(text):
    for parse in (parse_duration, parse_offset):
        try:
            result = parse(text)
        except WhenError as error:
            assert "\n" not in str(error)
        else:
            assert result  # never zero


# --- series of meetings, spans -------------------------------------------------------------

from mloop.timeparse import MAX_SERIES, parse_every, parse_span, series_starts  # noqa: E402


def test_a_weekly_series_keeps_its_wall_clock_time_across_both_dst_changes():
    first = datetime(2026, 3, 16, 9, 0, tzinfo=PARIS)
    starts = series_starts(first, parse_every("1w"), PARIS, count=34)
    assert {s.astimezone(PARIS).strftime("%a %H:%M") for s in starts} == {"Mon 09:00"}
    offsets = [s.astimezone(PARIS).utcoffset() for s in starts]
    assert offsets[1] == timedelta(hours=1) and offsets[2] == timedelta(hours=2) and offsets[-1] == timedelta(hours=1)
    # The week across the change lasts 167 hours.
    assert starts[2] - starts[1] == timedelta(hours=167)


def test_a_series_time_skipped_by_dst_moves_forward_by_the_jump():
    first = datetime(2026, 3, 1, 2, 30, tzinfo=NEW_YORK)  # 8 March 02:30 does not exist in New York
    starts = series_starts(first, parse_every("1w"), NEW_YORK, count=3)
    assert [s.astimezone(NEW_YORK).strftime("%m-%d %H:%M") for s in starts] == ["03-01 02:30", "03-08 03:30", "03-15 02:30"]


def test_monthly_series_from_a_month_end_clip_each_month_from_the_first():
    starts = series_starts(datetime(2026, 1, 31, 10, tzinfo=UTC), parse_every("1 month"), UTC_ZONE, count=4)
    assert [s.date().isoformat() for s in starts] == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30"]


def test_series_until_is_inclusive_and_the_length_is_capped():
    first = datetime(2026, 3, 2, 9, tzinfo=UTC)
    assert len(series_starts(first, parse_every("1d"), UTC, until=first + timedelta(days=3))) == 4
    assert len(series_starts(first, parse_every("1d"), UTC, count=MAX_SERIES)) == MAX_SERIES
    with pytest.raises(WhenError, match="more than 200 meetings"):
        series_starts(first, parse_every("1d"), UTC, until=first + timedelta(days=MAX_SERIES))
    for kwargs in ({}, {"count": 2, "until": first}):
        with pytest.raises(WhenError, match="--count N or --until WHEN"):
            series_starts(first, parse_every("1d"), UTC, **kwargs)


@given(
    first=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0, tzinfo=PARIS)),
    weeks=st.integers(1, 4), count=st.integers(1, 60),
)
def test_property_a_series_keeps_its_step_and_time_of_day(first, weeks, count):
    assume(first.astimezone(UTC).astimezone(PARIS).replace(tzinfo=None) == first.replace(tzinfo=None))  # a real wall time
    starts = series_starts(first.astimezone(UTC), relativedelta(weeks=weeks), PARIS, count=count)
    assert len(starts) == count and starts == sorted(starts)
    for n, start in enumerate(starts):
        wall = start.astimezone(PARIS).replace(tzinfo=None)
        expected = first.replace(tzinfo=None) + relativedelta(weeks=weeks * n)
        # Equal, or moved forward by the jump when DST skipped that wall time.
        assert timedelta(0) <= wall - expected <= timedelta(hours=1)


@pytest.mark.parametrize("text, expected", [
    ("2d", timedelta(days=2)), ("36h", timedelta(hours=36)), ("1w", timedelta(weeks=1)),
    ("1d12h", timedelta(days=1, hours=12)), ("2 days", timedelta(days=2)), ("+90m", timedelta(minutes=90)),
])
def test_parse_span(text, expected):
    assert parse_span(text) == expected


@pytest.mark.parametrize("text", ["", "0d", "1 month", "2y", "soon", "-2d"])
def test_parse_span_refuses(text):
    with pytest.raises(WhenError, match="as a time span: use e.g. 2d, 36h, 1w"):
        parse_span(text)


def test_parse_every_names_what_it_reads():
    assert parse_every("2w") == relativedelta(weeks=2)
    with pytest.raises(WhenError, match="cannot read 'fortnightly' as a repeat interval: use e.g. 1w, 2w"):
        parse_every("fortnightly")
