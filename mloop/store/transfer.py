"""Whole-program import and export in JSON Lines (DESIGN §4).

Import streams the file line by line inside the caller's single transaction:
a bad line raises an error naming its number and the caller rolls everything
back.  Rows go in with executemany batches and ids chosen here, so that a
large program never becomes ORM objects one by one.  Export writes the same
records back, with refs renumbered in export order, so that export → import
→ export gives the same file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple
from uuid import NAMESPACE_URL, uuid5

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.rules import FITS, MEETING_STATUSES, MEMBER_ROLES, OUTCOMES
from mloop.errors import BadFile, Conflict, Forbidden, MloopError, UsageError
from mloop.store.access import (
    WITHHELD, Actor, create_program, current_program, email_key, find_program, loop_active_at, require_coordinator,
    sees_content,
)
from mloop.store.checks import (
    check_agreement, check_capacity, check_fit_after_first_meeting, check_goal_title, check_joined_date,
    check_loop_open, check_marker_in_loop, check_match_date, check_match_roles, check_meeting_date, check_meeting_held,
    check_meeting_in_loop, check_milestone_definition, check_milestone_name_free, check_no_loop_for_program_milestone,
    check_email, check_name, check_not_self_match, check_pair_free, check_program_mark, check_rating, check_task_title,
    check_term, check_text, check_title,
)
from mloop.store.models import (
    MAX_MEETING_MINUTES,
    Agreement,
    Feedback,
    Goal,
    JourneyShare,
    Loop,
    Meeting,
    Milestone,
    MilestoneDone,
    Nudge,
    NudgeTemplate,
    PairingFit,
    Participant,
    Program,
    StarterGoal,
    Task,
)
from mloop.store.db import driver_message
from mloop.store.nudges import NUDGE_STAGES, check_template_pair, parse_nudge_stage
from mloop.store.programs import own_health_weights, set_health_weights, stage_stall_days
from mloop.store.pgsecurity import check_role_name, login_of, readable_columns
from mloop.store.participants import check_timezone, optional_text, parse_roles, split_skills
from mloop.timeparse import WhenError, isoformat_utc, parse_iso

BATCH = 5000
RECORD_TYPES = ("program", "participant", "match", "meeting", "feedback", "goal", "task", "share", "milestone",
                "milestone_done", "starter_goal", "agreement", "fit", "nudge_template", "nudge")

# Insert order respects foreign keys; a flush writes every buffer in this order.
TABLE_ORDER = (Participant, Milestone, StarterGoal, Loop, Meeting, Goal, Task, Feedback, JourneyShare, MilestoneDone,
               Agreement, PairingFit, NudgeTemplate, Nudge)


class LineError(BadFile):
    """A bad line of an import file."""


@dataclass
class ImportSummary:
    program: str
    created_program: bool
    counts: dict[str, int] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)  # the tables rows were written to


class _Person(NamedTuple):
    email: str
    is_mentor: bool
    is_mentee: bool
    capacity: int
    joined_at: datetime | None  # None: the file did not say (they join by their first match)


class _LoopRef(NamedTuple):
    ref: str
    id: int
    mentor_id: int
    mentee_id: int
    ended_at: datetime | None
    outcome: str | None
    matched_at: datetime


class _MilestoneRef(NamedTuple):
    id: int
    kind: str
    role: str


class Importer:
    """Reads one import file's records in order, checks each with the rules
    the commands use (mloop.store.checks) against what the store and the
    earlier lines hold, and buffers its rows."""

    def __init__(self, session: Session, *, now: datetime, tz, program_name: str | None,
                 who: Callable[[Program], Actor]):
        self.session = session
        self.conn = session.connection()
        self.now = now
        self.tz = tz
        self.program_name = program_name
        self.who = who
        self.created_program = False
        self.buffers: dict[type, list[dict]] = {model: [] for model in TABLE_ORDER}
        self.next_ids = {
            model: (self.conn.execute(sa.select(sa.func.max(model.__table__.c.id))).scalar() or 0) + 1
            for model in TABLE_ORDER
        }
        self.people: dict[str, int] = {}  # email key -> id
        self.roles: dict[str, str] = {}  # database role (db_role, else email key) -> email
        self.persons: dict[int, _Person] = {}
        self.loops: dict[str, _LoopRef] = {}
        # Loops active as of now (store's and file's), as match create counts them.
        self.mentor_loads: Counter[int] = Counter()
        self.mentee_loads: Counter[int] = Counter()
        self.first_matches: dict[int, datetime] = {}  # person without a joined_at in the file -> earliest match
        self.active_pairs: dict[tuple[int, int], int | str] = {}  # (mentor, mentee) -> loop id or ref
        self.meetings: dict[str, tuple[int, int, str]] = {}
        self.held_loops: set[int] = set()  # loops with a meeting the file marks held, on an earlier line
        self.meeting_uid_hashes: set[int] = set()
        self.goals: dict[str, tuple[int, _LoopRef]] = {}  # ref -> (id, its loop)
        self.milestones: dict[str, _MilestoneRef] = {}
        self.template_stages: dict[str, int | None] = {}  # stage -> line of the file (None: the store's)
        self.counts: dict[str, int] = {}
        self.written: set[type] = set()  # the models rows were inserted for
        # PostgreSQL takes the rows by COPY: INSERTs cost ~30 s of a large program's import.
        self.copying = self.conn.dialect.name == "postgresql"
        self.line = 0
        self.line_seen_data = False  # a record other than the program line was read
        self._zones_seen: set[str] = set()  # time zone names already checked
        self.program = find_program(session, program_name) if program_name else None
        if self.program is not None:
            self._start_program()

    # --- helpers -----------------------------------------------------------

    def fail(self, message: str) -> None:
        raise LineError(f"line {self.line}: {message}")

    def _id(self, model) -> int:
        value = self.next_ids[model]
        self.next_ids[model] = value + 1
        return value

    def _add(self, model, row: dict) -> None:
        buffer = self.buffers[model]
        buffer.append(row)
        if len(buffer) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for model in TABLE_ORDER:
            rows = self.buffers[model]
            if rows:
                if self.copying:
                    _copy_rows(self.conn, model.__table__, rows)
                else:
                    self.conn.execute(sa.insert(model.__table__), rows)
                self.written.add(model)
                rows.clear()

    def time(self, record: dict, key: str, *, required: bool = True) -> datetime | None:
        value = record.get(key)
        if value is None or value == "":
            if required:
                self.fail(f"{key} is missing: give an ISO 8601 time such as 2026-03-01T09:00:00Z")
            return None
        if not isinstance(value, str):
            self.fail(f"{key} must be an ISO 8601 string, not {value!r}")
        try:
            return parse_iso(value, self.tz)
        except WhenError as error:
            self.fail(f"{key}: {error}")

    def text(self, record: dict, key: str, *, required: bool = False, free: bool = True) -> str | None:
        """The string under ``key``.  Free text is checked here (checks.check_text);
        a name, title or email (``free=False``) by the caller, as its command checks it."""
        value = record.get(key)
        if value is None:
            if required:
                self.fail(f"{key} is missing")
            return None
        if not isinstance(value, str):
            self.fail(f"{key} must be a string, not {value!r}")
        if required and not value.strip():
            self.fail(f"{key} is empty")
        return check_text(value, key) if free else value

    def integer(self, record: dict, key: str, default: int | None = None, *, low: int | None = None,
                high: int | None = None) -> int:
        value = record.get(key, default)
        if value is None:
            if default is None:
                self.fail(f"{key} is missing")
            value = default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{key} must be a whole number, not {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = f"{low} to {high}" if high is not None else f"at least {low}"
            self.fail(f"{key} {value} is out of range ({bounds})")
        return value

    def choice(self, record: dict, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = record.get(key, default)
        if value is None and default is not None:
            value = default
        if value not in allowed:
            self.fail(f"{key} {value!r} is not one of {', '.join(allowed)}")
        return value

    def person(self, record: dict, key: str) -> int:
        email = record.get(key)
        if not isinstance(email, str):
            self.fail(f"{key} must be an email")
        found = self.people.get(email_key(email))
        if found is None:
            self.fail(f"{key} {email!r} is not a participant of this file: add a participant line for them first")
        return found

    def member(self, record: dict, key: str, loop: _LoopRef, why: str = "") -> int:
        """The person under ``key``, who must be the mentor or mentee of ``loop``."""
        person = self.person(record, key)
        if person not in (loop.mentor_id, loop.mentee_id):
            self.fail(f"{key} {record[key]} is not a member of loop {record['loop']}{why}")
        return person

    def loop(self, record: dict, key: str = "loop") -> _LoopRef:
        ref = record.get(key)
        found = self.loops.get(ref) if isinstance(ref, str) else None
        if found is None:
            self.fail(f"{key} {ref!r} does not name a match on an earlier line")
        return found

    def open_at(self, loop: _LoopRef, at: datetime | None, doing: str) -> None:
        """A loop that has ended is read-only: a fact dated at or after its end
        is one the command would have refused (checks.check_loop_open).  Only
        that half of the check applies here: a file may date a fact before the
        match, as hand-edited timelines do, so ``at`` stands in for the match."""
        if at is not None and loop.ended_at is not None:
            check_loop_open(loop.ref, matched_at=at, ended_at=loop.ended_at, outcome=loop.outcome, at=at,
                            doing=doing)

    def ensure_program(self) -> Program:
        if self.program is None:
            self.program = current_program(self.session, self.program_name, now=self.now)
            self._start_program()
        return self.program

    def _start_program(self) -> None:
        """Take in what the program already holds that the checks of later lines count."""
        if not self.created_program:
            require_coordinator(self.who(self.program), "importing into an existing program")
        pid = self.program.id
        for person_id, email, key, mentor, mentee, capacity, db_role, joined_at in self.conn.execute(
            sa.select(Participant.id, Participant.email, Participant.email_key, Participant.is_mentor,
                      Participant.is_mentee, Participant.capacity, Participant.db_role, Participant.joined_at)
            .where(Participant.program_id == pid)
        ):
            self.people[key] = person_id
            self.roles[db_role or key] = email
            self.people.setdefault(email_key(email), person_id)  # a key stored before NFKC normalisation
            self.persons[person_id] = _Person(email, mentor, mentee, capacity, joined_at)
        for loop_id, mentor, mentee in self.conn.execute(
            sa.select(Loop.id, Loop.mentor_id, Loop.mentee_id)
            .where(Loop.program_id == pid, loop_active_at(self.now))
            .order_by(Loop.id)
        ):
            self.mentor_loads[mentor] += 1
            self.mentee_loads[mentee] += 1
            self.active_pairs.setdefault((mentor, mentee), loop_id)
        for milestone_id, name, kind, role in self.conn.execute(
            sa.select(Milestone.id, Milestone.name, Milestone.kind, Milestone.role).where(Milestone.program_id == pid)
        ):
            self.milestones[name] = _MilestoneRef(milestone_id, kind, role)
        for stage in self.conn.execute(sa.select(NudgeTemplate.stage).where(NudgeTemplate.program_id == pid)).scalars():
            self.template_stages[stage] = None

    # --- records -------------------------------------------------------------

    def read(self, number: int, line: str) -> None:
        """Check and buffer the record on line ``number`` of the file."""
        self.line = number
        if not line.strip():
            return
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            self.fail(f"not valid JSON ({error.msg} at column {error.colno})")
        if not isinstance(record, dict):
            self.fail("expected a JSON object")
        kind = record.get("type")
        if kind not in RECORD_TYPES:
            self.fail(f"unknown record type {kind!r}: use {', '.join(RECORD_TYPES[:-1])} or {RECORD_TYPES[-1]}")
        handler = getattr(self, f"_{kind}")
        if kind != "program":
            self.ensure_program()
        try:
            handler(record)
        except LineError:
            raise
        except MloopError as error:  # a rule the commands check too, in the command's words
            self.fail(error.message)
        if kind != "program":
            self.line_seen_data = True
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _program(self, r: dict) -> None:
        if self.program is not None and self.line_seen_data:
            self.fail("the program line must come before every other record")
        name = check_name(self.text(r, "name", required=True, free=False), "program name")
        stall_days = self.integer(r, "stall_days", rules.DEFAULT_STALL_DAYS, low=1, high=rules.MAX_STALL_DAYS)
        momentum = self.integer(r, "momentum_meetings", rules.DEFAULT_MOMENTUM_MEETINGS, low=1)
        stage_days = self._stage_stall_days(r)
        existing = self.session.execute(sa.select(Program).where(Program.name == name)).scalars().first()
        if existing is None:
            self.program = create_program(self.session, name, now=self.now, stall_days=stall_days,
                                          momentum_meetings=momentum)
            self.created_program = True
            self._make_default_if_current_is_empty()
        else:
            self._refuse_a_program_in_use(existing)
            self.program = existing
            existing.stall_days = stall_days
            existing.momentum_meetings = momentum
        self.program.stage_stall_days = json.dumps(stage_days, separators=(",", ":"))
        weights = r.get("health_weights") or {}
        if not isinstance(weights, dict) or any(not isinstance(w, int) or isinstance(w, bool) for w in weights.values()):
            self.fail("health_weights must be an object of part: weight, e.g. {\"cadence\": 40}")
        self.program.health_weights = "{}"
        set_health_weights(self.program, weights)
        self.program.min_group = self.integer(r, "min_group", 0, low=0, high=rules.MAX_MIN_GROUP)
        self.session.add(self.program)
        self.session.flush()
        self._start_program()

    def _refuse_a_program_in_use(self, program: Program) -> None:
        """A file's program line naming a program this store already runs is
        that program exported again (re-importing the demo, say): its records
        would all clash, so say that once instead of naming the first clash."""
        people = self.conn.execute(
            sa.select(sa.func.count()).select_from(Participant).where(Participant.program_id == program.id)
        ).scalar_one()
        if people:
            self.fail(f"program {program.name!r} is already in this store ({people} participants): import the file "
                      "into another store (--db FILE), or rename the program on its first line to import it beside")

    def _stage_stall_days(self, r: dict) -> dict[str, int]:
        """The program line's own stall thresholds per stage: {"first_meeting": 14, ...}."""
        from mloop.rules import COMPLETED, STAGES

        found = r.get("stage_stall_days") or {}
        if not isinstance(found, dict):
            self.fail("stage_stall_days must be an object of stage: days, e.g. {\"first_meeting\": 14}")
        own = {}
        for stage, days in found.items():
            if stage not in STAGES or stage == COMPLETED:
                self.fail(f"stage_stall_days names an unknown stage {stage!r}")
            if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= rules.MAX_STALL_DAYS:
                self.fail(f"stage_stall_days[{stage!r}] must be a whole number of days, 1 to {rules.MAX_STALL_DAYS}")
            own[stage] = days
        return {stage: own[stage] for stage in STAGES if stage in own}

    def _make_default_if_current_is_empty(self) -> None:
        """An imported program replaces an empty default (as after 'mloop init')."""
        default = self.session.execute(
            sa.select(Program).where(Program.is_default, Program.id != self.program.id)
        ).scalars().first()
        if default is None:
            self.program.is_default = True
            return
        used = self.conn.execute(
            sa.select(sa.func.count()).select_from(Participant).where(Participant.program_id == default.id)
        ).scalar_one()
        if not used:
            default.is_default = False
            self.program.is_default = True
            self.session.add_all([default, self.program])
            self.session.flush()

    def _participant(self, r: dict) -> None:
        email = check_email(self.text(r, "email", required=True, free=False))
        key = email_key(email)
        if key in self.people:
            self.fail(f"{email} is already in {self.program.name}: each person appears once")
        try:
            roles = parse_roles(r.get("roles", r.get("role")))
        except UsageError as error:
            self.fail(str(error))
        offers, seeks = r.get("offers", []), r.get("seeks", [])
        for key_name, value in (("offers", offers), ("seeks", seeks)):
            if value is not None and not isinstance(value, (list, str)):
                self.fail(f"{key_name} must be a list of skills")
        try:
            zone = optional_text(r.get("timezone"), "timezone")
            if zone is not None and zone not in self._zones_seen:
                check_timezone(zone)
                self._zones_seen.add(zone)
            department = optional_text(r.get("department"), "department")
            goals = optional_text(r.get("goals"), "goals")
            db_role = check_role_name(r["db_role"], what="db_role") if r.get("db_role") is not None else None
        except UsageError as error:
            self.fail(str(error))
        role = db_role or key
        if role in self.roles:
            self.fail(f"db_role {role!r} is already {self.roles[role]}'s: each database role is one person")
        self.roles[role] = email
        pid = self._id(Participant)
        capacity = self.integer(r, "capacity", 1, low=0)
        joined_at = self.time(r, "joined_at", required=False)
        if joined_at is not None:
            check_joined_date(joined_at, what="joined_at")
        else:
            self.first_matches[pid] = self.now  # until a match of theirs says they joined earlier
        self.people[key] = pid
        self.persons[pid] = _Person(email, "mentor" in roles, "mentee" in roles, capacity, joined_at)
        self._add(Participant, {
            "id": pid, "program_id": self.program.id, "email": email, "email_key": key,
            "name": check_name(self.text(r, "name", required=True, free=False)),
            "is_mentor": "mentor" in roles, "is_mentee": "mentee" in roles, "is_coordinator": "coordinator" in roles,
            "joined_at": joined_at or self.now,
            "capacity": capacity,
            "offers": ",".join(split_skills(offers)), "seeks": ",".join(split_skills(seeks)),
            "timezone": zone, "department": department, "goals": goals, "db_role": db_role,
        })

    def _ref(self, r: dict, seen: dict) -> str:
        ref = r.get("ref")
        if not isinstance(ref, str) or not ref:
            self.fail("ref is missing: give each record a file-local ref such as \"L1\"")
        if ref in seen:
            self.fail(f"ref {ref!r} is used twice")
        return ref

    def _match(self, r: dict) -> None:
        ref = self._ref(r, self.loops)
        mentor, mentee = self.person(r, "mentor"), self.person(r, "mentee")
        the_mentor, the_mentee = self.persons[mentor], self.persons[mentee]
        check_not_self_match(the_mentor.email, same_person=mentor == mentee)
        check_match_roles(the_mentor.email, the_mentor.is_mentor, the_mentee.email, the_mentee.is_mentee)
        matched_at = self.time(r, "matched_at")
        check_match_date(matched_at, what="matched_at",
                         joined=((the_mentor.email, the_mentor.joined_at), (the_mentee.email, the_mentee.joined_at)))
        for person in (mentor, mentee):
            if person in self.first_matches:
                self.first_matches[person] = min(self.first_matches[person], matched_at)
        ended_at = self.time(r, "ended_at", required=False)
        outcome = r.get("outcome")
        if ended_at is not None:
            if ended_at < matched_at:
                self.fail("ended_at is before matched_at")
            if outcome is not None:  # an older export may lack it; the loop has ended all the same
                self.choice(r, "outcome", OUTCOMES)
        elif outcome is not None:
            self.fail("outcome is given but ended_at is not")
        if rules.is_active(matched_at, ended_at, self.now):  # the rules of match create hold for it
            pair = (mentor, mentee)
            check_pair_free(the_mentor.email, the_mentee.email, self.active_pairs.get(pair))
            check_capacity(the_mentor.email, self.mentor_loads[mentor], the_mentor.capacity)
            check_capacity(the_mentee.email, self.mentee_loads[mentee], the_mentee.capacity, as_mentee=True)
            self.active_pairs[pair] = ref
            self.mentor_loads[mentor] += 1
            self.mentee_loads[mentee] += 1
        loop_id = self._id(Loop)
        self.loops[ref] = _LoopRef(ref, loop_id, mentor, mentee, ended_at, outcome, matched_at)
        self._add(Loop, {
            "id": loop_id, "program_id": self.program.id, "mentor_id": mentor, "mentee_id": mentee,
            "matched_at": matched_at, "ended_at": ended_at, "outcome": outcome,
            "end_reason": self.text(r, "end_reason"),
        })

    def _meeting(self, r: dict) -> None:
        ref = self._ref(r, self.meetings)
        loop = self.loop(r)
        status = self.choice(r, "status", MEETING_STATUSES, "scheduled")
        meeting_id = self._id(Meeting)
        self.meetings[ref] = (meeting_id, loop.id, status)
        if status == rules.HELD:
            self.held_loops.add(loop.id)
        actions = r.get("actions") or []
        if isinstance(actions, str):
            actions = [actions]
        if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
            self.fail("actions must be a list of strings")
        start = self.time(r, "start")
        check_meeting_date(start, loop.ref, loop.matched_at, what="start")
        # A meeting with no booking time was booked when it started.
        created = self.time(r, "created_at", required=False) or start
        if status == rules.HELD and created >= start:  # logged once it had happened
            self.open_at(loop, created, "log a meeting")
        else:
            self.open_at(loop, created, "book a meeting")
            if status == rules.HELD:  # booked ahead, then marked done once it had started
                self.open_at(loop, start, "change its meetings")
        self._add(Meeting, {
            "id": meeting_id, "loop_id": loop.id, "start": start,
            "duration_min": self.integer(r, "duration_min", 45, low=1, high=MAX_MEETING_MINUTES),
            "location": self.text(r, "where"), "agenda": self.text(r, "agenda"), "notes": self.text(r, "notes"),
            "actions": "\n".join(actions), "status": status, "created_at": created,
            "uid": self._meeting_uid(r, loop.id), "sequence": self.integer(r, "sequence", 0, low=0, high=2**31 - 1),
            "series": self._short_text(r, "series"),
        })

    def _meeting_uid(self, r: dict, loop_id: int) -> str:
        """The meeting's calendar UID, unique within its loop: kept from the
        file, or derived from the program's name and the file's refs, so that
        loading the same file (the demo's sample data, a CI fixture) always
        gives the same UIDs."""
        uid = self._short_text(r, "uid")
        if uid is None:
            # Refs are unique in a file, so these never collide with each other.
            name = f"mloop:{self.program.name}:{r.get('loop')}:{r.get('ref')}"
            return f"{uuid5(NAMESPACE_URL, name).hex}@mloop"
        # Hashes, not the UIDs (an export of 400k meetings would hold ~80 MB of them);
        # on a hash already seen the store answers whether the UID really is taken.
        key = hash((loop_id, uid))
        if key in self.meeting_uid_hashes and self._uid_taken(loop_id, uid):
            self.fail(f"uid {uid!r} is already used by another meeting of loop {r.get('loop')}")
        self.meeting_uid_hashes.add(key)
        return uid

    def _uid_taken(self, loop_id: int, uid: str) -> bool:
        self.flush()
        found = sa.select(Meeting.id).where(Meeting.loop_id == loop_id, Meeting.uid == uid).limit(1)
        return self.conn.execute(found).first() is not None

    def _short_text(self, r: dict, key: str) -> str | None:
        value = self.text(r, key)
        if value is not None and not 0 < len(value) <= 255:
            self.fail(f"{key} must be 1 to 255 characters long")
        return value

    def _feedback(self, r: dict) -> None:
        loop = self.loop(r)
        author = self.member(r, "author", loop, ": feedback comes from the mentor or mentee")
        created = self.time(r, "created_at")
        self.open_at(loop, created, "give feedback")
        meeting_ref = r.get("meeting")
        meeting_id = None
        if meeting_ref is not None:
            found = self.meetings.get(meeting_ref) if isinstance(meeting_ref, str) else None
            if found is None:
                self.fail(f"meeting {meeting_ref!r} does not name a meeting on an earlier line")
            meeting_id, meeting_loop, status = found
            check_meeting_in_loop(meeting_ref, loop.ref, found=meeting_loop == loop.id)
            # Held as the file says: a hand-edited file may date the feedback before the meeting's start.
            check_meeting_held(meeting_ref, held=status == rules.HELD)
        rating = self.integer(r, "rating")
        check_rating(rating)
        self._add(Feedback, {
            "id": self._id(Feedback), "loop_id": loop.id, "meeting_id": meeting_id, "author_id": author,
            "rating": rating, "comment": self.text(r, "comment"), "created_at": created,
        })

    def _goal(self, r: dict) -> None:
        ref = self._ref(r, self.goals)
        loop = self.loop(r)
        author = self.person(r, "author") if r.get("author") else None
        locked = r.get("locked", False)
        if not isinstance(locked, bool):
            self.fail("locked must be true or false")
        title = check_goal_title(self.text(r, "title", free=False))
        term = check_term(r.get("term") or "short")
        created = self.time(r, "created_at")
        shared = self.time(r, "shared_at", required=False)
        completed = self.time(r, "completed_at", required=False)
        self.open_at(loop, created, "add a goal")
        if shared != created:  # shared later than added ('goal add' shares at once unless --private)
            self.open_at(loop, shared, "share a goal")
        self.open_at(loop, completed, "complete a goal")
        goal_id = self._id(Goal)
        self.goals[ref] = (goal_id, loop)
        self._add(Goal, {
            "id": goal_id, "loop_id": loop.id, "author_id": author, "title": title, "term": term,
            "due": self.time(r, "due", required=False), "created_at": created, "shared_at": shared,
            "completed_at": completed, "locked": locked,
        })

    def _task(self, r: dict) -> None:
        ref = r.get("goal")
        goal = self.goals.get(ref) if isinstance(ref, str) else None
        if goal is None:
            self.fail(f"goal {ref!r} does not name a goal on an earlier line")
        goal_id, loop = goal
        title = check_task_title(self.text(r, "title", free=False))
        done = self.time(r, "done_at", required=False)
        # A task carries no time of its own but when it was done; no command
        # ticks one, so the verb is this check's own.
        self.open_at(loop, done, "mark a task done")
        self._add(Task, {
            "id": self._id(Task), "goal_id": goal_id, "title": title,
            "due": self.time(r, "due", required=False), "done_at": done,
        })

    def _share(self, r: dict) -> None:
        loop = self.loop(r)
        author = self.member(r, "author", loop)
        created = self.time(r, "created_at")
        self.open_at(loop, created, "share the journey")
        self._add(JourneyShare, {
            "id": self._id(JourneyShare), "loop_id": loop.id, "author_id": author, "created_at": created,
        })

    def _milestone(self, r: dict) -> None:
        name, kind, role, due = check_milestone_definition(
            self.text(r, "name", free=False), kind=self.text(r, "kind", required=True), role=self.text(r, "role", required=True),
            due=self.text(r, "due", required=True),
        )
        check_milestone_name_free(self.program.name, name, taken=name in self.milestones)
        milestone_id = self._id(Milestone)
        self.milestones[name] = _MilestoneRef(milestone_id, kind, role)
        self._add(Milestone, {
            "id": milestone_id, "program_id": self.program.id, "name": name, "kind": kind, "role": role,
            "due": due, "description": self.text(r, "description"),
        })

    def _starter_goal(self, r: dict) -> None:
        self._add(StarterGoal, {
            "id": self._id(StarterGoal), "program_id": self.program.id, "title": check_title(self.text(r, "title", required=True, free=False), "starter goal title"),
            "term": check_term(r.get("term") or "short"), "locked": bool(r.get("locked", False)),
            "created_at": self.time(r, "created_at", required=False) or self.now,
        })

    def _agreement(self, r: dict) -> None:
        loop = self.loop(r)
        author = self.member(r, "by", loop)
        cadence = self.text(r, "cadence", required=True)
        created = self.time(r, "created_at")
        updated = self.time(r, "updated_at", required=False) or created
        self.open_at(loop, created, "set its agreement")
        self.open_at(loop, updated, "set its agreement")
        ends_at = self.time(r, "ends_at", required=False)
        cadence = check_agreement(cadence, ends_at, loop.matched_at)
        self._add(Agreement, {
            "id": self._id(Agreement), "loop_id": loop.id, "notes_by": self.choice(r, "notes_by", MEMBER_ROLES),
            "agenda_by": self.choice(r, "agenda_by", MEMBER_ROLES), "cadence": cadence,
            "ends_at": ends_at, "author_id": author,
            "created_at": created, "updated_at": updated,
        })

    def _fit(self, r: dict) -> None:
        loop = self.loop(r)
        author = self.member(r, "author", loop)
        fit = self.choice(r, "fit", FITS)
        created = self.time(r, "created_at")
        self.open_at(loop, created, "record a pairing fit")
        # Held as the file says, as for feedback on a meeting.
        check_fit_after_first_meeting(loop.ref, held=loop.id in self.held_loops)
        self._add(PairingFit, {
            "id": self._id(PairingFit), "loop_id": loop.id, "author_id": author, "fit": fit, "created_at": created,
        })

    def _nudge_template(self, r: dict) -> None:
        """A program's own nudge for a stage, checked as 'coordinator nudge-template set' checks it."""
        stage = parse_nudge_stage(self.text(r, "stage", required=True))
        if stage in self.template_stages:
            seen = self.template_stages[stage]
            where = f"on line {seen}" if seen is not None else f"in {self.program.name}"
            self.fail(f"stage {stage} already has a nudge template {where}: give one per stage")
        subject = self.text(r, "subject", required=True)
        body = self.text(r, "body", required=True)
        check_template_pair(subject, body)
        self.template_stages[stage] = self.line
        self._add(NudgeTemplate, {
            "id": self._id(NudgeTemplate), "program_id": self.program.id, "stage": stage, "subject": subject,
            "body": body,
        })

    def _nudge(self, r: dict) -> None:
        """A nudge sent, kept as written."""
        person = self.person(r, "email")
        loop_id = None
        if r.get("loop") is not None:
            loop = self.loop(r)
            self.member(r, "email", loop)
            loop_id = loop.id
        stage = self.choice(r, "stage", rules.STAGES)
        days = self.integer(r, "days_in_stage", low=0)
        subject, body = self.text(r, "subject"), self.text(r, "body")
        if subject is None or body is None:
            self.fail(f"{'subject' if subject is None else 'body'} is missing")
        self._add(Nudge, {
            "id": self._id(Nudge), "program_id": self.program.id, "participant_id": person, "loop_id": loop_id,
            "stage": stage, "days_in_stage": days, "subject": subject, "body": body, "sent_at": self.time(r, "sent_at"),
        })

    def _milestone_done(self, r: dict) -> None:
        name = r.get("milestone")
        milestone = self.milestones.get(name) if isinstance(name, str) else None
        if milestone is None:
            self.fail(f"milestone {name!r} is not defined on an earlier line")
        by = self.person(r, "by")
        email = self.persons[by].email
        done = self.time(r, "done_at")
        loop_id = None
        if milestone.kind == "program":
            check_no_loop_for_program_milestone(name, loop_given=r.get("loop") is not None)
            person = self.persons[by]
            check_program_mark(name, milestone.role, email,
                               has_role=person.is_mentor if milestone.role == "mentor" else person.is_mentee)
        else:
            if r.get("loop") is None:
                self.fail(f"milestone {name!r} is one of a loop: give the loop it was done in")
            loop = self.loop(r)
            check_marker_in_loop(loop.ref, email, member=by in (loop.mentor_id, loop.mentee_id))
            self.open_at(loop, done, f"mark milestone {name!r} done")
            loop_id = loop.id
        self._add(MilestoneDone, {
            "id": self._id(MilestoneDone), "milestone_id": milestone.id, "loop_id": loop_id,
            "participant_id": by, "done_at": done,
        })

    def finish(self) -> ImportSummary:
        self.ensure_program()
        self.flush()
        # A person the file gave no joined_at joined by their first match (else at the import).
        joined = [{"pid": pid, "joined_at": at} for pid, at in self.first_matches.items() if at < self.now]
        if joined:
            table = Participant.__table__
            self.conn.execute(table.update().where(table.c.id == sa.bindparam("pid"))
                              .values(joined_at=sa.bindparam("joined_at")), joined)
        if self.conn.dialect.name == "postgresql":
            # Ids were chosen here: move each sequence past them.
            for model in TABLE_ORDER:
                table = model.__table__.name
                self.conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1), "
                    f"(SELECT MAX(id) IS NOT NULL FROM {table}))"
                )
        tables = [model.__table__.name for model in TABLE_ORDER if model in self.written]
        return ImportSummary(self.program.name, self.created_program, dict(self.counts), tables)


