"""Rendering at the edge: one place turns a result into a Rich table, JSON or CSV.

stdout is data; anything said to the person goes to stderr.  Commands hand
over plain data (dicts and lists of JSON-ready values) and, for tables, the
columns to show; no command builds its own table or branches on the format.
The reports' compact tables with bars (the coordinator report, the activity
report, the nudges) are drawn here too, from the documents --json prints.

Text people typed is shown, never obeyed: on a console made here every
string and table cell has its control and bidi characters shown as escapes
(mloop.text.visible), and user text is never read as Rich markup.  A CSV
cell that a spreadsheet would run as a formula gets a leading apostrophe
(mloop.text.spreadsheet_safe) unless --csv-raw asks for the cells as stored.
JSON keeps every value as stored: its own escapes make control characters inert.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mloop.commandline import PAGER_VARIABLES
from mloop.text import spreadsheet_safe, visible

TABLE, JSON, CSV, CSV_RAW = "table", "json", "csv", "csv-raw"
CSV_FORMATS = (CSV, CSV_RAW)

# Piped or redirected, a table keeps its full width, as gh's and git's output
# does: Rich would otherwise wrap and cut it at 80 columns for the next program.
PIPED_WIDTH = 100_000

# The pager of long output on a terminal: the first of PAGER_VARIABLES that is
# set, else DEFAULT_PAGER; empty or "cat" means none.  LESS defaults to FRX, as
# for git: quit when the output fits one screen, keep colours, leave it on the screen.
DEFAULT_PAGER = "less"
DEFAULT_LESS = "FRX"


def pick_format(json_flag: bool = False, csv_flag: bool = False, csv_raw: bool = False) -> str:
    """The output format the flags ask for: --csv-raw is CSV whose cells are written as stored."""
    given = [flag for flag, on in (("--json", json_flag), ("--csv", csv_flag), ("--csv-raw", csv_raw)) if on]
    if len(given) > 1:
        from mloop.errors import UsageError

        raise UsageError(f"choose one of {', '.join(given[:-1])} and {given[-1]}")
    return JSON if json_flag else CSV if csv_flag else CSV_RAW if csv_raw else TABLE


@dataclass
class Column:
    key: str
    label: str
    justify: str = "left"
    style: str | None = None


@dataclass
class Rows:
    """A listing: records (JSON-ready dicts) and the columns to show of them."""

    columns: Sequence[Column]
    records: list[dict[str, Any]]
    title: str | None = None
    empty: str = "nothing to show"
    caption: str | None = None
    extra_json: dict[str, Any] = field(default_factory=dict)


def console(stderr: bool = False):
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # Rich would exit 1 itself; a reader gone early is for the CLI's one exit point.
            raise BrokenPipeError(errno.EPIPE, "the reader of the output has gone")

        def render_str(self, text: str, **options):
            # Every string printed or put in a table passes here before Rich lays it out:
            # its control characters become visible escapes (lines and tabs stay).
            return super().render_str(visible(text, lines=True), **options)

    out = _Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not out.is_terminal:
        out.width = PIPED_WIDTH
    return out


def pager_command(environ: Mapping[str, str], *, wanted: bool, terminal: bool, fmt: str) -> list[str] | None:
    """The pager to show a table or report through, as a command line, or None:
    only for a table (never JSON or CSV), only on a terminal, not with
    --no-pager (``wanted``); then MLOOP_PAGER, PAGER, or less."""
    if not wanted or not terminal or fmt != TABLE:
        return None
    chosen = next((environ[name] for name in PAGER_VARIABLES if name in environ), DEFAULT_PAGER)
    if chosen.strip() in ("", "cat"):
        return None
    import shlex

    return shlex.split(chosen)


def _pager(command: list[str]):
    """A Rich pager that runs ``command`` with the page on its standard input."""
    from rich.pager import Pager

    class CommandPager(Pager):
        def show(self, content: str) -> None:
            import subprocess

            environ = dict(os.environ)
            environ.setdefault("LESS", DEFAULT_LESS)
            try:
                subprocess.run(command, input=content, text=True, env=environ, check=False)
            except OSError:  # no such pager: the page as it is
                sys.stdout.write(content)

    return CommandPager()


@contextmanager
def paged(pager: bool) -> Iterator[Any]:
    """A console for a table or a report: on a terminal, what is printed on it
    goes through the pager when it is done (see ``pager_command``)."""
    out = console()
    command = pager_command(os.environ, wanted=pager, terminal=sys.stdout.isatty(), fmt=TABLE)
    if command is None:
        yield out
        return
    with out.pager(_pager(command), styles=True):
        yield out


def progress_shown(*, json_out: bool, stdout_terminal: bool, stderr_terminal: bool) -> bool:
    """A progress bar is for someone watching the terminal: never under --json,
    nor when the output goes to a pipe or a file, nor when stderr does."""
    return not json_out and stdout_terminal and stderr_terminal


def watching(json_out: bool) -> bool:
    """Whether someone watches this command's progress (``progress_shown`` of this process)."""
    return progress_shown(json_out=json_out, stdout_terminal=sys.stdout.isatty(), stderr_terminal=sys.stderr.isatty())


