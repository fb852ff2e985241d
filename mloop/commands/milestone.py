"""mloop milestone: the program's custom milestones, and marking them done."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import JsonFlag, MilestoneKind, MilestoneRole, local, program_session

app = command_group(
    "Define custom milestones, list them and mark them done.",
    'mloop milestone define "Mentoring agreement signed" --kind relationship --role mentee --due "2 weeks"',
    'mloop milestone done "Mentoring agreement signed" --loop 2',
)

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The milestone's name (see 'mloop milestone list').")]
LoopOption = Annotated[Optional[int], typer.Option("--loop", metavar="LOOP",
                                                   help="The loop, for a relationship milestone (needed when you have several).")]


def _definition(milestone) -> dict:
    return {"name": milestone.name, "kind": milestone.kind, "role": milestone.role, "due": milestone.due,
            "description": milestone.description}


@app.command("define", epilog=examples(
    'mloop milestone define "Mentoring agreement signed" --kind relationship --role mentee --due "2 weeks"',
    'mloop milestone define "Orientation session attended" --kind program --role mentee --due "10 days"',
))
def define(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="A name, unique in the program.")],
    kind: Annotated[MilestoneKind, typer.Option("--kind", case_sensitive=False, help="relationship: due after the match; program: due after joining.")],
    role: Annotated[MilestoneRole, typer.Option("--role", case_sensitive=False, help="Who marks it done.")],
    due: Annotated[str, typer.Option("--due", help='How long after the match or join date: "10 days", "2 weeks", "3 months".')],
    description: Annotated[Optional[str], typer.Option("--description", help="What to do.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Define a custom milestone (coordinators only)."""
    from mloop.output import emit, pick_format
    from mloop.store.milestones import define_milestone

    with program_session(ctx, write=True) as (_app_ctx, session, program, who):
        milestone = define_milestone(session, program, who, name, kind=kind, role=role, due=due, description=description)
        record = _definition(milestone)
    after = "the match" if record["kind"] == "relationship" else "joining"
    emit(pick_format(json_out), record,
         message=f"Defined milestone {record['name']!r}: the {record['role']} marks it done, due {record['due']} after {after}.")


@app.command("list", epilog=examples(
    'mloop milestone list',
    'mloop milestone list --mine',
))
def list_(
    ctx: typer.Context,
    mine: Annotated[bool, typer.Option("--mine", help="A coordinator who also mentors: list your own milestones.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """List milestones: a coordinator sees each with done and overdue counts; a participant sees their own, with due dates."""
    from mloop.errors import Forbidden
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.milestones import list_milestones, member_milestones, milestone_counts

    fmt = pick_format(json_out)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        if who.is_coordinator and not mine:
            counts = {c["name"]: c for c in milestone_counts(session, program, app_ctx.now)}
            records = [dict(_definition(m), done=counts[m.name]["done"], overdue=counts[m.name]["overdue"])
                       for m in list_milestones(session, program)]
            columns = [Column("name", "Milestone"), Column("kind", "Kind"), Column("role", "Marked by"),
                       Column("due", "Due after"), Column("done", "Done", "right"), Column("overdue", "Overdue", "right")]
            emit(fmt, records, rows=Rows(columns, records, empty="no milestones yet: define one with 'mloop milestone define'"), pager=app_ctx.pager)
            return
        if who.person is None:
            raise Forbidden("your milestones are listed by person: say who you are with --as EMAIL or MLOOP_USER")
        records = [item.record() for item in member_milestones(session, program, who.person, app_ctx.now)]
    shown = [dict(r, loop=r["loop_id"] or "-", due_local=local(app_ctx, r["due"])) for r in records]
    columns = [Column("name", "Milestone"), Column("loop", "Loop", "right"), Column("role", "As"),
               Column("due_local", "Due"), Column("state", "State")]
    rows = Rows(columns, shown, empty="you have no milestones in this program")
    emit(fmt, records, rows=rows, human=lambda out: _draw_member_milestones(out, rows), pager=app_ctx.pager)


def _draw_member_milestones(out, rows) -> None:
    """The member's table, with an overdue state in red (a styled cell, not markup in the text)."""
    from rich.text import Text

    from mloop.output import Rows, add_plain_row, print_rows, rich_table

    if not rows.records:
        print_rows(rows, out)
        return
    table = rich_table(Rows(rows.columns, []))
    for record in rows.records:
        state = record["state"]
        add_plain_row(table, *("" if record[c.key] is None else str(record[c.key]) for c in rows.columns[:-1]),
                      Text(state, style="red" if state == "overdue" else ""))
    out.print(table)


@app.command("done", epilog=examples(
    'mloop milestone done "Mentoring agreement signed" --loop 2',
    'mloop milestone done "Orientation session attended"',
))
def done(ctx: typer.Context, name: NameArg, loop_id: LoopOption = None, json_out: JsonFlag = False) -> None:
    """Mark a milestone done (only the role it belongs to can)."""
    from mloop.output import emit, pick_format
    from mloop.store.milestones import mark_done

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        record = mark_done(session, program, who, name, loop_id=loop_id, now=app_ctx.now).record()
    where = f" in loop {record['loop_id']}" if record["loop_id"] else ""
    emit(pick_format(json_out), record, message=f"Milestone {record['name']!r} is done{where}. Well done!")


@app.command("undo", epilog=examples(
    'mloop milestone undo "Mentoring agreement signed" --loop 2',
    'mloop milestone undo "Orientation session attended" --for ana.beltran@example.org',
))
def undo(
    ctx: typer.Context,
    name: NameArg,
    loop_id: LoopOption = None,
    for_email: Annotated[Optional[str], typer.Option("--for", metavar="EMAIL",
                                                     help="Coordinators: take back this person's program milestone.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Take back a done mark (your own; coordinators: any, with --loop or --for)."""
    from mloop.output import emit, pick_format
    from mloop.store.milestones import undo_done

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        record = undo_done(session, program, who, name, loop_id=loop_id, for_email=for_email, now=app_ctx.now)
    where = f" in loop {record['loop_id']}" if record["loop_id"] else f" for {record['participant']}"
    emit(pick_format(json_out), record, message=f"Milestone {record['name']!r} is no longer done{where}.")
