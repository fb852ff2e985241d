"""The command-line habits people bring from gh, git and taskwarrior: a
version flag, "did you mean" for a mistyped command, examples at the end of
every help, fixed choices shown as choices, full-width tables in a pipe, a
pager on a terminal only, and progress bars only where someone watches."""

from __future__ import annotations

import pytest

from mloop import __version__


# --- version and mistyped commands --------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flags(cli, flag):
    result = cli(flag)
    assert (result.exit_code, result.stdout, result.stderr) == (0, f"mloop {__version__}\n", "")


@pytest.mark.parametrize("args, line", [
    (("stauts",), "mloop: error: No such command 'stauts'. Did you mean 'status'? (see 'mloop --help')"),
    (("exprot",), "mloop: error: No such command 'exprot'. Did you mean 'export'? (see 'mloop --help')"),
    (("meet", "shedule", "1"), "mloop: error: No such command 'shedule'. Did you mean 'schedule'? "
                               "(see 'mloop meet --help')"),
    (("goal", "task", "dnoe", "3"), "mloop: error: No such command 'dnoe'. Did you mean 'done'? "
                                    "(see 'mloop goal task --help')"),
    (("frobnicate",), "mloop: error: No such command 'frobnicate'. (see 'mloop --help')"),
])
def test_a_mistyped_command_gets_did_you_mean(cli, args, line):
    result = cli(*args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", line + "\n")


def test_a_mistyped_option_is_not_taken_for_a_command(cli):
    result = cli("meet", "--lsit")
    assert result.stderr == "mloop: error: No such option: --lsit (see 'mloop meet --help')\n"
    assert result.exit_code == 2


# --- fixed choices -------------------------------------------------------------------------


@pytest.mark.parametrize("path, shown", [
    ("match end", "--outcome <completed|cancelled>"),
    ("agreement set", "--notes-by <mentor|mentee>"),
    ("feedback give", "--fit <good|unsure|poor>"),
    ("goal add", "--term <short|long>"),
    ("milestone define", "--kind <relationship|program>"),
    ("participant add", "--role <mentor|mentee|coordinator>"),
    ("participant list", "--role <mentor|mentee|coordinator>"),
    ("share", "--format <svg|html>"),
])
def test_fixed_choices_are_shown_as_choices(cli, path, shown):
    result = cli(*path.split(), "--help")
    assert result.exit_code == 0
    assert shown in result.stdout


def test_report_stage_help_lists_the_stages_of_the_rules(cli):
    from mloop.rules import STAGES

    help_text = " ".join(cli("coordinator", "report", "--help").stdout.split())
    assert f"--stage <{'|'.join(STAGES)}>" in help_text


def test_a_wrong_choice_is_a_usage_error(cli):
    result = cli("match", "end", "1", "--outcome", "abandoned")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == ("mloop: error: Invalid value for '--outcome': Value error, 'abandoned' is not one of "
                             "'completed', 'cancelled'. (see 'mloop match end --help')\n")


# --- examples at the end of every help ------------------------------------------------------

from tests.test_cli_misc import COMMANDS  # noqa: E402  (path, command) for the root, every group and command


def help_examples(text: str) -> list[str]:
    """The commands of the 'Examples:' section that ends a help, or [] when it does not end with one."""
    lines = text.rstrip("\n").splitlines()
    commands = []
    while lines and lines[-1].startswith("    $ "):
        commands.insert(0, lines.pop()[len("    $ "):])
    return commands if lines and lines[-1] == "  Examples:" else []


def parse_example(example: str) -> list[str]:
    """Parse an example's command line as mloop would, without running it: the
    global options, the path through the tree, then the command's own options
    and arguments (types, choices, required ones).  Shell plumbing ('| gzip',
    '> file') ends the command line.  Returns the path of the command."""
    import shlex

    from mloop import cli

    lexer = shlex.shlex(example, posix=True, punctuation_chars="|<>")
    lexer.whitespace_split = True
    tokens = list(lexer)
    tokens = tokens[:next((i for i, t in enumerate(tokens) if t in ("|", "<", ">")), len(tokens))]
    assert tokens[0] == "mloop", example
    args = cli.hoist_global_options(tokens[1:])
    root = COMMANDS[0][1]
    global_args = []
    while args and args[0] in (*cli.GLOBAL_OPTIONS, *cli.GLOBAL_FLAGS):
        take = 1 if args[0] in cli.GLOBAL_FLAGS else 2
        global_args, args = global_args + args[:take], args[take:]
    context = root.make_context("mloop", [*global_args, *args[:1]])
    command, path = root, []
    while hasattr(command, "list_commands") and args and args[0] in command.list_commands(context):
        path.append(args[0])
        command = command.get_command(context, args.pop(0))
    if hasattr(command, "list_commands"):
        assert not args, f"{example!r}: no command {args[0]!r} in 'mloop {' '.join(path)}'"
        return path
    command.make_context(path[-1], args, parent=context)  # raises on an unknown option, a bad value or a missing one
    return path


@pytest.mark.parametrize("path", [" ".join(path) for path, _ in COMMANDS])
def test_every_help_ends_with_examples_that_parse(cli, path):
    result = cli(*path.split(), "--help")
    assert (result.exit_code, result.stderr) == (0, "")
    examples = help_examples(result.stdout)
    assert 1 <= len(examples) <= 3, f"'mloop {path} --help' does not end with 1-3 examples:\n{result.stdout}"
    for example in examples:
        assert parse_example(example)[:len(path.split())] == path.split(), f"{example!r} is not an example of {path!r}"


def test_an_example_that_does_not_parse_is_caught():
    for example in ("mloop match end 2 --outcome abandoned", "mloop meet shedule 2 --at tomorrow",
                    "mloop goal add 2", "mloop status --colour red"):
        with pytest.raises(Exception):
            parse_example(example)


def test_the_examples_helper_keeps_one_to_three_commands_on_their_own_lines():
    from mloop.commandline import examples

    assert examples("mloop demo") == "\b\nExamples:\n  $ mloop demo"
    for wrong in ((), ("mloop a", "mloop b", "mloop c", "mloop d")):
        with pytest.raises(ValueError):
            examples(*wrong)


# --- tables in a pipe keep their full width -------------------------------------------------


def test_a_table_in_a_pipe_is_not_cut_to_the_terminal_width(cli, make_program, add_person):
    make_program()
    add_person("cora@example.org", "coordinator")
    long_name = "Maximiliana Wilhelmina von Hohenzollern-Sigmaringen Ostermann-Castellanos"
    add_person("max@example.org", "mentor", name=long_name, offers="python, data engineering, public speaking")
    result = cli.ok("participant", "list", user="cora@example.org", env={"COLUMNS": "80"})
    [row] = [line for line in result.stdout.splitlines() if "max@example.org" in line]
    assert long_name in row and "python, data engineering, public speaking" in row
    assert len(row) > 80 and "…" not in result.stdout


def test_a_console_on_a_terminal_keeps_the_terminal_width():
    import io

    from mloop.output import PIPED_WIDTH, console

    piped = console()
    assert piped.width == PIPED_WIDTH  # pytest's stdout is not a terminal
    from rich.console import Console

    assert Console(file=io.StringIO(), force_terminal=True, width=100).width == 100


# --- the pager: on a terminal only ------------------------------------------------------------


@pytest.mark.parametrize("environ, wanted, terminal, fmt, expected", [
    ({}, True, True, "table", ["less"]),
    ({"PAGER": "more"}, True, True, "table", ["more"]),
    ({"PAGER": "more", "MLOOP_PAGER": "less -S"}, True, True, "table", ["less", "-S"]),
    ({"MLOOP_PAGER": ""}, True, True, "table", None),
    ({"PAGER": "cat"}, True, True, "table", None),
    ({}, False, True, "table", None),  # --no-pager
    ({}, True, False, "table", None),  # a pipe or a file
    ({"MLOOP_PAGER": "less"}, True, True, "json", None),
    ({"MLOOP_PAGER": "less"}, True, True, "csv", None),
])
def test_the_pager_decision(environ, wanted, terminal, fmt, expected):
    from mloop.output import pager_command

    assert pager_command(environ, wanted=wanted, terminal=terminal, fmt=fmt) == expected


def test_output_that_is_not_on_a_terminal_is_never_paged(cli, make_program, add_person, tmp_path):
    make_program()
    add_person("cora@example.org", "coordinator")
    marker = tmp_path / "paged"
    pager = f"touch {marker}"
    for args in (("participant", "list"), ("coordinator", "report"), ("--no-pager", "participant", "list")):
        result = cli.ok(*args, user="cora@example.org", env={"MLOOP_PAGER": pager, "PAGER": pager})
        assert "cora@example.org" in result.stdout or "Milestone funnel" in result.stdout
    assert not marker.exists()


def test_the_pager_gets_the_page_on_its_input_with_less_options_as_git_sets_them(tmp_path, monkeypatch):
    import sys

    from mloop.output import _pager

    monkeypatch.delenv("LESS", raising=False)
    seen = tmp_path / "seen"
    command = [sys.executable, "-c", f"import os, sys; open({str(seen)!r}, 'w').write(os.environ['LESS'] + '|' + sys.stdin.read())"]
    _pager(command).show("a long table\n")
    assert seen.read_text() == "FRX|a long table\n"


def test_no_pager_is_a_global_option_also_after_the_command():
    from mloop.cli import hoist_global_options

    assert hoist_global_options(["participant", "list", "--no-pager", "--json"]) == ["--no-pager", "participant", "list", "--json"]


# --- progress bars: only where someone watches --------------------------------------------------


@pytest.mark.parametrize("json_out, stdout_terminal, stderr_terminal, shown", [
    (False, True, True, True),
    (True, True, True, False),
    (False, False, True, False),
    (False, True, False, False),
])
def test_the_progress_decision(json_out, stdout_terminal, stderr_terminal, shown):
    from mloop.output import progress_shown

    assert progress_shown(json_out=json_out, stdout_terminal=stdout_terminal, stderr_terminal=stderr_terminal) is shown


def test_export_and_suggest_show_no_progress_bar_in_a_pipe(cli, make_program, add_person, tmp_path):
    make_program()
    add_person("cora@example.org", "coordinator")
    add_person("amara@example.org", "mentor", offers="python")
    add_person("ana@example.org", "mentee", seeks="python")
    out = tmp_path / "spring.jsonl"
    exported = cli.ok("export", "--out", out, user="cora@example.org")
    assert exported.stderr == f"Exported 4 records of 'Spring 2026' to {out}.\n"
    suggested = cli.ok("match", "suggest", user="cora@example.org")
    assert suggested.stderr == "" and "amara@example.org" in suggested.stdout


def test_the_progress_bar_on_a_terminal():
    import io

    from rich.console import Console

    from mloop.output import progress

    screen = io.StringIO()
    with progress("exporting", shown=True, out=Console(file=screen, force_terminal=True, width=80)) as advance:
        for _ in range(3):
            advance()
    assert "exporting" in screen.getvalue() and "3" in screen.getvalue()
    hidden = io.StringIO()
    with progress("exporting", shown=False, out=Console(file=hidden, force_terminal=True)) as advance:
        advance()
    assert hidden.getvalue() == ""


# --- where the store lives ------------------------------------------------------------------------


def test_root_help_says_where_the_store_is_and_lists_the_environment(cli, tmp_path, monkeypatch):
    from mloop.paths import default_db_path

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    result = cli("--help", env={"MLOOP_DB": None})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert str(default_db_path()) == str(tmp_path / "data" / "mloop" / "mloop.db")
    assert "Store: --db FILE or MLOOP_DB names the store; without either it is:" in text
    assert f"\n  {default_db_path()}\n" in result.stdout
    assert result.stdout.split("Environment:\n")[1].split("\n\n")[0].splitlines() == [
        "  MLOOP_DB            as --db",
        "  MLOOP_USER          as --as",
        "  MLOOP_NOW           as --now",
        "  MLOOP_TZ            as --tz",
        "  MLOOP_PROGRAM       as --program",
        "  MLOOP_PAGER, PAGER  the pager for long output (--no-pager: none)",
        "  MLOOP_HOOKS         the hooks folder (see 'mloop hooks path')",
        "  MLOOP_NO_HOOKS      1: run no hooks (as --no-hooks)",
        "  MLOOP_HOOK_TIMEOUT  seconds a hook may run (default 10)",
        "  MLOOP_DEBUG         1: show the traceback of an unexpected error",
    ]
    with_db = " ".join(cli("--help").stdout.split())
    assert "names the store (MLOOP_DB is set here); without either" in with_db

