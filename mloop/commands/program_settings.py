"""mloop program: a program's settings, the store's programs, starter goals."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import JsonFlag, Term, app_of, local, program_session

app = command_group(
    "A program's settings (stall thresholds, momentum), the store's programs and starter goals.",
    'mloop program show',
    'mloop program set --stall-days 14 --stage-stall-days first_meeting=10',
)
goal_app = command_group(
    "Starter goals: given to every new loop when it is matched.",
    'mloop program goal add "Agree how we work together" --locked',
    'mloop program goal list',
)
app.add_typer(goal_app, name="goal")


def _draw_settings(out, doc: dict, app_ctx) -> None:
    from rich.markup import escape

    from mloop.rules import STAGE_LABELS, hidden_count

    out.print(f"[bold]{escape(doc['program'])}[/bold]{' (default)' if doc['default'] else ''} — created {local(app_ctx, doc['created_at'])}")
    out.print(f"Momentum: {doc['momentum_meetings']} held meetings for Levelling Up")
    out.print(f"Stalled after more than {doc['stall_days']} days in a stage, except:" if any(
        days != doc["stall_days"] for days in doc["stage_stall_days"].values()) else
        f"Stalled after more than {doc['stall_days']} days in a stage")
    for stage, days in doc["stage_stall_days"].items():
        if days != doc["stall_days"]:
            out.print(f"  {STAGE_LABELS[stage]}: {days} days")
    weights = doc["health_weights"]
    out.print("Loop health weights: " + ", ".join(f"{part} {weight}" for part, weight in weights.items()))
    out.print(f"Reports show counts under {doc['min_group']} as {hidden_count(doc['min_group'])} and list no people"
              if doc["min_group"] > 1 else "Reports show every count", highlight=False)
    if doc["starter_goals"]:
        out.print("Starter goals (every new loop gets them):")
        for goal in doc["starter_goals"]:
            lock = " [dim](locked)[/dim]" if goal["locked"] else ""
            out.print(f"  {goal['id']}. {escape(goal['title'])} — {goal['term']} term{lock}", highlight=False)
    else:
        out.print("[dim]No starter goals: add one with 'mloop program goal add TITLE'.[/dim]")


@app.command("show", epilog=examples(
    'mloop program show',
    'mloop --program "Autumn 2026" program show --json',
))
def show(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The program's settings: stall thresholds per stage, momentum meetings, starter goals."""
    from mloop.output import emit, pick_format
    from mloop.store.programs import settings

    with program_session(ctx, write=False) as (app_ctx, session, program, _who):
        document = settings(session, program)
    emit(pick_format(json_out), document, human=lambda out: _draw_settings(out, document, app_ctx), pager=app_ctx.pager)


