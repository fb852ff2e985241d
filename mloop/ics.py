"""Reading and writing iCalendar (RFC 5545) files of mentoring meetings.

`write_calendar()` turns meetings into a calendar that Google Calendar,
Outlook, Apple Calendar and Thunderbird import. `read_calendar()` reads what
those clients export and returns the timed occurrences that start in a window,
recurring series expanded and every time converted to aware UTC.

The module is pure: the stamp, the window and the local zone are passed in;
nothing here reads the clock, prints or touches the store. icalendar,
dateutil and zoneinfo are imported inside the functions that use them, so
importing this module at CLI start-up costs nothing noticeable.

Choices a caller may want to know:

- Exported attendees carry PARTSTAT=ACCEPTED: a meeting is in mloop because
  the pair agreed on it, and NEEDS-ACTION would make Thunderbird and Apple
  Calendar offer accept/decline buttons on a published (not invited) event.
- Exported times are UTC (``...Z``) without microseconds. Exported text is
  escaped here (see `_Text`), with CR and CRLF made line breaks and other
  control characters dropped, as RFC 5545 TEXT may not contain them.
- An imported event with neither DTEND nor DURATION lasts `DEFAULT_DURATION`
  (45 minutes, a usual mentoring meeting); an override without an end keeps
  the length of its series. So does a zero-length event (DTEND equal to
  DTSTART, as Google Calendar writes for a reminder-like entry), and the
  read lists it so the person hears about it.
- Only a file that cannot be read at all raises BadFile (not a calendar,
  broken lines or nesting, unparseable). One odd event (no DTSTART, an
  unreadable time or rule, an unknown zone, an end before its start) is
  skipped with its reason and the others are kept.
- A TZID is resolved from the file's own VTIMEZONE, else as an IANA name,
  else as a Windows name (Outlook). Times without a zone are in the caller's
  local zone; times with ``Z`` are UTC.
- Series are expanded in the event's wall-clock time, so a 09:00 meeting
  stays at 09:00 across DST changes. DTSTART always counts as an occurrence;
  an UNTIL given as a date includes that whole day. Only DAILY, WEEKLY,
  MONTHLY and YEARLY rules are accepted, and a series may generate at most
  `MAX_GENERATED` occurrences up to the end of the window (more skips it).
- Work is bounded per file (callers refuse a file over `MAX_FILE_BYTES`
  before reading it): `read_calendar()` counts the occurrences it keeps
  (one-off events, series' occurrences in the window, moved ones, cancelled
  ones too) and raises `TooManyOccurrences` as soon as the count passes
  `max_occurrences` (default `MAX_OCCURRENCES`), before expanding further;
  and all series of a file together may generate at most
  `MAX_GENERATED_PER_FILE` occurrences (counting those before the window),
  else `TooManyOccurrences` too. So a small file of huge series costs
  a bounded time and memory.
- A cancelled series (STATUS:CANCELLED on its master, or METHOD:CANCEL on the
  calendar) cancels all its occurrences, overridden ones too. An override
  without SUMMARY, DESCRIPTION or LOCATION takes its series' value.
- When a UID (with the same RECURRENCE-ID) appears twice, the copy with the
  higher SEQUENCE wins, the later one on a tie.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any

from mloop.errors import BadFile

__all__ = [
    "DEFAULT_DURATION",
    "MAX_GENERATED",
    "MAX_FILE_BYTES",
    "MAX_GENERATED_PER_FILE",
    "MAX_OCCURRENCES",
    "PRODID",
    "CalendarOccurrence",
    "CalendarRead",
    "ExportEvent",
    "SkippedEvent",
    "TooManyOccurrences",
    "describe_event",
    "read_calendar",
    "write_calendar",
]

UTC = timezone.utc
PRODID = "-//mloop//mloop//EN"
DEFAULT_DURATION = timedelta(minutes=45)
MAX_GENERATED = 100_000
# About half a second of dateutil's expansion: the most one file may make it do.
MAX_GENERATED_PER_FILE = 150_000
MAX_OCCURRENCES = 5_000
# Reading 10 MB of iCalendar takes icalendar ~6 s and ~180 MB; 5,000 meetings fit in far less.
MAX_FILE_BYTES = 10_000_000
_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# RFC 5545 TEXT allows HTAB but no other control character (line breaks are escaped).
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CONTENT_LINE_START = re.compile(r"[A-Za-z0-9-]+[;:]")
# No UTC offset exceeds a day, so a wall-clock time this far before the window is outside it.
_WALL_CLOCK_MARGIN = timedelta(days=2)


@dataclass(frozen=True)
class ExportEvent:
    """One meeting to export; all datetimes must be timezone-aware."""

    uid: str
    sequence: int
    start: datetime
    end: datetime
    summary: str
    description: str | None
    location: str | None
    organizer: tuple[str, str]
    attendees: tuple[tuple[str, str], ...]
    cancelled: bool
    created: datetime | None = None
    last_modified: datetime | None = None


@dataclass(frozen=True)
class CalendarOccurrence:
    """One timed occurrence read from a calendar file; every datetime is aware UTC."""

    uid: str
    recurrence_id: datetime | None
    sequence: int
    start: datetime
    end: datetime
    summary: str | None
    description: str | None
    location: str | None
    cancelled: bool


@dataclass(frozen=True)
class SkippedEvent:
    """An event that cannot be booked, and why ("has no DTSTART")."""

    event: str  # how the event is named to people: its summary and UID
    reason: str


@dataclass(frozen=True)
class CalendarRead:
    """The occurrences `read_calendar()` kept, the all-day events it skipped,
    the odd events it skipped with their reasons, and the zero-length events
    it gave `DEFAULT_DURATION`."""

    occurrences: list[CalendarOccurrence]
    all_day_skipped: list[str]
    skipped: list[SkippedEvent] = field(default_factory=list)
    default_length: list[str] = field(default_factory=list)


class TooManyOccurrences(BadFile):
    """The file holds more occurrences than the caller allows (``limit``), or its
    series would take more than `MAX_GENERATED_PER_FILE` steps to expand
    (``generated``: True); raised before expanding further."""

    def __init__(self, limit: int, *, generated: bool = False):
        if generated:
            what = f"its recurring events repeat more than {limit:,} times in all up to the end of the window"
        else:
            what = f"it holds more than {limit:,} occurrences in the window"
        super().__init__(f"calendar file: {what}")
        self.limit = limit
        self.generated = generated


class _Budget:
    """The running counts of one file's reading, checked at each step."""

    def __init__(self, max_occurrences: int):
        self.max_occurrences = max_occurrences
        self.occurrences = 0
        self.generated = 0

    def keep(self, count: int = 1) -> None:
        self.occurrences += count
        if self.occurrences > self.max_occurrences:
            raise TooManyOccurrences(self.max_occurrences)

    def step(self) -> None:
        self.generated += 1
        if self.generated > MAX_GENERATED_PER_FILE:
            raise TooManyOccurrences(MAX_GENERATED_PER_FILE, generated=True)


