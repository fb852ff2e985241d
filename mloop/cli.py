"""The Typer application: global options, command groups, the one exit point.

Keep this module light: ``mloop --help`` must not import SQLAlchemy, so
command modules import the store inside their functions.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, NamedTuple, Optional

import typer

from mloop import __version__
from mloop.commandline import PAGER_VARIABLES, HelpfulGroup, examples
from mloop.errors import MloopError

PROG = "mloop"


def _one_line(text: str) -> str:
    """An error message as one line, an echoed name's escape sequences made visible."""
    from mloop.text import visible

    return visible(" ".join(text.split()))


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"{PROG}: error: {_one_line(message)}\n")
    sys.exit(code)


# Options of the root command that people naturally type after the subcommand
# too ('mloop status --as ana@example.org'); they are moved to the front.
GLOBAL_OPTIONS = ("--db", "--as", "--now", "--tz", "--program")
GLOBAL_FLAGS = ("--no-pager", "--no-hooks")


def hoist_global_options(args: list[str]) -> list[str]:
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS and rest:
            front.append(arg)
            i += 1
            continue
        if name in GLOBAL_OPTIONS and rest:
            if "=" in arg:
                front.append(arg)
                i += 1
                continue
            if i + 1 < len(args):
                front.extend(args[i : i + 2])
                i += 2
                continue
        rest.append(arg)
        i += 1
    return front + rest


class Entry(NamedTuple):
    module: str  # where the command (or group) lives, imported only when the line names it
    group: bool  # the module's whole app is the group of that name; else one command of that app
    help: str  # the line 'mloop --help' shows, without importing and building every command


# Every command of mloop, in the order 'mloop --help' lists them.  A test checks
# that each line here matches the help of the command it names.
COMMANDS: dict[str, Entry] = {
    "init": Entry("mloop.commands.program", False, "Create the store (if needed) and a program in it."),
    "demo": Entry("mloop.commands.program", False, "Load the sample program into the store and print its coordinator report."),
    "import": Entry("mloop.commands.program", False, "Import a whole program from JSON Lines, in one transaction: all or nothing."),
    "export": Entry("mloop.commands.program", False, "Export the whole program as JSON Lines (import it elsewhere with 'mloop import')."),
    "program": Entry("mloop.commands.program_settings", True, "A program's settings (stall thresholds, momentum), the store's programs and starter goals."),
    "status": Entry("mloop.commands.loop", False, "Where each of your loops stands and what to do next."),
    "share": Entry("mloop.commands.loop", False, "Share your journey for a loop (the certificate step)."),
    "participant": Entry("mloop.commands.participant", True, "Add, edit, list, show and import the people of a program."),
    "match": Entry("mloop.commands.match", True, "Create, suggest, list and end matches (loops)."),
    "meet": Entry("mloop.commands.meet", True, "Book, log, complete, cancel and list meetings."),
    "goal": Entry("mloop.commands.goal", True, "Set, share and complete goals; add tasks to them."),
    "feedback": Entry("mloop.commands.feedback", True, "Give and list feedback (private to its author and coordinators)."),
    "milestone": Entry("mloop.commands.milestone", True, "Define custom milestones, list them and mark them done."),
    "agreement": Entry("mloop.commands.agreement", True, "The mentoring agreement: who takes notes, who sets agendas, how often you meet."),
    "coordinator": Entry("mloop.commands.coordinator", True, "Coordinator views: the milestone funnel, stalled and at-risk people."),
    "batch": Entry("mloop.commands.batch", False, "Run many mloop commands in one process, one per line."),
    "hooks": Entry("mloop.commands.hooks", True, "The store's hooks: programs run when a stage changes, a meeting is held, a loop ends…"),
    "db": Entry("mloop.commands.db", True, "Database roles on a PostgreSQL store: who connects as whom."),
}


def _without_data(error: Exception) -> str:
    """An unexpected error for its one line: a store error as its driver's class
    and the first line of its message, never SQLAlchemy's text, which carries
    the statement and its parameters (user data such as a private goal title)."""
    alchemy = sys.modules.get("sqlalchemy.exc")  # loaded only if the store was used
    if alchemy is not None and isinstance(error, alchemy.StatementError):
        cause = error.orig if error.orig is not None else error
        lines = str(cause).strip().splitlines()
        return f"{type(cause).__name__} from the store: {lines[0] if lines else type(cause).__name__}"
    if alchemy is not None and isinstance(error, alchemy.SQLAlchemyError):
        return f"{type(error).__name__} from the store"
    return f"{type(error).__name__}: {error}"


