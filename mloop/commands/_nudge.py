"""The edge of `mloop coordinator nudge`: its .eml files."""

from __future__ import annotations


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

