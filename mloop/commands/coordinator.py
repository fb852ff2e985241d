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
    activity: Annotated[bool, typer.Option("--activity", help="Instead: what happened since --since (meetings held per "
                                           "week, feedback, goals, milestones, matches).")] = False,
    since: Annotated[Optional[str], typer.Option("--since", metavar="WHEN",
                                                 help="With --activity: from when (default: 12 weeks ago).")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
) -> None:
    """The milestone funnel, who is stalled and which loops are at risk.

    --activity reports what happened since --since instead: meetings held
    per ISO week, feedback sentiment, goals created and completed, custom
    milestones completed by milestone and role, matches made and ended.

    On the terminal each table shows its first --limit rows and says how
    many more there are; --json and --csv give every row to scripts and
    spreadsheets.
    """
    from mloop.output import TABLE, Column, Rows, emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.funnel import coordinator_report, parse_stage
    from mloop.timeparse import isoformat_utc

    fmt = pick_format(json_out, csv_out)
    if activity or since is not None:
        from mloop.commands._activity import activity_report_command
        from mloop.errors import UsageError

        if not activity:
            raise UsageError("--since goes with --activity: add --activity")
        if stage or stalled or at_risk:
            raise UsageError("--activity reports the whole program: drop --stage, --stalled and --at-risk")
        return activity_report_command(ctx, since, fmt)
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


BAR_WIDTH = 30


def _bar(count: int, widest: int):
    """A count's bar in a report table: BAR_WIDTH blocks for the widest count, in cyan."""
    from rich.text import Text

    return Text.assemble(("█" * round(BAR_WIDTH * count / widest) if count and widest else "", "cyan"))


def _more(out, doc: dict, key: str, one: str, many: str) -> None:
    """Says how many rows a capped table left out, and how to see them all."""
    total = doc.get(f"{key}_total", len(doc[key]))
    hidden = total - len(doc[key])
    if hidden:
        what = one if hidden == 1 else many
        out.print(f"… and {hidden:,} more {what} (--limit 0 shows all {total:,}; --csv exports them)",
                  highlight=False, markup=False)


def _nudged_ago(days_ago: int | None) -> str:
    """'3 days ago' for the stalled table's Nudged column; blank when never nudged."""
    if days_ago is None:
        return ""
    return "today" if days_ago == 0 else "1 day ago" if days_ago == 1 else f"{days_ago} days ago"


def _stall_rule(doc: dict) -> str:
    """'21 days in a stage', and the stages with their own threshold: '; First Meeting 14'."""
    from mloop.rules import STAGE_LABELS

    own = [f"{STAGE_LABELS[stage]} {days}" for stage, days in doc.get("stage_stall_days", {}).items()
           if days != doc["stall_days"]]
    return f"{doc['stall_days']} days in a stage" + (f"; {', '.join(own)}" if own else "")


