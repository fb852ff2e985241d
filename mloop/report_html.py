"""The coordinator report as one self-contained HTML page (``report --html``).

No network and no scripts: the styles are inline and the charts are inline
SVG drawn here from the report's own documents (``coordinator_report`` and
``activity_report``), so the page shows exactly the numbers ``--json`` gives.
Every bar carries its value in ``data-value`` and as a text label, which is
what a reader, a screen reader (each chart has a title and a description) and
the tests read; a count hidden as "<N" (``--min-group``) has the marker there and
no bar. It reads on a phone (the charts scale to the width) and
prints (no backgrounds, no page break inside a chart or table row).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from html import escape

from mloop import __version__, rules
from mloop.small_groups import magnitude, total

STYLE = """
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bar: #2f80ed; --good: #27ae60;
        --mid: #f2c94c; --bad: #eb5757; --done: #9b51e0; }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       margin: 0 auto; padding: 1rem; max-width: 60rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
p.meta, .note { color: var(--muted); margin: .2rem 0; }
figure { margin: 0 0 1.2rem; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg { width: 100%; height: auto; display: block; }
svg.weekly { max-width: 42rem; }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
.bar { fill: var(--bar); } .positive { fill: var(--good); } .neutral { fill: var(--mid); }
.negative { fill: var(--bad); } .second { fill: var(--done); }
.legend span { display: inline-block; margin-right: 1rem; font-size: .85rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .92rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr { break-inside: avoid; }
@media (max-width: 36rem) { body { font-size: 15px; padding: .6rem; } th, td { padding: .25rem .3rem; } }
@media print { body { max-width: none; padding: 0; } h2 { break-after: avoid; } a { color: inherit; } }
"""

LEGEND_COLOURS = {"bar": "#2f80ed", "positive": "#27ae60", "neutral": "#f2c94c", "negative": "#eb5757",
                  "second": "#9b51e0"}


def page(report: dict, activity: dict, zone: tzinfo) -> str:
    """The whole page for a ``coordinator_report`` and an ``activity_report`` document."""
    from mloop.timeparse import format_local

    as_of = format_local(report["as_of"], zone)
    since = format_local(activity["since"], zone)
    title = f"{report['program']} — mentoring report, {as_of}"
    body = [
        f"<header><h1>{_text(report['program'])}</h1>",
        f'<p class="meta">Mentoring report as of <time datetime="{_iso(report["as_of"])}">{_text(as_of)}</time>; '
        f"activity since {_text(since)}.</p></header>",
        "<main>",
        _funnel(report),
        _stalled(report),
        _at_risk(report),
        _activity(activity),
        _milestones(report),
        "</main>",
        f'<footer><p class="note">Made by mloop {__version__}. Stalled: more than {report["stall_days"]} days '
        "in one stage (a stage may have its own threshold)."
        + (f" Counts under {report['min_group']} are shown as {_text(rules.hidden_count(report['min_group']))}, "
           "so that small groups cannot be singled out." if "min_group" in report else "")
        + "</p></footer>",
    ]
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_text(title)}</title><style>{STYLE}</style></head>",
        "<body>", *body, "</body></html>", "",
    ])


def _text(value: object) -> str:
    return escape(str(value), quote=True)


def _iso(value: datetime | str) -> str:
    from mloop.timeparse import isoformat_utc

    return isoformat_utc(value) if isinstance(value, datetime) else str(value)


# --- the funnel ----------------------------------------------------------------------------


def _funnel(report: dict) -> str:
    stages = [(stage, rules.STAGE_LABELS[stage], report["stages"].get(stage, 0)) for stage in rules.STAGES]
    in_funnel = total(count for _stage, _label, count in stages)
    chart = _horizontal_bars("funnel", "Milestone funnel",
                             f"People in each stage: {', '.join(f'{label} {n}' for _s, label, n in stages)}.",
                             stages)
    alumni = _text(report.get("alumni", 0))
    people = "" if in_funnel is None else f"{in_funnel} people in the funnel; "
    return (f'<section id="funnel"><h2>Milestone funnel</h2>{chart}'
            f'<p class="note">{people}<span data-key="alumni" data-value="{alumni}">'
            f"{alumni} alumni</span> (their loop completed, outside the funnel).</p></section>")


def _horizontal_bars(name: str, title: str, description: str, rows: list[tuple[str, str, int | str]]) -> str:
    label_w, bar_w, row_h = 130, 250, 28
    top = max([magnitude(n) for _k, _l, n in rows] + [1])
    parts = [f'<figure><svg class="chart {name}" viewBox="0 0 {label_w + bar_w + 60} {row_h * len(rows) + 8}" '
             f'role="img" aria-labelledby="{name}-title {name}-desc">',
             f'<title id="{name}-title">{_text(title)}</title><desc id="{name}-desc">{_text(description)}</desc>']
    for i, (key, label, value) in enumerate(rows):
        y = 4 + i * row_h
        width = round(bar_w * magnitude(value) / top, 1)
        parts.append(
            f'<g class="row" data-key="{_text(key)}" data-value="{_text(value)}">'
            f'<text x="{label_w - 8}" y="{y + 18}" text-anchor="end">{_text(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{width}" height="{row_h - 8}" rx="2"/>'
            f'<text class="value" x="{label_w + width + 6}" y="{y + 18}">{_text(value)}</text></g>')
    parts.append("</svg></figure>")
    return "".join(parts)


# --- the lists -----------------------------------------------------------------------------


def _table(columns: list[tuple[str, str]], rows: list[list[object]], empty: str, name: str) -> str:
    if not rows:
        return f'<p class="note" data-empty="{name}">{_text(empty)}</p>'
    head = "".join(f'<th{" class=n" if kind == "n" else ""} scope="col">{_text(label)}</th>' for label, kind in columns)
    body = "".join(
        "<tr>" + "".join(f'<td{" class=n" if kind == "n" else ""}>{_text(cell)}</td>'
                         for (_label, kind), cell in zip(columns, row)) + "</tr>"
        for row in rows)
    return f'<div class="scroll"><table class="{name}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _left_out(report: dict, name: str, title: str, count_key: str) -> str | None:
    """A list of people the report leaves out (small groups hidden): its count and why."""
    if "left_out" not in report:
        return None
    count = _text(report[count_key])
    return (f'<section id="{name}"><h2>{title} ({count})</h2><p class="note" data-left-out="{name}">'
            f"Not listed: this report hides groups under {report['min_group']} and names nobody.</p></section>")


def _stalled(report: dict) -> str:
    left_out = _left_out(report, "stalled", "Stalled", "stalled_total")
    if left_out is not None:
        return left_out
    rows = [[p["name"], p["email"], p["role"], "—" if p["loop_id"] is None else p["loop_id"],
             rules.LABELS.get(p["stage"], p["stage"]), p["days_in_stage"]] for p in report.get("stalled", [])]
    table = _table([("Name", ""), ("Email", ""), ("Role", ""), ("Loop", "n"), ("Stage", ""), ("Days", "n")], rows,
                   "Nobody is stalled.", "stalled")
    return f'<section id="stalled"><h2>Stalled ({len(rows)})</h2>{table}</section>'


def _at_risk(report: dict) -> str:
    left_out = _left_out(report, "at-risk", "Loops at risk", "at_risk_total")
    if left_out is not None:
        return left_out
    rows = []
    for loop in report.get("at_risk", []):
        why = []
        if "negative_rating" in loop.get("reasons", ()):
            why.append(f"rated {loop['latest_rating']}/5 by {loop['rating_by']}")
        if "poor_fit" in loop.get("reasons", ()):
            why.append(f"poor fit by {loop['fit_by']}")
        rows.append([loop["loop_id"], loop["mentor"], loop["mentee"], "; ".join(why)])
    table = _table([("Loop", "n"), ("Mentor", ""), ("Mentee", ""), ("Why", "")], rows,
                   "No loop is at risk.", "at-risk")
    return f'<section id="at-risk"><h2>Loops at risk ({len(rows)})</h2>{table}</section>'


def _milestones(report: dict) -> str:
    rows = [[m["name"], m["kind"], m["role"], m["done"], m["overdue"]] for m in report.get("milestones", [])]
    table = _table([("Milestone", ""), ("Kind", ""), ("Marked by", ""), ("Done", "n"), ("Overdue", "n")], rows,
                   "The program has no milestones of its own.", "milestones")
    return f'<section id="milestones"><h2>The program\'s milestones</h2>{table}</section>'


# --- activity over time ----------------------------------------------------------------------


def _activity(activity: dict) -> str:
    weeks = activity["weeks"]
    charts = [
        _weekly("meetings", "Meetings held per week", weeks, [("held", "Held", "bar")]),
        _weekly("sentiment", "Feedback per week, by sentiment", weeks,
                [(kind, f"{kind.capitalize()} ({rules.rating_span(rules.sentiment_ratings(kind))})", kind)
                 for kind in rules.SENTIMENTS], stacked=True),
        _weekly("goals", "Goals per week", weeks,
                [("goals_created", "Created", "bar"), ("goals_completed", "Completed", "second")]),
        _weekly("matches", "Matches per week", weeks,
                [("matches_made", "Made", "bar"), ("matches_ended", "Ended", "second")]),
    ]
    totals = (f'{activity["meetings"]["held"]} meetings held, {activity["feedback"]["total"]} feedback, '
              f'{activity["goals"]["created"]} goals created and {activity["goals"]["completed"]} completed, '
              f'{activity["matches"]["made"]} matches made and {activity["matches"]["ended"]} ended.')
    return f'<section id="activity"><h2>Activity</h2><p class="note">{_text(totals)}</p>{"".join(charts)}</section>'


def _weekly(name: str, title: str, weeks: list[dict], series: list[tuple[str, str, str]], *,
            stacked: bool = False) -> str:
    """Bars per ISO week: side by side per series, or stacked."""
    left, plot_h, bottom, slot, pad = 34, 160, 34, 34, 18  # pad: room above the tallest bar for its value
    width = left + slot * max(len(weeks), 1) + 8
    per_week = [sum(magnitude(w[key]) for key, _l, _c in series) if stacked
                else max([magnitude(w[key]) for key, _l, _c in series] + [0]) for w in weeks]
    top = max(per_week + [1])
    description = "; ".join(f"{w['week']}: " + ", ".join(f"{label} {w[key]}" for key, label, _c in series)
                            for w in weeks)
    legend = "" if len(series) == 1 else '<div class="legend">' + "".join(
        f'<span><i style="background:{LEGEND_COLOURS[css]}"></i>{_text(label)}</span>'
        for _key, label, css in series) + "</div>"
    parts = [f"<figure><figcaption>{_text(title)}</figcaption>{legend}",
             f'<svg class="chart weekly {name}" viewBox="0 0 {width} {pad + plot_h + bottom + 4}" role="img" '
             f'aria-labelledby="{name}-title {name}-desc"><title id="{name}-title">{_text(title)}</title>'
             f'<desc id="{name}-desc">{_text(description)}</desc>',
             f'<text x="{left - 6}" y="{pad + 4}" text-anchor="end">{top}</text>',
             f'<line x1="{left}" y1="{pad + plot_h}" x2="{width - 4}" y2="{pad + plot_h}" stroke="#9aa5b1"/>']
    for i, week in enumerate(weeks):
        x = left + i * slot + 4
        parts.append(f'<g class="week" data-week="{week["week"]}">')
        base = pad + plot_h
        bar_w = (slot - 8) if stacked else (slot - 8) / len(series)
        for j, (key, label, css) in enumerate(series):
            value = week[key]
            height = round(plot_h * magnitude(value) / top, 1)
            bx = x if stacked else x + j * bar_w
            by = base - height
            parts.append(f'<rect class="{css}" data-series="{key}" data-value="{_text(value)}" x="{round(bx, 1)}" '
                         f'y="{round(by, 1)}" width="{round(bar_w - 1, 1)}" height="{height}">'
                         f"<title>{_text(week['week'])}: {_text(label)} {_text(value)}</title></rect>")
            if stacked:
                base = by
        # The value above a bar or a stack: a hidden count shows its marker; a
        # stack with a hidden part shows no total, which would give that part away.
        label = total(week[key] for key, _l, _c in series) if stacked else week[series[0][0]]
        if stacked and label:
            parts.append(f'<text class="value" x="{x + (slot - 8) / 2}" y="{base - 3}" text-anchor="middle">'
                         f"{label}</text>")
        elif len(series) == 1 and label:
            parts.append(f'<text class="value" x="{x + (slot - 8) / 2}" y="{by - 3}" text-anchor="middle">'
                         f"{_text(label)}</text>")
        parts.append(f'<text x="{x + (slot - 8) / 2}" y="{pad + plot_h + 16}" text-anchor="middle">'
                     f'{_text(week["week"].split("-W")[1])}</text></g>')
    span = f"ISO weeks {weeks[0]['week']} to {weeks[-1]['week']}" if weeks else "no weeks"
    parts.append(f'<text x="{left}" y="{pad + plot_h + bottom - 2}">{_text(span)}</text></svg></figure>')
    return "".join(parts)
