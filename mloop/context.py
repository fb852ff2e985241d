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
    hooks: bool = True  # run the store's hooks after a write (--no-hooks, MLOOP_NO_HOOKS=1: never)
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
        watch = self._watch(engine) if write else None
        with session_scope(engine, write=write, within=within) as session:
            if watch is not None:
                watch.attach(session)
            yield session
        if watch is not None:
            if within is not None:  # an all-or-nothing batch commits at its end
                _shared.after_commit.append(lambda: _run_hooks(engine, watch))
            else:
                _run_hooks(engine, watch)

    def _watch(self, engine):
        """What a write will tell hooks about (None when no hook would hear it)."""
        from mloop import hooks

        if not (self.hooks and hooks.enabled()):
            return None
        found = hooks.find(hooks.folder_for(str(engine.url)))
        wanted = {event for event, paths in found.items() if paths and event != "on-stalled"}
        return hooks.Watch(self.now, wanted) if wanted else None

    def tell_stalled(self, program: str, stalled: list[dict]) -> None:
        """Run the on-stalled hooks for the people a report shows stalled for the first time."""
        from mloop import hooks

        if not (self.hooks and hooks.enabled() and stalled):
            return
        folder = hooks.folder_for(str(self.engine.url))
        found = hooks.find(folder)["on-stalled"]
        if not found:
            return
        for row in hooks.newly_stalled(folder, program, stalled):
            person = {key: row[key] for key in ("email", "name", "role")}
            hooks.run(found, {"event": "on-stalled", "program": program, "time": self.now, "loop": row["loop_id"],
                              "people": [person], "person": row["email"], "stage": row["stage"],
                              "stage_since": row["stage_since"], "days_in_stage": row["days_in_stage"]})

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


def _run_hooks(engine, watch) -> None:
    """After the write has committed: read what it did and run the hooks that answer it."""
    from mloop import hooks
    from mloop.store.db import session_scope

    with session_scope(engine, write=False) as session:
        events = watch.events(session)
    if events:
        found = hooks.find(hooks.folder_for(str(engine.url)))
        for event, document in events:
            hooks.run(found[event], document)


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
        self.after_commit: list[Any] = []  # what runs once the batch's transactions have committed

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
            if commit:
                for then in self.after_commit:
                    then()
        finally:
            self.after_commit.clear()
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
