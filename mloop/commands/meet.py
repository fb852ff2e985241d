"""mloop meet: book, log, complete and cancel meetings."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import CsvFlag, CsvRawFlag, JsonFlag, local, program_session

app = command_group(
    "Book, log, complete, cancel and list meetings.",
    'mloop meet schedule 2 --at "next tue 14:00"',
    'mloop meet list --upcoming',
)

LoopArg = Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id (see 'mloop status').")]
MeetingArg = Annotated[int, typer.Argument(metavar="MEETING", help="The meeting's id (see 'mloop meet list').")]
AtOpt = Annotated[str, typer.Option("--at", help="When: 2026-12-01 15:00, tomorrow 9:30, +3d, next tue 14:00, ISO 8601.")]
DurationOpt = Annotated[str, typer.Option("--duration", help="How long: 45m, 1h, 1h30m.")]


def _read(parse, *args, **kwargs):
    """A timeparse reading of an option; what it cannot read is a usage error (exit 2)."""
    from mloop.errors import UsageError
    from mloop.timeparse import WhenError

    try:
        return parse(*args, **kwargs)
    except WhenError as error:
        raise UsageError(str(error)) from None


def _duration(text: str):
    from mloop.timeparse import parse_duration

    return _read(parse_duration, text)


def _within(text: str | None, upcoming: bool):
    """--within as a timedelta ("2d", "36h", "1w"); it only narrows --upcoming."""
    from mloop.errors import UsageError
    from mloop.timeparse import parse_span

    if text is None:
        return None
    if not upcoming:
        raise UsageError("--within narrows the upcoming meetings: add --upcoming, e.g. --upcoming --within 2d")
    return _read(parse_span, text)


def _record(meeting, *, content: bool) -> dict:
    """A meeting as its reader may see it: ``content`` (see access.sees_content)
    adds its place, agenda, notes and actions."""
    record = {
        "id": meeting.id, "loop_id": meeting.loop_id, "start": meeting.start,
        "duration_min": meeting.duration_min, "status": meeting.status, "created_at": meeting.created_at,
    }
    if content:
        record.update(
            where=meeting.location, agenda=meeting.agenda, notes=meeting.notes,
            actions=[a for a in meeting.actions.split("\n") if a],
        )
    return record


@app.command("schedule", epilog=examples(
    'mloop meet schedule 2 --at "next tue 14:00" --agenda "Review the pull request"',
    'mloop meet schedule 2 --at "next tue 14:00" --every 2w --count 4',
))
def schedule(
    ctx: typer.Context,
    loop_id: LoopArg,
    at: AtOpt,
    duration: DurationOpt = "45m",
    agenda: Annotated[Optional[str], typer.Option("--agenda", help="What you will talk about.")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Place or video link.")] = None,
    every: Annotated[Optional[str], typer.Option(
        "--every", help="Book a series, repeating every 1w, 2w, 1 month…; the local time of day stays put across DST.")] = None,
    count: Annotated[Optional[int], typer.Option("--count", help="With --every: how many meetings.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="With --every: the last possible start (WHEN).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Book a meeting in a loop, or with --every a series. Prints the meeting's id (a series: every id)."""
    from mloop.errors import UsageError
    from mloop.output import emit, pick_format
    from mloop.store.meetings import schedule_meeting, schedule_series
    from mloop.timeparse import parse_every, series_starts

    if every is None and (count is not None or until is not None):
        raise UsageError("--count and --until belong to a series: add --every, e.g. --every 2w --count 6")
    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        start = app_ctx.when(at)
        if every is None:
            meeting = schedule_meeting(session, program, who, loop_id, start=start,
                                       duration=_duration(duration), agenda=agenda, where=where, now=app_ctx.now)
            record = _record(meeting, content=True)
            message = f"Booked meeting {meeting.id} in loop {loop_id} for {local(app_ctx, meeting.start)}."
        else:
            starts = _read(series_starts, start, _read(parse_every, every), app_ctx.tz, count=count,
                           until=app_ctx.when(until) if until is not None else None)
            meetings = schedule_series(session, program, who, loop_id, starts=starts, duration=_duration(duration),
                                       agenda=agenda, where=where, now=app_ctx.now)
            record = {"series": meetings[0].series, "ids": [m.id for m in meetings],
                      "meetings": [_record(m, content=True) for m in meetings]}
            message = (f"Booked {len(meetings)} meetings in loop {loop_id}, every {every}, "
                       f"{local(app_ctx, meetings[0].start)} to {local(app_ctx, meetings[-1].start)} "
                       f"(ids {meetings[0].id}–{meetings[-1].id}).")
    emit(pick_format(json_out), record, message=message)


