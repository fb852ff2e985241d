"""Custom milestones: defined by a coordinator, marked done by the mentor or
mentee they belong to, due a calendar offset after the match (relationship
milestones, one per active loop) or after the person joined (program ones).

Marks dated after ``now`` are ignored, like every other fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.errors import Conflict, Forbidden, NotFound, UsageError
from mloop.store.access import Actor, get_loop, get_participant, loop_active_at, require_active, require_coordinator
from mloop.store.checks import (
    check_marker_in_loop, check_marker_role, check_milestone_definition, check_milestone_name_free,
    check_no_loop_for_program_milestone, check_program_mark, check_text,
)
from mloop.store.models import Loop, Milestone, MilestoneDone, Participant, Program
from mloop.timeparse import format_local

RELATIONSHIP, PROGRAM = rules.MILESTONE_KINDS


@dataclass(frozen=True)
class MemberMilestone:
    """One milestone of one person (in one loop, for a relationship milestone), as of now."""

    name: str
    kind: str
    role: str
    offset: str
    description: str | None
    loop_id: int | None
    due: datetime
    state: str
    done_at: datetime | None

    def record(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "role": self.role, "loop_id": self.loop_id,
            "due": self.due, "state": self.state, "done_at": self.done_at, "offset": self.offset,
            "description": self.description,
        }

    def status_record(self) -> dict:
        return {"name": self.name, "due": self.due, "state": self.state, "done_at": self.done_at}


def define_milestone(
    session: Session, program: Program, who: Actor, name: str, *,
    kind: str, role: str, due: str, description: str | None,
) -> Milestone:
    require_coordinator(who, "defining a milestone")
    name, kind, role, due = check_milestone_definition(name, kind=kind, role=role, due=due)
    taken = session.connection().execute(
        sa.select(Milestone.id).where(Milestone.program_id == program.id, Milestone.name == name)
    ).first()
    check_milestone_name_free(program.name, name, taken=taken is not None)
    milestone = Milestone(program_id=program.id, name=name, kind=kind, role=role, due=due,
                          description=(check_text(description, "description") or "").strip() or None)
    session.add(milestone)
    session.flush()
    return milestone


def list_milestones(session: Session, program: Program) -> list[Milestone]:
    return list(session.execute(
        sa.select(Milestone).where(Milestone.program_id == program.id).order_by(Milestone.id)
    ).scalars())


def get_milestone(session: Session, program: Program, name: str) -> Milestone:
    wanted = name.strip()
    found = [m for m in list_milestones(session, program) if m.name == wanted]
    if not found:  # forgive the case when it leaves no doubt
        found = [m for m in list_milestones(session, program) if m.name.casefold() == wanted.casefold()]
    if len(found) != 1:
        raise NotFound(f"no milestone named {name!r} in {program.name}: see 'mloop milestone list'")
    return found[0]


# --- one person's milestones ---------------------------------------------------------

def _active_loops(session: Session, program: Program, person: Participant, now: datetime) -> list[tuple[int, str, datetime]]:
    """(loop id, the person's role, matched_at) of their active loops."""
    rows = session.connection().execute(
        sa.select(Loop.id, Loop.mentor_id, Loop.matched_at)
        .where(Loop.program_id == program.id, sa.or_(Loop.mentor_id == person.id, Loop.mentee_id == person.id), loop_active_at(now))
        .order_by(Loop.id)
    ).all()
    return [(loop_id, rules.MENTOR if mentor_id == person.id else rules.MENTEE, matched_at) for loop_id, mentor_id, matched_at in rows]


def _has_role(person: Participant, role: str) -> bool:
    return bool(person.is_mentor if role == rules.MENTOR else person.is_mentee)


def member_milestones(session: Session, program: Program, person: Participant, now: datetime) -> list[MemberMilestone]:
    """The person's milestones as of ``now``: program ones first (if they
    joined by now and hold the role), then each active loop's relationship
    ones where they hold the role.  One cheap query when the program has none."""
    milestones = list_milestones(session, program)
    if not milestones:
        return []
    loops = _active_loops(session, program, person, now)
    loop_ids = [loop_id for loop_id, _role, _matched in loops]
    done: dict[tuple[int, int | None], datetime] = {}
    for milestone_id, loop_id, done_at in session.connection().execute(
        sa.select(MilestoneDone.milestone_id, MilestoneDone.loop_id, sa.func.min(MilestoneDone.done_at))
        .where(
            MilestoneDone.milestone_id.in_([m.id for m in milestones]),
            MilestoneDone.done_at <= now,
            sa.or_(
                MilestoneDone.loop_id.in_(loop_ids),
                sa.and_(MilestoneDone.loop_id.is_(None), MilestoneDone.participant_id == person.id),
            ),
        )
        .group_by(MilestoneDone.milestone_id, MilestoneDone.loop_id)
    ):
        done[(milestone_id, loop_id)] = done_at

    def item(m: Milestone, loop_id: int | None, anchor: datetime) -> MemberMilestone:
        due = rules.milestone_due(anchor, rules.milestone_offset(m.due))
        done_at = done.get((m.id, loop_id))
        return MemberMilestone(m.name, m.kind, m.role, m.due, m.description, loop_id, due,
                               rules.milestone_state(due, done_at, now), done_at)

    items = []
    if person.joined_at <= now:
        items += [item(m, None, person.joined_at) for m in milestones if m.kind == PROGRAM and _has_role(person, m.role)]
    for loop_id, role, matched_at in loops:
        items += [item(m, loop_id, matched_at) for m in milestones if m.kind == RELATIONSHIP and m.role == role]
    return items


# --- marking done and undoing ------------------------------------------------------------

def _person(who: Actor, doing: str) -> Participant:
    if who.person is None:
        raise Forbidden(f"{doing} is for the mentor or mentee it belongs to: say who you are with --as EMAIL or MLOOP_USER")
    return who.person


def _target_loop(session: Session, program: Program, milestone: Milestone, person: Participant, loop_id: int | None,
                 now: datetime, *, doing: str) -> Loop:
    """The loop a relationship milestone is marked in: --loop, or the person's only loop in the milestone's role."""
    name, role = milestone.name, milestone.role
    if loop_id is not None:
        loop = get_loop(session, program, loop_id)
        held = rules.MENTOR if loop.mentor_id == person.id else rules.MENTEE if loop.mentee_id == person.id else None
        check_marker_in_loop(loop.id, person.email, member=held is not None)
        check_marker_role(name, role, loop.id, person.email, held_role=held)
        require_active(loop, now, doing)
        return loop
    candidates = [lid for lid, held, _matched in _active_loops(session, program, person, now) if held == role]
    if not candidates:
        raise Forbidden(f"only a loop's {role} can mark milestone {name!r}, and {person.email} is not the {role} "
                        "of any active loop")
    if len(candidates) > 1:
        raise UsageError(f"{person.email} is the {role} of loops {', '.join(map(str, candidates))}: "
                         f"say which with --loop LOOP")
    return session.get(Loop, candidates[0])


def _marks(milestone: Milestone, loop: Loop | None, person: Participant, now: datetime):
    where = [MilestoneDone.milestone_id == milestone.id, MilestoneDone.done_at <= now]
    if loop is not None:
        where.append(MilestoneDone.loop_id == loop.id)
    else:
        where += [MilestoneDone.loop_id.is_(None), MilestoneDone.participant_id == person.id]
    return sa.and_(*where)


def mark_done(session: Session, program: Program, who: Actor, name: str, *, loop_id: int | None,
              now: datetime) -> MemberMilestone:
    """Marks the milestone done for the acting person (in a loop where they hold its role)."""
    person = _person(who, "marking a milestone done")
    milestone = get_milestone(session, program, name)
    loop: Loop | None = None
    if milestone.kind == PROGRAM:
        check_no_loop_for_program_milestone(milestone.name, loop_given=loop_id is not None)
        check_program_mark(milestone.name, milestone.role, person.email, has_role=_has_role(person, milestone.role))
        anchor = person.joined_at
    else:
        loop = _target_loop(session, program, milestone, person, loop_id, now,
                            doing=f"mark milestone {milestone.name!r} done")
        anchor = loop.matched_at
    earlier = session.connection().execute(
        sa.select(sa.func.min(MilestoneDone.done_at)).where(_marks(milestone, loop, person, now))
    ).scalar_one()
    if earlier is not None:
        where = f" in loop {loop.id}" if loop is not None else f" for {person.email}"
        raise Conflict(f"milestone {milestone.name!r} is already done{where} (since {format_local(earlier, timezone.utc)}): "
                       "nothing to do; 'mloop milestone undo' takes the mark back")
    session.add(MilestoneDone(milestone_id=milestone.id, loop_id=loop.id if loop else None,
                              participant_id=person.id, done_at=now))
    session.flush()
    due = rules.milestone_due(anchor, rules.milestone_offset(milestone.due))
    return MemberMilestone(milestone.name, milestone.kind, milestone.role, milestone.due, milestone.description,
                           loop.id if loop else None, due, rules.MILESTONE_DONE, now)


def undo_done(session: Session, program: Program, who: Actor, name: str, *, loop_id: int | None,
              for_email: str | None, now: datetime) -> dict:
    """Takes back a done mark: one's own, or (a coordinator) anyone's with --loop or --for."""
    milestone = get_milestone(session, program, name)
    loop: Loop | None = None
    if milestone.kind == PROGRAM:
        check_no_loop_for_program_milestone(milestone.name, loop_given=loop_id is not None)
        if for_email is not None:
            person = get_participant(session, program, for_email)
            if person.id != (who.person.id if who.person else None):
                require_coordinator(who, "undoing someone else's milestone")
        else:
            person = _person(who, "undoing a milestone")
    else:
        if for_email is not None:
            raise UsageError(f"milestone {milestone.name!r} belongs to a loop: name it with --loop LOOP, not --for")
        doing = f"undo milestone {milestone.name!r}"
        if who.is_coordinator and loop_id is not None:
            person = who.person
            loop = get_loop(session, program, loop_id)
            require_active(loop, now, doing)
        else:
            person = _person(who, "undoing a milestone")
            loop = _target_loop(session, program, milestone, person, loop_id, now, doing=doing)
    marks = _marks(milestone, loop, person, now)
    found = session.connection().execute(sa.select(sa.func.count()).select_from(MilestoneDone).where(marks)).scalar_one()
    if not found:
        where = f" in loop {loop.id}" if loop is not None else f" for {person.email}"
        raise Conflict(f"milestone {milestone.name!r} is not done{where}: nothing to undo")
    session.connection().execute(sa.delete(MilestoneDone).where(marks))
    return {"name": milestone.name, "kind": milestone.kind, "loop_id": loop.id if loop else None,
            "participant": None if loop else person.email, "undone": found}


# --- counts for coordinators -------------------------------------------------------------

def milestone_counts(session: Session, program: Program, now: datetime) -> list[dict]:
    """Per milestone, how many of those it applies to (active loops, or people
    with the role who joined by now) have it done and how many are overdue, as
    of ``now``.  Aggregate queries: range counts, plus a per-row check only for
    the few anchors near the due boundary (see rules.overdue_anchor_bounds)."""
    milestones = list_milestones(session, program)
    conn = session.connection()
    counts = []
    for m in milestones:
        offset = rules.milestone_offset(m.due)
        lo, hi = rules.overdue_anchor_bounds(offset, now)
        marked = sa.select(MilestoneDone.loop_id if m.kind == RELATIONSHIP else MilestoneDone.participant_id).where(
            MilestoneDone.milestone_id == m.id, MilestoneDone.done_at <= now,
        )
        if m.kind == RELATIONSHIP:
            anchor, key = Loop.matched_at, Loop.id
            population = sa.and_(Loop.program_id == program.id, loop_active_at(now))
        else:
            marked = marked.where(MilestoneDone.loop_id.is_(None))
            anchor, key = Participant.joined_at, Participant.id
            population = sa.and_(Participant.program_id == program.id, Participant.joined_at <= now,
                                 Participant.is_mentor if m.role == rules.MENTOR else Participant.is_mentee)
        marked = marked.distinct().subquery()
        table = key.table.outerjoin(marked, marked.c[0] == key)
        is_done, not_done = marked.c[0].is_not(None), marked.c[0].is_(None)
        done, overdue = conn.execute(
            sa.select(sa.func.count().filter(is_done), sa.func.count().filter(not_done, anchor < lo))
            .select_from(table).where(population)
        ).one()
        near = conn.execute(
            sa.select(anchor).select_from(table).where(population, not_done, anchor >= lo, anchor < hi)
        ).scalars()
        overdue += sum(1 for at in near if rules.milestone_due(at, offset) < now)
        counts.append({"name": m.name, "kind": m.kind, "role": m.role, "done": done, "overdue": overdue})
    return counts
