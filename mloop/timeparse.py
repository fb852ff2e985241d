"""Reading and writing times at the edge of mloop.

Every date/time argument goes through `parse_when()`; meeting durations,
milestone due offsets and import-file timestamps have their own small parsers.
Nothing here reads the clock: callers pass `now` (an aware UTC datetime) and
the display zone `tz`. Every datetime returned is aware and in UTC, the form
mloop stores; `to_local()`/`format_local()` convert back only for rendering.

Wall-clock times the user typed are checked against DST changes: a time that
does not exist (clocks jump forward) or happens twice (clocks fall back) is an
error, because silently picking one would book a meeting an hour off. Times
derived here instead ("tomorrow" meaning its midnight, "+1d" keeping the
current wall-clock time) are resolved quietly: a skipped time moves forward by
the size of the jump, a repeated one takes its first occurrence.

Only the standard library is imported at module load; zoneinfo and dateutil
are imported inside the functions that need them, so importing this module
costs nothing noticeable at CLI start-up.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dateutil.relativedelta import relativedelta

__all__ = [
    "WhenError",
    "format_local",
    "isoformat_utc",
    "local_zone",
    "parse_duration",
    "parse_iso",
    "parse_every",
    "parse_offset",
    "parse_span",
    "parse_when",
    "series_starts",
    "to_local",
]

UTC = timezone.utc

WHEN_EXAMPLES = (
    "2026-12-01 15:00, 2026-12-01T15:00Z, tomorrow 9:30, +3d, in 2 weeks, next tue 14:00"
)
DURATION_EXAMPLES = "45m, 1h, 1h30m"
OFFSET_EXAMPLES = "10 days, 2 weeks, 3 months"
EVERY_EXAMPLES = "1w, 2w, 1 month, 7d"
SPAN_EXAMPLES = "2d, 36h, 1w"
MAX_SERIES = 200  # meetings one recurring booking may make
ISO_EXAMPLE = "2026-12-01T15:00:00Z"


class WhenError(ValueError):
    """Raised for input parse_when/parse_duration cannot read; str(e) is ONE line
    that says what was wrong and lists accepted forms."""


class _Unreadable(Exception):
    """Internal: the input has a recognisable form but a bad part (e.g. '25:00').

    Carries the reason; the public parser turns it into a WhenError that also
    quotes the input and lists the accepted forms.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


# --------------------------------------------------------------------------
# Vocabulary shared by the parsers

_UNIT_WORDS = {
    "minutes": ("m", "min", "mins", "minute", "minutes"),
    "hours": ("h", "hr", "hrs", "hour", "hours"),
    "days": ("d", "day", "days"),
    "weeks": ("w", "wk", "wks", "week", "weeks"),
    "months": ("mo", "mos", "month", "months"),
    "years": ("y", "yr", "yrs", "year", "years"),
}
_UNITS = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
# Calendar units move the local wall clock; the others are elapsed time.
_CALENDAR_UNITS = frozenset({"years", "months", "weeks", "days"})
_ELAPSED_UNITS = frozenset({"hours", "minutes"})

_WEEKDAY_NAMES = (
    ("mon", "monday"),
    ("tue", "tues", "tuesday"),
    ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"),
    ("fri", "friday"),
    ("sat", "saturday"),
    ("sun", "sunday"),
)
_WEEKDAYS = {name: index for index, names in enumerate(_WEEKDAY_NAMES) for name in names}

_DAY_WORD_OFFSETS = {"today": 0, "tomorrow": 1, "yesterday": -1}

# All patterns run on normalised input: lower case, single spaces, stripped.
# They are plain strings compiled on first use (re caches them), so importing
# this module compiles nothing. re.ASCII (see _fullmatch) keeps \d to 0-9, so
# no Arabic-Indic digits sneak into int(); amounts are capped at 6 digits so
# int() and date arithmetic stay sane.
_TIME = (
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?"
    r"(?: ?(?P<meridiem>am|pm))?"
)
_AMOUNTS = r"(?:\d{1,6} ?[a-z]+ ?)+"
_AMOUNT = r"(\d{1,6}) ?([a-z]+)"
_DAY_WORD = rf"(?P<word>now|today|tomorrow|yesterday)(?: (?:at )?{_TIME})?"
_WEEKDAY = rf"(?:next )?(?P<weekday>[a-z]+)(?: (?:at )?{_TIME})?"
_TIME_ALONE = rf"(?:at )?{_TIME}"
_ISO_DATE_FIRST = r"(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})(?:[t ](?P<rest>.+))?"
_SIGNED = r"(?P<sign>[+-]) ?(?P<body>.+)"
_IN = r"in (?P<body>.+)"
_AGO = r"(?P<body>.+) ago"
_BARE_MINUTES = r"\d{1,6}"
_CLOCK_DURATION = r"(\d{1,4}):(\d{2})"
_HOURS_THEN_MINUTES = r"(\d{1,4}) ?(?:h|hr|hrs|hours?) ?(\d{1,2})"