class _EventError(BadFile):
    """One event that cannot be used; the rest of the file still can."""

    def __init__(self, where: str, reason: str):
        super().__init__(f"calendar file: {where} {reason}")
        self.where = where
        self.reason = reason


# --- export ---------------------------------------------------------------------------


def write_calendar(
    events: Iterable[ExportEvent],
    *,
    stamp: datetime,
    name: str | None = None,
    alarm_before: timedelta = timedelta(days=1),
) -> bytes:
    """Return an RFC 5545 calendar (UTF-8, CRLF, folded at 75 octets), one VEVENT per event.

    `stamp` becomes every DTSTAMP and `name` the X-WR-CALNAME; events that
    are not cancelled get a display alarm `alarm_before` their start. Raises
    ValueError for a naive datetime or an `alarm_before` that is not positive.
    """
    from icalendar import Calendar

    if alarm_before <= timedelta(0):
        raise ValueError("alarm_before must be a positive duration")
    calendar = Calendar()
    calendar.add("VERSION", "2.0")
    calendar.add("PRODID", PRODID)
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    if name is not None:
        calendar.add("X-WR-CALNAME", _Text(name), encode=False)
    dtstamp = _export_time(stamp, "stamp")
    for event in events:
        calendar.add_component(_export_vevent(event, dtstamp, alarm_before))
    return calendar.to_ical()


