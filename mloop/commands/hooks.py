"""mloop hooks: where the store's hooks live and which will run."""

from __future__ import annotations

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import JsonFlag, app_of

app = command_group(
    "The store's hooks: programs run when a stage changes, a meeting is held, a loop ends…",
    "mloop hooks path",
    "mloop hooks list",
)


def _folder(ctx: typer.Context):
    from mloop.hooks import folder_for
    from mloop.store.db import resolve_url

    return folder_for(resolve_url(app_of(ctx).db, create=True))


@app.command("path", epilog=examples(
    'mloop hooks path',
    'mloop --db program.db hooks path',
))
def path(ctx: typer.Context) -> None:
    """The store's hooks folder (MLOOP_HOOKS names another).

    Put executables there named by the event they answer, e.g. on-feedback or
    on-feedback-slack.py: on-stage-change, on-meeting-held, on-loop-ended,
    on-stalled (when 'coordinator report' first sees someone stalled) and
    on-feedback. Each gets one JSON document on standard input once the write
    has been committed; a hook that fails or runs over 10 s is reported and
    never undoes the write. --no-hooks or MLOOP_NO_HOOKS=1 turns them off.
    """
    typer.echo(str(_folder(ctx)))


@app.command("list", epilog=examples(
    'mloop hooks list',
    'mloop hooks list --json',
))
def list_(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """The files in the hooks folder, the event each answers and whether it will run."""
    from mloop.hooks import EVENTS, enabled, listing
    from mloop.output import Column, Rows, emit, pick_format

    folder = _folder(ctx)
    rows = listing(folder)
    document = {"folder": str(folder), "enabled": enabled() and app_of(ctx).hooks, "events": list(EVENTS), "hooks": rows}
    table = Rows([Column("name", "Hook"), Column("event", "Event"), Column("runs", "Runs"), Column("why", "Why not")],
                 [dict(r, event=r["event"] or "-", runs="yes" if r["runs"] else "no") for r in rows],
                 title=f"Hooks in {folder}",
                 empty=f"No hooks in {folder}: add an executable named after an event ({', '.join(EVENTS)}).")
    emit(pick_format(json_out), document, rows=table, pager=app_of(ctx).pager)
