"""The edge of `mloop coordinator nudge`: its .eml files."""

from __future__ import annotations


def write_messages(folder: str, messages: list[dict], now, sender) -> None:
    """One .eml per message in ``folder`` (made if missing), each written whole or not at all."""
    import os

    from mloop.commands._files import atomic_file, make_folder
    from mloop.store.nudges import as_email

    make_folder(folder)
    for message in messages:
        with atomic_file(os.path.join(folder, message["file"]), "wb") as handle:
            handle.write(as_email(message, now, sender))