def _draw_report(out, doc: dict, app_ctx, *, stage, stalled: bool, at_risk: bool) -> None:
    from rich.markup import escape
    from rich.text import Text

    from mloop.output import add_plain_row
    from mloop.rules import STAGE_LABELS

    out.print(f"[bold]{escape(doc['program'])}[/bold] — as of {local(app_ctx, doc['as_of'])}")
    focused = stalled or at_risk
    if not focused:
        funnel = _table("Milestone funnel", ("Stage", "left"), ("People", "right"), ("", "left"))
        widest = max(doc["stages"].values())
        for name, count in doc["stages"].items():
            add_plain_row(funnel, STAGE_LABELS[name], str(count), _bar(count, widest),
                          style="bold" if name == stage else None)
        out.print(funnel)
    if not at_risk or stalled:
        # The Nudged column only when someone listed was nudged: a narrow terminal keeps its room.
        nudged = any(row.get("nudged_days_ago") is not None for row in doc["stalled"])
        table = _table(f"Stalled (more than {_stall_rule(doc)})",
                       ("Name", "left"), ("Email", "left"), ("Role", "left"), ("Loop", "right"),
                       ("Stage", "left"), ("Days", "right"), *((("Nudged", "left"),) if nudged else ()))
        for row in doc["stalled"]:
            cells = [row["name"], row["email"], row["role"], str(row["loop_id"] or "-"),
                     STAGE_LABELS[row["stage"]], str(row["days_in_stage"])]
            if nudged:
                cells.append(_nudged_ago(row.get("nudged_days_ago")))
            add_plain_row(table, *cells)
        out.print(table if doc["stalled"] else "[green]Nobody is stalled.[/green]")
        _more(out, doc, "stalled", "stalled person", "stalled people")
    if not stalled or at_risk:
        if doc["at_risk"]:
            risk = _table("At risk (latest feedback negative)", ("Loop", "right"), ("Mentor", "left"),
                          ("Mentee", "left"), ("Rating", "right"), ("Given by", "left"))
            for row in doc["at_risk"]:
                given_by = "mentor" if row["email"] == row["mentor"] else "mentee"
                add_plain_row(risk, str(row["loop_id"]), row["mentor"], row["mentee"], f"{row['latest_rating']}/5",
                              given_by)
            out.print(risk)
            _more(out, doc, "at_risk", "loop at risk", "loops at risk")
        else:
            out.print("[green]No loop is at risk.[/green]")
    if "members" in doc:
        members = _table(f"At {STAGE_LABELS[stage]}", ("Name", "left"), ("Email", "left"), ("Role", "left"),
                         ("Loop", "right"), ("Days", "right"), ("Stalled", "left"))
        for m in doc["members"]:
            add_plain_row(members, m["name"], m["email"], m["role"], str(m["loop_id"] or "-"),
                          str(m["days_in_stage"]), "yes" if m["stalled"] else "")
        out.print(members)
        _more(out, doc, "members", f"person at {STAGE_LABELS[stage]}", f"people at {STAGE_LABELS[stage]}")
    if not focused and doc.get("milestones"):
        table = _table("Custom milestones", ("Milestone", "left"), ("Kind", "left"), ("Marked by", "left"),
                       ("Done", "right"), ("Overdue", "right"))
        for m in doc["milestones"]:
            overdue = Text.assemble((str(m["overdue"]), "red" if m["overdue"] else ""))
            add_plain_row(table, m["name"], m["kind"], m["role"], str(m["done"]), overdue)
        out.print(table)
    if not focused and doc.get("re_pairing"):
        pairs = _table("Up for re-pairing (latest pairing fit poor)", ("Loop", "right"), ("Mentor", "left"),
                       ("Mentee", "left"), ("Said by", "left"))
        for row in doc["re_pairing"]:
            add_plain_row(pairs, str(row["loop_id"]), row["mentor"], row["mentee"], row["fit_by"])
        out.print(pairs)
    if not focused:
        a = doc["activity"]
        out.print(
            f"Loops: {a['loops']['active']} active, {a['loops']['completed']} completed, {a['loops']['cancelled']} cancelled · "
            f"Meetings: {a['meetings']['held']} held, {a['meetings']['scheduled']} booked · "
            f"Feedback: {a['feedback']['positive']} positive, {a['feedback']['neutral']} neutral, "
            f"{a['feedback']['negative']} negative · Goals: {a['goals']['completed']} of {a['goals']['shared']} shared done"
            f" · Check-ins overdue: {doc['checkins_overdue']}"
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
    from mloop.store.card import participant_card

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "a participant's card")
        card = participant_card(session, program, get_participant(session, program, email), app_ctx.now)

    def human(out):
        from rich.markup import escape

        from mloop.rules import STAGE_LABELS

        p = card["participant"]
        out.print(f"[bold]{escape(p['name'])}[/bold] <{escape(p['email'])}> — {', '.join(p['roles'])}")
        if p.get("stage"):
            flag = " [red]stalled[/red]" if p["stalled"] else ""
            out.print(f"Unmatched: {STAGE_LABELS[p['stage']]} for {p['days_in_stage']} days{flag}")
            out.print(f"  last activity: {local(app_ctx, p.get('last_activity')) or '-'} · {_nudged(p['nudges'], card['as_of'])}")
        elif p["nudges"]:
            out.print(f"While unmatched: {_nudged(p['nudges'], card['as_of'])}")
        for loop in card["loops"]:
            flags = " ".join(f for f, on in (("[red]stalled[/red]", loop["stalled"]), ("[yellow]at risk[/yellow]", loop["at_risk"])) if on)
            out.print(f"Loop {loop['loop_id']} as {loop['role']} with {escape(loop['partner']['name'])}: "
                      f"{STAGE_LABELS[loop['stage']]} for {loop['days_in_stage']} days {flags}")
            out.print("  history: " + ", ".join(f"{STAGE_LABELS[h['stage']]} {local(app_ctx, h['reached_at'])}" for h in loop["history"]))
            ratings = ", ".join(f"{r['rating']}/5" for r in loop["feedback"]) or "none"
            out.print(f"  meetings held: {loop['meetings_held']} · last activity: {local(app_ctx, loop['last_activity']) or '-'} · feedback: {ratings}")
            out.print(f"  {_nudged(loop['nudges'], card['as_of'])}")

    emit(pick_format(json_out), card, human=human)


def _nudged(nudges: list[dict], now) -> str:
    """'nudged 2 times, last 3 days ago' (or 'never nudged') for a card."""
    from datetime import timedelta

    if not nudges:
        return "never nudged"
    days = (now - nudges[-1]["sent_at"]) // timedelta(days=1)
    times = "once" if len(nudges) == 1 else f"{len(nudges)} times"
    return f"nudged {times}, last {_nudged_ago(days)}"


