"""mloop db: database roles on a PostgreSQL store (see mloop.store.pgsecurity)."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import JsonFlag, app_of

app = command_group(
    "Database roles on a PostgreSQL store: who connects as whom.",
    "mloop db grant ana.beltran@example.org",
    "mloop db grant priya.raman@example.org --content --password-file priya.pw",
    "mloop db whoami",
)


def _postgresql_login(session, doing: str):
    """The login of a PostgreSQL store; SQLite has none (one file, one trust domain)."""
    from mloop.errors import UsageError
    from mloop.store.pgsecurity import login_of

    login = login_of(session)
    if login is None:
        raise UsageError(f"{doing} is for PostgreSQL stores: an SQLite store is one file, one trust domain, "
                         "and whoever can write it can do anything")
    return login


def _read_password(path: str | None, prompt: bool) -> str | None:
    from mloop.errors import UsageError

    if path is not None and prompt:
        raise UsageError("give --password or --password-file, not both")
    if prompt:
        password = typer.prompt("Password for the login", hide_input=True, confirmation_prompt=True, err=True)
    elif path is not None:
        from mloop.commands._files import read_text

        lines = read_text(path).splitlines()
        password = lines[0] if lines else ""
    else:
        return None
    if not password:
        raise UsageError("the password is empty: give one, or none at all for trust or peer authentication")
    return password


@app.command("grant", epilog=examples(
    "mloop db grant ana.beltran@example.org",
    "mloop db grant priya.raman@example.org --content --password-file priya.pw",
))
def grant(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The participant whose login role to create or grant.")],
    content: Annotated[bool, typer.Option("--content", help="A coordinator who may read loop content (export --include-content); without it, taken away.")] = False,
    password_file: Annotated[Optional[str], typer.Option("--password-file", help="Set the login's password to the first line of this file.")] = None,
    password: Annotated[bool, typer.Option("--password", help="Ask for the login's password (hidden, twice).")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Create a participant's login role, or grant an existing one (the store's owner only).

    The role is the participant's --db-role, else their lower-cased email. It joins
    mloop_coordinator or mloop_participant by the participant's roles; without a
    password it logs in only where the server trusts it (peer or trust authentication).
    """
    from mloop.errors import Forbidden, UsageError
    from mloop.output import emit, pick_format
    from mloop.store import pgsecurity
    from mloop.store.access import current_program, get_participant

    app_ctx = app_of(ctx)

    def owner_login(session):
        login = _postgresql_login(session, "mloop db grant")
        if not login.is_owner:
            raise Forbidden(f"mloop db grant is for the store's owner (the role that ran 'mloop init') or a superuser, "
                            f"and you are connected as role {login.role}")

    if password_file is not None and password:
        raise UsageError("give --password or --password-file, not both")
    if password:  # ask only once the store is one that takes a password, and outside any transaction
        with app_ctx.session(write=False) as session:
            owner_login(session)
    secret = _read_password(password_file, password)
    with app_ctx.session(write=True) as session:
        owner_login(session)
        program = current_program(session, app_ctx.program_name)
        person = get_participant(session, program, email)
        pgsecurity.apply(session.connection())
        granted = pgsecurity.grant(session.connection(), person, content=content, password=secret)
    record = {"email": person.email, "role": granted.role, "created": granted.created, "group": granted.group,
              "content": granted.content, "password": secret is not None}
    verb = "Created login role" if granted.created else "Granted role"
    emit(pick_format(json_out), record,
         message=f"{verb} {granted.role!r} for {person.email}: {granted.group}"
                 f"{' and ' + pgsecurity.CONTENT_GROUP if granted.content else ''}.")


@app.command("whoami", epilog=examples("mloop db whoami", "mloop db whoami --json"))
def whoami(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Who the database takes you for: your login role and the participant it is."""
    from mloop.output import emit, pick_format
    from mloop.store.access import actor, current_program

    app_ctx = app_of(ctx)
    with app_ctx.session(write=False) as session:
        login = _postgresql_login(session, "mloop db whoami")
        program = current_program(session, app_ctx.program_name)
        who = actor(session, program, None if not login.is_owner else app_ctx.acting_email)
        record = {"role": login.role, "owner": login.is_owner, "content": login.reads_content,
                  "program": program.name, "participant": who.email, "coordinator": who.is_coordinator}
    emit(pick_format(json_out), record,
         message=f"Connected as role {login.role}"
                 + (" (the store's owner)" if login.is_owner else "")
                 + f": {who.label()} in {program.name}"
                 + (", a coordinator" if who.is_coordinator else "") + ".")
