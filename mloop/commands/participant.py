"""mloop participant: the people of a program."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import CsvFlag, CsvRawFlag, JsonFlag, ParticipantRole, choices_metavar, program_session
from mloop.rules import PARTICIPANT_ROLES

app = command_group(
    "Add, edit, list, show and import the people of a program.",
    'mloop participant add --name "Ana Beltrán" --email ana.beltran@example.org --role mentee --seeks python',
    'mloop participant list --role mentor',
)

PEOPLE_COLUMNS = (
    ("email", "Email"), ("name", "Name"), ("roles", "Roles"), ("capacity", "Capacity"),
    ("offers", "Offers"), ("seeks", "Seeks"), ("joined", "Joined"),
)


def _rows(app_ctx, records):
    from mloop.output import Column, Rows
    from mloop.timeparse import format_local

    shown = [dict(r, joined=format_local(r["joined_at"], app_ctx.tz)) for r in records]
    return Rows([Column(k, label) for k, label in PEOPLE_COLUMNS], shown, empty="no participants yet: add one with 'mloop participant add'")


@app.command("add", epilog=examples(
    'mloop participant add --name "Amara Okafor" --email amara.okafor@example.org --role mentor --capacity 3 --offers "python, data"',
    'mloop participant add --name "Ana Beltrán" --email ana.beltran@example.org --role mentee --seeks python --timezone Europe/Madrid',
))
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Option("--name", help="Full name.")],
    email: Annotated[str, typer.Option("--email", help="Email address (unique in the program).")],
    role: Annotated[list[str], typer.Option("--role", metavar=choices_metavar(PARTICIPANT_ROLES), help="Repeat or comma-separate for several.")],
    capacity: Annotated[int, typer.Option("--capacity", min=0, help="How many loops at once, in each role: a mentor's mentees, a mentee's mentors.")] = 1,
    offers: Annotated[Optional[str], typer.Option("--offers", help="Skills offered, comma-separated.")] = None,
    seeks: Annotated[Optional[str], typer.Option("--seeks", help="Skills sought, comma-separated.")] = None,
    joined: Annotated[Optional[str], typer.Option("--joined", help="When they joined (WHEN; default now).")] = None,
    timezone: Annotated[Optional[str], typer.Option("--timezone", help="Their time zone, an IANA name such as Europe/Lisbon.")] = None,
    department: Annotated[Optional[str], typer.Option("--department", help="Their department or team.")] = None,
    goals: Annotated[Optional[str], typer.Option("--goals", help="What they want from mentoring, in their words.")] = None,
    db_role: Annotated[Optional[str], typer.Option("--db-role", help="Their PostgreSQL login role, when it is not their email (see 'mloop db grant').")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Add a person to the program (coordinators only)."""
    from mloop.output import emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.participants import NewPerson, add_participant, parse_roles, person_record, split_skills

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        require_coordinator(who, "adding participants")
        person = add_participant(session, program, NewPerson(
            name=name, email=email, roles=parse_roles(",".join(role)),
            joined_at=app_ctx.when(joined) if joined else app_ctx.now,
            capacity=capacity, offers=split_skills(offers), seeks=split_skills(seeks),
            timezone=timezone, department=department, goals=goals, db_role=db_role,
        ))
        record = {"id": person.id, **person_record(person)}
    emit(pick_format(json_out), record, message=f"Added {person.name} <{person.email}> as {', '.join(record['roles'])}.")


