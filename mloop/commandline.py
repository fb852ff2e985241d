"""How mloop's command line presents itself, with the habits of gh and git:
every help ends with examples, a group named alone prints its help, and a
mistyped command gets "did you mean".

Light on purpose: the root imports it for ``mloop --help``.  Every group of
the tree, the root's included, is a ``HelpfulGroup`` (``typer.Typer(cls=...)``).
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

EXAMPLES_HEADING = "Examples:"

# Where the pager of long output comes from, first set first (mloop.output pages).
PAGER_VARIABLES = ("MLOOP_PAGER", "PAGER")


def examples(*commands: str) -> str:
    """A help's epilog: 'Examples:' and one to three commands, shown as written.

    Click rewraps an epilog's paragraphs; one that starts with ``\\b`` is kept
    line by line, so each command stays on a line of its own, ready to copy.
    """
    if not 1 <= len(commands) <= 3:
        raise ValueError("give one to three examples")
    return "\b\n" + "\n".join((EXAMPLES_HEADING, *(f"  $ {command}" for command in commands)))


def command_group(help: str, *example_commands: str) -> typer.Typer:
    """A group of commands as every group here is made: a HelpfulGroup, its help
    ending with examples, plain text (no Rich markup), its help when run alone."""
    return typer.Typer(cls=HelpfulGroup, help=help, epilog=examples(*example_commands),
                       rich_markup_mode=None, no_args_is_help=True)


def did_you_mean(name: str, known: list[str]) -> str:
    """The hint after 'No such command': " Did you mean 'status'?" for a name close
    to known ones, else ''."""
    from difflib import get_close_matches

    near = get_close_matches(name, known)
    return f" Did you mean {' or '.join(repr(n) for n in near)}?" if near else ""


class HelpfulGroup(TyperGroup):
    """A group of commands: alone on the command line it prints its help
    (exit 0), and a name it does not know is a usage error that suggests the
    nearest names it does know (difflib over ``list_commands``, so a lazily
    loaded group is covered too)."""

    def parse_args(self, ctx, args):
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx, args):
        name = args[0] if args else ""
        if name and not name.startswith("-") and not ctx.resilient_parsing and self.get_command(ctx, name) is None:
            ctx.fail(f"No such command {name!r}.{did_you_mean(name, self.list_commands(ctx))}")
        return super().resolve_command(ctx, args)