@app.command("log", epilog=examples(
    'mloop meet log 2 --at "yesterday 15:00" --notes "Picked a first issue" --action "Open a draft pull request"',
))
def log(
    ctx: typer.Context,
    loop_id: LoopArg,
    at: AtOpt,
    duration: DurationOpt = "45m",
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes from the meeting.")] = None,
    agenda: Annotated[Optional[str], typer.Option("--agenda", help="What you talked about.")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Place or video link.")] = None,
    action: Annotated[Optional[list[str]], typer.Option("--action", help="An action or decision; repeat for several.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Record a meeting that has already been held."""
    from mloop.output import emit, pick_format
    from mloop.store.meetings import log_meeting

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        meeting = log_meeting(session, program, who, loop_id, start=app_ctx.when(at), duration=_duration(duration),
                              notes=notes, agenda=agenda, where=where, now=app_ctx.now, actions=list(action or []))
        record = _record(meeting, content=True)
    emit(pick_format(json_out), record, message=f"Logged meeting {meeting.id} in loop {loop_id} (held {local(app_ctx, meeting.start)}).")


@app.command("done", epilog=examples(
    'mloop meet done 7',
    'mloop meet done 7 --notes "Reviewed the draft" --action "Ana: answer the comments"',
))
def done(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes from the meeting.")] = None,
    action: Annotated[Optional[list[str]], typer.Option("--action", help="An action or decision; repeat for several.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Mark a booked meeting as held."""
    from mloop.output import emit, pick_format
    from mloop.store.access import sees_content
    from mloop.store.meetings import meeting_done
    from mloop.store.models import Loop

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        meeting = meeting_done(session, program, who, meeting_id, notes=notes, actions=list(action or []), now=app_ctx.now)
        record = _record(meeting, content=sees_content(who, session.get(Loop, meeting.loop_id)))
    emit(pick_format(json_out), record, message=f"Meeting {meeting.id} is marked as held.")


@app.command("cancel", epilog=examples(
    'mloop meet cancel 8',
    'mloop meet cancel 8 --rest',
))
def cancel(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    rest: Annotated[bool, typer.Option("--rest", help="Also cancel every later booked meeting of its series.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Cancel a booked meeting, or with --rest it and the rest of its series."""
    from mloop.output import emit, pick_format
    from mloop.store.meetings import cancel_meeting

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        cancelled = cancel_meeting(session, program, who, meeting_id, now=app_ctx.now, rest_of_series=rest)
        records = [{"id": m.id, "loop_id": m.loop_id, "status": m.status} for m in cancelled]
    if rest:
        ids = ", ".join(str(r["id"]) for r in records)
        emit(pick_format(json_out), {"cancelled": records},
             message=f"Cancelled {len(records)} meeting{'s' if len(records) != 1 else ''} of the series: {ids}.")
    else:
        emit(pick_format(json_out), records[0], message=f"Meeting {meeting_id} is cancelled.")


@app.command("list", epilog=examples(
    'mloop meet list --upcoming',
    'mloop meet list --loop 2 --within 2w',
))
def list_(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    upcoming: Annotated[bool, typer.Option("--upcoming", help="Only booked meetings still ahead.")] = False,
    within: Annotated[Optional[str], typer.Option(
        "--within", help="With --upcoming: only those starting within this time (2d, 36h, 1w): the ones to confirm.")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """List meetings of your loops (a coordinator: of all loops, without places, agendas or notes).

    'mloop meet list --upcoming --within 2d' lists the meetings to confirm a day or two ahead.
    """
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.access import sees_content
    from mloop.store.meetings import list_meetings
    from mloop.store.models import Loop

    fmt = pick_format(json_out, csv_out, csv_raw)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        meetings = list_meetings(session, program, who, loop_id=loop_id, upcoming=upcoming, now=app_ctx.now,
                                 within=_within(within, upcoming))
        loops = {m.loop_id: session.get(Loop, m.loop_id) for m in meetings}
        records = [_record(m, content=sees_content(who, loops[m.loop_id])) for m in meetings]
    shown = [dict(r, when=local(app_ctx, r["start"]), where=r.get("where") or "", agenda=r.get("agenda") or "")
             for r in records]
    columns = [Column("id", "Meeting", "right"), Column("loop_id", "Loop", "right"), Column("when", "When"),
               Column("duration_min", "Min", "right"), Column("status", "Status"), Column("where", "Where"),
               Column("agenda", "Agenda")]
    emit(fmt, records, rows=Rows(columns, shown, empty="no meetings: book one with 'mloop meet schedule LOOP --at WHEN'"), pager=app_ctx.pager)


@app.command("export", epilog=examples(
    'mloop meet export --upcoming --out mentoring.ics',
    'mloop meet export --loop 2 > loop-2.ics',
))
def export(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    upcoming: Annotated[bool, typer.Option("--upcoming", help="Only booked meetings still ahead.")] = False,
    out: Annotated[Optional[str], typer.Option("--out", help="Write to this .ics file instead of stdout ('-': stdout).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Export meetings as an iCalendar (.ics) file for Google, Outlook, Apple or Thunderbird.

    Each meeting keeps its UID, so importing a later export updates the
    calendar's events instead of duplicating them; each has a reminder a
    day ahead. Agendas go only into your own loops' events. With --json
    and --out, a summary of what was written.
    """
    from mloop.commands._files import atomic_file, is_stdout
    from mloop.errors import UsageError
    from mloop.ics import write_calendar
    from mloop.output import emit, say
    from mloop.store.calendar import export_events

    if json_out and is_stdout(out):
        raise UsageError("an export is a calendar file, not JSON: add --out FILE.ics for a JSON summary")
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        events = export_events(session, program, who, loop_id=loop_id, upcoming=upcoming, now=app_ctx.now)
        data = write_calendar(events, stamp=app_ctx.now, name=f"mloop: {program.name}")
    if is_stdout(out):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        return
    with atomic_file(out, "wb") as handle:
        handle.write(data)
    if json_out:
        emit("json", {"out": out, "meetings": len(events)})
    else:
        say(f"Exported {len(events)} meeting{'s' if len(events) != 1 else ''} to {out}.")


def _too_many(path: str, error) -> str:
    """The refusal of a calendar file over a cap (an ``ics.TooManyOccurrences``), with what to do."""
    if error.generated:
        return (f"{path}: its recurring events repeat more than {error.limit:,} times up to the end of the "
                "window, more than mloop expands for one file; nothing was booked: import an earlier --until "
                "or split the file")
    return (f"{path}: more than {error.limit:,} meetings in the window (--max-meetings {error.limit}); nothing "
            "was booked: narrow --from/--until, or raise --max-meetings if you mean it")


@app.command("import", epilog=examples(
    'mloop meet import calendar.ics --loop 2',
    'mloop meet import calendar.ics --loop 2 --from 2026-06-01 --until 2026-09-30',
))
def import_(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(metavar="FILE.ics", help="An iCalendar file ('-' reads standard input).")],
    loop_id: Annotated[int, typer.Option("--loop", help="The loop whose meetings these are.")],
    since: Annotated[Optional[str], typer.Option(
        "--from", help="Recurring events: book occurrences from this WHEN (default now).")] = None,
    until: Annotated[Optional[str], typer.Option(
        "--until", help="Recurring events: book occurrences up to this WHEN (default 6 months ahead).")] = None,
    max_meetings: Annotated[int, typer.Option(
        "--max-meetings", min=1, help="Refuse a file with more occurrences than this in the window (default 5000).")] = 5000,
    json_out: JsonFlag = False,
) -> None:
    """Book the meetings of a calendar file (.ics) exported from Google, Outlook, Apple or Thunderbird.

    Recurring events are expanded between --from and --until; all-day
    events are skipped; cancelled events cancel their meeting. Importing
    the same file again changes nothing, and an updated event updates its
    meeting. A file that cannot be read, or holds more than --max-meetings
    occurrences, keeps nothing.
    """
    from dataclasses import asdict

    from dateutil.relativedelta import relativedelta

    from mloop.commands._files import read_bytes
    from mloop.errors import UsageError
    from mloop.errors import BadFile
    from mloop.ics import DEFAULT_DURATION, MAX_FILE_BYTES, TooManyOccurrences, read_calendar
    from mloop.output import emit, pick_format, say
    from mloop.store.calendar import import_calendar

    data = read_bytes(path, limit=MAX_FILE_BYTES)
    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        window_start = app_ctx.when(since) if since is not None else app_ctx.now
        window_end = app_ctx.when(until) if until is not None else app_ctx.now + relativedelta(months=6)
        if window_end <= window_start:
            raise UsageError("--until must be after --from: the window to book recurring meetings in is empty")
        try:
            read = read_calendar(data, window_start=window_start, window_end=window_end, local_tz=app_ctx.tz,
                                 max_occurrences=max_meetings)
        except TooManyOccurrences as error:
            raise BadFile(_too_many(path, error)) from None
        summary = import_calendar(session, program, who, loop_id, read, now=app_ctx.now)
    if summary.all_day_skipped:
        say(f"Skipped {len(summary.all_day_skipped)} all-day event(s), which are not meetings: "
            + ", ".join(summary.all_day_skipped))
    for skipped in summary.skipped:
        say(f"Skipped {skipped['event']}: it {skipped['reason']}.")
    if summary.default_length:
        say(f"Gave {len(summary.default_length)} zero-length event(s) (DTEND equal to DTSTART) the "
            f"default length of {int(DEFAULT_DURATION.total_seconds() // 60)} minutes: " + ", ".join(summary.default_length))
    document = {"loop_id": loop_id, **asdict(summary)}
    parts = [f"{len(summary.booked)} booked", f"{len(summary.updated)} updated",
             f"{len(summary.cancelled)} cancelled", f"{summary.unchanged} unchanged"]
    if summary.kept_held:
        parts.append(f"{summary.kept_held} already held (kept)")
    if summary.cancelled_not_booked:
        parts.append(f"{summary.cancelled_not_booked} cancelled in the calendar and never booked")
    if summary.skipped:
        parts.append(f"{len(summary.skipped)} skipped (see above)")
    emit(pick_format(json_out), document,
         message=f"Imported {path} into loop {loop_id}: " + ", ".join(parts) + ".")
