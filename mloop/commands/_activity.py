"""`mloop coordinator report --activity`: what happened since WHEN, as tables with bars.

CSV columns: ``section,key,count`` — one row per ISO week (section
``meetings_held``, key ``2026-W09``), per sentiment (``feedback``), per goal
tally (``goals``: created, completed), per milestone and role (``milestones``,
key ``NAME (ROLE)``) and per match tally (``matches``: made, ended,
completed, cancelled).  With --min-group N a count from 1 to N-1 is "<N".
"""

from __future__ import annotations

def activity_report_command(ctx, since: str | None, fmt: str, min_group: int | None) -> None:
    from mloop import small_groups
    from mloop.commands._common import program_session
    from mloop.errors import UsageError
    from mloop.output import Column, Rows, draw_activity, emit
    from mloop.store.access import require_coordinator
    from mloop.store.activity_report import activity_csv_rows, activity_report, default_since

    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        require_coordinator(who, "the activity report")
        start = app_ctx.when(since) if since else default_since(app_ctx.now)
        if start > app_ctx.now:
            raise UsageError(f"--since {since} is after now: give a time in the past, e.g. '12 weeks ago'")
        document = small_groups.activity(activity_report(session, program, app_ctx.now, start),
                                         small_groups.chosen_min_group(min_group, program))
    rows = Rows([Column("section", "section"), Column("key", "key"), Column("count", "count")],
                activity_csv_rows(document))
    emit(fmt, document, rows=rows, human=lambda out: draw_activity(out, document, app_ctx), pager=app_ctx.pager)