def _fullmatch(pattern: str, text: str) -> re.Match[str] | None:
    return re.fullmatch(pattern, text, re.ASCII)


# --------------------------------------------------------------------------
# Zones


def local_zone(tz_name: str | None = None) -> tzinfo:
    """The zone used to read and show wall-clock times.

    `tz_name` is an IANA name (from MLOOP_TZ or --tz); None or blank means the
    system's local zone. An unknown name raises WhenError.
    """
    if tz_name is None or not tz_name.strip():
        from dateutil.tz import tzlocal

        return tzlocal()
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = tz_name.strip()
    try:
        return ZoneInfo(name)
    # ValueError/OSError: malformed keys such as "../x", "/etc", "Europe/".
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise WhenError(
            f"unknown time zone {_shown(name)}: use an IANA name such as Europe/Paris"
        ) from None


# --------------------------------------------------------------------------
# parse_when


def parse_when(text: str, now: datetime, tz: tzinfo) -> datetime:
    """Read a WHEN argument; return an aware UTC datetime.

    Accepts ISO 8601 ("2026-12-01", "2026-12-01 15:00", "2026-12-01T15:00Z",
    "...+02:00"), now/today/tomorrow/yesterday with an optional time, relative
    offsets ("+3d", "-2d", "+1h30m", "in 2 weeks", "2 days ago"), weekdays
    ("fri", "next tue 14:00": the next such day strictly after today) and a
    time alone ("15:00", "9:30pm": today). Input without an offset is local
    time in `tz`. Raises WhenError for anything else.
    """
    now = _as_utc(now)
    normal = _normalize(text)
    if not normal:
        raise WhenError(f"a date/time is required: use e.g. {WHEN_EXAMPLES}")
    try:
        found = _read_when(normal, now, tz)
    except _Unreadable as problem:
        raise _when_error(text, problem.reason) from None
    except WhenError:
        raise
    # Far-off dates ("+999999y", "tomorrow" on 9999-12-31) overflow datetime.
    except (OverflowError, ValueError):
        raise _when_error(text, "out of range") from None
    if found is None:
        raise _when_error(text)
    return found


def _read_when(normal: str, now: datetime, tz: tzinfo) -> datetime | None:
    """Try each accepted form in turn; None when none fits."""
    if normal[0].isdigit():
        found = _read_iso_when(normal, tz)
        if found is not None:
            return found

    if match := _fullmatch(_SIGNED, normal):
        return _shift(now, tz, match["body"], -1 if match["sign"] == "-" else 1)
    if match := _fullmatch(_IN, normal):
        return _shift(now, tz, match["body"], 1)
    if match := _fullmatch(_AGO, normal):
        return _shift(now, tz, match["body"], -1)

    today = now.astimezone(tz).date()
    if match := _fullmatch(_DAY_WORD, normal):
        if match["word"] == "now":
            # "now 9:30" has no sensible meaning: reject rather than guess.
            return now if match["hour"] is None else None
        return _at(today + timedelta(days=_DAY_WORD_OFFSETS[match["word"]]), match, tz)
    if (match := _fullmatch(_WEEKDAY, normal)) and match["weekday"] in _WEEKDAYS:
        # 1..7 days ahead: "fri" on a Friday means next week's Friday.
        days_ahead = (_WEEKDAYS[match["weekday"]] - today.weekday() - 1) % 7 + 1
        return _at(today + timedelta(days=days_ahead), match, tz)
    if match := _fullmatch(_TIME_ALONE, normal):
        clock = _clock(match)
        if clock is not None:
            return _local_to_utc(datetime.combine(today, clock), tz, strict=True)
    return None


