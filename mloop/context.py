"""The one context object a command gets in ``ctx.obj``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any


@dataclass
class AppContext:
    db: str | None  # a path or SQLAlchemy URL; None for the default file
    acting_email: str | None
    now: datetime  # aware UTC, read once per invocation
    tz: tzinfo  # local zone for input without an offset and for display
    program_name: str | None = None
    pager: bool = True  # long output on a terminal goes through the pager (--no-pager: never)
    _engine: Any = field(default=None, repr=False)

    @property
    def engine(self):
        return self.open_engine(create=True)

    def open_engine(self, *, create: bool):
        """The store's engine, opened on first use; ``create``: a store that
        does not exist yet is made (a write), else refused (a read)."""
        if self._engine is None:
            from mloop.store.db import open_store, resolve_url

            self._engine = open_store(resolve_url(self.db, create=create))
        return self._engine

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Any]:
        """One transaction on the store; a write blocks other writers until it
        ends.  Only a write creates a store that does not exist yet."""
        from mloop.store.db import session_scope

        with session_scope(self.open_engine(create=write), write=write) as session:
            yield session

    def when(self, text: str) -> datetime:
        """Parse a WHEN argument relative to this invocation's clock."""
        from mloop.errors import UsageError
        from mloop.timeparse import WhenError, parse_when

        try:
            return parse_when(text, self.now, self.tz)
        except WhenError as error:
            raise UsageError(str(error)) from None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
