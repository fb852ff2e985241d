"""The one error type of mloop.

Domain code raises these; the CLI catches them in one place and prints one
line on stderr with the exit code the error carries.
"""

from __future__ import annotations


class MloopError(Exception):
    """A problem the user can fix; the message says what and how."""

    exit_code = 1

    def __init__(self, message: str, *, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self)


class UsageError(MloopError):
    """Input that does not have the expected form (exit code 2)."""

    exit_code = 2


class NotFound(MloopError):
    """An email, id or name that does not exist in the store."""


class Forbidden(MloopError):
    """The acting person may not do this."""


class Conflict(MloopError):
    """The change would break a rule of the program (capacity, duplicates, ended loops)."""


class BadFile(MloopError):
    """A file whose content cannot be used (exit code 1): the message names the line."""


# The store's integers are 64-bit: a number outside these bounds cannot be stored or compared there.
STORE_INT_MIN, STORE_INT_MAX = -(2**63), 2**63 - 1


def valid_id(value: int) -> bool:
    """Whether an id can exist at all (the store's integers are 64-bit)."""
    return 0 < value <= STORE_INT_MAX


class StoreError(MloopError):
    """The store cannot be opened or used."""


def one_of(value: str, accepted: tuple[str, ...], option: str) -> str:
    """``value`` as one of the ``accepted`` words (case and spaces forgiven), or a usage error naming them."""
    key = value.strip().lower()
    if key not in accepted:
        raise UsageError(f"{option} {value!r} is not known: use {' or '.join(accepted)}")
    return key
