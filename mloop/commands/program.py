"""Top-level store commands: init, demo, import, export."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from mloop.commandline import examples
from mloop.commands._common import JsonFlag, app_of

from mloop.rules import DEFAULT_MOMENTUM_MEETINGS, DEFAULT_STALL_DAYS

DEMO_NOW = "2026-06-01T09:00:00Z"  # the sample program's fixed clock
DEMO_PROGRAM = "Spring 2026 Mentoring"


app = typer.Typer(rich_markup_mode=None)


@app.command("init", epilog=examples(
    'mloop init',
    'mloop --program "Autumn 2026" init --stall-days 14',
))
def init(
    ctx: typer.Context,
    stall_days: Annotated[int, typer.Option("--stall-days", min=1, help="Days in one stage before someone counts as stalled.")] = DEFAULT_STALL_DAYS,
    momentum_meetings: Annotated[int, typer.Option("--momentum-meetings", min=1, help="Held meetings needed for Levelling Up.")] = DEFAULT_MOMENTUM_MEETINGS,
    json_out: JsonFlag = False,
) -> None:
    """Create the store (if needed) and a program in it.

    The program is named by the root option: 'mloop --program NAME init'.
    """
    from mloop.output import emit, pick_format, say
    from mloop.store.access import DEFAULT_PROGRAM_NAME, create_program, find_program
    from mloop.store.db import describe, loose_permissions

    app_ctx = app_of(ctx)
    name = (app_ctx.program_name or DEFAULT_PROGRAM_NAME).strip()
    with app_ctx.session(write=True) as session:
        existing = find_program(session, name)
        created = existing is None
        chosen = existing or create_program(session, name, now=app_ctx.now, stall_days=stall_days,
                                            momentum_meetings=momentum_meetings)
        record = {"program": chosen.name, "created": created, "stall_days": chosen.stall_days,
                  "momentum_meetings": chosen.momentum_meetings, "default": chosen.is_default,
                  "store": describe(str(app_ctx.engine.url))}
        refused = _secure_postgresql(session)
    if not created and (chosen.stall_days, chosen.momentum_meetings) != (stall_days, momentum_meetings):
        say(f"note: program {name!r} already exists with stall_days={chosen.stall_days}, "
            f"momentum_meetings={chosen.momentum_meetings}; its settings were left as they are")
    loose = loose_permissions(str(app_ctx.engine.url))
    if loose is not None:
        path = app_ctx.engine.url.database
        say(f"note: others may read the store {path} (mode {loose:04o}); 'chmod 600 {path}' makes it "
            "its owner's alone (mloop leaves it as it is)")
    if refused:
        say(f"note: {refused}; the store works, for its owner only, until they are set up")
    message = (f"Created program {name!r} in {record['store']}." if created
               else f"Program {name!r} already exists in {record['store']}; nothing changed.")
    emit(pick_format(json_out), record, message=message)


def _secure_postgresql(session) -> str | None:
    """On a PostgreSQL store, run by its owner: the group roles, row-level
    security policies and grants (mloop.store.pgsecurity), again on every init
    so that an older store gets them too.  Returns why they could not be set
    up (the owner may not create roles), else None."""
    from mloop.errors import Forbidden
    from mloop.store import pgsecurity

    login = pgsecurity.login_of(session)
    if login is None or not login.is_owner:
        return None
    conn = session.connection()
    try:
        with conn.begin_nested():
            pgsecurity.apply(conn)
    except Forbidden as error:
        return error.message
    return None


def _progress_bar(total: int | None, enabled: bool):
    """A Rich progress bar on stderr, or a no-op when nobody is watching."""
    from contextlib import nullcontext

    if not enabled or not sys.stderr.isatty():
        return nullcontext(None)
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from mloop.output import console

    return Progress(TextColumn("importing"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                    console=console(stderr=True), transient=True)


def _import_file(ctx: typer.Context, path: str, *, show_progress: bool, now=None, prepare=None):
    """Import ``path`` in one transaction; ``prepare(session)`` runs first in that same transaction."""
    import os

    from mloop.commands._files import bounded_lines, not_utf8, open_lines
    from mloop.errors import BadFile
    from mloop.store.access import actor
    from mloop.store.transfer import import_lines

    app_ctx = app_of(ctx)
    clock = now or app_ctx.now
    total = os.path.getsize(path) if path != "-" and os.path.isfile(path) else None
    handle = open_lines(path)
    try:
        with _progress_bar(total, show_progress) as bar, app_ctx.session(write=True) as session:
            if prepare is not None:
                prepare(session)
            task = bar.add_task("import", total=total) if bar is not None else None
            advance = (lambda n: bar.advance(task, n)) if bar is not None else None
            try:
                summary = import_lines(
                    session, bounded_lines(handle), now=clock, tz=app_ctx.tz, program_name=app_ctx.program_name,
                    who=lambda program: actor(session, program, app_ctx.acting_email), progress=advance,
                )
            except UnicodeDecodeError as error:
                raise not_utf8(path, error) from None
            except BadFile as error:
                raise BadFile(f"{path} {error.message}; nothing was imported") from None
    finally:
        if handle is not sys.stdin:
            handle.close()
    _refresh_statistics(app_ctx, summary.tables)
    return summary


def _refresh_statistics(app_ctx, tables: list[str]) -> None:
    """After the import has committed: PostgreSQL's statistics for the loaded
    tables (see ``refresh_planner_statistics``).  The rows are in by now, so a
    failure here is told, not raised."""
    import sqlalchemy as sa

    from mloop.output import say
    from mloop.store.db import driver_message, refresh_planner_statistics

    try:
        refresh_planner_statistics(app_ctx.engine, tables)
    except sa.exc.DBAPIError as error:
        say(f"note: imported, but could not refresh the server's statistics ({driver_message(error)}); "
            "reports may be slow until autovacuum has run")


@app.command("import", epilog=examples(
    'mloop import spring-2026.jsonl',
    'mloop --db copy.db import spring-2026.jsonl',
))
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A JSON Lines file from 'mloop export' (or written to the same format); - for stdin.")],
    json_out: JsonFlag = False,
) -> None:
    """Import a whole program from JSON Lines, in one transaction: all or nothing."""
    from mloop.output import emit, pick_format

    summary = _import_file(ctx, file, show_progress=not json_out)
    record = {"program": summary.program, "created_program": summary.created_program, "records": summary.counts}
    parts = ", ".join(f"{n} {kind}" for kind, n in summary.counts.items() if kind != "program")
    emit(pick_format(json_out), record, message=f"Imported into {summary.program!r}: {parts or 'nothing'}.")


@app.command("export", epilog=examples(
    'mloop export --as priya.raman@example.org --out spring-2026.jsonl',
    'mloop export --include-content | mloop --db copy.db import -',
    'mloop export --redact --out spring-2026-redacted.jsonl',
))
def export(
    ctx: typer.Context,
    out: Annotated[Optional[str], typer.Option("--out", help="Write to this file instead of stdout ('-': stdout).")] = None,
    include_content: Annotated[bool, typer.Option(
        "--include-content", help="Keep the loops' content (goal and task titles, agendas, notes, actions, places, "
                                  "comments): for the store's owner only.")] = False,
    redact: Annotated[bool, typer.Option(
        "--redact", help="Pseudonymise people and remove free text, keeping dates and ratings: a file to share "
                         "with researchers and vendors.")] = False,
    key: Annotated[Optional[str], typer.Option(
        "--key", envvar="MLOOP_REDACT_KEY", show_envvar=False,
        help="With --redact: the secret that makes pseudonyms the same in every export with it "
             "(default: a new random key, so no two exports link up).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Export the whole program as JSON Lines (import it elsewhere with 'mloop import').

    A coordinator's export has the stages' facts, counts and ratings; the
    loops' content is left out (each text becomes "(withheld)") unless the
    store's owner adds --include-content.  --redact also replaces every
    person by a pseudonym and every free text by "(redacted)" (see
    docs/privacy.md).  With --json the records come as one JSON array
    instead, or, with --out, a summary of what was written.
    """
    import json

    from mloop.commands._files import atomic_file, is_stdout
    from mloop.errors import UsageError
    from mloop.output import emit, print_json, progress, say, watching
    from mloop.store.access import actor, current_program, require_content_right, require_coordinator
    from mloop.store.transfer import Withholding, export_records

    if redact and include_content:
        raise UsageError("--redact and --include-content do not go together: a redacted export has no content")
    if not redact and getattr(ctx.get_parameter_source("key"), "name", None) == "COMMANDLINE":
        raise UsageError("--key goes with --redact: add --redact, or leave --key out")
    redactor = _redactor(key) if redact else None
    app_ctx = app_of(ctx)
    with app_ctx.session(write=False) as session:
        program = current_program(session, app_ctx.program_name)
        who = actor(session, program, app_ctx.acting_email)
        require_coordinator(who, "exporting the program")
        if include_content:
            require_content_right(session)
        withholding = None if include_content else Withholding(who)
        records = export_records(session, program, withholding)
        if redactor is not None:
            records = redactor.records(records)
        count = 0
        if is_stdout(out):
            if json_out:
                print_json(list(records))
            else:
                write = sys.stdout.write
                for record in records:
                    write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            with atomic_file(out) as handle, progress("exporting", shown=watching(json_out)) as advance:
                for record in records:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
                    count += 1
                    advance()
    if redact and key is None:
        say("export: pseudonyms come from a random key used for this export only, so it links to no other export; "
            "give --key KEY (or MLOOP_REDACT_KEY) to keep them the same across exports")
    elif not redact and withholding is not None and withholding.left_out:
        say(f"export: left out loop content ({', '.join(withholding.kinds_left_out())}); "
            "add --include-content as the store's owner to keep it")
    if is_stdout(out):
        return
    if json_out:
        emit("json", {"program": program.name, "out": out, "records": count})
    else:
        say(f"Exported {count} {'redacted ' if redact else ''}records of {program.name!r} to {out}.")


