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

            url = resolve_url(self.db, create=create)
            self._engine = open_store(url) if _shared is None else _shared.engine(url, open_store)
        return self._engine

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Any]:
        """One transaction on the store; a write blocks other writers until it
        ends.  Only a write creates a store that does not exist yet.  In an
        all-or-nothing batch it is a savepoint of the batch's transaction."""
        from mloop.store.db import session_scope

        engine = self.open_engine(create=write)
        within = _shared.transaction(engine) if _shared is not None and _shared.atomic else None
        with session_scope(engine, write=write, within=within) as session:
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
        if self._engine is not None and _shared is None:  # a batch's engines outlive its commands
            self._engine.dispose()
        self._engine = None


class SharedStores:
    """What the commands of one ``mloop batch`` share: an engine per store, so
    that each line does not open the store and compile its statements again,
    and, when the batch is all or nothing, one writing transaction per store
    that ends with the batch."""

    def __init__(self, *, atomic: bool):
        self.atomic = atomic
        self._engines: dict[str, Any] = {}
        self._connections: dict[int, Any] = {}
        self._keepers: list[Any] = []

    def engine(self, url: str, open_store) -> Any:
        if url not in self._engines:
            engine = self._engines[url] = open_store(url)
            # Held open till the batch ends: SQLite checkpoints its log (and
            # syncs the file) whenever the last connection to a store closes,
            # which each line would otherwise do.
            self._keepers.append(engine.connect())
        return self._engines[url]

    def transaction(self, engine) -> Any:
        """The open connection of ``engine``'s batch transaction (begun as a writer on first use)."""
        conn = self._connections.get(id(engine))
        if conn is None:
            conn = engine.connect()
            conn.info["write"] = True
            conn.begin()
            self._connections[id(engine)] = conn
        return conn

    def end(self, *, commit: bool) -> None:
        """Commit (or roll back) every batch transaction, then close every store."""
        try:
            for conn in self._connections.values():
                if commit:
                    conn.commit()
                else:
                    conn.rollback()
        finally:
            for conn in [*self._connections.values(), *self._keepers]:
                conn.close()
            for engine in self._engines.values():
                engine.dispose()
            self._connections.clear()
            self._keepers.clear()
            self._engines.clear()


_shared: SharedStores | None = None


@contextmanager
def shared_stores(*, atomic: bool) -> Iterator[SharedStores]:
    """Within the block, every command of this process shares its stores
    (``SharedStores``); an all-or-nothing block commits only if it ends
    without an exception, and the caller rolls back by calling ``end``."""
    global _shared
    if _shared is not None:
        raise RuntimeError("stores are already shared: a batch cannot run another batch")
    _shared = shared = SharedStores(atomic=atomic)
    try:
        yield shared
    finally:
        _shared = None
        shared.end(commit=False)
