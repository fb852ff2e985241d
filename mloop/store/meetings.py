"""Meetings of a loop: booking, logging, marking done, cancelling and listing them."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, or_, select

from mloop import rules
from mloop.errors import Conflict, NotFound, UsageError, valid_id
from mloop.store.access import Actor, loop_for, require_active
from mloop.store.checks import check_meeting_date, check_not_ahead, check_not_past, check_text
from mloop.store.models import MAX_MEETING_MINUTES, Loop, Meeting, Program, new_calendar_uid


def _check_duration(duration: timedelta) -> int:
    minutes = int(duration.total_seconds() // 60)
    if not 1 <= minutes <= MAX_MEETING_MINUTES:
        raise UsageError("a meeting lasts between 1 minute and 24 hours: use e.g. --duration 45m")
    return minutes


def schedule_meeting(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    start: datetime, duration: timedelta, agenda: str | None, where: str | None, now: datetime,
) -> Meeting:
    return _book(session, program, who, loop_id, [start], duration=duration, agenda=agenda, where=where,
                 now=now, series=None, doing="booking a meeting")[0]


def schedule_series(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    starts: list[datetime], duration: timedelta, agenda: str | None, where: str | None, now: datetime,
) -> list[Meeting]:
    """Books one meeting at each of ``starts`` (see ``timeparse.series_starts``) as one series."""
    return _book(session, program, who, loop_id, starts, duration=duration, agenda=agenda, where=where,
                 now=now, series=new_calendar_uid(), doing="booking meetings")


def _book(
    session: Session, program: Program, who: Actor, loop_id: int, starts: list[datetime], *,
    duration: timedelta, agenda: str | None, where: str | None, now: datetime, series: str | None, doing: str,
) -> list[Meeting]:
    agenda, where = check_text(agenda, "agenda"), check_text(where, "location")
    loop = loop_for(session, program, who, loop_id, doing=doing)
    require_active(loop, now, "book a meeting")
    minutes = _check_duration(duration)
    check_not_past(starts[0], now, what="--at", instead=f"'meet schedule' books a meeting ahead; "
                   f"record one already held with 'mloop meet log {loop.id} --at WHEN'")
    meetings = [
        Meeting(loop_id=loop.id, start=start, duration_min=minutes, agenda=agenda, location=where,
                status=rules.SCHEDULED, created_at=now, series=series)
        for start in starts
    ]
    session.add_all(meetings)
    session.flush()
    return meetings


def add_actions(meeting: Meeting, actions: list[str]) -> None:
    """Append actions or decisions to a meeting's, one a line (the stored form)."""
    if actions:
        meeting.actions = check_text("\n".join([a for a in meeting.actions.split("\n") if a] + actions), "actions")


def log_meeting(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    start: datetime, duration: timedelta, notes: str | None, agenda: str | None,
    where: str | None, now: datetime, actions: list[str] | None = None,
) -> Meeting:
    notes, agenda, where = check_text(notes, "notes"), check_text(agenda, "agenda"), check_text(where, "location")
    loop = loop_for(session, program, who, loop_id, doing="logging a meeting")
    require_active(loop, now, "log a meeting")
    check_not_ahead(start, now, what="--at", instead="'meet log' records a meeting already held; "
                    f"book one ahead with 'mloop meet schedule {loop.id} --at WHEN'")
    check_meeting_date(start, loop.id, loop.matched_at)
    meeting = Meeting(
        loop_id=loop.id, start=start, duration_min=_check_duration(duration), notes=notes,
        agenda=agenda, location=where, status=rules.HELD, created_at=now,
    )
    add_actions(meeting, list(actions or []))
    session.add(meeting)
    session.flush()
    return meeting


def get_meeting(session: Session, program: Program, who: Actor, meeting_id: int, *, doing: str) -> tuple[Meeting, Loop]:
    meeting = session.get(Meeting, meeting_id) if valid_id(meeting_id) else None
    loop = session.get(Loop, meeting.loop_id) if meeting else None
    if meeting is None or loop is None or loop.program_id != program.id:
        raise NotFound(f"no meeting {meeting_id} in {program.name}: see 'mloop meet list'")
    loop_for(session, program, who, loop.id, doing=doing)
    return meeting, loop


