"""mloop status and mloop share: a participant's own view of their loops."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commands._common import JsonFlag, local, program_session


app = typer.Typer(rich_markup_mode=None)


@app.command("status")
def status(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    history: Annotated[bool, typer.Option("--history", help="Show when each stage was reached, and ended loops.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Where each of your loops stands and what to do next."""
    from mloop.errors import Forbidden
    from mloop.output import emit, pick_format
    from mloop.store.report import participant_status

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        if who.person is None:
            raise Forbidden("status shows one person's loops: say who you are with --as EMAIL or MLOOP_USER "
                            "(coordinators: see 'mloop coordinator report')")
        document = participant_status(session, program, who.person, app_ctx.now, loop_id=loop_id, history=history)
    emit(pick_format(json_out), document, human=lambda out: _draw_status(out, document, app_ctx))


def _draw_status(out, doc: dict, app_ctx) -> None:
    from mloop.rules import STAGE_LABELS, STAGES

    p = doc["participant"]
    out.print(f"[bold]{p['name']}[/bold] <{p['email']}> — {', '.join(p['roles'])}")
    if p.get("stage"):
        warn = " [red](stalled: ask your coordinator)[/red]" if p.get("stalled") else ""
        out.print(f"Not matched yet: {STAGE_LABELS[p['stage']]} for {p['days_in_stage']} days{warn}")
        for step in p.get("next_steps", []):
            out.print(f"  → {step}")
    if not doc["loops"] and not p.get("stage"):
        out.print("[dim]No active loops.[/dim]")
    for loop in doc["loops"]:
        partner = loop["partner"]
        out.print()
        out.print(f"[bold]Loop {loop['loop_id']}[/bold] — you are the {loop['role']} of {partner['name']} <{partner['email']}>")
        reached = STAGES.index(loop["stage"])
        path = " › ".join(
            f"[bold green]{STAGE_LABELS[s]}[/bold green]" if i == reached else (STAGE_LABELS[s] if i < reached else f"[dim]{STAGE_LABELS[s]}[/dim]")
            for i, s in enumerate(STAGES[1:], start=1)
        )
        out.print(f"  {path}")
        stalled = " [red]— stalled[/red]" if loop["stalled"] else ""
        out.print(f"  {STAGE_LABELS[loop['stage']]} since {local(app_ctx, loop['stage_since'])} ({loop['days_in_stage']} days){stalled}")
        meeting = loop.get("next_meeting")
        if meeting:
            out.print(f"  Next meeting: {local(app_ctx, meeting['start'])} (meeting {meeting['id']})")
        elif loop["no_meeting_booked"]:
            out.print(f"  [yellow]No meeting booked: book the next one with 'mloop meet schedule {loop['loop_id']} --at WHEN'"
                      " (a series: add --every 2w --count 6).[/yellow]")
        for step in loop["next_steps"]:
            out.print(f"  → {step.replace('LOOP', str(loop['loop_id']))}")
        for h in loop.get("history", []):
            out.print(f"    {STAGE_LABELS[h['stage']]:<14} {local(app_ctx, h['reached_at'])}")
    for ended in doc.get("ended_loops", []):
        out.print()
        out.print(f"[dim]Loop {ended['loop_id']} ({ended['status']} {local(app_ctx, ended['ended_at'])}) with "
                  f"{ended['partner']['name']}: reached {STAGE_LABELS[ended['final_stage']]}[/dim]")


@app.command("share")
def share(
    ctx: typer.Context,
    loop_id: Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id.")],
    json_out: JsonFlag = False,
) -> None:
    """Share your journey for a loop (the certificate step)."""
    from mloop.output import emit, pick_format
    from mloop.store.activity import share_journey

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        shared = share_journey(session, program, who, loop_id, now=app_ctx.now)
        record = {"id": shared.id, "loop_id": shared.loop_id, "author": who.person.email, "created_at": shared.created_at}
    emit(pick_format(json_out), record, message=f"You shared your journey for loop {loop_id}. Congratulations!")