def _export_vevent(event: ExportEvent, dtstamp: datetime, alarm_before: timedelta) -> Any:
    from icalendar import Alarm, Event

    vevent = Event()
    vevent.add("UID", _Text(event.uid), encode=False)
    vevent.add("DTSTAMP", dtstamp)
    vevent.add("DTSTART", _export_time(event.start, "start"))
    vevent.add("DTEND", _export_time(event.end, "end"))
    vevent.add("SUMMARY", _Text(event.summary), encode=False)
    if event.description is not None:
        vevent.add("DESCRIPTION", _Text(event.description), encode=False)
    if event.location is not None:
        vevent.add("LOCATION", _Text(event.location), encode=False)
    vevent.add("ORGANIZER", _address(*event.organizer))
    for email, display_name in event.attendees:
        attendee = _address(email, display_name)
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = "ACCEPTED"
        vevent.add("ATTENDEE", attendee)
    vevent.add("STATUS", "CANCELLED" if event.cancelled else "CONFIRMED")
    vevent.add("SEQUENCE", event.sequence)
    if event.created is not None:
        vevent.add("CREATED", _export_time(event.created, "created"))
    if event.last_modified is not None:
        vevent.add("LAST-MODIFIED", _export_time(event.last_modified, "last_modified"))
    if not event.cancelled:
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("TRIGGER", -alarm_before)
        when = _lead_time_words(alarm_before)
        alarm.add("DESCRIPTION", f"Mentoring meeting {when}: confirm it with your partner")
        vevent.add_component(alarm)
    return vevent


class _Text:
    """A TEXT value escaped here, per RFC 5545 section 3.3.11.

    icalendar's own escaping first turns a literal backslash-N into a line
    break, which would corrupt text such as the Windows path "C:\\New folder".
    """

    def __init__(self, text: str):
        self.text = _clean_text(text)

    def to_ical(self) -> str:
        # Text, not bytes: icalendar decodes bytes as "utf-8-sig", which would drop
        # a leading U+FEFF (zero-width no-break space) the person typed.
        escaped = self.text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
        return escaped.replace("\n", "\\n")


def _address(email: str, display_name: str) -> Any:
    from icalendar import vCalAddress

    address = vCalAddress(f"mailto:{email}")
    if display_name:
        # A parameter value cannot hold a line break, so a multi-line name becomes one line.
        address.params["CN"] = " ".join(_clean_text(display_name).split("\n"))
    return address


def _export_time(moment: datetime, what: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC).replace(microsecond=0)