def meeting_done(
    session: Session, program: Program, who: Actor, meeting_id: int, *,
    notes: str | None, actions: list[str], now: datetime,
) -> Meeting:
    meeting, loop = get_meeting(session, program, who, meeting_id, doing="marking a meeting done")
    require_active(loop, now, "change its meetings")
    if meeting.status == rules.HELD:
        raise Conflict(f"meeting {meeting.id} is already marked done")
    if meeting.status == rules.CANCELLED:
        raise Conflict(f"meeting {meeting.id} was cancelled: log the meeting you held with 'mloop meet log {loop.id} --at WHEN'")
    check_not_ahead(meeting.start, now, what=f"meeting {meeting.id} at", error=Conflict,
                    instead="mark it done once it has happened")
    meeting.status = rules.HELD
    meeting.sequence += 1
    if notes:
        check_text(notes, "notes")
        meeting.notes = check_text(notes if not meeting.notes else f"{meeting.notes}\n{notes}", "notes")
    add_actions(meeting, actions)
    session.add(meeting)
    session.flush()
    return meeting


def cancel_meeting(
    session: Session, program: Program, who: Actor, meeting_id: int, *, now: datetime, rest_of_series: bool = False,
) -> list[Meeting]:
    """Cancels a booked meeting or (``rest_of_series``) it and every later
    booked meeting of its series; returns the meetings cancelled."""
    meeting, loop = get_meeting(session, program, who, meeting_id, doing="cancelling a meeting")
    require_active(loop, now, "change its meetings")
    if meeting.status == rules.HELD:
        raise Conflict(f"meeting {meeting.id} was held and cannot be cancelled")
    if meeting.status == rules.CANCELLED and not rest_of_series:
        raise Conflict(f"meeting {meeting.id} is already cancelled")
    cancelled = [meeting] if meeting.status == rules.SCHEDULED else []
    if rest_of_series:
        if meeting.series is None:
            raise Conflict(
                f"meeting {meeting.id} is not part of a series: cancel it alone with 'mloop meet cancel {meeting.id}'"
            )
        cancelled += session.exec(
            select(Meeting).where(
                Meeting.loop_id == loop.id, Meeting.series == meeting.series, Meeting.status == rules.SCHEDULED,
                Meeting.start > meeting.start, Meeting.created_at <= now, Meeting.id != meeting.id,
            ).order_by(Meeting.start, Meeting.id)
        ).all()
        if not cancelled:
            raise Conflict(f"nothing left to cancel: meeting {meeting.id} and the rest of its series are not booked")
    for found in cancelled:
        found.status = rules.CANCELLED
        found.sequence += 1
        session.add(found)
    session.flush()
    return cancelled


def list_meetings(
    session: Session, program: Program, who: Actor, *, loop_id: int | None, upcoming: bool, now: datetime,
    within: timedelta | None = None,
) -> list[Meeting]:
    """Meetings the actor may see, by start; ``upcoming``: booked and still
    ahead, and with ``within``, starting no later than ``now + within``."""
    query = meetings_in_view(
        select(Meeting), session, program, who, loop_id=loop_id, upcoming=upcoming, now=now, within=within,
        doing="listing meetings",
    )
    return list(session.exec(query))


def meetings_in_view(
    query, session: Session, program: Program, who: Actor, *, loop_id: int | None, upcoming: bool, now: datetime,
    doing: str, within: timedelta | None = None,
):
    """``query`` (a select of Meeting, and Loop if wanted) narrowed to the
    meetings the actor may see as of ``now``, by start: their own loops' (a
    coordinator: every loop's), one loop's, or the upcoming ones."""
    query = query.join(Loop, Loop.id == Meeting.loop_id).where(Loop.program_id == program.id, Meeting.created_at <= now)
    if loop_id is not None:
        loop_for(session, program, who, loop_id, doing=doing)
        query = query.where(Meeting.loop_id == loop_id)
    if not who.is_coordinator:
        person_id = who.person.id if who.person else -1
        query = query.where(or_(Loop.mentor_id == person_id, Loop.mentee_id == person_id))
    if upcoming:
        query = query.where(Meeting.status == rules.SCHEDULED, Meeting.start >= now)
        if within is not None:
            query = query.where(Meeting.start <= now + within)
    return query.order_by(Meeting.start, Meeting.id)