def _read_iso_when(normal: str, tz: tzinfo) -> datetime | None:
    """ISO 8601, plus an ISO date followed by an everyday time ("2026-12-01 9pm")."""
    # fromisoformat takes any character between date and time; only T and a
    # space are ISO, so "2026-12-01x15:00" is not let through.
    if len(normal) <= 10 or normal[10] in "t ":
        try:
            parsed = datetime.fromisoformat(normal.upper())
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is not None:
                return parsed.astimezone(UTC)
            # A date alone is the start of that local day, not a typed time.
            return _local_to_utc(parsed, tz, strict=len(normal) > 10)

    match = _fullmatch(_ISO_DATE_FIRST, normal)
    if match is None:
        return None
    try:
        day = date(int(match["year"]), int(match["month"]), int(match["day"]))
    except ValueError as exc:  # "day is out of range for month", "month must be in 1..12"
        raise _Unreadable(str(exc)) from None
    if match["rest"] is None:
        return None
    clock_match = _fullmatch(_TIME_ALONE, match["rest"])
    clock = _clock(clock_match) if clock_match else None
    if clock is None:
        return None
    return _local_to_utc(datetime.combine(day, clock), tz, strict=True)


def _at(day: date, match: re.Match[str], tz: tzinfo) -> datetime | None:
    """`day` at the time captured in `match`, or at its local midnight."""
    if match["hour"] is None:
        return _local_to_utc(datetime.combine(day, time()), tz, strict=False)
    clock = _clock(match)
    if clock is None:
        return None
    return _local_to_utc(datetime.combine(day, clock), tz, strict=True)


def _clock(match: re.Match[str]) -> time | None:
    """The time of day in a _TIME match; None for a bare hour such as '9'."""
    meridiem = match["meridiem"]
    if match["minute"] is None and meridiem is None:
        # "tomorrow 9" could be 09:00 or 21:00; ask for 9:00 or 9am instead.
        return None
    hour = int(match["hour"])
    minute = int(match["minute"] or 0)
    second = int(match["second"] or 0)
    if meridiem:
        if not 1 <= hour <= 12:
            raise _Unreadable("the hour must be 1-12 with am/pm")
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif hour > 23:
        raise _Unreadable("the hour must be 0-23")
    if minute > 59:
        raise _Unreadable("the minutes must be 0-59")
    if second > 59:
        raise _Unreadable("the seconds must be 0-59")
    return time(hour, minute, second)


def _shift(now: datetime, tz: tzinfo, body: str, sign: int) -> datetime | None:
    """now moved by the amounts in `body` ("3d", "1h30m", "2 weeks"), or None."""
    amounts = _amounts(body)
    if amounts is None:
        return None
    moved = now
    calendar = {unit: sign * n for unit, n in amounts.items() if unit in _CALENDAR_UNITS}
    if any(calendar.values()):
        from dateutil.relativedelta import relativedelta

        # Days and months move the local calendar, so "+1d" across a DST change
        # keeps the wall-clock hour (23 or 25 hours of elapsed time).
        wall = now.astimezone(tz).replace(tzinfo=None) + relativedelta(**calendar)
        moved = _local_to_utc(wall, tz, strict=False)
    elapsed = {unit: sign * n for unit, n in amounts.items() if unit in _ELAPSED_UNITS}
    return moved + timedelta(**elapsed)


def _amounts(body: str) -> dict[str, int] | None:
    """'1h30m' or '2 weeks 3 days' -> {unit: total}; None if not of that shape."""
    if not _fullmatch(_AMOUNTS, body):
        return None
    totals: dict[str, int] = {}
    for number, word in re.findall(_AMOUNT, body, re.ASCII):
        unit = _UNITS.get(word)
        if unit is None:
            return None
        totals[unit] = totals.get(unit, 0) + int(number)
    return totals


# --------------------------------------------------------------------------
# Local wall clock -> UTC, with DST checks


def _local_to_utc(wall: datetime, tz: tzinfo, *, strict: bool) -> datetime:
    """Naive local `wall` in `tz` -> aware UTC.

    strict: a wall time the user typed; one that falls in a DST gap or overlap
    raises WhenError. Otherwise (derived times) a gap time moves forward by
    the size of the jump and an overlap time takes its first occurrence.
    """
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    # A wall time exists iff it survives the round trip through UTC.
    if first.astimezone(tz).replace(tzinfo=None) != wall:
        if strict:
            raise WhenError(
                f"{_wall_text(wall)} does not exist in {_zone_name(tz)} "
                "(clocks jump forward): pick another time"
            )
        # Measure the jump a day either side rather than trusting fold=0 in a
        # gap: dateutil's tzlocal does not follow PEP 495 there (zoneinfo does).
        day = timedelta(days=1)
        before = (wall - day).replace(tzinfo=tz).utcoffset()
        after = (wall + day).replace(tzinfo=tz).utcoffset()
        return (wall + (after - before)).replace(tzinfo=tz).astimezone(UTC)
    if strict:
        # In an overlap fold=0 and fold=1 name two different instants.
        second = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
        if second != first:
            iso_wall = wall.isoformat(timespec="minutes" if not wall.second else "seconds")
            raise WhenError(
                f"{_wall_text(wall)} is ambiguous in {_zone_name(tz)} "
                "(clocks fall back, so it happens twice): add an offset, e.g. "
                f"{iso_wall}{_offset_text(first.astimezone(tz).utcoffset())} or "
                f"{iso_wall}{_offset_text(second.astimezone(tz).utcoffset())}"
            )
    return first