def _clean_text(text: str) -> str:
    return _CONTROL_CHARACTERS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _lead_time_words(lead: timedelta) -> str:
    if lead == timedelta(days=1):
        return "tomorrow"
    minutes = int(lead.total_seconds() // 60)
    for unit_minutes, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if minutes >= unit_minutes and minutes % unit_minutes == 0:
            count = minutes // unit_minutes
            return f"in {count} {unit}{'' if count == 1 else 's'}"
    return "in less than a minute"


# --- import ---------------------------------------------------------------------------


def read_calendar(
    data: bytes, *, window_start: datetime, window_end: datetime, local_tz: tzinfo,
    max_occurrences: int = MAX_OCCURRENCES,
) -> CalendarRead:
    """Read an exported calendar and return its timed occurrences in aware UTC.

    Series are expanded and only occurrences starting in [`window_start`,
    `window_end`] (aware datetimes) are kept; one-off events are returned
    whatever the window. Floating times are taken in `local_tz`. All-day events
    are skipped and listed by name, and so is an event that cannot be used,
    with its reason. A file that cannot be read at all raises BadFile with
    one line saying what and where; nothing partial is returned then.
    More than ``max_occurrences`` occurrences raise `TooManyOccurrences` as
    soon as the count passes it.
    """
    from icalendar import Calendar

    lines = _content_lines(data)
    try:
        calendars = Calendar.from_ical("\r\n".join(lines) + "\r\n", multiple=True)
    except Exception as error:  # icalendar raises assorted types for malformed content
        raise BadFile(f"calendar file: cannot be read: {_one_line(error)}") from error
    return _collect(calendars, window_start, window_end, local_tz, _Budget(max_occurrences))


_TOO_FAR = "has a date too close to year 1 or 9999 to use"


def _collect(
    calendars: list[Any], window_start: datetime, window_end: datetime, local_tz: tzinfo, budget: _Budget,
) -> CalendarRead:
    """The work of `read_calendar()` once icalendar has parsed the file."""
    masters: dict[str, _Vevent] = {}
    overrides: dict[tuple[str, datetime], _Vevent] = {}
    all_day: dict[str, str] = {}  # UID (else label) -> label, so a series is listed once
    skipped: dict[str, SkippedEvent] = {}  # label -> why, so an event is listed once
    for calendar in calendars:
        zones = _Zones(calendar, local_tz)
        method_cancel = str(calendar.get("METHOD", "")).upper() == "CANCEL"
        for component in calendar.subcomponents:
            if component.name != "VEVENT":
                continue
            where = describe_event(_text(component, "SUMMARY"), _text(component, "UID"))
            with _skipping(skipped, where):
                event = _read_vevent(component, zones, method_cancel)
                if isinstance(event, str):
                    all_day.setdefault(_text(component, "UID") or event, event)
                elif event.recurrence_id is None:
                    _keep_latest(masters, event.uid, event)
                else:
                    _keep_latest(overrides, (event.uid, event.recurrence_id), event)

    overrides_in_window = sum(window_start <= o.start <= window_end for o in overrides.values())
    budget.keep(overrides_in_window)
    budget.keep(sum(not master.recurring for master in masters.values()))
    occurrences: list[CalendarOccurrence] = []
    default_length: dict[str, str] = {}  # UID -> label
    for master in masters.values():
        with _skipping(skipped, master.where):
            if master.recurring:
                originals = _expand(master, window_start, window_end, budget, overrides)
                found = [_occurrence(master, original, original) for original in originals]
            else:
                found = [_occurrence(master, master.start, None)]
            occurrences.extend(found)
            if found and master.zero_length:
                default_length.setdefault(master.uid, master.where)
    for (uid, recurrence_id), override in overrides.items():
        if window_start <= override.start <= window_end:
            with _skipping(skipped, override.where):
                occurrences.append(_occurrence(override, override.start, recurrence_id, series=masters.get(uid)))
                if override.zero_length:
                    default_length.setdefault(uid, override.where)
    occurrences.sort(
        key=lambda o: (o.start, o.uid, o.recurrence_id is not None, o.recurrence_id or o.start)
    )
    return CalendarRead(occurrences=occurrences, all_day_skipped=list(all_day.values()),
                        skipped=list(skipped.values()), default_length=list(default_length.values()))


@contextmanager
def _skipping(skipped: dict[str, SkippedEvent], where: str) -> Iterator[None]:
    """Runs the reading of one event; if the event cannot be used, it is
    listed in ``skipped`` with the reason and the file goes on."""
    try:
        yield
    except _EventError as problem:
        skipped.setdefault(problem.where, SkippedEvent(problem.where, problem.reason))
    except OverflowError:  # a time that moves past year 1 or 9999 when converted
        skipped.setdefault(where, SkippedEvent(where, _TOO_FAR))


@dataclass(frozen=True)
class _Vevent:
    """One timed VEVENT with its times resolved; the component is kept for its rules."""

    uid: str
    where: str  # how error messages name the event
    recurrence_id: datetime | None
    sequence: int
    start: datetime
    wall_start: datetime  # naive DTSTART in `zone`, what recurrence rules run on
    zone: tzinfo
    duration: timedelta | None
    summary: str | None
    description: str | None
    location: str | None
    cancelled: bool
    recurring: bool
    component: Any
    zones: _Zones
    zero_length: bool = False  # DTEND equal to DTSTART: it lasts DEFAULT_DURATION instead


def _content_lines(data: bytes) -> list[str]:
    """Unfold, decode and check the nesting of the file's lines; BadFile names the bad line.

    Unfolding happens on bytes, before decoding, because some exporters fold
    in the middle of a multi-byte UTF-8 character.
    """
    folded: list[tuple[int, bytearray]] = []
    physical_lines = data.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    for number, physical in enumerate(physical_lines, start=1):
        physical = physical.removesuffix(b"\r")
        if physical[:1] in (b" ", b"\t") and folded:
            folded[-1][1].extend(physical[1:])
        elif physical.strip():
            folded.append((number, bytearray(physical)))
    if not folded or folded[0][1].strip().upper() != b"BEGIN:VCALENDAR":
        raise BadFile("not an iCalendar file: expected BEGIN:VCALENDAR on the first line")

    lines: list[str] = []
    open_components: list[tuple[str, int]] = []
    for number, raw in folded:
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadFile(f"calendar file: line {number} is not UTF-8 text") from None
        if not _CONTENT_LINE_START.match(line) or ":" not in line:
            raise BadFile(
                f"calendar file: line {number} is not an iCalendar line: '{_preview(line)}'"
            )
        keyword, _, value = line.partition(":")
        keyword, component = keyword.upper(), value.strip().upper()
        if keyword == "BEGIN":
            if not open_components and component != "VCALENDAR":
                raise BadFile(f"calendar file: line {number}: BEGIN:{component} outside VCALENDAR")
            open_components.append((component, number))
        elif keyword == "END":
            if not open_components or open_components[-1][0] != component:
                expected = f"END:{open_components[-1][0]}" if open_components else "nothing"
                raise BadFile(
                    f"calendar file: line {number}: END:{component} where {expected} was expected"
                )
            open_components.pop()
        elif not open_components:
            raise BadFile(f"calendar file: line {number}: '{_preview(line)}' is outside VCALENDAR")
        lines.append(line)
    if open_components:
        component, number = open_components[-1]
        raise BadFile(f"calendar file: BEGIN:{component} on line {number} has no END:{component}")
    return lines


class _Zones:
    """The time zones of one VCALENDAR: its own VTIMEZONEs, then IANA names, then Windows names."""

    def __init__(self, calendar: Any, local_tz: tzinfo):
        self.local = local_tz
        self._definitions = {
            str(component["TZID"]): component
            for component in calendar.subcomponents
            if component.name == "VTIMEZONE" and "TZID" in component
        }
        self._resolved: dict[str, tzinfo] = {}

    def wall_time(self, value: datetime, params: Any, where: str) -> tuple[datetime, tzinfo]:
        """The naive wall-clock time of a DATE-TIME value, and the zone it is in."""
        tzid = params.get("TZID") if params else None
        if tzid:
            # icalendar attaches a zone only to TZIDs it knows; the wall time is the same anyway.
            return value.replace(tzinfo=None), self._zone(str(tzid), where)
        if value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None), UTC
        return value, self.local

    def _zone(self, tzid: str, where: str) -> tzinfo:
        if tzid not in self._resolved:
            self._resolved[tzid] = self._resolve(tzid, where)
        return self._resolved[tzid]

    def _resolve(self, tzid: str, where: str) -> tzinfo:
        from icalendar.timezone import tzp
        from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

        problem = "there is no VTIMEZONE for it in the file"
        if tzid in self._definitions:
            try:
                return tzp.create_timezone(self._definitions[tzid])
            except Exception as error:  # a broken VTIMEZONE; its name may still be a known zone
                problem = f"its VTIMEZONE cannot be read ({_one_line(error)})"
        for name in (tzid, WINDOWS_TO_OLSON.get(tzid)):
            zone = _named_zone(name) if name else None
            if zone is not None:
                return zone
        raise _EventError(where, f"uses unknown time zone TZID '{tzid}': {problem}")


