"""The edge of `mloop coordinator nudge`: its .eml files."""

from __future__ import annotations


def write_messages(folder: str, messages: list[dict], now, sender) -> None:
    """One .eml per message in ``folder`` (made if missing): all of them or, when
    one cannot be made or written, none."""
    from mloop.commands._files import staged_files
    from mloop.store.nudges import as_email

    with staged_files(folder) as files:
        for message in messages:
            files.write(message["file"], as_email(message, now, sender))

