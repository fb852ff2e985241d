"""The edge of `mloop coordinator nudge`: .eml files and the terminal view."""

from __future__ import annotations

SHOWN_IN_FULL = 5  # more messages than this are summed up in a table


def write_messages(folder: str, messages: list[dict], now, sender) -> None:
    """One .eml per message in ``folder`` (made if missing), each written whole or not at all."""
    import os

    from mloop.commands._files import atomic_file
    from mloop.errors import MloopError
    from mloop.store.nudges import as_email

    if os.path.exists(folder) and not os.path.isdir(folder):
        raise MloopError(f"cannot write to {folder}: it is a file, give a folder for --out")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise MloopError(f"cannot make folder {folder}: {error.strerror}") from None
    for message in messages:
        with atomic_file(os.path.join(folder, message["file"]), "wb") as handle:
            handle.write(as_email(message, now, sender))


def draw_nudges(out, document: dict) -> None:
    from rich.markup import escape

    from mloop.commands.coordinator import _table
    from mloop.output import add_plain_row
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
        table = _table("Nudges", ("To", "left"), ("Loop", "right"), ("Stage", "left"), ("Days", "right"),
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
        people = "person" if len(skipped) == 1 else "people"
        out.print(f"Skipped {len(skipped)} {people} nudged in the last 7 days.", markup=False)