def _named_zone(name: str) -> tzinfo | None:
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # a malformed key, an unknown zone, a directory
        return None


def _read_vevent(component: Any, zones: _Zones, method_cancel: bool) -> _Vevent | str:
    """The event with its times resolved or, for an all-day event, the label to list it by."""
    summary, uid = _text(component, "SUMMARY"), _text(component, "UID")
    where = describe_event(summary, uid)
    start_prop = _single(component, "DTSTART", where)
    if start_prop is None:
        raise _EventError(where, "has no DTSTART")
    start_value = _date_or_time(start_prop, "DTSTART", where)
    value_type = str(start_prop.params.get("VALUE", "")).upper()
    if not isinstance(start_value, datetime) or value_type == "DATE":
        return summary or uid or f"untitled all-day event on {start_value:%Y-%m-%d}"
    wall_start, zone = zones.wall_time(start_value, start_prop.params, where)
    start = _to_utc(wall_start, zone)
    if uid is None:
        import hashlib

        # Hash what identifies the event to a person, so importing the same file again dedupes.
        fingerprint = f"{start.isoformat()}|{summary or ''}".encode()
        uid = hashlib.sha256(fingerprint).hexdigest()[:32] + "@mloop"

    recurrence_id = None
    recurrence_prop = _single(component, "RECURRENCE-ID", where)
    if recurrence_prop is not None:
        original = _date_or_time(recurrence_prop, "RECURRENCE-ID", where)
        if not isinstance(original, datetime):  # an instance of an all-day series
            return summary or uid
        recurrence_id = _to_utc(*zones.wall_time(original, recurrence_prop.params, where))

    sequence = _single(component, "SEQUENCE", where)
    if sequence is not None and not isinstance(sequence, int):
        raise _EventError(where, f"has an unreadable SEQUENCE '{_preview(sequence)}'")
    duration = _duration(component, start, zones, where)
    zero_length = duration == timedelta(0)
    return _Vevent(
        uid=uid,
        where=where,
        recurrence_id=recurrence_id,
        sequence=int(sequence or 0),
        start=start,
        wall_start=wall_start,
        zone=zone,
        duration=DEFAULT_DURATION if zero_length else duration,
        summary=summary,
        description=_text(component, "DESCRIPTION"),
        location=_text(component, "LOCATION"),
        cancelled=method_cancel or (_text(component, "STATUS") or "").upper() == "CANCELLED",
        recurring=recurrence_id is None and ("RRULE" in component or "RDATE" in component),
        component=component,
        zones=zones,
        zero_length=zero_length,
    )