@contextmanager
def progress(label: str, *, shown: bool, total: int | None = None, out=None) -> Iterator[Callable[..., None]]:
    """A transient Rich progress bar on stderr (or ``out``) while a long step
    runs; yields ``advance(n=1)``, a no-op when the bar is not ``shown``.
    Without a total the bar pulses and counts."""
    if not shown:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    count = MofNCompleteColumn() if total else TextColumn("{task.completed:,}")
    with Progress(TextColumn(label), BarColumn(), count, TimeElapsedColumn(),
                  console=out or console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n=1: bar.advance(task, n)


def say(message: str) -> None:
    """Talk to the person: stderr, so stdout stays clean for data (the
    names it echoes shown, not obeyed: see mloop.text.visible)."""
    print(visible(message, lines=True), file=sys.stderr)


def print_json(data: Any) -> None:
    """One JSON document: indented for a person at a terminal, compact for a pipe or a file."""
    sys.stdout.write(json_text(data, indent=sys.stdout.isatty()))
    sys.stdout.write("\n")


def json_text(data: Any, *, indent: bool = False) -> str:
    """Plain data (dicts, lists, NamedTuples, JSON values, datetimes) as JSON text.

    The text ``json.dumps(data, ensure_ascii=False)`` writes, compact
    (``separators=(",", ":")``) or with ``indent=2``: keys in the order given,
    non-ASCII kept; a datetime as UTC text ('2026-12-01T14:00:00Z',
    microseconds only when there are some) — every time mloop reports is UTC
    (the store and the clock give UTC; a naive one is taken as UTC).  Only a
    float in exponent form differs (1e16, not 1e+16).  orjson writes it, times
    included: a large report's stalled list runs to tens of thousands of rows.
    """
    import orjson

    # Keys such as a loop id become text, as json.dumps makes them.
    option = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2
    return orjson.dumps(data, default=_json_default, option=option).decode()


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple):  # a NamedTuple: an array, as json.dumps writes it
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _cell(value: Any, tz=None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v, tz) for v in value)
    return str(value)


def csv_cell(value: Any, *, raw: bool = False) -> str:
    """A value as a CSV cell.  Text (and a list of it) that a spreadsheet
    would run as a formula ('=HYPERLINK(…)', '-2+3', '@SUM(…)') gets a leading
    apostrophe, unless ``raw``; a number stays a number, a negative one included."""
    cell = _cell(value)
    if raw or not isinstance(value, (str, list, tuple)):
        return cell
    return spreadsheet_safe(cell)


def print_csv(rows: Rows, *, raw: bool = False) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([c.key for c in rows.columns])
    for record in rows.records:
        writer.writerow([csv_cell(record.get(c.key), raw=raw) for c in rows.columns])


def rich_table(rows: Rows):
    """A listing as a Rich table; its cells are plain text (a name like
    'Bo [/b]' is shown as written, never read as Rich markup)."""
    from rich.table import Table
    from rich.text import Text

    caption = Text(visible(rows.caption)) if rows.caption else None  # it may name people (their emails)
    table = Table(title=rows.title, caption=caption, header_style="bold")  # a title is the program's own words
    for column in rows.columns:
        table.add_column(column.label, justify=column.justify, style=column.style)
    for record in rows.records:
        add_plain_row(table, *(_cell(record.get(c.key)) for c in rows.columns))
    return table


def add_plain_row(table, *cells, style: str | None = None) -> None:
    """Add a row whose text cells are shown as written: a name like 'Bo [/b]'
    is never read as Rich markup, and Rich skips its markup and emoji passes
    over each cell (an eighth of drawing a report's tables).  A cell is one
    line: its control characters, newlines and tabs included, are shown as
    escapes (mloop.text.visible), so that Rich never cuts one in half.  A cell
    that is already a Rich ``Text`` (a styled bar) goes in as it is."""
    from rich.text import Text

    table.add_row(*(cell if isinstance(cell, Text) else Text(visible(cell)) for cell in cells), style=style)


