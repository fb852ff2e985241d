"""mloop batch: many mloop commands in one process, one per line."""

from __future__ import annotations

from typing import Annotated

import typer

from mloop.commandline import examples
from mloop.commands._common import JsonFlag, app_of

app = typer.Typer(rich_markup_mode=None)

# The root options a batch passes on to its lines when they were given on its own command line.
PASSED_ON = {"db": "--db", "acting": "--as", "now": "--now", "tz": "--tz", "program": "--program"}


@app.command("batch", epilog=examples(
    'mloop batch commands.txt',
    'mloop batch --atomic --json week.txt',
    'mloop --as ana@example.org batch --keep-going week.txt',
))
def batch(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="The commands, one per line ('-': standard input).")] = "-",
    atomic: Annotated[bool, typer.Option("--atomic", help="All or nothing: one transaction for the whole batch.")] = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Run the lines after a failed one too.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Run many mloop commands in one process, one per line.

    Each line holds the words of one command as on the command line,
    shell-quoted, with or without the leading 'mloop'; '#' starts a comment.
    Each line is its own transaction, or the whole batch is one with --atomic.
    Output comes line by line in order; an error names its line. The first
    failure stops the batch unless --keep-going. Root options given before
    'batch' (--db, --as, --now, --tz, --program) apply to every line; a line
    may give its own. Exit status 1 if any line failed.
    """
    from mloop.batch import read_lines, run_batch
    from mloop.commands._files import read_text
    from mloop.errors import UsageError

    if atomic and keep_going:
        raise UsageError("--atomic and --keep-going do not go together: an atomic batch stops at its first failure")
    lines = read_lines(read_text(file), file)
    root = ctx.find_root()
    prefix: list[str] = []
    for name, option in PASSED_ON.items():
        value = root.params.get(name)
        if value is not None and getattr(root.get_parameter_source(name), "name", None) == "COMMANDLINE":
            prefix += [option, value]
    if not app_of(ctx).pager:
        prefix.append("--no-pager")
    if not app_of(ctx).hooks:
        prefix.append("--no-hooks")
    failed = run_batch(lines, prefix=prefix, atomic=atomic, keep_going=keep_going, json_out=json_out)
    if failed:
        raise typer.Exit(1)
