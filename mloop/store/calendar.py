"""Meetings to and from calendar files: what to export, how an import books.

The iCalendar text itself is ``mloop.ics`` (pure); this module decides which
meetings an actor may export and with what detail, and applies a read
calendar to a loop: new events are booked, events already imported are
updated when they changed, and re-importing the same file changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlmodel import Session, select

from mloop import rules
from mloop.errors import UsageError
from mloop.ics import CalendarOccurrence, CalendarRead, ExportEvent, describe_event  # cheap: icalendar loads only when used
from mloop.store.access import Actor, is_member, loop_for, require_active, sees_content
from mloop.store.checks import check_text, meeting_date_problem
from mloop.store.meetings import meetings_in_view
from mloop.store.models import MAX_MEETING_MINUTES, Loop, Meeting, Participant, Program
from mloop.timeparse import format_local


def export_events(
    session: Session, program: Program, who: Actor, *, loop_id: int | None, upcoming: bool, now: datetime,
) -> list[ExportEvent]:
    """The actor's meetings as ``ics.ExportEvent``s, by start.

    A member's own loops carry the agenda as the description and the
    meeting's place; a coordinator's export of other loops leaves both out
    (they are the loop's content, see access.sees_content).
    """
    query = meetings_in_view(select(Meeting, Loop), session, program, who, loop_id=loop_id, upcoming=upcoming,
                             now=now, doing="exporting meetings")
    rows = session.exec(query).all()
    people = _people(session, {pid for _, loop in rows for pid in (loop.mentor_id, loop.mentee_id)})
    events = []
    for meeting, loop in rows:
        mentor, mentee = people[loop.mentor_id], people[loop.mentee_id]
        own = sees_content(who, loop)
        events.append(ExportEvent(
            uid=meeting.uid,
            sequence=meeting.sequence,
            start=meeting.start,
            end=meeting.start + timedelta(minutes=meeting.duration_min),
            summary=f"Mentoring: {mentor.name} & {mentee.name}",
            description=meeting.agenda if own else None,
            location=meeting.location if own else None,
            organizer=(mentor.email, mentor.name),
            attendees=((mentor.email, mentor.name), (mentee.email, mentee.name)),
            cancelled=meeting.status == rules.CANCELLED,
            created=meeting.created_at,
        ))
    return events


def _people(session: Session, ids: set[int]) -> dict[int, Participant]:
    if not ids:
        return {}
    return {p.id: p for p in session.exec(select(Participant).where(Participant.id.in_(sorted(ids))))}


@dataclass
class ImportSummary:
    """What an import did, by occurrence."""

    booked: list[int] = field(default_factory=list)  # new meetings' ids
    updated: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)  # booked meetings the calendar cancelled
    unchanged: int = 0
    cancelled_not_booked: int = 0  # cancelled in the calendar and never booked here: nothing to do
    kept_held: int = 0  # meetings already held here: a calendar does not rewrite what happened
    all_day_skipped: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"event", "reason"}: odd events left out, the rest booked
    default_length: list[str] = field(default_factory=list)  # zero-length events booked for DEFAULT_DURATION


def occurrence_uid(occurrence: CalendarOccurrence) -> str:
    """One meeting per occurrence: a recurring event's occurrences share its
    UID, so each is told apart by its original start (as RECURRENCE-ID does)."""
    if occurrence.recurrence_id is None:
        return occurrence.uid
    return f"{occurrence.uid}/{occurrence.recurrence_id:%Y%m%dT%H%M%SZ}"


def import_calendar(
    session: Session, program: Program, who: Actor, loop_id: int, read: CalendarRead, *, now: datetime,
) -> ImportSummary:
    """Books ``read.occurrences`` (an ``ics.CalendarRead``) in the loop, deduplicated by UID.

    A changed event updates its meeting (start, length, place; the agenda only
    when the event has a description) and a cancelled one cancels it; its
    SEQUENCE moves past the calendar's so a later export supersedes both.
    An older SEQUENCE than the meeting's never overwrites it.
    """
    loop = loop_for(session, program, who, loop_id, doing="importing meetings")
    require_active(loop, now, "book meetings")
    summary = ImportSummary(all_day_skipped=list(read.all_day_skipped),
                            skipped=[{"event": s.event, "reason": s.reason} for s in read.skipped],
                            default_length=list(read.default_length))
    # Every meeting of the loop, even one booked after a --now in the past: a UID is the loop's for good.
    existing = {m.uid: m for m in session.exec(select(Meeting).where(Meeting.loop_id == loop.id))}
    fresh: list[Meeting] = []
    for occurrence in read.occurrences:
        uid = occurrence_uid(occurrence)
        problem = _unbookable(occurrence, uid, loop)
        if problem is not None:
            summary.skipped.append({"event": describe_event(occurrence.summary, occurrence.uid), "reason": problem})
            continue
        minutes = _minutes(occurrence)
        try:
            check_text(occurrence.description or occurrence.summary, "agenda")
            check_text(occurrence.location, "location")
        except UsageError as error:
            raise UsageError(f"{describe_event(occurrence.summary, occurrence.uid)}: {error}") from None
        meeting = existing.get(uid)
        if meeting is None:
            if occurrence.cancelled:
                summary.cancelled_not_booked += 1
                continue
            meeting = Meeting(
                loop_id=loop.id, start=occurrence.start, duration_min=minutes,
                agenda=occurrence.description or occurrence.summary, location=occurrence.location,
                status=rules.SCHEDULED, created_at=now, uid=uid, sequence=occurrence.sequence,
                series=occurrence.uid if occurrence.recurrence_id is not None else None,
            )
            existing[uid] = meeting
            fresh.append(meeting)
            continue
        if meeting.status == rules.HELD:
            summary.kept_held += 1
            continue
        wanted = {
            "start": occurrence.start, "duration_min": minutes, "location": occurrence.location,
            "status": rules.CANCELLED if occurrence.cancelled else rules.SCHEDULED,
        }
        if occurrence.description is not None:
            wanted["agenda"] = occurrence.description
        changed = {name: value for name, value in wanted.items() if getattr(meeting, name) != value}
        if not changed or occurrence.sequence < meeting.sequence:
            summary.unchanged += 1
            continue
        for name, value in changed.items():
            setattr(meeting, name, value)
        meeting.sequence = max(meeting.sequence + 1, occurrence.sequence)
        session.add(meeting)
        (summary.cancelled if changed.get("status") == rules.CANCELLED else summary.updated).append(meeting.id)
    session.add_all(fresh)
    session.flush()
    summary.booked = [m.id for m in fresh]
    return summary


def _minutes(occurrence: CalendarOccurrence) -> int:
    return int((occurrence.end - occurrence.start).total_seconds() // 60)


def _unbookable(occurrence: CalendarOccurrence, uid: str, loop: Loop) -> str | None:
    """Why this occurrence cannot be a meeting, or None."""
    too_early = meeting_date_problem(occurrence.start, loop.id, loop.matched_at)
    if too_early is not None:
        return f"starts {format_local(occurrence.start, timezone.utc)}, which {too_early}"
    if len(uid) > 255:
        return f"has a UID longer than 255 characters ({uid[:40]!r}…)"
    minutes = _minutes(occurrence)
    if not 1 <= minutes <= MAX_MEETING_MINUTES:
        return (f"on {format_local(occurrence.start, timezone.utc)} lasts {minutes} minutes; "
                "a meeting lasts 1 minute to 24 hours")
    return None