def print_rows(rows: Rows, out=None) -> None:
    from rich.text import Text

    out = out or console()
    if not rows.records:
        if rows.title:
            out.print(Text(visible(rows.title), style="bold"))
        out.print(Text(visible(rows.empty, lines=True), style="dim"))  # may name people: plain text
        return
    out.print(rich_table(rows))


def emit(
    fmt: str,
    data: Any = None,
    *,
    rows: Rows | None = None,
    human: Callable[[Any], None] | None = None,
    message: str | None = None,
    pager: bool = True,
) -> None:
    """Print one result in the chosen format.

    ``data`` is the JSON document (defaults to the listing's records);
    ``human`` draws the result on a Rich console; ``message`` is a one-line
    confirmation for commands that change something.  A table or a drawn
    result goes through the pager on a terminal, unless ``pager`` is False
    (--no-pager).
    """
    if fmt == JSON:
        if data is None and rows is not None:
            data = rows.records
        print_json(data)
    elif fmt in CSV_FORMATS:
        if rows is None:
            from mloop.errors import UsageError

            raise UsageError("this command has no CSV output: use --json")
        print_csv(rows, raw=fmt == CSV_RAW)
    elif human is not None:
        with paged(pager) as out:
            human(out)
    elif rows is not None:
        with paged(pager) as out:
            print_rows(rows, out)
    elif message is not None:
        console().print(message, markup=False)  # it names what the user typed: plain text
    else:
        print_json(data)


# --- Reports: compact tables with bars ---------------------------------------
# The coordinator report (also drawn by 'mloop demo'), the activity report and
# the nudges.  Each takes a Rich console and the document that --json prints.

BAR_WIDTH = 30
SHOWN_IN_FULL = 5  # more nudges than this are summed up in a table


def report_table(title: str, *columns: tuple[str, str]):
    """A compact report table: no edges, one space between columns, no wrapping."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, header_style="bold", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    for label, justify in columns:
        table.add_column(label, justify=justify, no_wrap=True)
    return table


def bar(count: int | str, widest: int):
    """A count's bar in a report table: BAR_WIDTH blocks for the widest count, in cyan
    (none for a count hidden as "<N": see mloop.small_groups)."""
    from rich.text import Text

    from mloop.small_groups import magnitude

    count = magnitude(count)
    return Text.assemble(("█" * round(BAR_WIDTH * count / widest) if count and widest else "", "cyan"))


def nudged_ago(days_ago: int | None) -> str:
    """'3 days ago' for the stalled table's Nudged column; blank when never nudged."""
    if days_ago is None:
        return ""
    return "today" if days_ago == 0 else "1 day ago" if days_ago == 1 else f"{days_ago} days ago"


def _local(app_ctx, value) -> str:
    from mloop.timeparse import format_local

    return format_local(value, app_ctx.tz)


def _more(out, doc: dict, key: str, one: str, many: str) -> None:
    """Says how many rows a capped table left out, and how to see them all."""
    total = doc.get(f"{key}_total", len(doc[key]))
    hidden = total - len(doc[key])
    if hidden:
        what = one if hidden == 1 else many
        out.print(f"… and {hidden:,} more {what} (--limit 0 shows all {total:,}; --csv exports them)",
                  highlight=False, markup=False)


def _stall_rule(doc: dict) -> str:
    """'21 days in a stage', and the stages with their own threshold: '; First Meeting 14'."""
    from mloop.rules import STAGE_LABELS

    own = [f"{STAGE_LABELS[stage]} {days}" for stage, days in doc.get("stage_stall_days", {}).items()
           if days != doc["stall_days"]]
    return f"{doc['stall_days']} days in a stage" + (f"; {', '.join(own)}" if own else "")