class ReaderGone(Exception):
    """The reader of stdout has gone ('mloop ... | head'). Raised in place of
    BrokenPipeError, an OSError that Click's main would turn into exit 1,
    so that MloopGroup.main, the one exit point, decides."""


def _bounded(callback):
    """A parameter callback that first refuses a number the store's 64-bit
    integers cannot hold (a usage error naming the option), then runs ``callback``."""

    def check(ctx, param, value):
        from mloop.errors import STORE_INT_MAX, STORE_INT_MIN

        for number in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(number, int) and not isinstance(number, bool):
                if number > STORE_INT_MAX:
                    raise typer.BadParameter(f"{number} is too large: at most {STORE_INT_MAX}", ctx=ctx, param=param)
                if number < STORE_INT_MIN:
                    raise typer.BadParameter(f"{number} is too small: at least {STORE_INT_MIN}", ctx=ctx, param=param)
        return callback(ctx, param, value) if callback is not None else value

    check.bounds_numbers = True
    return check


def bound_numbers(command) -> None:
    """Every parameter of ``command`` and its subcommands refuses a number out
    of the store's range, in one place rather than a max= on each option."""
    for param in command.params:
        if not getattr(param.callback, "bounds_numbers", False):
            param.callback = _bounded(param.callback)
    for sub in getattr(command, "commands", {}).values():
        bound_numbers(sub)


class MloopGroup(HelpfulGroup):
    """Root group: imports a command's module only when the command line
    names it (Click's lazy-loading pattern: list_commands and get_command),
    and turns every failure into one line on stderr and an exit code."""

    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        group = self._group_of(entry.module)
        if not entry.group:
            return group.get_command(ctx, name)
        group.name = name
        return group

    def _group_of(self, module: str):
        """The Click group of a command module, built once (a batch asks for it on every line)."""
        built = self.__dict__.setdefault("_built", {})
        if module not in built:
            import importlib

            group = typer.main.get_group(importlib.import_module(module).app)
            bound_numbers(group)
            built[module] = group
        return built[module]

    def format_epilog(self, ctx, formatter):
        """After the options: where the store is, the environment, then the examples."""
        from mloop.paths import default_db_path

        with formatter.section("Store"):
            chosen = " (MLOOP_DB is set here)" if os.environ.get("MLOOP_DB") else ""
            formatter.write_text(f"--db FILE or MLOOP_DB names the store{chosen}; without either it is:")
            formatter.write(f"{'':>{formatter.current_indent}}{default_db_path()}\n")  # never wrapped
        with formatter.section("Environment"):
            rows = [(param.envvar, f"as {param.opts[0]}") for param in self.get_params(ctx) if param.envvar]
            rows.append((", ".join(PAGER_VARIABLES), "the pager for long output (--no-pager: none)"))
            rows.append(("MLOOP_HOOKS", "the hooks folder (see 'mloop hooks path')"))
            rows.append(("MLOOP_NO_HOOKS", "1: run no hooks (as --no-hooks)"))
            rows.append(("MLOOP_HOOK_TIMEOUT", "seconds a hook may run (default 10)"))
            rows.append(("MLOOP_DEBUG", "1: show the traceback of an unexpected error"))
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)

    def format_commands(self, ctx, formatter):
        # Click's own listing builds every command to read its help line, which
        # doubles the time of 'mloop --help'; the lines are kept in COMMANDS.
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.help) for name, entry in COMMANDS.items()])

    def make_context(self, info_name, args, parent=None, **extra):
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except BrokenPipeError as gone:  # '--help' and '--version' write while parsing
            raise ReaderGone from gone

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError as gone:
            raise ReaderGone from gone

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if args is None:
            args = sys.argv[1:]
        args = hoist_global_options(list(args))
        try:
            result = super().main(
                args=args,
                prog_name=prog_name or PROG,
                complete_var=complete_var,
                standalone_mode=False,
                **extra,
            )
            sys.stdout.flush()  # here, where a reader gone early is still caught below
        except (ReaderGone, BrokenPipeError):
            # The reader has gone ('mloop ... | head'): it has all it wanted, so
            # this is success, as for git. As Python's documentation advises
            # (signal module, "Note on SIGPIPE"): point stdout at devnull so that
            # the flush at exit does not fail again, and leave quietly.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except MloopError as error:
            _fail(error.message, error.exit_code)
        except typer.TyperException as error:  # Click's errors: a usage error carries its context
            if error.exit_code == 2:
                where = error.ctx.command_path if getattr(error, "ctx", None) else PROG
                _fail(f"{error.format_message()} (see '{where} --help')", 2)
            _fail(error.format_message(), error.exit_code)
        except typer.Abort:
            _fail("aborted", 1)
        except KeyboardInterrupt:
            _fail("interrupted; nothing was changed", 130)
        except Exception as error:  # noqa: BLE001 - the last guard against a traceback
            if os.environ.get("MLOOP_DEBUG"):
                raise
            _fail(
                f"unexpected {_without_data(error)} "
                "(nothing was changed; rerun with MLOOP_DEBUG=1 for details and report it)",
                1,
            )
        if isinstance(result, int) and result:
            sys.exit(result)
        sys.exit(0)