@app.command("list", epilog=examples(
    'mloop participant list',
    'mloop participant list --role mentor --csv > mentors.csv',
))
def list_(
    ctx: typer.Context,
    role: Annotated[Optional[ParticipantRole], typer.Option("--role", case_sensitive=False, help="Only the people with this role.")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """List the program's participants."""
    from mloop.output import emit, pick_format
    from mloop.store.participants import list_participants, person_record

    fmt = pick_format(json_out, csv_out, csv_raw)
    with program_session(ctx, write=False) as (app_ctx, session, program, _who):
        records = [person_record(p) for p in list_participants(session, program, role)]
    emit(fmt, records, rows=_rows(app_ctx, records), pager=app_ctx.pager)


@app.command("show", epilog=examples(
    'mloop participant show ana.beltran@example.org',
))
def show(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email.")],
    json_out: JsonFlag = False,
) -> None:
    """Show one participant's profile and loops."""
    from mloop.output import emit, pick_format
    from mloop.store.access import get_participant
    from mloop.store.loops import list_matches, loop_status_word
    from mloop.store.participants import active_loop_count, person_record

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        person = get_participant(session, program, email)
        record = person_record(person)
        if person.is_mentor:
            record["active_loops_as_mentor"] = active_loop_count(session, person, app_ctx.now)
        if person.is_mentee:
            record["active_loops_as_mentee"] = active_loop_count(session, person, app_ctx.now, as_mentee=True)
        if who.is_coordinator or (who.person and who.person.id == person.id):
            record["loops"] = [
                {"loop_id": loop.id, "mentor": mentor.email, "mentee": mentee.email, "status": loop_status_word(loop, app_ctx.now)}
                for loop, mentor, mentee in list_matches(session, program, who, include_ended=True, now=app_ctx.now)
                if person.id in (loop.mentor_id, loop.mentee_id)
            ]

    def human(out):
        from rich.markup import escape

        from mloop.timeparse import format_local

        out.print(f"[bold]{escape(record['name'])}[/bold] <{escape(record['email'])}>")
        out.print(f"roles: {', '.join(record['roles'])}   joined: {format_local(record['joined_at'], app_ctx.tz)}")
        in_use = [f"{record[f'active_loops_as_{role}']} of {record['capacity']} in use as {role}"
                  for role in ("mentor", "mentee") if f"active_loops_as_{role}" in record]
        if in_use:
            out.print(f"capacity: {'; '.join(in_use)}")
        out.print(f"offers: {', '.join(record['offers']) or '-'}   seeks: {', '.join(record['seeks']) or '-'}",
                  markup=False)
        if "timezone" in record or "department" in record:
            out.print(f"time zone: {record.get('timezone', '-')}   department: {record.get('department', '-')}",
                      markup=False)
        if "goals" in record:
            out.print(f"goals: {record['goals']}", markup=False)
        for loop in record.get("loops", []):
            out.print(f"  loop {loop['loop_id']}: {loop['mentor']} → {loop['mentee']} ({loop['status']})", markup=False)

    emit(pick_format(json_out), record, human=human, pager=app_ctx.pager)


@app.command("edit", epilog=examples(
    'mloop participant edit amara.okafor@example.org --capacity 2',
    'mloop participant edit ana.beltran@example.org --seeks "python, data" --department ""',
    'mloop participant edit kofi.asante@example.org --joined 2026-01-05',
))
def edit(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email.")],
    name: Annotated[Optional[str], typer.Option("--name", help="Full name.")] = None,
    capacity: Annotated[Optional[int], typer.Option("--capacity", min=0, help="How many loops at once, in each role (coordinators only).")] = None,
    offers: Annotated[Optional[str], typer.Option("--offers", help="Skills offered, comma-separated (replaces the list).")] = None,
    seeks: Annotated[Optional[str], typer.Option("--seeks", help="Skills sought, comma-separated (replaces the list).")] = None,
    timezone: Annotated[Optional[str], typer.Option("--timezone", help="IANA time zone such as Europe/Lisbon; '' clears it.")] = None,
    department: Annotated[Optional[str], typer.Option("--department", help="Department or team; '' clears it.")] = None,
    goals: Annotated[Optional[str], typer.Option("--goals", help="Mentoring goals in free text; '' clears them.")] = None,
    joined: Annotated[Optional[str], typer.Option("--joined", help="When they joined (WHEN; coordinators only): no later than their first loop.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Change a profile: a coordinator edits anyone's, a person their own (except capacity)."""
    from mloop.output import emit, pick_format
    from mloop.store.participants import ProfileChanges, edit_participant, person_record

    changes = ProfileChanges(name=name, capacity=capacity, offers=offers, seeks=seeks,
                             timezone=timezone, department=department, goals=goals)
    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        changes.joined_at = app_ctx.when(joined) if joined is not None else None
        person = edit_participant(session, program, who, email, changes)
        record = {"id": person.id, **person_record(person)}
    emit(pick_format(json_out), record, message=f"Updated {person.name} <{person.email}>.")


@app.command("import", epilog=examples(
    'mloop participant import people.csv',
    'mloop participant import export.csv --map "Given+Family=name,Work Mail=email,Kind=role" --map Skills=offers',
    'mloop participant import - < people.csv',
))
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="A .csv (header: name,email,role[,capacity,offers,seeks,joined_at,timezone,department,goals], or other platforms' spellings such as First Name, Email Address, Participant Type, Max Mentees) or .jsonl file; - for stdin (CSV).")],
    column_map: Annotated[Optional[list[str]], typer.Option("--map", metavar="HEADER=FIELD,...", help="Which CSV column fills which field, e.g. 'Work Mail=email,Given+Family=name' (A+B joins columns; a header with a comma in double quotes); overrides the recognised headers. Repeatable.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Import people from a spreadsheet (CSV) or JSON Lines; all or nothing.

    Columns that fill no field are listed on stderr and left out, never guessed.
    """
    from mloop.commands._files import read_text
    from mloop.output import emit, pick_format, say
    from mloop.store.access import require_coordinator
    from mloop.store.participants import import_people, parse_column_map, read_people_file

    mapping = parse_column_map(column_map or [])
    text = read_text(file)
    app_ctx = ctx.find_root().obj
    found = read_people_file(file, text, now=app_ctx.now, tz=app_ctx.tz, column_map=mapping)
    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        require_coordinator(who, "importing participants")
        added = import_people(session, program, found.people, file)
        emails = [p.email for p in added]
    result = {"imported": len(emails), "emails": emails}
    if found.ignored_columns:  # only when there are some, so a plain file's output keeps its shape
        result["ignored_columns"] = found.ignored_columns
        say(f"note: ignored columns: {', '.join(found.ignored_columns)} "
            f"(not imported; map one with --map '{found.ignored_columns[0]}=FIELD')")
    emit(pick_format(json_out), result,
         message=f"Imported {len(emails)} participant{'s' if len(emails) != 1 else ''} from {file}.")
