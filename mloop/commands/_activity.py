"""`mloop coordinator report --activity`: what happened since WHEN, as tables with bars.

CSV columns: ``section,key,count`` — one row per ISO week (section
``meetings_held``, key ``2026-W09``), per sentiment (``feedback``), per goal
tally (``goals``: created, completed), per milestone and role (``milestones``,
key ``NAME (ROLE)``) and per match tally (``matches``: made, ended,
completed, cancelled).
"""

from __future__ import annotations

def activity_report_command(ctx, since: str | None, fmt: str) -> None:
    from mloop.commands._common import program_session
    from mloop.errors import UsageError
    from mloop.output import Column, Rows, emit
    from mloop.store.access import require_coordinator
    from mloop.store.activity_report import activity_csv_rows, activity_report, default_since

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "the activity report")
        start = app_ctx.when(since) if since else default_since(app_ctx.now)
        if start > app_ctx.now:
            raise UsageError(f"--since {since} is after now: give a time in the past, e.g. '12 weeks ago'")
        document = activity_report(session, program, app_ctx.now, start)
    rows = Rows([Column("section", "section"), Column("key", "key"), Column("count", "count")],
                activity_csv_rows(document))
    emit(fmt, document, rows=rows, human=lambda out: _draw(out, document, app_ctx))


def _draw(out, doc: dict, app_ctx) -> None:
    from mloop.commands._common import local
    from rich.markup import escape

    from mloop.commands.coordinator import _bar, _table
    from mloop.output import add_plain_row

    out.print(f"[bold]{escape(doc['program'])}[/bold] — activity from {local(app_ctx, doc['since'])} to {local(app_ctx, doc['as_of'])}")
    weeks = doc["meetings"]["per_week"]
    table = _table(f"Meetings held per week ({doc['meetings']['held']} in all)",
                   ("Week", "left"), ("From", "left"), ("Held", "right"), ("", "left"))
    widest = max((w["held"] for w in weeks), default=0)
    for w in weeks:
        add_plain_row(table, w["week"], w["week_start"], str(w["held"]), _bar(w["held"], widest))
    out.print(table)

    feedback = doc["feedback"]
    table = _table(f"Feedback ({feedback['total']} given)", ("Sentiment", "left"), ("Count", "right"), ("", "left"))
    widest = max(feedback["positive"], feedback["neutral"], feedback["negative"])
    for key in ("positive", "neutral", "negative"):
        add_plain_row(table, key, str(feedback[key]), _bar(feedback[key], widest))
    out.print(table)

    tallies = _table("Goals and matches", ("What", "left"), ("Count", "right"), ("", "left"))
    counts = [("Goals created", doc["goals"]["created"]), ("Goals completed", doc["goals"]["completed"]),
              ("Matches made", doc["matches"]["made"]), ("Matches completed", doc["matches"]["completed"]),
              ("Matches cancelled", doc["matches"]["cancelled"])]
    widest = max(n for _, n in counts)
    for label, n in counts:
        add_plain_row(tallies, label, str(n), _bar(n, widest))
    out.print(tallies)

    if doc["milestones"]:
        table = _table("Custom milestones completed", ("Milestone", "left"), ("Role", "left"), ("Done", "right"), ("", "left"))
        widest = max(m["completed"] for m in doc["milestones"])
        for m in doc["milestones"]:
            add_plain_row(table, m["milestone"], m["role"], str(m["completed"]), _bar(m["completed"], widest))
        out.print(table)
    else:
        out.print("No custom milestone was completed in this time.", highlight=False, markup=False)