def _zone_name(tz: tzinfo) -> str:
    key = getattr(tz, "key", None)  # zoneinfo.ZoneInfo
    if key:
        return key
    if isinstance(tz, timezone):
        return str(tz)
    return "the local time zone"


def _wall_text(wall: datetime) -> str:
    text = f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d} {wall.hour:02d}:{wall.minute:02d}"
    return f"{text}:{wall.second:02d}" if wall.second else text


def _offset_text(offset: timedelta | None) -> str:
    minutes = int((offset or timedelta()).total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


# --------------------------------------------------------------------------
# Durations and offsets


def parse_duration(text: str) -> timedelta:
    """A meeting length: "45m", "45" (minutes), "1h", "1h30m", "1h30",
    "90min", "1:30", "2 hours". Zero, negative or unreadable -> WhenError."""
    normal = _normalize(text)
    minutes: int | None = None
    if _fullmatch(_BARE_MINUTES, normal):
        minutes = int(normal)
    elif match := _fullmatch(_CLOCK_DURATION, normal):
        if int(match[2]) < 60:
            minutes = int(match[1]) * 60 + int(match[2])
    elif match := _fullmatch(_HOURS_THEN_MINUTES, normal):
        if int(match[2]) < 60:
            minutes = int(match[1]) * 60 + int(match[2])
    else:
        amounts = _amounts(normal)
        if amounts is not None and amounts.keys() <= _ELAPSED_UNITS:
            minutes = amounts.get("hours", 0) * 60 + amounts.get("minutes", 0)
    if minutes == 0:
        raise WhenError(
            f"cannot read {_shown(text)} as a duration (it must be longer than zero): "
            f"use e.g. {DURATION_EXAMPLES}"
        )
    if minutes is None:
        raise WhenError(f"cannot read {_shown(text)} as a duration: use e.g. {DURATION_EXAMPLES}")
    return timedelta(minutes=minutes)


def parse_offset(text: str, *, what: str = "a due offset", examples: str = OFFSET_EXAMPLES) -> relativedelta:
    """A custom milestone's due offset: "10 days", "2 weeks", "3 months",
    "1 year", "10d", "2w", "3mo" (or a sum, "1 month 2 weeks") ->
    relativedelta. Zero, negative or unreadable -> WhenError."""
    normal = _normalize(text)
    if normal.startswith("+"):
        normal = normal[1:].lstrip()
    amounts = _amounts(normal)
    if amounts is None or not amounts.keys() <= _CALENDAR_UNITS or not any(amounts.values()):
        raise WhenError(f"cannot read {_shown(text)} as {what}: use e.g. {examples}")
    from dateutil.relativedelta import relativedelta

    return relativedelta(**amounts)


def parse_span(text: str) -> timedelta:
    """A stretch of time ahead: "2d", "36h", "1w", "1d12h", "2 days".
    Months and years have no fixed length and are refused; zero or
    unreadable -> WhenError."""
    amounts = _amounts(_normalize(text).lstrip("+").lstrip())
    if amounts is None or "months" in amounts or "years" in amounts or not any(amounts.values()):
        raise WhenError(f"cannot read {_shown(text)} as a time span: use e.g. {SPAN_EXAMPLES}")
    return timedelta(**amounts)


def parse_every(text: str) -> relativedelta:
    """How often a series of meetings repeats: "1w", "2w", "1 month", "7d"."""
    return parse_offset(text, what="a repeat interval", examples=EVERY_EXAMPLES)


def series_starts(
    first: datetime, every: relativedelta, tz: tzinfo, *, count: int | None = None, until: datetime | None = None,
) -> list[datetime]:
    """The starts of a recurring series, aware UTC: ``first``, then every
    ``every`` on the local calendar of ``tz``, ``count`` of them or up to and
    including ``until``.

    Each start keeps ``first``'s local wall-clock time, so a weekly 09:00
    meeting stays at 09:00 across a daylight-saving change (one week is then
    167 or 169 hours); each is ``first`` plus n steps, so a monthly series
    from 31 January meets on 28 February, then 31 March.  A wall time that a
    DST jump skips moves forward by the jump.  More than MAX_SERIES meetings
    -> WhenError.
    """
    if (count is None) == (until is None):
        raise WhenError("say how long the series runs: --count N or --until WHEN")
    if count is not None and not 1 <= count <= MAX_SERIES:
        raise WhenError(f"--count {count} is out of range: a series has 1 to {MAX_SERIES} meetings")
    if until is not None and until < first:
        raise WhenError("--until is before the first meeting: give a later end")
    wall = first.astimezone(tz).replace(tzinfo=None)
    starts: list[datetime] = []
    for step in range(MAX_SERIES + 1):
        start = first if step == 0 else _local_to_utc(wall + every * step, tz, strict=False)
        if (count is not None and step == count) or (until is not None and start > until):
            return starts
        starts.append(start)
    raise WhenError(f"that series would have more than {MAX_SERIES} meetings: end it sooner with --until or --count")


# --------------------------------------------------------------------------
# Strict ISO 8601 (import files)


def parse_iso(text: str, tz: tzinfo) -> datetime:
    """Strict ISO 8601 -> aware UTC. With Z or an offset it is taken as given;
    without, it is local time in `tz` (a date alone: local midnight).

    Hot path of `mloop import` (called about a million times on a large file):
    one fromisoformat() call for well-formed input, retries only on failure.
    """
    try:
        parsed = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        parsed = _retry_iso(text)
    try:
        if parsed.tzinfo is None:
            # A date alone is a derived midnight; a typed time must exist and be unique.
            return _local_to_utc(parsed, tz, strict=len(text.strip()) > 10)
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before datetime.min in UTC
        raise WhenError(
            f"{_shown(text)} is out of range: use a time such as {ISO_EXAMPLE}"
        ) from None


def _retry_iso(text: str) -> datetime:
    """Second chance for parse_iso: surrounding spaces, lower-case 't'/'z'."""
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.strip().upper())
        except ValueError:
            pass
    raise WhenError(f"{_shown(text)} is not an ISO 8601 time (e.g. {ISO_EXAMPLE})")


