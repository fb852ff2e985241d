"""mloop coordinator: the funnel, the stalled list, a participant's card."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commands._common import CsvFlag, JsonFlag, local, program_session

app = typer.Typer(rich_markup_mode=None, help="Coordinator views: the milestone funnel, stalled and at-risk people.", no_args_is_help=True)

DEFAULT_LIMIT = 25
MEMBER_COLUMNS = ("email", "name", "role", "loop_id", "partner", "stage", "stage_since", "days_in_stage",
                  "stalled", "at_risk", "meetings_held")


@app.command("report")
def report(
    ctx: typer.Context,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Only people at this stage (e.g. first_meeting).")] = None,
    stalled: Annotated[bool, typer.Option("--stalled", help="Only stalled people.")] = False,
    at_risk: Annotated[bool, typer.Option("--at-risk", help="Only loops at risk (the latest feedback by a member is negative).")] = False,
    limit: Annotated[int, typer.Option("--limit", min=0, metavar="N",
                                       help="Rows per table on the terminal (0: all); the stalled come longest-waiting first. "
                                            "--json and --csv always list everyone.")] = DEFAULT_LIMIT,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
) -> None:
    """The milestone funnel, who is stalled and which loops are at risk.

    On the terminal each table shows its first --limit rows and says how
    many more there are; --json and --csv give every row to scripts and
    spreadsheets.
    """
    from mloop.output import TABLE, Column, Rows, emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.report import coordinator_report, parse_stage
    from mloop.timeparse import isoformat_utc

    fmt = pick_format(json_out, csv_out)
    chosen_stage = parse_stage(stage) if stage else None
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "the coordinator report")
        document, members = coordinator_report(
            session, program, app_ctx.now, stage=chosen_stage, stalled=stalled, at_risk=at_risk,
            with_rows=fmt == "csv", listed=(limit or None) if fmt == TABLE else None,
        )
    csv_rows = Rows([Column(k, k) for k in MEMBER_COLUMNS],
                    [dict(m, stage_since=isoformat_utc(m["stage_since"])) for m in members])
    emit(fmt, document, rows=csv_rows,
         human=lambda out: _draw_report(out, document, app_ctx, stage=chosen_stage, stalled=stalled,
                                      at_risk=at_risk))


def _table(title: str, *columns: tuple[str, str]):
    """A compact report table: no edges, one space between columns, no wrapping."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, header_style="bold", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    for label, justify in columns:
        table.add_column(label, justify=justify, no_wrap=True)
    return table


def _more(out, doc: dict, key: str, one: str, many: str) -> None:
    """Says how many rows a capped table left out, and how to see them all."""
    total = doc.get(f"{key}_total", len(doc[key]))
    hidden = total - len(doc[key])
    if hidden:
        what = one if hidden == 1 else many
        out.print(f"… and {hidden:,} more {what} (--limit 0 shows all {total:,}; --csv exports them)",
                  highlight=False, markup=False)


