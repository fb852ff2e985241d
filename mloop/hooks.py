"""Hooks: executables that mloop runs when something happens in a program.

Like taskwarrior's, they live in one folder and are named by the event they
answer (``on-feedback``, or ``on-feedback-notify.py`` and the like: every
executable whose name is the event or starts with the event and ``-`` or ``.``),
and each gets one JSON document on standard input. They run after the write
has been committed, so a failing or slow hook is reported on stderr and never
undoes or blocks what the command did.

A stage change is found by the rules: the stages of every member of a loop
the write touches, as of the command's clock, before the write and after it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

EVENTS = ("on-stage-change", "on-meeting-held", "on-loop-ended", "on-stalled", "on-feedback")
TIMEOUT_S = 10.0
SEEN_STALLED = ".stalled-seen.json"  # in the hooks folder: who on-stalled has already been told about


def folder_for(url: str) -> Path:
    """The store's hooks folder: MLOOP_HOOKS if set; for an SQLite file, the
    folder beside it named like SQLite's own companions (``spring.db-hooks``);
    else ``hooks`` in mloop's user data folder."""
    chosen = os.environ.get("MLOOP_HOOKS")
    if chosen:
        return Path(chosen).expanduser()
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///") + "-hooks")
    from mloop.paths import default_db_path

    return default_db_path().parent / "hooks"


def enabled() -> bool:
    return os.environ.get("MLOOP_NO_HOOKS", "") in ("", "0")


def find(folder: Path) -> dict[str, list[Path]]:
    """event -> its executables in ``folder``, by name."""
    found: dict[str, list[Path]] = {event: [] for event in EVENTS}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return found
    for path in entries:
        event = event_of(path.name)
        if event is not None and path.is_file() and os.access(path, os.X_OK):
            found[event].append(path)
    return found


def event_of(name: str) -> str | None:
    for event in EVENTS:
        if name == event or name.startswith((event + "-", event + ".")):
            return event
    return None


def listing(folder: Path) -> list[dict]:
    """Every file in the folder with the event it answers and whether it will run."""
    rows = []
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError:
        return rows
    for path in entries:
        event = event_of(path.name)
        runs = event is not None and path.is_file() and os.access(path, os.X_OK)
        why = ("" if runs else "not an mloop event name" if event is None
               else "not a file" if not path.is_file() else "not executable: chmod +x it")
        rows.append({"name": path.name, "event": event, "runs": runs, "why": why, "path": str(path)})
    return rows


def timeout() -> float:
    """Seconds a hook may run: MLOOP_HOOK_TIMEOUT, else 10."""
    try:
        return max(0.1, float(os.environ.get("MLOOP_HOOK_TIMEOUT") or TIMEOUT_S))
    except ValueError:
        return TIMEOUT_S


def run(hooks: Iterable[Path], document: dict) -> None:
    """Run each hook with ``document`` on stdin; a failure or a timeout is one line on stderr."""
    from mloop.output import json_text

    limit = timeout()
    data = (json_text(document) + "\n").encode()
    for hook in hooks:
        try:
            done = subprocess.run([str(hook)], input=data, capture_output=True, timeout=limit, check=False)
        except subprocess.TimeoutExpired:
            _warn(f"hook {hook.name} was stopped after {limit:g} s (what the command did stays done)")
            continue
        except OSError as error:
            _warn(f"hook {hook.name} could not run: {error.strerror} (what the command did stays done)")
            continue
        if done.returncode != 0:
            said = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()
            detail = f": {said[-1]}" if said else ""
            _warn(f"hook {hook.name} failed (exit {done.returncode}){detail} (what the command did stays done)")


def _warn(message: str) -> None:
    sys.stderr.write(f"mloop: warning: {' '.join(message.split())}\n")


# --- what a write did -----------------------------------------------------------------


