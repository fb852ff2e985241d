"""mloop agreement: the mentoring agreement a pair settles when matched."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import JsonFlag, MemberRole, local, program_session, when_or_none

app = command_group(
    "The mentoring agreement: who takes notes, who sets agendas, how often you meet.",
    'mloop agreement set 2 --notes-by mentee --agenda-by mentor --cadence 2w',
    'mloop agreement show 2',
)

LoopArg = Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id (see 'mloop status').")]


def _describe(app_ctx, record: dict) -> str:
    ends = f", until {local(app_ctx, record['ends_at'])}" if record["ends_at"] else ""
    return (f"Loop {record['loop_id']}: the {record['notes_by']} takes notes, the {record['agenda_by']} sets agendas, "
            f"meeting every {record['cadence']}{ends}")


@app.command("set", epilog=examples(
    'mloop agreement set 2 --notes-by mentee --agenda-by mentor --cadence 2w',
    'mloop agreement set 2 --notes-by mentor --agenda-by mentee --cadence "1 month" --ends 2026-09-30',
))
def set_(
    ctx: typer.Context,
    loop_id: LoopArg,
    notes_by: Annotated[MemberRole, typer.Option("--notes-by", case_sensitive=False, help="Who takes notes.")],
    agenda_by: Annotated[MemberRole, typer.Option("--agenda-by", case_sensitive=False, help="Who sets agendas.")],
    cadence: Annotated[str, typer.Option("--cadence", help="How often you meet: 1w, 2w, 1 month.")],
    ends: Annotated[Optional[str], typer.Option("--ends", help="When the mentoring ends (WHEN).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Record your loop's agreement (either member; setting it again replaces it)."""
    from mloop.output import emit, pick_format
    from mloop.store.agreements import agreement_record, set_agreement

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        agreement, created = set_agreement(session, program, who, loop_id, notes_by=notes_by, agenda_by=agenda_by,
                                           cadence=cadence, ends_at=when_or_none(app_ctx, ends), now=app_ctx.now)
        record = agreement_record(session, agreement)
    verb = "Recorded" if created else "Updated"
    emit(pick_format(json_out), dict(record, created=created), message=f"{verb} the agreement. {_describe(app_ctx, record)}.")


@app.command("show", epilog=examples(
    'mloop agreement show 2',
    'mloop agreement show 2 --json',
))
def show(ctx: typer.Context, loop_id: LoopArg, json_out: JsonFlag = False) -> None:
    """The loop's agreement (its members and coordinators)."""
    from mloop.output import emit, pick_format
    from mloop.store.agreements import show_agreement

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        loop, record = show_agreement(session, program, who, loop_id, app_ctx.now)

    def human(out):
        if record is None:
            out.print(f"Loop {loop.id} has no agreement yet: settle one with "
                      f"'mloop agreement set {loop.id} --notes-by mentee --agenda-by mentee --cadence 2w'", highlight=False)
            return
        out.print(_describe(app_ctx, record) + ".", highlight=False)
        from rich.markup import escape

        out.print(f"[dim]Set by {escape(record['set_by'])} on {local(app_ctx, record['updated_at'])}.[/dim]",
                  highlight=False)

    emit(pick_format(json_out), {"loop_id": loop.id, "agreement": record}, human=human, pager=app_ctx.pager)
