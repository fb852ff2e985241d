"""mloop match: create, list and end loops."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commands._common import CsvFlag, JsonFlag, local, program_session

app = typer.Typer(rich_markup_mode=None, help="Create, list and end matches (loops).", no_args_is_help=True)


@app.command("create")
def create(
    ctx: typer.Context,
    mentor: Annotated[str, typer.Option("--mentor", help="The mentor's email.")],
    mentee: Annotated[str, typer.Option("--mentee", help="The mentee's email.")],
    at: Annotated[Optional[str], typer.Option("--at", help="When the match was made (WHEN; default now).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Match a mentor with a mentee (coordinators only). Prints the new loop's id."""
    from mloop.output import emit, pick_format
    from mloop.store.loops import create_match

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        matched_at = app_ctx.when(at) if at else app_ctx.now
        loop = create_match(session, program, who, mentor_email=mentor, mentee_email=mentee,
                            matched_at=matched_at, now=app_ctx.now)
        record = {"id": loop.id, "mentor": mentor.strip(), "mentee": mentee.strip(), "matched_at": loop.matched_at}
    emit(pick_format(json_out), record, message=f"Created loop {loop.id}: {record['mentor']} mentors {record['mentee']}.")


@app.command("list")
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include ended loops.")] = False,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
) -> None:
    """List loops: a coordinator sees all, a participant their own."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.loops import list_matches, loop_status_word

    fmt = pick_format(json_out, csv_out)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        records = [
            {
                "loop_id": loop.id,
                "mentor": mentor_p.email, "mentor_name": mentor_p.name,
                "mentee": mentee_p.email, "mentee_name": mentee_p.name,
                "matched_at": loop.matched_at, "status": loop_status_word(loop, app_ctx.now),
                "ended_at": loop.ended_at if loop.ended_at and loop.ended_at <= app_ctx.now else None,
                "end_reason": loop.end_reason if loop.ended_at and loop.ended_at <= app_ctx.now else None,
            }
            for loop, mentor_p, mentee_p in list_matches(session, program, who, include_ended=all_, now=app_ctx.now)
        ]
    shown = [dict(r, matched=local(app_ctx, r["matched_at"])) for r in records]
    columns = [Column("loop_id", "Loop", "right"), Column("mentor_name", "Mentor"), Column("mentor", "Mentor email"),
               Column("mentee_name", "Mentee"), Column("mentee", "Mentee email"), Column("matched", "Matched"),
               Column("status", "Status")]
    if fmt == "csv":
        columns = [Column(k, k) for k in ("loop_id", "mentor", "mentor_name", "mentee", "mentee_name", "matched_at", "status", "ended_at", "end_reason")]
        shown = [dict(r, matched_at=_iso(r["matched_at"]), ended_at=_iso(r["ended_at"])) for r in records]
    emit(fmt, records, rows=Rows(columns, shown, empty="no loops yet: create one with 'mloop match create'"))


def _iso(value):
    from mloop.timeparse import isoformat_utc

    return isoformat_utc(value)


@app.command("end")
def end(
    ctx: typer.Context,
    loop_id: Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id.")],
    outcome: Annotated[str, typer.Option("--outcome", help="completed or cancelled.")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why the loop ends.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """End a loop; an ended loop is read-only."""
    from mloop.output import emit, pick_format
    from mloop.store.access import get_loop
    from mloop.store.loops import end_match

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        loop = end_match(session, program, who, get_loop(session, program, loop_id),
                         outcome=outcome.strip().lower(), reason=reason, now=app_ctx.now)
        record = {"id": loop.id, "outcome": loop.outcome, "ended_at": loop.ended_at, "reason": loop.end_reason}
    emit(pick_format(json_out), record, message=f"Ended loop {loop.id} ({loop.outcome}).")
