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
