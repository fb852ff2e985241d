"""mloop meet: book, log, complete and cancel meetings."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commands._common import CsvFlag, JsonFlag, local, program_session

app = typer.Typer(rich_markup_mode=None, help="Book, log, complete, cancel and list meetings.", no_args_is_help=True)

LoopArg = Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id (see 'mloop status').")]
MeetingArg = Annotated[int, typer.Argument(metavar="MEETING", help="The meeting's id (see 'mloop meet list').")]
AtOpt = Annotated[str, typer.Option("--at", help="When: 2026-12-01 15:00, tomorrow 9:30, +3d, next tue 14:00, ISO 8601.")]
DurationOpt = Annotated[str, typer.Option("--duration", help="How long: 45m, 1h, 1h30m.")]


def _duration(text: str):
    from mloop.errors import UsageError
    from mloop.timeparse import WhenError, parse_duration

    try:
        return parse_duration(text)
    except WhenError as error:
        raise UsageError(str(error)) from None


def _record(meeting, *, private_visible: bool) -> dict:
    record = {
        "id": meeting.id, "loop_id": meeting.loop_id, "start": meeting.start,
        "duration_min": meeting.duration_min, "where": meeting.location,
        "status": meeting.status, "created_at": meeting.created_at,
    }
    if private_visible:
        record.update(
            agenda=meeting.agenda, notes=meeting.notes,
            actions=[a for a in meeting.actions.split("\n") if a],
        )
    return record


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    loop_id: LoopArg,
    at: AtOpt,
    duration: DurationOpt = "45m",
    agenda: Annotated[Optional[str], typer.Option("--agenda", help="What you will talk about.")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Place or video link.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Book a meeting in a loop. Prints the meeting's id."""
    from mloop.output import emit, pick_format
    from mloop.store.activity import schedule_meeting

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        meeting = schedule_meeting(session, program, who, loop_id, start=app_ctx.when(at),
                                   duration=_duration(duration), agenda=agenda, where=where, now=app_ctx.now)
        record = _record(meeting, private_visible=True)
    emit(pick_format(json_out), record,
         message=f"Booked meeting {meeting.id} in loop {loop_id} for {local(app_ctx, meeting.start)}.")


@app.command("log")
def log(
    ctx: typer.Context,
    loop_id: LoopArg,
    at: AtOpt,
    duration: DurationOpt = "45m",
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes from the meeting.")] = None,
    agenda: Annotated[Optional[str], typer.Option("--agenda", help="What you talked about.")] = None,
    where: Annotated[Optional[str], typer.Option("--where", help="Place or video link.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Record a meeting that has already been held."""
    from mloop.output import emit, pick_format
    from mloop.store.activity import log_meeting

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        meeting = log_meeting(session, program, who, loop_id, start=app_ctx.when(at), duration=_duration(duration),
                              notes=notes, agenda=agenda, where=where, now=app_ctx.now)
        record = _record(meeting, private_visible=True)
    emit(pick_format(json_out), record, message=f"Logged meeting {meeting.id} in loop {loop_id} (held {local(app_ctx, meeting.start)}).")


@app.command("done")
def done(
    ctx: typer.Context,
    meeting_id: MeetingArg,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes from the meeting.")] = None,
    action: Annotated[Optional[list[str]], typer.Option("--action", help="An action or decision; repeat for several.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Mark a booked meeting as held."""
    from mloop.output import emit, pick_format
    from mloop.store.access import is_member
    from mloop.store.activity import meeting_done
    from mloop.store.models import Loop

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        meeting = meeting_done(session, program, who, meeting_id, notes=notes, actions=list(action or []), now=app_ctx.now)
        record = _record(meeting, private_visible=is_member(session.get(Loop, meeting.loop_id), who.person))
    emit(pick_format(json_out), record, message=f"Meeting {meeting.id} is marked as held.")


@app.command("cancel")
def cancel(ctx: typer.Context, meeting_id: MeetingArg, json_out: JsonFlag = False) -> None:
    """Cancel a booked meeting."""
    from mloop.output import emit, pick_format
    from mloop.store.activity import cancel_meeting

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        meeting = cancel_meeting(session, program, who, meeting_id, now=app_ctx.now)
        record = {"id": meeting.id, "loop_id": meeting.loop_id, "status": meeting.status}
    emit(pick_format(json_out), record, message=f"Meeting {meeting.id} is cancelled.")


@app.command("list")
def list_(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    upcoming: Annotated[bool, typer.Option("--upcoming", help="Only booked meetings still ahead.")] = False,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
) -> None:
    """List meetings of your loops (a coordinator: of all loops, without agendas or notes)."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.access import is_member
    from mloop.store.activity import list_meetings
    from mloop.store.models import Loop

    fmt = pick_format(json_out, csv_out)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        meetings = list_meetings(session, program, who, loop_id=loop_id, upcoming=upcoming, now=app_ctx.now)
        loops = {m.loop_id: session.get(Loop, m.loop_id) for m in meetings}
        records = [_record(m, private_visible=is_member(loops[m.loop_id], who.person)) for m in meetings]
    shown = [dict(r, when=local(app_ctx, r["start"]), agenda=r.get("agenda") or "") for r in records]
    columns = [Column("id", "Meeting", "right"), Column("loop_id", "Loop", "right"), Column("when", "When"),
               Column("duration_min", "Min", "right"), Column("status", "Status"), Column("where", "Where"),
               Column("agenda", "Agenda")]
    emit(fmt, records, rows=Rows(columns, shown, empty="no meetings: book one with 'mloop meet schedule LOOP --at WHEN'"))