@app.command("set", epilog=examples(
    'mloop program set --stall-days 14 --stage-stall-days first_meeting=10',
    'mloop program set --min-group 5',
    'mloop --program "Autumn 2026" program set --default',
))
def set_(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Option("--name", help="Rename the program.")] = None,
    stall_days: Annotated[Optional[int], typer.Option("--stall-days", help="Days in a stage before someone counts as stalled.")] = None,
    momentum_meetings: Annotated[Optional[int], typer.Option("--momentum-meetings", help="Held meetings needed for Levelling Up.")] = None,
    stage_stall_days: Annotated[Optional[list[str]], typer.Option(
        "--stage-stall-days", metavar="STAGE=DAYS",
        help="A stage's own stall threshold, e.g. first_meeting=14 (repeatable); STAGE=default drops it.")] = None,
    health_weight: Annotated[Optional[list[str]], typer.Option(
        "--health-weight", metavar="PART=WEIGHT",
        help="How much a part of the loop health score counts: progress, cadence, sentiment, fit or checkins "
             "(repeatable; PART=default drops the program's own).")] = None,
    min_group: Annotated[Optional[int], typer.Option(
        "--min-group", metavar="N",
        help="The report and the activity report show each count from 1 to N-1 as <N and list no people "
             "(0 or 1: every count; 'coordinator report --min-group' overrides it).")] = None,
    make_default: Annotated[bool, typer.Option("--default", help="Make this the store's default program.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Change the program's settings (coordinators only)."""
    from mloop.errors import UsageError
    from mloop.output import emit, pick_format
    from mloop.store.programs import parse_health_weight, parse_stage_days, settings, update_program

    stage_days = dict(parse_stage_days(text) for text in stage_stall_days or ())
    weights = dict(parse_health_weight(text) for text in health_weight or ())
    if (name is None and stall_days is None and momentum_meetings is None and not stage_days and not weights
            and min_group is None and not make_default):
        raise UsageError("nothing to change: give --name, --stall-days, --momentum-meetings, --stage-stall-days, "
                         "--health-weight, --min-group or --default")
    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        changes = update_program(session, program, who, name=name, stall_days=stall_days,
                                 momentum_meetings=momentum_meetings, stage_days=stage_days, weights=weights,
                                 min_group=min_group, make_default=make_default)
        document = settings(session, program)
    document["changed"] = changes
    message = (f"Updated {document['program']}: " + "; ".join(changes) + ".") if changes else \
        f"{document['program']} already had these settings; nothing changed."
    emit(pick_format(json_out), document, message=message)


@app.command("dump", epilog=examples(
    'mloop program dump > program.toml',
    'mloop --program "Autumn 2026" program dump --out autumn.toml',
))
def dump(
    ctx: typer.Context,
    out: Annotated[Optional[str], typer.Option("--out", help="Write to this file instead of stdout ('-': stdout).")] = None,
) -> None:
    """The program's design as TOML: thresholds, momentum, milestones, starter goals, nudge templates."""
    import sys

    from mloop.commands._files import atomic_file, is_stdout
    from mloop.store.design import read_design, to_toml

    with program_session(ctx, write=False) as (_app_ctx, session, program, _who):
        text = to_toml(read_design(session, program))
    if is_stdout(out):
        sys.stdout.write(text)
        return
    with atomic_file(out) as handle:
        handle.write(text)


def _store_exists(app_ctx) -> bool:
    from mloop.store.db import NoStore

    try:
        app_ctx.open_engine(create=False)
    except NoStore:
        return False
    return True


@app.command("apply", epilog=examples(
    'mloop program apply program.toml --dry-run',
    'mloop program apply program.toml',
))
def apply_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A design written by 'mloop program dump' (TOML); - for stdin.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change and change nothing.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Make the program's design the file's, in one transaction (coordinators only).

    Prints what is added (+), changed (~) and removed (-). The file's program
    name says which program it is; a store without a program of that name gets
    a new one (to rename a program, use 'mloop program set --name'). Changes
    that would break existing data are refused: a milestone someone has marked
    done stays. --dry-run makes the same checks and keeps nothing.
    """
    from mloop.commands._files import read_text
    from mloop.errors import BadFile, MloopError, UsageError
    from mloop.output import emit, pick_format
    from mloop.store.access import actor, create_program, find_program
    from mloop.store.design import apply, empty_design, parse, plan

    wanted = parse(read_text(file), file)
    name = wanted["program"]["name"]
    app_ctx = app_of(ctx)
    if app_ctx.program_name and app_ctx.program_name.strip() != name:
        raise UsageError(f"{file} describes program {name!r}, not {app_ctx.program_name!r}: "
                         "drop --program or change the name in the file")
    if dry_run and not _store_exists(app_ctx):
        changes, created = plan(empty_design(name), wanted), True
    else:
        with app_ctx.session(write=True) as session:
            program = find_program(session, name)
            created = program is None
            try:
                if created:
                    program = create_program(session, name, now=app_ctx.now)
                changes = apply(session, program, actor(session, program, app_ctx.acting_email), wanted,
                                now=app_ctx.now)
            except UsageError as error:  # a word the commands refuse, here written in the file
                raise BadFile(f"{file}: {error}") from None
            except MloopError as error:
                raise type(error)(f"{file}: {error}") from None
            if dry_run:  # the same checks as a real run, then nothing kept
                session.rollback()
    records = [change.record() for change in changes]
    document = {"program": name, "created": created, "dry_run": dry_run, "changes": records}
    lines = ([f"+ program {name!r}"] if created else []) + [change.line() for change in changes]
    if not lines:
        message = f"{name} already has this design; nothing to change."
    else:
        head = f"{'Dry run: ' if dry_run else ''}{name}: {len(lines)} {'change' if len(lines) == 1 else 'changes'}"
        message = "\n".join([head + (" (nothing written)" if dry_run else "") + ":"] + ["  " + line for line in lines])
    emit(pick_format(json_out), document, message=message)


@app.command("list", epilog=examples(
    'mloop program list',
    'mloop program list --json',
))
def list_(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The programs in this store; the default one is used without --program."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.programs import list_programs

    app_ctx = app_of(ctx)
    with app_ctx.session(write=False) as session:
        programs = list_programs(session)
    records = [dict(p, default="yes" if p["default"] else "", created_at=local(app_ctx, p["created_at"])) for p in programs]
    rows = Rows([Column("program", "Program"), Column("default", "Default"), Column("stall_days", "Stall days", "right"),
                 Column("momentum_meetings", "Momentum", "right"), Column("loops", "Loops", "right"),
                 Column("created_at", "Created")],
                records, title="Programs", empty="No programs yet: run 'mloop init' or 'mloop demo'.")
    emit(pick_format(json_out), {"programs": programs}, rows=rows, pager=app_ctx.pager)


@goal_app.command("add", epilog=examples(
    'mloop program goal add "Agree how we work together" --locked',
    'mloop program goal add "Plan your next career step" --term long',
))
def goal_add(
    ctx: typer.Context,
    title: Annotated[str, typer.Argument(help="The goal every new loop starts with.")],
    term: Annotated[Term, typer.Option("--term", case_sensitive=False, help="A short- or long-term goal.")] = "short",
    locked: Annotated[bool, typer.Option("--locked", help="Participants may complete it but not edit or delete it.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Add a starter goal: loops matched from now on get it, shared with both members."""
    from mloop.output import emit, pick_format
    from mloop.store.programs import add_starter_goal, starter_record

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        goal = add_starter_goal(session, program, who, title=title, term=term.strip().lower(), locked=locked,
                                now=app_ctx.now)
        record = starter_record(goal)
    lock = " (locked)" if goal.locked else ""
    emit(pick_format(json_out), record,
         message=f"Added starter goal {goal.id}{lock}: every loop matched from now on starts with it.")


@goal_app.command("list", epilog=examples(
    'mloop program goal list',
))
def goal_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The program's starter goals."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.programs import list_starter_goals, starter_record

    with program_session(ctx, write=False) as (app_ctx, session, program, _who):
        records = [starter_record(g) for g in list_starter_goals(session, program)]
    rows = Rows([Column("id", "Id", "right"), Column("title", "Title"), Column("term", "Term"), Column("locked", "Locked")],
                records, title="Starter goals", empty="No starter goals: add one with 'mloop program goal add TITLE'.")
    emit(pick_format(json_out), records, rows=rows, pager=app_ctx.pager)


@goal_app.command("remove", epilog=examples(
    'mloop program goal remove 1',
))
def goal_remove(
    ctx: typer.Context,
    goal_id: Annotated[int, typer.Argument(metavar="ID", help="The starter goal's id (see 'mloop program goal list').")],
    json_out: JsonFlag = False,
) -> None:
    """Stop giving new loops a starter goal; loops that have it keep it."""
    from mloop.output import emit, pick_format
    from mloop.store.programs import remove_starter_goal, starter_record

    with program_session(ctx, write=True) as (_app, session, program, who):
        record = starter_record(remove_starter_goal(session, program, who, goal_id))
    emit(pick_format(json_out), record,
         message=f"Removed starter goal {goal_id}; loops that already have it keep it.")