@dataclass
class Watch:
    """What one writing transaction did, gathered from the ORM's session as it
    flushes: the members of each loop it touched (with their stages before the
    first change) and the events it makes."""

    now: datetime
    wanted: set[str]  # the events some hook answers
    program: Any = None  # the program of the loops it touched
    before: dict[int, dict[int | None, str]] = field(default_factory=dict)  # person -> loop -> stage
    loops: dict[int, tuple[int, int]] = field(default_factory=dict)  # loop -> (mentor, mentee)
    held: list[Any] = field(default_factory=list)  # Meeting objects held by the write
    feedback: list[Any] = field(default_factory=list)
    ended: list[Any] = field(default_factory=list)  # Loop objects ended by the write
    created: list[Any] = field(default_factory=list)  # Loop objects made by the write

    def attach(self, session) -> None:
        from sqlalchemy import event

        event.listen(session, "before_flush", self._before_flush)

    def _before_flush(self, session, _context, _instances) -> None:
        from sqlalchemy import inspect

        from mloop import rules
        from mloop.store.models import Feedback, Loop, Meeting

        for obj in [*session.new, *session.dirty]:
            if isinstance(obj, Loop):
                if obj in session.new:
                    self.created.append(obj)
                elif inspect(obj).attrs.ended_at.history.added and obj.ended_at is not None:
                    self.ended.append(obj)
                self._touch(session, obj.program_id, obj.mentor_id, obj.mentee_id)
                if obj.id is not None:
                    self.loops[obj.id] = (obj.mentor_id, obj.mentee_id)
                continue
            loop_id = getattr(obj, "loop_id", None)
            if loop_id is not None and loop_id not in self.loops:
                import sqlalchemy as sa

                found = session.connection().execute(
                    sa.select(Loop.program_id, Loop.mentor_id, Loop.mentee_id).where(Loop.id == loop_id)).first()
                if found is not None:
                    self.loops[loop_id] = (found[1], found[2])
                    self._touch(session, *found)
            if isinstance(obj, Meeting) and obj.status == rules.HELD and (
                    obj in session.new or inspect(obj).attrs.status.history.added):
                self.held.append(obj)
            elif isinstance(obj, Feedback) and obj in session.new:
                self.feedback.append(obj)

    def _touch(self, session, program_id: int, *members: int) -> None:
        """Note the members of a loop the write touches, with their stages before the change."""
        from mloop.store.models import Program

        if self.program is None:
            self.program = session.get(Program, program_id)
        for person in members:
            if person is not None and person not in self.before:
                self.before[person] = stages_of(session, self.program, person, self.now)

    def events(self, session) -> list[tuple[str, dict]]:
        """The events of the committed write, each with its document (``session``: one that reads it)."""
        from mloop import rules

        if self.program is None:
            return []
        after = {person: stages_of(session, self.program, person, self.now) for person in self.before}
        people = _people(session, self.before)
        found: list[tuple[str, dict]] = []
        for loop in self.created:  # a new loop's id is known only after the flush
            self.loops.setdefault(loop.id, (loop.mentor_id, loop.mentee_id))

        def members(loop_id: int | None) -> list[dict]:
            ids = self.loops.get(loop_id, ())
            roles = (rules.MENTOR, rules.MENTEE)
            return [dict(people[pid], role=role,
                         stage_before=_stage_in(self.before.get(pid, {}), loop_id),
                         stage_after=_stage_in(after.get(pid, {}), loop_id)) for role, pid in zip(roles, ids)
                    if pid in people]

        def document(event: str, loop_id: int | None, **extra: Any) -> dict:
            return {"event": event, "program": self.program.name, "time": self.now, "loop": loop_id,
                    "people": members(loop_id), **extra}

        for loop_id in self.loops:
            for person in members(loop_id):
                # None: no longer in this loop while in others (on-loop-ended says it ended).
                if person["stage_after"] is not None and person["stage_before"] != person["stage_after"]:
                    found.append(("on-stage-change", dict(document("on-stage-change", loop_id),
                                                          person=person["email"], role=person["role"],
                                                          stage_before=person["stage_before"],
                                                          stage_after=person["stage_after"])))
        for meeting in self.held:
            found.append(("on-meeting-held", document("on-meeting-held", meeting.loop_id, meeting={
                "id": meeting.id, "start": meeting.start, "duration_min": meeting.duration_min})))
        for loop in self.ended:
            found.append(("on-loop-ended", document("on-loop-ended", loop.id, outcome=loop.outcome)))
        for given in self.feedback:
            author = people.get(given.author_id, {}).get("email") or _email(session, given.author_id)
            found.append(("on-feedback", document("on-feedback", given.loop_id, feedback={
                "id": given.id, "author": author, "rating": given.rating, "meeting": given.meeting_id})))
        return [(event, doc) for event, doc in found if event in self.wanted]


def stages_of(session, program, person_id: int, now: datetime) -> dict[int | None, str]:
    """loop -> the person's stage in it as of ``now``; None -> their stage outside a loop."""
    from mloop.store.memberships import memberships

    return {m.loop_id: m.progress.stage for m in memberships(session, program, now, person_id=person_id)}


def _stage_in(stages: dict[int | None, str], loop_id: int | None) -> str | None:
    """The person's stage in the loop, or (not or no longer in it) outside any loop; alumni when neither."""
    from mloop import rules

    if loop_id in stages:
        return stages[loop_id]
    if None in stages:
        return stages[None]
    return rules.ALUMNI if not stages else None


def _people(session, ids: Iterable[int]) -> dict[int, dict]:
    import sqlalchemy as sa

    from mloop.store.models import Participant

    rows = session.connection().execute(
        sa.select(Participant.id, Participant.email, Participant.name).where(Participant.id.in_(list(ids))))
    return {pid: {"email": email, "name": name} for pid, email, name in rows}


def _email(session, person_id: int) -> str | None:
    return _people(session, [person_id]).get(person_id, {}).get("email")


# --- on-stalled ------------------------------------------------------------------------


def newly_stalled(folder: Path, program: str, stalled: list[dict]) -> list[dict]:
    """The stalled rows no on-stalled hook has been told about yet (remembered in the
    hooks folder), each person once per stage they are stuck in."""
    seen_file = folder / SEEN_STALLED
    try:
        seen = set(json.loads(seen_file.read_text()))
    except (OSError, ValueError):
        seen = set()
    fresh = []
    for row in stalled:
        key = f"{program}|{row['email']}|{row['loop_id']}|{row['stage']}|{_iso(row['stage_since'])}"
        if key not in seen:
            seen.add(key)
            fresh.append(row)
    if fresh:
        try:
            tmp = seen_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(sorted(seen)))
            tmp.replace(seen_file)
        except OSError as error:
            _warn(f"cannot remember who on-stalled was told about in {folder}: {error.strerror}")
    return fresh


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
