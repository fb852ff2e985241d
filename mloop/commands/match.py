"""mloop match: create, list and end loops."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import CsvFlag, CsvRawFlag, JsonFlag, Outcome, local, program_session

app = command_group(
    "Create, suggest, list and end matches (loops).",
    'mloop match suggest',
    'mloop match create --mentor amara.okafor@example.org --mentee ana.beltran@example.org',
)


@app.command("create", epilog=examples(
    'mloop match create --mentor amara.okafor@example.org --mentee ana.beltran@example.org',
    'mloop match create --mentor daniel.kim@example.org --mentee dev.patel@example.org --at 2026-05-04',
))
def create(
    ctx: typer.Context,
    mentor: Annotated[str, typer.Option("--mentor", help="The mentor's email.")],
    mentee: Annotated[str, typer.Option("--mentee", help="The mentee's email.")],
    at: Annotated[Optional[str], typer.Option("--at", help="When the match was made (WHEN; default now).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Match a mentor with a mentee (coordinators only). Prints the new loop's id."""
    from mloop.output import emit, pick_format
    from mloop.store.loops import create_match

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        matched_at = app_ctx.when(at) if at else app_ctx.now
        loop = create_match(session, program, who, mentor_email=mentor, mentee_email=mentee,
                            matched_at=matched_at, now=app_ctx.now)
        record = {"id": loop.id, "mentor": mentor.strip(), "mentee": mentee.strip(), "matched_at": loop.matched_at}
    emit(pick_format(json_out), record, message=f"Created loop {loop.id}: {record['mentor']} mentors {record['mentee']}.")