def draw_report(out, doc: dict, app_ctx, *, stage, stalled: bool, at_risk: bool) -> None:
    """The coordinator report: the funnel, the stalled, the loops at risk and the
    activity line, or only what --stage, --stalled and --at-risk asked for."""
    from rich.markup import escape
    from rich.text import Text

    from mloop.rules import STAGE_LABELS, hidden_count
    from mloop.small_groups import magnitude

    out.print(f"[bold]{escape(doc['program'])}[/bold] — as of {_local(app_ctx, doc['as_of'])}")
    focused = stalled or at_risk
    if not focused:
        funnel = report_table("Milestone funnel", ("Stage", "left"), ("People", "right"), ("", "left"))
        widest = max(map(magnitude, doc["stages"].values()))
        for name, count in doc["stages"].items():
            add_plain_row(funnel, STAGE_LABELS[name], str(count), bar(count, widest),
                          style="bold" if name == stage else None)
        out.print(funnel)
        alumni = doc.get("alumni", 0)
        out.print(f"Alumni (last loop completed, outside the funnel): {alumni}")
    if "left_out" in doc:  # small groups hidden: no list names anyone
        out.print(f"Stalled: {doc['stalled_total']} · at risk: {doc['at_risk_total']} · up for re-pairing: "
                  f"{doc['re_pairing_total']} — not listed: counts under {doc['min_group']} are shown as "
                  f"{hidden_count(doc['min_group'])} and nobody is named (--min-group 0 lists them)", highlight=False, markup=False)
    elif not at_risk or stalled:
        # The Nudged column only when someone listed was nudged: a narrow terminal keeps its room.
        nudged = any(row.get("nudged_days_ago") is not None for row in doc["stalled"])
        table = report_table(f"Stalled (more than {_stall_rule(doc)})",
                             ("Name", "left"), ("Email", "left"), ("Role", "left"), ("Loop", "right"),
                             ("Stage", "left"), ("Days", "right"), *((("Nudged", "left"),) if nudged else ()))
        for row in doc["stalled"]:
            cells = [row["name"], row["email"], row["role"], str(row["loop_id"] or "-"),
                     STAGE_LABELS[row["stage"]], str(row["days_in_stage"])]
            if nudged:
                cells.append(nudged_ago(row.get("nudged_days_ago")))
            add_plain_row(table, *cells)
        out.print(table if doc["stalled"] else "[green]Nobody is stalled.[/green]")
        _more(out, doc, "stalled", "stalled person", "stalled people")
    if "left_out" not in doc and (not stalled or at_risk):
        if doc["at_risk"]:
            risk = report_table("At risk (latest feedback negative, or a poor pairing fit)", ("Loop", "right"),
                                ("Mentor", "left"), ("Mentee", "left"), ("Why", "left"))
            for row in doc["at_risk"]:
                add_plain_row(risk, str(row["loop_id"]), row["mentor"], row["mentee"], _risk_reasons(row))
            out.print(risk)
            _more(out, doc, "at_risk", "loop at risk", "loops at risk")
        else:
            out.print("[green]No loop is at risk.[/green]")
    if "members" in doc:
        members = report_table(f"At {STAGE_LABELS[stage]}", ("Name", "left"), ("Email", "left"), ("Role", "left"),
                               ("Loop", "right"), ("Days", "right"), ("Stalled", "left"))
        for m in doc["members"]:
            add_plain_row(members, m["name"], m["email"], m["role"], str(m["loop_id"] or "-"),
                          str(m["days_in_stage"]), "yes" if m["stalled"] else "")
        out.print(members)
        _more(out, doc, "members", f"person at {STAGE_LABELS[stage]}", f"people at {STAGE_LABELS[stage]}")
    if not focused and doc.get("milestones"):
        table = report_table("Custom milestones", ("Milestone", "left"), ("Kind", "left"), ("Marked by", "left"),
                             ("Done", "right"), ("Overdue", "right"))
        for m in doc["milestones"]:
            overdue = Text.assemble((str(m["overdue"]), "red" if m["overdue"] != 0 else ""))
            add_plain_row(table, m["name"], m["kind"], m["role"], str(m["done"]), overdue)
        out.print(table)
    if not focused and doc.get("re_pairing") and "left_out" not in doc:
        pairs = report_table("Up for re-pairing (latest pairing fit poor)", ("Loop", "right"), ("Mentor", "left"),
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


def _risk_reasons(row: dict) -> str:
    """Why a loop is at risk, in words: 'rating 2/5 by the mentee; poor fit by the mentor'."""
    from mloop import rules

    def who(email):
        return rules.MENTOR if email == row["mentor"] else rules.MENTEE if email == row["mentee"] else email or "?"

    reasons = []
    if rules.NEGATIVE_RATING in row["reasons"]:
        reasons.append(f"{row['latest_rating']}/{max(rules.RATINGS)} by {who(row['rating_by'])}")
    if rules.POOR_PAIRING_FIT in row["reasons"]:
        reasons.append(f"poor fit by {who(row['fit_by'])}")
    return "; ".join(reasons)


def draw_activity(out, doc: dict, app_ctx) -> None:
    """The activity report: meetings held per week, feedback, goals and matches, milestones."""
    from rich.markup import escape

    from mloop import rules
    from mloop.small_groups import magnitude

    out.print(f"[bold]{escape(doc['program'])}[/bold] — activity from {_local(app_ctx, doc['since'])} "
              f"to {_local(app_ctx, doc['as_of'])}")
    if doc.get("min_group"):
        out.print(f"Counts under {doc['min_group']} are shown as {rules.hidden_count(doc['min_group'])}.",
                  highlight=False, markup=False)
    weeks = doc["meetings"]["per_week"]
    table = report_table(f"Meetings held per week ({doc['meetings']['held']} in all)",
                         ("Week", "left"), ("From", "left"), ("Held", "right"), ("", "left"))
    widest = max((magnitude(w["held"]) for w in weeks), default=0)
    for w in weeks:
        add_plain_row(table, w["week"], w["week_start"], str(w["held"]), bar(w["held"], widest))
    out.print(table)

    feedback = doc["feedback"]
    table = report_table(f"Feedback ({feedback['total']} given)", ("Sentiment", "left"), ("Count", "right"),
                         ("", "left"))
    widest = max(magnitude(feedback[key]) for key in rules.SENTIMENTS)
    for key in rules.SENTIMENTS:
        add_plain_row(table, key, str(feedback[key]), bar(feedback[key], widest))
    out.print(table)

    tallies = report_table("Goals and matches", ("What", "left"), ("Count", "right"), ("", "left"))
    counts = [("Goals created", doc["goals"]["created"]), ("Goals completed", doc["goals"]["completed"]),
              ("Matches made", doc["matches"]["made"]), ("Matches completed", doc["matches"]["completed"]),
              ("Matches cancelled", doc["matches"]["cancelled"])]
    widest = max(magnitude(n) for _, n in counts)
    for label, n in counts:
        add_plain_row(tallies, label, str(n), bar(n, widest))
    out.print(tallies)

    if doc["milestones"]:
        table = report_table("Custom milestones completed", ("Milestone", "left"), ("Role", "left"), ("Done", "right"),
                             ("", "left"))
        widest = max(magnitude(m["completed"]) for m in doc["milestones"])
        for m in doc["milestones"]:
            add_plain_row(table, m["milestone"], m["role"], str(m["completed"]), bar(m["completed"], widest))
        out.print(table)
    else:
        out.print("No custom milestone was completed in this time.", highlight=False, markup=False)


def draw_nudges(out, document: dict) -> None:
    """The nudges sent (or, on a dry run, to be sent): each message in full, or a
    table when there are more than SHOWN_IN_FULL; then what was done and skipped."""
    from rich.markup import escape

    from mloop.rules import STAGE_LABELS

    sent, skipped = document["sent"], document["skipped"]
    if len(sent) <= SHOWN_IN_FULL:
        for m in sent:
            loop = f"loop {m['loop_id']}" if m["loop_id"] is not None else "unmatched"
            out.print(f"[bold]To:[/bold] {escape(m['name'])} <{escape(m['email'])}> · {loop} · "
                      f"{STAGE_LABELS[m['stage']]}, {m['days_in_stage']} days")
            out.print(f"[bold]Subject:[/bold] {escape(m['subject'])}")
            out.print(m["body"], markup=False, highlight=False)
    else:
        table = report_table("Nudges", ("To", "left"), ("Loop", "right"), ("Stage", "left"), ("Days", "right"),
                             ("Subject", "left"))
        for m in sent:
            add_plain_row(table, m["email"], str(m["loop_id"] or "-"), STAGE_LABELS[m["stage"]],
                          str(m["days_in_stage"]), m["subject"])
        out.print(table)
    people = "person" if len(sent) == 1 else "people"
    if document["dry_run"]:
        out.print(f"Dry run: would nudge {len(sent)} {people}; nothing recorded or written.", markup=False)
    else:
        out.print(f"Nudged {len(sent)} {people}.", markup=False)
        if document["out"] is not None and sent:
            out.print(f"Wrote {len(sent)} .eml file{'s' if len(sent) != 1 else ''} to {document['out']}.",
                      markup=False, highlight=False)
    if skipped:
        from mloop.store.nudges import NUDGE_QUIET_DAYS

        people = "person" if len(skipped) == 1 else "people"
        out.print(f"Skipped {len(skipped)} {people} nudged in the last {NUDGE_QUIET_DAYS} days.", markup=False)