def _duration(component: Any, start: datetime, zones: _Zones, where: str) -> timedelta | None:
    """DTEND minus DTSTART, else DURATION, else None (the caller supplies the default)."""
    end_prop = _single(component, "DTEND", where)
    duration_prop = _single(component, "DURATION", where)
    if end_prop is not None:
        end_value = _date_or_time(end_prop, "DTEND", where)
        if not isinstance(end_value, datetime):
            raise _EventError(where, "has a date DTEND but a date-time DTSTART")
        duration = _to_utc(*zones.wall_time(end_value, end_prop.params, where)) - start
    elif duration_prop is not None:
        duration = None if _is_broken(duration_prop) else getattr(duration_prop, "dt", None)
        if not isinstance(duration, timedelta):
            raise _EventError(where, f"has an unreadable DURATION '{_preview(duration_prop)}'")
    else:
        return None
    if duration < timedelta(0):
        raise _EventError(where, "ends before it starts")
    return duration


def _expand(
    master: _Vevent, window_start: datetime, window_end: datetime, budget: _Budget,
    moved: Container[tuple[str, datetime]],
) -> list[datetime]:
    """Original starts (UTC) of a series' occurrences in the window, EXDATEs
    and ``moved`` ones (overridden: (UID, original start)) removed; each one
    kept and each one generated is counted in ``budget``.

    Rules run on naive wall-clock times in the event's zone, so a weekly 09:00
    meeting stays at 09:00 local when DST starts or ends.
    """
    from dateutil.rrule import rruleset

    component, zones, where = master.component, master.zones, master.where
    series = rruleset()
    series.rdate(master.wall_start)  # RFC 5545: DTSTART is always the first occurrence
    for recur in _all(component, "RRULE"):
        series.rrule(_rrule(recur, master))
    for value, params in _date_list(component, "RDATE", where):
        if isinstance(value, tuple):  # a PERIOD: its start is the occurrence
            value = value[0]
        if isinstance(value, datetime):
            series.rdate(_wall_in(zones.wall_time(value, params, where), master.zone))
        else:
            series.rdate(datetime.combine(value, master.wall_start.time()))
    excluded_moments: set[datetime] = set()
    excluded_days: set[date] = set()
    for value, params in _date_list(component, "EXDATE", where):
        if isinstance(value, datetime):
            excluded_moments.add(_to_utc(*zones.wall_time(value, params, where)))
        else:
            excluded_days.add(value)

    window_start_wall = window_start.astimezone(UTC).replace(tzinfo=None)
    originals: list[datetime] = []
    try:
        for generated, wall in enumerate(series, start=1):
            budget.step()
            if generated > MAX_GENERATED:
                raise _EventError(
                    where, f"repeats more than {MAX_GENERATED} times before the end of the import window"
                )
            if window_start_wall - wall > _WALL_CLOCK_MARGIN:
                continue  # skip the costly zone conversion for long-past occurrences
            start = _to_utc(wall, master.zone)
            if start > window_end:
                break
            excluded = start in excluded_moments or wall.date() in excluded_days
            if start >= window_start and not excluded and (master.uid, start) not in moved:
                budget.keep()
                originals.append(start)
    except (ValueError, TypeError, OverflowError) as error:  # dateutil fails lazily on some rules
        raise _EventError(where, f"has a recurrence that cannot be expanded: {_one_line(error)}") from error
    return originals