@app.command("list", epilog=examples(
    'mloop match list',
    'mloop match list --all --csv > loops.csv',
))
def list_(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", help="Include ended loops.")] = False,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """List loops: a coordinator sees all, a participant their own."""
    from mloop.output import CSV_FORMATS, Column, Rows, emit, pick_format
    from mloop.store.loops import list_matches, loop_status_word

    fmt = pick_format(json_out, csv_out, csv_raw)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        records = [
            {
                "loop_id": loop.id,
                "mentor": mentor_p.email, "mentor_name": mentor_p.name,
                "mentee": mentee_p.email, "mentee_name": mentee_p.name,
                "matched_at": loop.matched_at, "status": loop_status_word(loop, app_ctx.now),
                "ended_at": loop.ended_at if loop.ended_at and loop.ended_at <= app_ctx.now else None,
                "end_reason": loop.end_reason if loop.ended_at and loop.ended_at <= app_ctx.now else None,
            }
            for loop, mentor_p, mentee_p in list_matches(session, program, who, include_ended=all_, now=app_ctx.now)
        ]
    shown = [dict(r, matched=local(app_ctx, r["matched_at"])) for r in records]
    columns = [Column("loop_id", "Loop", "right"), Column("mentor_name", "Mentor"), Column("mentor", "Mentor email"),
               Column("mentee_name", "Mentee"), Column("mentee", "Mentee email"), Column("matched", "Matched"),
               Column("status", "Status")]
    if fmt in CSV_FORMATS:
        columns = [Column(k, k) for k in ("loop_id", "mentor", "mentor_name", "mentee", "mentee_name", "matched_at", "status", "ended_at", "end_reason")]
        shown = [dict(r, matched_at=_iso(r["matched_at"]), ended_at=_iso(r["ended_at"])) for r in records]
    emit(fmt, records, rows=Rows(columns, shown, empty="no loops yet: create one with 'mloop match create'"), pager=app_ctx.pager)


def _iso(value):
    from mloop.timeparse import isoformat_utc

    return isoformat_utc(value)


@app.command("end", epilog=examples(
    'mloop match end 2 --outcome completed --reason "Goals met"',
    'mloop match end 4 --outcome cancelled --reason "Moved away"',
))
def end(
    ctx: typer.Context,
    loop_id: Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id.")],
    outcome: Annotated[Outcome, typer.Option("--outcome", case_sensitive=False, help="How the loop ends.")],
    reason: Annotated[Optional[str], typer.Option("--reason", help="Why the loop ends (its coordinators read this).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """End a loop; an ended loop is read-only."""
    from mloop.output import emit, pick_format
    from mloop.store.access import get_loop
    from mloop.store.loops import end_match

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        loop = end_match(session, program, who, get_loop(session, program, loop_id),
                         outcome=outcome.strip().lower(), reason=reason, now=app_ctx.now)
        record = {"id": loop.id, "outcome": loop.outcome, "ended_at": loop.ended_at, "reason": loop.end_reason}
    emit(pick_format(json_out), record, message=f"Ended loop {loop.id} ({loop.outcome}).")


@app.command("suggest", epilog=examples(
    'mloop match suggest',
    'mloop match suggest --mentee dev.patel@example.org',
    'mloop match suggest --limit 5 --apply',
))
def suggest(
    ctx: typer.Context,
    mentee: Annotated[Optional[str], typer.Option("--mentee", help="Suggest a mentor for this mentee only.")] = None,
    min_score: Annotated[float, typer.Option(
        "--min-score", min=0,
        help="Leave out pairs scoring less than this (the default leaves out pairs with nothing in common; "
             "--min-score 0 proposes them too).")] = 1.0,
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Show (and apply) only the N best suggestions.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Create the proposed loops, all in one transaction.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show the proposal (the default).")] = False,
    include_alumni: Annotated[bool, typer.Option(
        "--include-alumni", help="Also propose mentors for alumni (mentees whose last loop ended completed).")] = False,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """Propose the best mentor for every mentee at Getting Started (coordinators only).

    Scores each pair (10 per shared skill, up to 3 for close time zones, 2 for
    different departments; never a former partner or oneself) and picks the
    assignment with the largest total within every mentor's remaining capacity."""
    from mloop.errors import UsageError
    from mloop.output import emit, pick_format, progress, watching
    from mloop.store.matching import suggest_matches

    fmt = pick_format(json_out, csv_out, csv_raw)
    if apply and dry_run:
        raise UsageError("choose one of --apply and --dry-run")
    with program_session(ctx, write=apply) as (app_ctx, session, program, who), \
            progress("scoring pairs", shown=watching(json_out)):
        result = suggest_matches(session, program, who, now=app_ctx.now, mentee_email=mentee,
                                 min_score=min_score, limit=limit, apply=apply, include_alumni=include_alumni)
        loop_ids = [loop.id for loop in result.loops]
    document = {"suggestions": [s.as_record() for s in result.suggestions], "applied": apply, "loops": loop_ids,
                "unmatched": result.unmatched}
    emit(fmt, document, rows=_suggestion_rows(fmt, result, loop_ids if apply else None), pager=app_ctx.pager)


def _suggestion_rows(fmt: str, result, loop_ids: list[int] | None):
    """The proposal as a table (or CSV): one row per suggestion, with the loop made when applied."""
    from mloop.matching import explain
    from mloop.output import CSV_FORMATS, Column, Rows

    shown = []
    for number, suggestion in enumerate(result.suggestions):
        record = suggestion.as_record()
        record.update({f"{part}_points": points for part, points in record["parts"].items()})
        record.update(why=explain(suggestion.parts), loop=loop_ids[number] if loop_ids is not None else None)
        shown.append(record)
    if fmt in CSV_FORMATS:
        keys = ("mentee", "mentor", "score", "skills_points", "timezone_points", "department_points", "shared_skills")
        columns = [Column(key, key) for key in keys]
    else:
        columns = [Column("mentee", "Mentee"), Column("mentor", "Mentor"), Column("score", "Score", "right"),
                   Column("shared_skills", "Shared skills"), Column("why", "Why")]
    if loop_ids is not None:
        columns.insert(0, Column("loop", "loop" if fmt in CSV_FORMATS else "Loop", "right"))
        title = f"Created {len(loop_ids)} loop{'s' if len(loop_ids) != 1 else ''}"
    else:
        title = "Suggested matches (dry run: add --apply to create them)"
    unmatched = result.unmatched
    left = ", ".join(unmatched[:10]) + (f" and {len(unmatched) - 10} more" if len(unmatched) > 10 else "")
    caption = f"no acceptable mentor for: {left}" if unmatched else None
    empty = caption or "no suggestions: every mentee is matched or no mentor has room"
    return Rows(columns, shown, title=title, caption=caption, empty=empty)
