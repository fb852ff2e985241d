"""Rendering at the edge: one place turns a result into a Rich table, JSON or CSV.

stdout is data; anything said to the person goes to stderr.  Commands hand
over plain data (dicts and lists of JSON-ready values) and, for tables, the
columns to show; no command builds its own table or branches on the format.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TABLE, JSON, CSV = "table", "json", "csv"


def pick_format(json_flag: bool = False, csv_flag: bool = False) -> str:
    if json_flag and csv_flag:
        from mloop.errors import UsageError

        raise UsageError("choose one of --json and --csv")
    return JSON if json_flag else CSV if csv_flag else TABLE


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

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def say(message: str) -> None:
    """Talk to the person: stderr, so stdout stays clean for data."""
    print(message, file=sys.stderr)


def print_json(data: Any) -> None:
    """One JSON document: indented for a person at a terminal, compact for a pipe or a file."""
    sys.stdout.write(json_text(data, indent=sys.stdout.isatty()))
    sys.stdout.write("\n")


def json_text(data: Any, *, indent: bool = False) -> str:
    """Plain data (dicts, lists, NamedTuples, JSON values, datetimes) as JSON text.

    The text ``json.dumps(data, ensure_ascii=False)`` writes, compact
    (``separators=(",", ":")``) or with ``indent=2``: keys in the order given,
    non-ASCII kept, a datetime as UTC text ('2026-12-01T14:00:00Z'); only a
    float in exponent form differs (1e16, not 1e+16).  orjson writes it: a
    large report's stalled list runs to tens of thousands of rows.
    """
    import orjson

    # Datetimes go to _json_default (orjson's own form is '+00:00', not 'Z');
    # keys such as a loop id become text, as json.dumps makes them.
    option = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
    if indent:
        option |= orjson.OPT_INDENT_2
    return orjson.dumps(data, default=_json_default, option=option).decode()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        from mloop.timeparse import isoformat_utc

        return isoformat_utc(value)
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


def print_csv(rows: Rows) -> None:
    import csv

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([c.key for c in rows.columns])
    for record in rows.records:
        writer.writerow([_cell(record.get(c.key)) for c in rows.columns])


def rich_table(rows: Rows):
    """A listing as a Rich table; its cells are plain text (a name like
    'Bo [/b]' is shown as written, never read as Rich markup)."""
    from rich.table import Table
    from rich.text import Text

    caption = Text(rows.caption) if rows.caption else None  # it may name people (their emails)
    table = Table(title=rows.title, caption=caption, header_style="bold")
    for column in rows.columns:
        table.add_column(column.label, justify=column.justify, style=column.style)
    for record in rows.records:
        add_plain_row(table, *(_cell(record.get(c.key)) for c in rows.columns))
    return table


def add_plain_row(table, *cells, style: str | None = None) -> None:
    """Add a row whose text cells are shown as written: a name like 'Bo [/b]'
    is never read as Rich markup, and Rich skips its markup and emoji passes
    over each cell (an eighth of drawing a report's tables).  A cell that is already a
    Rich ``Text`` (a styled bar) goes in as it is."""
    from rich.text import Text

    table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in cells), style=style)


def print_rows(rows: Rows) -> None:
    from rich.text import Text

    out = console()
    if not rows.records:
        if rows.title:
            out.print(Text(rows.title, style="bold"))
        out.print(Text(rows.empty, style="dim"))  # may name people: plain text
        return
    out.print(rich_table(rows))


def emit(
    fmt: str,
    data: Any = None,
    *,
    rows: Rows | None = None,
    human: Callable[[Any], None] | None = None,
    message: str | None = None,
) -> None:
    """Print one result in the chosen format.

    ``data`` is the JSON document (defaults to the listing's records);
    ``human`` draws the result on a Rich console; ``message`` is a one-line
    confirmation for commands that change something.
    """
    if fmt == JSON:
        if data is None and rows is not None:
            data = rows.records
        print_json(data)
    elif fmt == CSV:
        if rows is None:
            from mloop.errors import UsageError

            raise UsageError("this command has no CSV output: use --json")
        print_csv(rows)
    elif human is not None:
        human(console())
    elif rows is not None:
        print_rows(rows)
    elif message is not None:
        console().print(message, markup=False)  # it names what the user typed: plain text
    else:
        print_json(data)