def _rrule(recur: Any, master: _Vevent) -> Any:
    """A dateutil rule on naive wall-clock times, its UNTIL moved into the event's zone."""
    from dateutil.rrule import rrulestr
    from icalendar import vRecur

    where = master.where
    if _is_broken(recur):
        raise _EventError(where, f"has an unreadable RRULE '{_preview(recur)}': {_one_line(recur.parse_error)}")
    parts = dict(recur)
    frequency = "".join(parts.get("FREQ", [])).upper()
    if frequency not in _FREQUENCIES:
        raise _EventError(
            where, f"has RRULE FREQ={frequency or '(missing)'}; only {', '.join(_FREQUENCIES)} are supported"
        )
    interval = parts.get("INTERVAL", [1])[0]
    if not isinstance(interval, int) or interval < 1:
        # dateutil would loop forever on INTERVAL=0, never getting past DTSTART.
        raise _EventError(where, f"has RRULE INTERVAL={interval}; it must be 1 or more")
    if parts.get("UNTIL"):
        until = parts["UNTIL"][0]
        if not isinstance(until, datetime):
            until = datetime.combine(until, datetime.max.time()).replace(microsecond=0)
        elif until.tzinfo is not None:
            # RFC 5545 gives UNTIL in UTC when DTSTART has a zone; the rule runs on wall time.
            until = _wall_in((until.astimezone(UTC).replace(tzinfo=None), UTC), master.zone)
        parts["UNTIL"] = [until]
    try:
        return rrulestr(vRecur(parts).to_ical().decode(), dtstart=master.wall_start)
    except (ValueError, TypeError, KeyError) as error:
        raise _EventError(where, f"has an unusable RRULE: {_one_line(error)}") from error