# --- nudges ------------------------------------------------------------------

@app.command("nudge")
def nudge(
    ctx: typer.Context,
    stalled: Annotated[bool, typer.Option("--stalled", help="Nudge the stalled people (what nudge always does; "
                                          "accepted for clarity).")] = False,
    stage: Annotated[Optional[str], typer.Option("--stage", help="Only stalled people at this stage (e.g. matched).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; record and write nothing.")] = False,
    out_dir: Annotated[Optional[str], typer.Option("--out", metavar="DIR",
                                                   help="Also write one .eml file per message into DIR.")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Write one message to each stalled person, from their stage's template.

    Anyone nudged in the last 7 days (same person, same loop) is skipped.
    Each message sent is recorded; the report's stalled list shows when
    each person was last nudged.  Change a stage's message with
    'mloop coordinator nudge-template set'.
    """
    from mloop.commands._nudge import draw_nudges, write_messages
    from mloop.output import emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.nudges import eml_name, parse_nudge_stage, plan_nudges, record_nudges

    fmt = pick_format(json_out)
    chosen_stage = parse_nudge_stage(stage) if stage else None
    with program_session(ctx, write=not dry_run) as (app_ctx, session, program, who):
        require_coordinator(who, "nudging")
        plan = plan_nudges(session, program, app_ctx.now, coordinator=who.person, stage=chosen_stage)
        for index, message in enumerate(plan.sent, 1):
            message["file"] = eml_name(index, message) if out_dir is not None else None
        if not dry_run:
            record_nudges(session, program, app_ctx.now, plan.sent)
            if out_dir is not None:
                write_messages(out_dir, plan.sent, app_ctx.now, who.person)  # a failure rolls the records back
    sent = [{k: v for k, v in m.items() if k != "participant_id"} for m in plan.sent]
    document = {"sent": sent, "skipped": plan.skipped, "dry_run": dry_run, "out": out_dir}
    emit(fmt, document, human=lambda out: draw_nudges(out, document))


template_app = typer.Typer(rich_markup_mode=None, no_args_is_help=True,
                           help="The program's own nudge messages, one per stage, replacing the built-in ones.")
app.add_typer(template_app, name="nudge-template")


@template_app.command("list")
def template_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Each stage's nudge (the program's own or the built-in one) and the placeholders a template may use."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.nudges import PLACEHOLDERS, templates

    with program_session(ctx, write=False) as (_app_ctx, session, program, who):
        require_coordinator(who, "the nudge templates")
        found = list(templates(session, program).values())
    rows = Rows([Column("stage", "Stage"), Column("custom", "Own"), Column("subject", "Subject")], found,
                title="Nudge templates", caption="Placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
    emit(pick_format(json_out), found, rows=rows)


@template_app.command("set")
def template_set(
    ctx: typer.Context,
    stage: Annotated[str, typer.Argument(help="The stage: getting_started, matched, first_meeting, grow_together or levelling_up.")],
    subject: Annotated[str, typer.Option("--subject", help="The subject line; may use placeholders such as {first_name}.")],
    body_file: Annotated[str, typer.Option("--body-file", metavar="FILE",
                                           help="A UTF-8 text file with the message ('-': standard input).")],
    json_out: JsonFlag = False,
) -> None:
    """Replace a stage's nudge with the program's own.

    Placeholders: {name} {first_name} {partner} {loop} {days} {stage}
    {program} {coordinator}; write a literal brace as {{ or }}.  Any other
    placeholder is refused.
    """
    from mloop.commands._files import read_text
    from mloop.output import emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.nudges import parse_nudge_stage, set_template

    fmt = pick_format(json_out)
    chosen = parse_nudge_stage(stage)
    body = read_text(body_file)
    with program_session(ctx, write=True) as (_app_ctx, session, program, who):
        require_coordinator(who, "setting a nudge template")
        record = set_template(session, program, chosen, subject, body)
    emit(fmt, record, message=f"The {chosen} nudge is now the program's own.")


@template_app.command("reset")
def template_reset(
    ctx: typer.Context,
    stage: Annotated[Optional[str], typer.Argument(help="The stage to reset (default: every stage).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Go back to the built-in nudge for a stage, or for every stage."""
    from mloop.output import emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.nudges import parse_nudge_stage, reset_templates

    fmt = pick_format(json_out)
    chosen = parse_nudge_stage(stage) if stage else None
    with program_session(ctx, write=True) as (_app_ctx, session, program, who):
        require_coordinator(who, "resetting nudge templates")
        reset = reset_templates(session, program, chosen)
    message = f"Back to the built-in nudge for {', '.join(reset)}." if reset else "Nothing to reset: the built-in nudges are in use."
    emit(fmt, {"reset": reset}, message=message)
