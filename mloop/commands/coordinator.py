"""mloop coordinator: the funnel, the stalled list, a participant's card."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import CsvFlag, CsvRawFlag, JsonFlag, Stage, StallStage, local, program_session

app = command_group(
    "Coordinator views: the milestone funnel, stalled and at-risk people.",
    'mloop coordinator report',
    'mloop coordinator nudge --dry-run',
)

DEFAULT_LIMIT = 25
MEMBER_COLUMNS = ("email", "name", "role", "loop_id", "partner", "stage", "stage_since", "days_in_stage",
                  "stalled", "at_risk", "meetings_held")


@app.command("report", epilog=examples(
    'mloop coordinator report --stage first_meeting',
    'mloop coordinator report --activity --since 2026-03-01',
    'mloop coordinator report --html spring-report.html',
))
def report(
    ctx: typer.Context,
    stage: Annotated[Optional[Stage], typer.Option("--stage", case_sensitive=False, help="Only people at this stage.")] = None,
    stalled: Annotated[bool, typer.Option("--stalled", help="Only stalled people.")] = False,
    at_risk: Annotated[bool, typer.Option("--at-risk", help="Only loops at risk (the latest feedback by a member is negative).")] = False,
    limit: Annotated[int, typer.Option("--limit", min=0, metavar="N",
                                       help="Rows per table on the terminal (0: all); the stalled come longest-waiting first. "
                                            "--json and --csv always list everyone.")] = DEFAULT_LIMIT,
    activity: Annotated[bool, typer.Option("--activity", help="Instead: what happened since --since (meetings held per "
                                           "week, feedback, goals, milestones, matches).")] = False,
    since: Annotated[Optional[str], typer.Option("--since", metavar="WHEN",
                                                 help="With --activity: from when (default: 12 weeks ago).")] = None,
    health: Annotated[bool, typer.Option("--health", help="Instead: each active loop's health score (0–100), "
                                         "lowest first, with the points of each part.")] = False,
    html: Annotated[Optional[str], typer.Option("--html", metavar="FILE",
                                                help="Write the whole report, with the activity since --since, as one "
                                                     "self-contained HTML page with charts ('-': stdout).")] = None,
    min_group: Annotated[Optional[int], typer.Option(
        "--min-group", metavar="N", help="Show each count from 1 to N-1 as <N and list no people, so that small "
                                         "groups cannot be singled out (default: the program's; 0 or 1: every count).")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """The milestone funnel, who is stalled and which loops are at risk.

    --activity reports what happened since --since instead: meetings held
    per ISO week, feedback sentiment, goals created and completed, custom
    milestones completed by milestone and role, matches made and ended.

    On the terminal each table shows its first --limit rows and says how
    many more there are; --json and --csv give every row to scripts and
    spreadsheets. --html FILE writes a page to share: the funnel, the stalled
    and at-risk lists, the activity per week as charts and the program's
    milestones (no network needed to view it; it prints).

    --min-group N (or 'program set --min-group N') shows every count from
    1 to N-1 as "<N" in the table, CSV, JSON and HTML, and leaves out the
    lists that name people; --csv then gives section,key,count rows.
    """
    from mloop import small_groups
    from mloop.errors import UsageError
    from mloop.output import CSV_FORMATS, TABLE, Column, Rows, draw_report, emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.funnel import coordinator_report
    from mloop.timeparse import isoformat_utc

    fmt = pick_format(json_out, csv_out, csv_raw)
    if health:
        if stage or stalled or at_risk or activity or html is not None or min_group is not None:
            raise UsageError("--health lists every active loop: drop --stage, --stalled, --at-risk, --activity, --html "
                             "and --min-group")
        return _health_report(ctx, fmt, limit)
    if html is not None:
        if json_out or csv_out or stage or stalled or at_risk:
            raise UsageError("--html writes the whole report: drop --json, --csv, --stage, --stalled and --at-risk")
        return _html_report(ctx, html, since, min_group)
    if activity or since is not None:
        from mloop.commands._activity import activity_report_command

        if not activity:
            raise UsageError("--since goes with --activity: add --activity")
        if stage or stalled or at_risk:
            raise UsageError("--activity reports the whole program: drop --stage, --stalled and --at-risk")
        return activity_report_command(ctx, since, fmt, min_group)
    chosen_stage = stage
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "the coordinator report")
        smallest = small_groups.chosen_min_group(min_group, program)
        if small_groups.is_on(smallest) and (stage or stalled or at_risk):
            raise UsageError(f"the report hides groups under {smallest} and lists no people: drop --stage, "
                             "--stalled and --at-risk, or add --min-group 0")
        document, members = coordinator_report(
            session, program, app_ctx.now, stage=chosen_stage, stalled=stalled, at_risk=at_risk,
            with_rows=fmt in CSV_FORMATS, listed=(limit or None) if fmt == TABLE else None,
        )
    app_ctx.tell_stalled(document["program"], document.get("stalled") or [])
    document = small_groups.report(document, smallest)
    if small_groups.is_on(smallest):
        csv_rows = Rows([Column(k, k) for k in ("section", "key", "count")], small_groups.report_rows(document))
    else:
        csv_rows = Rows([Column(k, k) for k in MEMBER_COLUMNS],
                        [dict(m, stage_since=isoformat_utc(m["stage_since"])) for m in members])
    emit(fmt, document, rows=csv_rows,
         human=lambda out: draw_report(out, document, app_ctx, stage=chosen_stage, stalled=stalled,
                                     at_risk=at_risk), pager=app_ctx.pager)


def _health_report(ctx: typer.Context, fmt: str, limit: int) -> None:
    from mloop.output import TABLE, Column, Rows, emit
    from mloop.rules import HEALTH_PARTS
    from mloop.store.access import require_coordinator
    from mloop.store.health import loop_health
    from mloop.store.programs import health_weights

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "the loop health report")
        weights = health_weights(program)
        loops = loop_health(session, program, app_ctx.now, weights=weights)
    document = {"program": program.name, "as_of": app_ctx.now, "weights": weights, "loops": loops}
    records = []
    for row in loops:
        record = {"loop_id": row["loop_id"], "mentor": row["mentor"], "mentee": row["mentee"], "score": row["score"]}
        record.update({part: row["parts"][part]["points"] for part in HEALTH_PARTS})
        weakest = min(HEALTH_PARTS, key=lambda part: (row["parts"][part]["value"], HEALTH_PARTS.index(part)))
        record["raise_by"] = row["parts"][weakest]["raise_by"] or ""
        records.append(record)
    shown = records[:limit] if fmt == TABLE and limit else records
    columns = [Column("loop_id", "Loop", "right"), Column("mentor", "Mentor"), Column("mentee", "Mentee"),
               Column("score", "Score", "right")]
    columns += [Column(part, f"{part.capitalize()} /{weights[part] * 100 // max(sum(weights.values()), 1)}", "right")
                for part in HEALTH_PARTS]
    columns.append(Column("raise_by", "Raise it by"))
    more = len(records) - len(shown)
    rows = Rows(columns, shown, title=f"Loop health — {program.name} (lowest first)"
                + (f"; {more} more: --limit 0 shows all" if more else ""),
                empty="No active loops.")
    emit(fmt, document, rows=rows, pager=app_ctx.pager)


def _html_report(ctx: typer.Context, out: str, since: str | None, min_group: int | None) -> None:
    import sys

    from mloop import small_groups
    from mloop.commands._files import atomic_file, is_stdout
    from mloop.errors import UsageError
    from mloop.output import say
    from mloop.report_html import page
    from mloop.store.access import require_coordinator
    from mloop.store.activity_report import activity_report, default_since
    from mloop.store.funnel import coordinator_report

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "the coordinator report")
        start = app_ctx.when(since) if since else default_since(app_ctx.now)
        if start > app_ctx.now:
            raise UsageError(f"--since {since} is after now: give a time in the past, e.g. '12 weeks ago'")
        smallest = small_groups.chosen_min_group(min_group, program)
        document, _rows = coordinator_report(session, program, app_ctx.now)
        activity = activity_report(session, program, app_ctx.now, start)
    app_ctx.tell_stalled(document["program"], document.get("stalled") or [])
    text = page(small_groups.report(document, smallest), small_groups.activity(activity, smallest), app_ctx.tz)
    if is_stdout(out):
        sys.stdout.write(text)
        return
    with atomic_file(out) as handle:
        handle.write(text)
    say(f"Wrote the report of {document['program']} to {out}: open it in a browser, share or print it.")


@app.command("participant", epilog=examples(
    'mloop coordinator participant ana.beltran@example.org',
))
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

        from mloop.rules import ALUMNI, LABELS, NEGATIVE_RATING, STAGE_LABELS

        p = card["participant"]
        out.print(f"[bold]{escape(p['name'])}[/bold] <{escape(p['email'])}> — {', '.join(p['roles'])}")
        if p.get("stage"):
            flag = " [red]stalled[/red]" if p["stalled"] else ""
            standing = "No active loop" if p["stage"] == ALUMNI else "Unmatched"
            out.print(f"{standing}: {LABELS[p['stage']]} for {p['days_in_stage']} days{flag}")
            out.print(f"  last activity: {local(app_ctx, p.get('last_activity')) or '-'} · {_nudged(p['nudges'], card['as_of'])}")
        elif p["nudges"]:
            out.print(f"While unmatched: {_nudged(p['nudges'], card['as_of'])}")
        for loop in card["loops"]:
            why = ", ".join("negative rating" if r == NEGATIVE_RATING else "poor fit" for r in loop["at_risk_reasons"])
            flags = " ".join(f for f, on in (("[red]stalled[/red]", loop["stalled"]),
                                             (f"[yellow]at risk ({why})[/yellow]", loop["at_risk"])) if on)
            out.print(f"Loop {loop['loop_id']} as {loop['role']} with {escape(loop['partner']['name'])}: "
                      f"{STAGE_LABELS[loop['stage']]} for {loop['days_in_stage']} days {flags}")
            out.print("  history: " + ", ".join(f"{STAGE_LABELS[h['stage']]} {local(app_ctx, h['reached_at'])}" for h in loop["history"]))
            ratings = ", ".join(f"{r['rating']}/5" for r in loop["feedback"]) or "none"
            out.print(f"  meetings held: {loop['meetings_held']} · last activity: {local(app_ctx, loop['last_activity']) or '-'} · feedback: {ratings}")
            out.print(f"  {_nudged(loop['nudges'], card['as_of'])}")

    emit(pick_format(json_out), card, human=human, pager=app_ctx.pager)


def _nudged(nudges: list[dict], now) -> str:
    """'nudged 2 times, last 3 days ago' (or 'never nudged') for a card."""
    from datetime import timedelta

    from mloop.output import nudged_ago

    if not nudges:
        return "never nudged"
    days = (now - nudges[-1]["sent_at"]) // timedelta(days=1)
    times = "once" if len(nudges) == 1 else f"{len(nudges)} times"
    return f"nudged {times}, last {nudged_ago(days)}"


# --- nudges ------------------------------------------------------------------

@app.command("nudge", epilog=examples(
    'mloop coordinator nudge --dry-run',
    'mloop coordinator nudge --stage matched --out nudges',
))
def nudge(
    ctx: typer.Context,
    stalled: Annotated[bool, typer.Option("--stalled", help="Nudge the stalled people (what nudge always does; "
                                          "accepted for clarity).")] = False,
    stage: Annotated[Optional[StallStage], typer.Option("--stage", case_sensitive=False, help="Only stalled people at this stage.")] = None,
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
    from mloop.commands._nudge import write_messages
    from mloop.output import draw_nudges, emit, pick_format
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
    emit(fmt, document, human=lambda out: draw_nudges(out, document), pager=app_ctx.pager)


template_app = command_group(
    "The program's own nudge messages, one per stage, replacing the built-in ones.",
    'mloop coordinator nudge-template list',
    'mloop coordinator nudge-template reset matched',
)
app.add_typer(template_app, name="nudge-template")


@template_app.command("list", epilog=examples(
    'mloop coordinator nudge-template list',
))
def template_list(ctx: typer.Context, json_out: JsonFlag = False) -> None:
    """Each stage's nudge (the program's own or the built-in one) and the placeholders a template may use."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.access import require_coordinator
    from mloop.store.nudges import PLACEHOLDERS, templates

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "the nudge templates")
        found = list(templates(session, program).values())
    rows = Rows([Column("stage", "Stage"), Column("custom", "Own"), Column("subject", "Subject")], found,
                title="Nudge templates", caption="Placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS))
    emit(pick_format(json_out), found, rows=rows, pager=app_ctx.pager)


@template_app.command("set", epilog=examples(
    "mloop coordinator nudge-template set matched --subject '{first_name}, time to meet {partner}' --body-file matched.txt",
))
def template_set(
    ctx: typer.Context,
    stage: Annotated[StallStage, typer.Argument(case_sensitive=False, help="The stage whose nudge this is.")],
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


@template_app.command("reset", epilog=examples(
    'mloop coordinator nudge-template reset matched',
    'mloop coordinator nudge-template reset',
))
def template_reset(
    ctx: typer.Context,
    stage: Annotated[Optional[StallStage], typer.Argument(case_sensitive=False, help="The stage to reset (default: every stage).")] = None,
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