app = typer.Typer(
    cls=MloopGroup,
    rich_markup_mode=None,  # plain help: Rich's help renderer alone costs more than Typer's import
    name=PROG,
    help="Track a mentoring program from the terminal: people, matches, meetings, goals, "
    "feedback and the milestone funnel.",
    no_args_is_help=True,
    epilog=examples(
        "mloop demo",
        "mloop status --as ana.beltran@example.org",
        "mloop coordinator report --as priya.raman@example.org",
    ),
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mloop {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Optional[str],
        typer.Option("--db", envvar="MLOOP_DB", help="Store: a file path or an SQLAlchemy URL "
                     "(postgresql+psycopg://…); see Store below."),
    ] = None,
    acting: Annotated[
        Optional[str],
        typer.Option("--as", envvar="MLOOP_USER", help="Act as this person (email)."),
    ] = None,
    now: Annotated[
        Optional[str],
        typer.Option("--now", envvar="MLOOP_NOW", help="Pretend the time is this (ISO 8601), for fixtures and time travel."),
    ] = None,
    tz: Annotated[
        Optional[str],
        typer.Option("--tz", envvar="MLOOP_TZ", help="Time zone for input without an offset and for display (IANA name)."),
    ] = None,
    program: Annotated[
        Optional[str],
        typer.Option("--program", envvar="MLOOP_PROGRAM", help="Program to work on (default: the store's default program)."),
    ] = None,
    no_pager: Annotated[
        bool,
        typer.Option("--no-pager", help="Never page long output (it is paged only on a terminal, never for --json)."),
    ] = False,
    no_hooks: Annotated[
        bool,
        typer.Option("--no-hooks", help="Run no hooks after a write (also MLOOP_NO_HOOKS=1); see 'mloop hooks'."),
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    from datetime import datetime, timezone

    from mloop.context import AppContext
    from mloop.errors import UsageError
    from mloop.timeparse import WhenError, local_zone, parse_iso, parse_when

    try:
        zone = local_zone(tz or None)
    except WhenError as error:
        raise UsageError(f"--tz/MLOOP_TZ: {error}") from None
    clock = datetime.now(timezone.utc)  # the only clock read of an invocation
    if now:
        try:
            clock = parse_iso(now, zone)
        except WhenError:
            try:
                clock = parse_when(now, clock, zone)
            except WhenError as error:
                raise UsageError(f"--now/MLOOP_NOW: {error}") from None
        if not 1970 <= clock.year < 9000:  # a date's arithmetic (a stall's 21 days, a week ahead) stays in range
            raise UsageError(f"--now/MLOOP_NOW {now!r} is out of range: give a time from 1970 on (and before 9000)")
    ctx.obj = AppContext(db=db, acting_email=acting, now=clock, tz=zone, program_name=program, pager=not no_pager,
                         hooks=not no_hooks)
    ctx.call_on_close(ctx.obj.close)


def run() -> None:
    """The console script (``mloop``, ``python -m mloop``): runs the command
    line and leaves through MloopGroup.main, the one exit point.

    A command imports the store, the ORM and its tables while it runs, and a
    report over a large program builds a few million rows and records that
    live until it prints: the collector's passes over them find almost
    nothing to free.  A first threshold of a million allocations (instead of
    700) leaves a short-lived process a handful of passes (measured in
    docs/performance.md).  Collection itself stays on.
    """
    import gc

    gc.set_threshold(1_000_000, 20, 20)
    app()