def _occurrence(
    event: _Vevent,
    start: datetime,
    recurrence_id: datetime | None,
    *,
    series: _Vevent | None = None,
) -> CalendarOccurrence:
    """An occurrence of `event` at `start`; what an override leaves out comes from its `series`."""
    series = series or event

    def own_or_series(field: str) -> Any:
        value = getattr(event, field)
        return value if value is not None else getattr(series, field)

    duration = own_or_series("duration")
    return CalendarOccurrence(
        uid=event.uid,
        recurrence_id=recurrence_id,
        sequence=event.sequence,
        start=start,
        end=start + (duration if duration is not None else DEFAULT_DURATION),
        summary=own_or_series("summary"),
        description=own_or_series("description"),
        location=own_or_series("location"),
        cancelled=event.cancelled or series.cancelled,
    )


def _keep_latest(table: dict[Any, _Vevent], key: Any, event: _Vevent) -> None:
    if key not in table or event.sequence >= table[key].sequence:
        table[key] = event


def _to_utc(wall: datetime, zone: tzinfo) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _wall_in(wall_and_zone: tuple[datetime, tzinfo], zone: tzinfo) -> datetime:
    return _to_utc(*wall_and_zone).astimezone(zone).replace(tzinfo=None)


def _single(component: Any, name: str, where: str) -> Any:
    value = component.get(name)
    if isinstance(value, list):
        raise _EventError(where, f"has {len(value)} {name} lines; one is allowed")
    return value


def _all(component: Any, name: str) -> list[Any]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _date_or_time(prop: Any, name: str, where: str) -> date:
    value = None if _is_broken(prop) else getattr(prop, "dt", None)
    if not isinstance(value, date):
        raw = prop if _is_broken(prop) else prop.to_ical().decode("utf-8", "replace")
        raise _EventError(where, f"has an unreadable {name} '{_preview(raw)}'")
    return value


def _date_list(component: Any, name: str, where: str) -> list[tuple[Any, Any]]:
    """(value, parameters) of every date on every line of an RDATE or EXDATE property."""
    values = []
    for prop in _all(component, name):
        if _is_broken(prop):
            raise _EventError(where, f"has an unreadable {name} '{_preview(prop)}'")
        values.extend((item.dt, item.params) for item in prop.dts)
    return values


def _is_broken(prop: Any) -> bool:
    from icalendar.prop import vBroken

    return isinstance(prop, vBroken)


def _text(component: Any, name: str) -> str | None:
    value = component.get(name)
    if isinstance(value, list):  # some exporters repeat a text property; the first one counts
        value = value[0]
    text = None if value is None else str(value)
    return text if text and text.strip() else None


def describe_event(summary: str | None, uid: str | None) -> str:
    """How a message names an event: "event 'Weekly sync' (UID abc@google.com)"."""
    if summary and uid:
        return f"event '{_preview(summary)}' (UID {uid})"
    if summary:
        return f"event '{_preview(summary)}'"
    return f"event with UID {uid}" if uid else "an event without SUMMARY or UID"


def _preview(text: Any, limit: int = 60) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