def _draw_report(out, doc: dict, app_ctx, *, stage, stalled: bool, at_risk: bool) -> None:
    from mloop.rules import STAGE_LABELS

    out.print(f"[bold]{doc['program']}[/bold] — as of {local(app_ctx, doc['as_of'])}")
    focused = stalled or at_risk
    if not focused:
        funnel = _table("Milestone funnel", ("Stage", "left"), ("People", "right"), ("", "left"))
        widest = max(doc["stages"].values()) or 1
        for name, count in doc["stages"].items():
            bar = "█" * round(30 * count / widest) if count else ""
            style = "bold" if name == stage else None
            funnel.add_row(STAGE_LABELS[name], str(count), f"[cyan]{bar}[/cyan]", style=style)
        out.print(funnel)
    if not at_risk or stalled:
        table = _table(f"Stalled (more than {doc['stall_days']} days in a stage)",
                       ("Name", "left"), ("Email", "left"), ("Role", "left"), ("Loop", "right"),
                       ("Stage", "left"), ("Days", "right"))
        for row in doc["stalled"]:
            table.add_row(row["name"], row["email"], row["role"], str(row["loop_id"] or "-"),
                          STAGE_LABELS[row["stage"]], str(row["days_in_stage"]))
        out.print(table if doc["stalled"] else "[green]Nobody is stalled.[/green]")
        _more(out, doc, "stalled", "stalled person", "stalled people")
    if not stalled or at_risk:
        if doc["at_risk"]:
            risk = _table("At risk (latest feedback negative)", ("Loop", "right"), ("Mentor", "left"),
                          ("Mentee", "left"), ("Rating", "right"), ("Given by", "left"))
            for row in doc["at_risk"]:
                given_by = "mentor" if row["email"] == row["mentor"] else "mentee"
                risk.add_row(str(row["loop_id"]), row["mentor"], row["mentee"], f"{row['latest_rating']}/5", given_by)
            out.print(risk)
            _more(out, doc, "at_risk", "loop at risk", "loops at risk")
        else:
            out.print("[green]No loop is at risk.[/green]")
    if "members" in doc:
        members = _table(f"At {STAGE_LABELS[stage]}", ("Name", "left"), ("Email", "left"), ("Role", "left"),
                         ("Loop", "right"), ("Days", "right"), ("Stalled", "left"))
        for m in doc["members"]:
            members.add_row(m["name"], m["email"], m["role"], str(m["loop_id"] or "-"),
                            str(m["days_in_stage"]), "yes" if m["stalled"] else "")
        out.print(members)
        _more(out, doc, "members", f"person at {STAGE_LABELS[stage]}", f"people at {STAGE_LABELS[stage]}")
    if not focused:
        a = doc["activity"]
        out.print(
            f"Loops: {a['loops']['active']} active, {a['loops']['completed']} completed, {a['loops']['cancelled']} cancelled · "
            f"Meetings: {a['meetings']['held']} held, {a['meetings']['scheduled']} booked · "
            f"Feedback: {a['feedback']['positive']} positive, {a['feedback']['neutral']} neutral, "
            f"{a['feedback']['negative']} negative · Goals: {a['goals']['completed']} of {a['goals']['shared']} shared done"
        )


@app.command("participant")
def participant(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="The person's email.")],
    json_out: JsonFlag = False,
) -> None:
    """One person's card: each loop's stage, flags, history, meetings and feedback ratings."""
    from mloop.output import emit, pick_format
    from mloop.store.access import get_participant, require_coordinator
    from mloop.store.report import participant_card

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "a participant's card")
        card = participant_card(session, program, get_participant(session, program, email), app_ctx.now)

    def human(out):
        from mloop.rules import STAGE_LABELS

        p = card["participant"]
        out.print(f"[bold]{p['name']}[/bold] <{p['email']}> — {', '.join(p['roles'])}")
        if p.get("stage"):
            flag = " [red]stalled[/red]" if p["stalled"] else ""
            out.print(f"Unmatched: {STAGE_LABELS[p['stage']]} for {p['days_in_stage']} days{flag}")
        for loop in card["loops"]:
            flags = " ".join(f for f, on in (("[red]stalled[/red]", loop["stalled"]), ("[yellow]at risk[/yellow]", loop["at_risk"])) if on)
            out.print(f"Loop {loop['loop_id']} as {loop['role']} with {loop['partner']['name']}: "
                      f"{STAGE_LABELS[loop['stage']]} for {loop['days_in_stage']} days {flags}")
            out.print("  history: " + ", ".join(f"{STAGE_LABELS[h['stage']]} {local(app_ctx, h['reached_at'])}" for h in loop["history"]))
            ratings = ", ".join(f"{r['rating']}/5" for r in loop["feedback"]) or "none"
            out.print(f"  meetings held: {loop['meetings_held']} · last activity: {local(app_ctx, loop['last_activity']) or '-'} · feedback: {ratings}")

    emit(pick_format(json_out), card, human=human)