def _redactor(key: str | None):
    """The export's Redactor: under KEY, or under a new random key."""
    from mloop.errors import UsageError
    from mloop.redaction import Redactor, new_key

    if key is None:
        return Redactor(new_key())
    if not key.strip():
        raise UsageError("the redaction key is empty: give a secret phrase with --key or MLOOP_REDACT_KEY, or none for a one-time random key")
    return Redactor(key.encode())


@app.command("demo", epilog=examples(
    'mloop demo',
    'mloop --db demo.db demo --json',
))
def demo(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Load the demo afresh: replace the demo program, or add it beside another program.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Load the sample program into the store and print its coordinator report.

    Run again on a store that holds the demo, it prints the report again;
    --force loads the demo afresh, replacing the demo program.
    """
    from datetime import datetime

    from mloop.errors import Conflict
    from mloop.output import draw_report as _draw_report
    from mloop.output import emit, pick_format, say
    from mloop.sample import sample_program_path
    from mloop.store.access import actor, find_program
    from mloop.store.funnel import coordinator_report
    from mloop.store.programs import remove_program

    app_ctx = app_of(ctx)
    clock = datetime.fromisoformat(DEMO_NOW)
    app_ctx.open_engine(create=True)  # the demo makes its store, as 'init' does
    with app_ctx.session(write=False) as session:
        loaded = find_program(session, DEMO_PROGRAM) is not None
        other = find_program(session, None)
    if not loaded and other is not None and not force:
        raise Conflict(f"this store already holds the program {other.name!r}: add the demo beside it with "
                       "--force, or give the demo a store of its own with --db FILE")
    if force or not loaded:
        def replace_demo(session) -> None:
            earlier = find_program(session, DEMO_PROGRAM)
            if earlier is not None:
                remove_program(session, earlier)

        _import_file(ctx, str(sample_program_path()), show_progress=False, now=clock, prepare=replace_demo)
    with app_ctx.session(write=False) as session:
        program = find_program(session, DEMO_PROGRAM)
        actor(session, program, None)
        document, _ = coordinator_report(session, program, clock)
    on_demo_clock = app_ctx.now == clock  # the user already set MLOOP_NOW/--now to it
    app_ctx.now = clock
    emit(pick_format(json_out), document, human=lambda out: _draw_report(out, document, app_ctx, stage=None, stalled=False, at_risk=False), pager=app_ctx.pager)
    if not json_out:
        if loaded and not force:
            say(f"The demo program {DEMO_PROGRAM!r} was already in this store: this is its report "
                "(--force loads it afresh).")
        if not on_demo_clock:
            say(f"The demo's clock is {DEMO_NOW}; to look around at that moment, set it for each command, e.g.\n"
                f"  MLOOP_NOW={DEMO_NOW} mloop status --as ana.beltran@example.org")