def _copy_rows(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert ``rows`` into ``table`` with PostgreSQL's COPY, on the
    transaction's own connection, as ``INSERT`` would store them: the same
    columns, their Python-side defaults where a row leaves one out, and each
    column type's bind processing (aware times checked and made UTC).  A
    broken constraint comes back as SQLAlchemy's IntegrityError, as from INSERT.
    """
    import psycopg
    from psycopg import sql

    given = rows[0].keys()
    plan = []  # (column, its default when a row leaves it out, its bind processor)
    for column in table.columns:
        default = column.default
        if column.name in given:
            fill = None
        elif default is None:
            continue  # not given and no default here: left to the database, as INSERT leaves it
        elif default.is_callable:
            fill = default.arg
        else:
            fill = lambda _context, value=default.arg: value  # noqa: E731
        plan.append((column.name, fill, column.type.bind_processor(conn.dialect)))
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(name) for name, _, _ in plan)
    )
    cursor = conn.connection.driver_connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                values = []
                for name, fill, process in plan:
                    value = row[name] if fill is None or name in row else fill(None)
                    values.append(value if process is None or value is None else process(value))
                write(values)
    except psycopg.IntegrityError as error:
        raise sa.exc.IntegrityError(f"COPY {table.name}", None, error) from None
    finally:
        cursor.close()


def import_lines(
    session: Session,
    lines: Iterable[str],
    *,
    now: datetime,
    tz,
    program_name: str | None,
    who: Callable[[Program], Actor],
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Import JSON Lines into the session's transaction; raise on the first bad line."""
    login = login_of(session)
    if login is not None and not login.is_owner:
        # Rows arrive by COPY with ids counted from the largest in the store, and a
        # login role under row-level security sees neither the whole store nor may COPY.
        raise Forbidden(f"on PostgreSQL, importing a program is for the store's owner (the role that ran "
                        f"'mloop init'), and you are connected as role {login.role}")
    importer = Importer(session, now=now, tz=tz, program_name=program_name, who=who)
    try:
        for number, line in enumerate(lines, start=1):
            if progress is not None:
                progress(len(line))
            importer.read(number, line)
        return importer.finish()
    except MloopError:
        raise
    except sa.exc.IntegrityError as error:  # a batch written before the line that broke the rule was read
        raise Conflict(f"the file breaks a rule of the store: {driver_message(error)}") from None


# --- export ------------------------------------------------------------------

class _Streaming:
    """Runs each export query with its rows streamed in batches.

    SQLite's cursor streams anyway; psycopg would fetch a whole table into
    memory unless told to use a server-side cursor.
    """

    OPTIONS = {"stream_results": True, "yield_per": 2000}

    def __init__(self, conn: sa.Connection):
        self.conn = conn

    def execute(self, query):
        return self.conn.execute(query, execution_options=self.OPTIONS)


# The kinds of loop content an export can leave out, in the order its note names them.
CONTENT_KINDS = ("goal titles", "task titles", "meeting places", "agendas", "notes", "actions", "feedback comments")


class _Pair(NamedTuple):
    mentor_id: int
    mentee_id: int


class Withholding:
    """What an export shows its reader of each loop's content (access.sees_content
    decides), and which kinds it left out.  Content left out becomes the marker
    ``WITHHELD`` (each action one marker, so counts survive), which import takes
    like any other text; a field that was empty stays empty."""

    def __init__(self, reader: Actor):
        self.reader = reader
        self.left_out: set[str] = set()

    def keep(self, kind: str, loop: _Pair, value, *, author_id: int | None = None):
        if not value or sees_content(self.reader, loop, author_id=author_id):
            return value
        self.left_out.add(kind)
        return [WITHHELD] * len(value) if isinstance(value, list) else WITHHELD

    def kinds_left_out(self) -> list[str]:
        return [kind for kind in CONTENT_KINDS if kind in self.left_out]


class _Everything:
    """An export with all content (its reader may read it all)."""

    @staticmethod
    def keep(kind: str, loop: _Pair, value, *, author_id: int | None = None):
        return value


def export_records(session: Session, program: Program, withholding: Withholding | None = None) -> Iterator[dict]:
    """Every record of the program, in the order import needs them; with
    ``withholding``, the loop content its reader may not see left out."""
    shown = withholding or _Everything()
    conn = _Streaming(session.connection())
    pid = program.id
    record = {"type": "program", "name": program.name, "stall_days": program.stall_days,
              "momentum_meetings": program.momentum_meetings}
    own = stage_stall_days(program)
    if own:
        record["stage_stall_days"] = own
    weights = own_health_weights(program)
    if weights:
        record["health_weights"] = weights
    if program.min_group:
        record["min_group"] = program.min_group
    yield record
    for row in conn.execute(
        sa.select(StarterGoal).where(StarterGoal.program_id == pid).order_by(StarterGoal.id)
    ).mappings():
        yield {"type": "starter_goal", "title": row["title"], "term": row["term"], "locked": row["locked"],
               "created_at": isoformat_utc(row["created_at"])}
    for name, kind, role, due, description in conn.execute(
        sa.select(Milestone.name, Milestone.kind, Milestone.role, Milestone.due, Milestone.description)
        .where(Milestone.program_id == pid).order_by(Milestone.id)
    ):
        yield {"type": "milestone", "name": name, "kind": kind, "role": role, "due": due, "description": description}

    emails: dict[int, str] = {}
    for row in conn.execute(
        sa.select(Participant).where(Participant.program_id == pid).order_by(Participant.id)
    ).mappings():
        emails[row["id"]] = row["email"]
        person = {
            "type": "participant", "email": row["email"], "name": row["name"],
            "roles": [r for r, flag in (("mentor", row["is_mentor"]), ("mentee", row["is_mentee"]),
                                        ("coordinator", row["is_coordinator"])) if flag],
            "joined_at": isoformat_utc(row["joined_at"]), "capacity": row["capacity"],
            "offers": [s for s in row["offers"].split(",") if s], "seeks": [s for s in row["seeks"].split(",") if s],
        }
        for profile_key in ("timezone", "department", "goals", "db_role"):  # only when set: older exports keep their bytes
            if row[profile_key] is not None:
                person[profile_key] = row[profile_key]
        yield person

    loop_refs: dict[int, str] = {}
    pairs: dict[int, _Pair] = {}
    for row in conn.execute(sa.select(Loop).where(Loop.program_id == pid).order_by(Loop.id)).mappings():
        ref = loop_refs[row["id"]] = f"L{len(loop_refs) + 1}"
        pairs[row["id"]] = _Pair(row["mentor_id"], row["mentee_id"])
        yield {
            "type": "match", "ref": ref, "mentor": emails[row["mentor_id"]], "mentee": emails[row["mentee_id"]],
            "matched_at": isoformat_utc(row["matched_at"]), "ended_at": isoformat_utc(row["ended_at"]),
            "outcome": row["outcome"], "end_reason": row["end_reason"],
        }

    in_program = Loop.program_id == pid
    meeting_refs: dict[int, str] = {}
    for row in conn.execute(
        sa.select(*readable_columns(session, Meeting)).join(Loop, Loop.id == Meeting.loop_id).where(in_program).order_by(Meeting.id)
    ).mappings():
        ref = meeting_refs[row["id"]] = f"M{len(meeting_refs) + 1}"
        pair = pairs[row["loop_id"]]
        yield {
            "type": "meeting", "ref": ref, "loop": loop_refs[row["loop_id"]], "start": isoformat_utc(row["start"]),
            "duration_min": row["duration_min"], "status": row["status"], "created_at": isoformat_utc(row["created_at"]),
            "agenda": shown.keep("agendas", pair, row["agenda"]), "notes": shown.keep("notes", pair, row["notes"]),
            "where": shown.keep("meeting places", pair, row["location"]),
            "actions": shown.keep("actions", pair, [a for a in (row["actions"] or "").split("\n") if a]),
            "uid": row["uid"], "sequence": row["sequence"], "series": row["series"],
        }

    goal_refs: dict[int, str] = {}
    goal_readers: dict[int, tuple[_Pair, int | None]] = {}  # who may read a goal's title reads its tasks'
    for row in conn.execute(
        sa.select(*readable_columns(session, Goal)).join(Loop, Loop.id == Goal.loop_id).where(in_program).order_by(Goal.id)
    ).mappings():
        ref = goal_refs[row["id"]] = f"G{len(goal_refs) + 1}"
        readers = goal_readers[row["id"]] = (pairs[row["loop_id"]],
                                             row["author_id"] if row["shared_at"] is None else None)
        yield {
            "type": "goal", "ref": ref, "loop": loop_refs[row["loop_id"]],
            "title": shown.keep("goal titles", readers[0], row["title"], author_id=readers[1]), "term": row["term"],
            "created_at": isoformat_utc(row["created_at"]), "shared_at": isoformat_utc(row["shared_at"]),
            "completed_at": isoformat_utc(row["completed_at"]), "due": isoformat_utc(row["due"]),
            "locked": row["locked"], "author": emails.get(row["author_id"]),
        }
    for row in conn.execute(
        sa.select(*readable_columns(session, Task)).join(Goal, Goal.id == Task.goal_id).join(Loop, Loop.id == Goal.loop_id)
        .where(in_program).order_by(Task.id)
    ).mappings():
        pair, author_id = goal_readers[row["goal_id"]]
        yield {"type": "task", "goal": goal_refs[row["goal_id"]],
               "title": shown.keep("task titles", pair, row["title"], author_id=author_id),
               "due": isoformat_utc(row["due"]), "done_at": isoformat_utc(row["done_at"])}

    for row in conn.execute(
        sa.select(*readable_columns(session, Feedback)).join(Loop, Loop.id == Feedback.loop_id).where(in_program).order_by(Feedback.id)
    ).mappings():
        yield {
            "type": "feedback", "loop": loop_refs[row["loop_id"]],
            "meeting": meeting_refs.get(row["meeting_id"]) if row["meeting_id"] else None,
            "author": emails[row["author_id"]], "rating": row["rating"], "created_at": isoformat_utc(row["created_at"]),
            "comment": shown.keep("feedback comments", pairs[row["loop_id"]], row["comment"], author_id=row["author_id"]),
        }
    for row in conn.execute(
        sa.select(JourneyShare).join(Loop, Loop.id == JourneyShare.loop_id).where(in_program).order_by(JourneyShare.id)
    ).mappings():
        yield {"type": "share", "loop": loop_refs[row["loop_id"]], "author": emails[row["author_id"]],
               "created_at": isoformat_utc(row["created_at"])}
    for name, loop_id, person, done_at in conn.execute(
        sa.select(Milestone.name, MilestoneDone.loop_id, MilestoneDone.participant_id, MilestoneDone.done_at)
        .join(Milestone, Milestone.id == MilestoneDone.milestone_id)
        .where(Milestone.program_id == pid).order_by(MilestoneDone.id)
    ):
        yield {"type": "milestone_done", "milestone": name, "loop": loop_refs.get(loop_id) if loop_id else None,
               "by": emails[person], "done_at": isoformat_utc(done_at)}
    for row in conn.execute(
        sa.select(Agreement).join(Loop, Loop.id == Agreement.loop_id).where(in_program).order_by(Agreement.id)
    ).mappings():
        yield {"type": "agreement", "loop": loop_refs[row["loop_id"]], "notes_by": row["notes_by"],
               "agenda_by": row["agenda_by"], "cadence": row["cadence"], "ends_at": isoformat_utc(row["ends_at"]),
               "by": emails[row["author_id"]], "created_at": isoformat_utc(row["created_at"]),
               "updated_at": isoformat_utc(row["updated_at"])}
    for row in conn.execute(
        sa.select(PairingFit).join(Loop, Loop.id == PairingFit.loop_id).where(in_program).order_by(PairingFit.id)
    ).mappings():
        yield {"type": "fit", "loop": loop_refs[row["loop_id"]], "author": emails[row["author_id"]],
               "fit": row["fit"], "created_at": isoformat_utc(row["created_at"])}
    # A program's own templates in stage order, then the nudges it sent by time.
    order = {stage: n for n, stage in enumerate(NUDGE_STAGES)}
    templates = conn.execute(sa.select(NudgeTemplate).where(NudgeTemplate.program_id == pid)).mappings().all()
    for row in sorted(templates, key=lambda row: (order.get(row["stage"], len(order)), row["stage"])):
        yield {"type": "nudge_template", "stage": row["stage"], "subject": row["subject"], "body": row["body"]}
    for row in conn.execute(
        sa.select(Nudge).where(Nudge.program_id == pid).order_by(Nudge.sent_at, Nudge.id)
    ).mappings():
        yield {"type": "nudge", "email": emails[row["participant_id"]],
               "loop": loop_refs[row["loop_id"]] if row["loop_id"] is not None else None, "stage": row["stage"],
               "days_in_stage": row["days_in_stage"], "subject": row["subject"], "body": row["body"],
               "sent_at": isoformat_utc(row["sent_at"])}