# --------------------------------------------------------------------------
# Rendering


def to_local(dt: datetime, tz: tzinfo) -> datetime:
    """Aware UTC -> aware local time in `tz`, for rendering.

    A naive `dt` is taken as UTC: that is how SQLite hands stored times back.
    """
    return _as_utc(dt).astimezone(tz)


def format_local(dt: datetime | None, tz: tzinfo) -> str:
    """'2026-12-01 15:00 CET': the time people read, in `tz` and naming it
    (the zone's abbreviation, else its UTC offset); '' for None.

    Every time shown to a person goes through here, so that nobody has to
    guess whether "15:00" meant their clock or UTC.
    """
    if dt is None:
        return ""
    local = to_local(dt, tz)
    # Not strftime: glibc's %Y does not zero-pad years below 1000.
    return (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} "
        f"{local.hour:02d}:{local.minute:02d} {_zone_abbreviation(local)}"
    )


def _zone_abbreviation(local: datetime) -> str:
    """'CET', 'EST', 'UTC'; a zone without one shows its offset ('UTC+05:30')."""
    name = local.tzname()
    if name and " " not in name and not name.startswith(("+", "-")):
        return name
    return "UTC" + _offset_text(local.utcoffset())


def isoformat_utc(dt: datetime | None) -> str | None:
    """'2026-12-01T14:00:00Z' (microseconds only when non-zero); None -> None.

    A naive `dt` is taken as UTC. The output round-trips through parse_iso.
    """
    if dt is None:
        return None
    if dt.tzinfo is UTC:  # the common case, and the fast one (no .replace)
        return dt.isoformat()[:-6] + "Z"
    return _as_utc(dt).replace(tzinfo=None).isoformat() + "Z"


# --------------------------------------------------------------------------
# Small helpers


def _as_utc(dt: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (never local)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def _normalize(text: str) -> str:
    return " ".join(text.split()).lower()


def _shown(text: object) -> str:
    """The user's input quoted for an error message, kept to one short line."""
    shown = str(text).strip()
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"'{shown}'" if shown.isprintable() else repr(shown)


def _when_error(text: str, reason: str | None = None) -> WhenError:
    why = f" ({reason})" if reason else ""
    return WhenError(f"cannot read {_shown(text)} as a date/time{why}: use e.g. {WHEN_EXAMPLES}")
