"""What every command shares: the options for output formats and the way in
to the program and the acting person."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated, Any, Literal

import typer

from mloop import rules
from mloop.context import AppContext

JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
CsvFlag = Annotated[bool, typer.Option("--csv", help="Print CSV on stdout (for spreadsheets); a text cell that "
                                      "starts like a formula (= + - @) gets a leading '.")]
CsvRawFlag = Annotated[bool, typer.Option("--csv-raw", help="Print CSV on stdout with every cell as stored "
                                          "(no ' before a formula-like cell).")]


def choice(words: tuple[str, ...]) -> Any:
    """A parameter type of fixed words: --help lists them (<completed|cancelled>)
    and any other word is a usage error.  The words come from the vocabularies
    of mloop.rules; an option of this type passes ``case_sensitive=False``."""
    return Literal[words]


def choices_metavar(words: tuple[str, ...]) -> str:
    """How --help shows a choice that also takes a comma-separated list of them."""
    return f"<{'|'.join(words)}>"


Outcome = choice(rules.OUTCOMES)
MemberRole = choice(rules.MEMBER_ROLES)
ParticipantRole = choice(rules.PARTICIPANT_ROLES)
Fit = choice(rules.FITS)
Term = choice(rules.TERMS)
Stage = choice(rules.STAGES)
StallStage = choice(rules.STALL_STAGES)  # the stages someone can be nudged in
MilestoneKind = choice(rules.MILESTONE_KINDS)
MilestoneRole = choice(rules.MILESTONE_ROLES)


def app_of(ctx: typer.Context) -> AppContext:
    return ctx.find_root().obj


@contextmanager
def program_session(ctx: typer.Context, *, write: bool):
    """Yields (app, session, program, actor) inside one transaction.

    A writing command on an empty store creates the default program, so
    that a first 'participant add' needs no 'init'.
    """
    from mloop.store.access import actor, current_program

    app = app_of(ctx)
    with app.session(write=write) as session:
        program = current_program(session, app.program_name, now=app.now if write else None)
        yield app, session, program, actor(session, program, app.acting_email)


def when_or_none(app: AppContext, text: str | None):
    return app.when(text) if text else None


def local(app: AppContext, value) -> str:
    from mloop.timeparse import format_local

    return format_local(value, app.tz)
