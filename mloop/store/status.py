"""A participant's own view (``mloop status``): their loops, stages and next steps.

A participant sees their own loops and never the partner's feedback (so no
at-risk flag either: it would give that feedback away).  The next steps are
the rules' (``rules.next_steps``) over the facts gathered here, naming real
meeting and goal ids.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.errors import NotFound
from mloop.store.health import member_loop_health
from mloop.store.memberships import Membership, memberships
from mloop.store.programs import health_weights
from mloop.store.models import Feedback, Goal, Loop, Meeting, PairingFit, Participant, Program
from mloop.store.participants import roles_of
from mloop.store.pgsecurity import readable


def history_records(progress: rules.Progress) -> list[dict]:
    return [{"stage": stage, "reached_at": at} for stage, at in progress.history]


def _meetings(session: Session, m: Membership, now: datetime) -> tuple[dict | None, int | None, int | None]:
    """The loop's next booked meeting (as the status shows it), a booked meeting
    whose start has passed (to mark done) and the latest held meeting the member
    has not given feedback on: one query over the loop's meetings booked by now."""
    rated = sa.select(Feedback.meeting_id).where(Feedback.author_id == m.person.id, Feedback.meeting_id.is_not(None),
                                                 Feedback.created_at <= now)
    rows = session.connection().execute(
        sa.select(Meeting.id, Meeting.start, Meeting.created_at, Meeting.status, Meeting.duration_min,
                  Meeting.location, readable(session, Meeting.agenda), Meeting.id.in_(rated))
        .where(Meeting.loop_id == m.loop_id, Meeting.created_at <= now, Meeting.status != rules.CANCELLED)
        .order_by(Meeting.start, Meeting.id)
    ).all()
    upcoming = next((r for r in rows if r.status == rules.SCHEDULED and r.start >= now), None)
    overdue = next((r.id for r in rows if r.status == rules.SCHEDULED and r.start < now), None)
    unrated = [r for r in rows if rules.is_held(r.status, r.start, r.created_at, now) and not r[7]]
    latest_unrated = max(unrated, key=lambda r: (rules.held_from(r.start, r.created_at), r.id)).id if unrated else None
    next_meeting = None
    if upcoming is not None:
        next_meeting = {"id": upcoming.id, "start": upcoming.start, "duration_min": upcoming.duration_min,
                        "where": upcoming.location, "agenda": upcoming.agenda}
    return next_meeting, overdue, latest_unrated


def _step_facts(session: Session, m: Membership, now: datetime, next_meeting: dict | None, booked_past: int | None,
                unrated: int | None) -> tuple[rules.StepFacts, dict]:
    """What the member's next steps name, and the status fields behind them."""
    from mloop.store.agreements import agreement_of, agreement_record

    conn = session.connection()
    me = m.person.id
    goals = conn.execute(
        sa.select(Goal.id, Goal.author_id, Goal.shared_at, Goal.completed_at)
        .where(Goal.loop_id == m.loop_id, Goal.created_at <= now).order_by(Goal.id)
    ).all()
    shared = [g for g in goals if g.shared_at is not None and g.shared_at <= now]
    done = [g for g in shared if g.completed_at is not None and g.completed_at <= now]
    private = [g.id for g in goals if g.author_id == me and (g.shared_at is None or g.shared_at > now)
               and (g.completed_at is None or g.completed_at > now)]
    fit = conn.execute(
        sa.select(PairingFit.fit).where(PairingFit.loop_id == m.loop_id, PairingFit.author_id == me,
                                        PairingFit.created_at <= now)
        .order_by(PairingFit.created_at.desc(), PairingFit.id.desc()).limit(1)
    ).scalar()
    agreement = agreement_record(session, agreement_of(session, m.loop_id, now))
    due = rules.checkin_due(m.matched_at, m.last_loop_feedback, now)
    steps = rules.StepFacts(
        loop_id=m.loop_id, role=m.role, partner=m.partner.name, held_meetings=m.held_meetings,
        booked_ahead=(next_meeting["id"], next_meeting["start"]) if next_meeting else None,
        booked_past=booked_past, unrated_meeting=unrated, private_goal=private[0] if private else None,
        open_goals=tuple(g.id for g in shared if g not in done), shared_goals=len(shared), goals_done=len(done),
        has_agreement=agreement is not None, has_fit=fit is not None, checkin_due=due,
    )
    fields = {"agreement": agreement, "goals": {"shared": len(shared), "done": len(done)}, "pairing_fit": fit,
              "checkin_due": due}
    return steps, fields


def _loop_entry(session: Session, program: Program, m: Membership, now: datetime, *, history: bool) -> dict:
    next_meeting, booked_past, unrated = _meetings(session, m, now)
    steps, fields = _step_facts(session, m, now, next_meeting, booked_past, unrated)
    entry = {
        "loop_id": m.loop_id,
        "role": m.role,
        "partner": {"email": m.partner.email, "name": m.partner.name} if m.partner else None,
        "matched_at": m.matched_at,
        "status": "active",
        "stage": m.progress.stage,
        "stage_label": rules.STAGE_LABELS[m.progress.stage],
        "stage_since": m.progress.stage_since,
        "days_in_stage": m.days,
        "stalled": m.stalled,
        "meetings_held": m.held_meetings,
        "next_meeting": next_meeting,
        "next_steps": list(rules.next_steps(m.facts, steps, now, momentum_meetings=program.momentum_meetings)),
        **fields,
    }
    # The confirm-ahead advice needs a booking to confirm; a completed loop may rest.
    entry["no_meeting_booked"] = entry["next_meeting"] is None and m.progress.stage != rules.COMPLETED
    if history:
        entry["history"] = history_records(m.progress)
    return entry


def participant_status(
    session: Session,
    program: Program,
    person: Participant,
    now: datetime,
    *,
    loop_id: int | None = None,
    history: bool = False,
) -> dict:
    with_partners = memberships(session, program, now, person_id=person.id, with_partners=True, with_counts=True)
    members = [m for m in with_partners if m.person.id == person.id]
    in_loops = [m for m in members if m.loop_id is not None]
    document: dict = {
        "participant": {
            "email": person.email,
            "name": person.name,
            "roles": roles_of(person),
            "joined_at": person.joined_at,
        },
        "as_of": now,
        "loops": [],
    }
    unmatched = [m for m in members if m.loop_id is None]
    if unmatched:
        m = unmatched[0]
        document["participant"].update(
            stage=m.progress.stage,
            stage_since=m.progress.stage_since,
            days_in_stage=m.days,
            stalled=m.stalled,
            next_steps=list(rules.waiting_steps(m.progress.stage, m.role)),
        )
    if loop_id is not None:
        in_loops = [m for m in in_loops if m.loop_id == loop_id]
        if not in_loops and not (history and _ended_loop_ids(session, program, person, now, loop_id)):
            raise NotFound(f"loop {loop_id} is not one of {person.email}'s active loops: see 'mloop status'")
    document["loops"] = [_loop_entry(session, program, m, now, history=history) for m in in_loops]
    shown = {m.loop_id for m in in_loops}
    healths = member_loop_health(session, program, now, [m for m in with_partners if m.loop_id in shown],
                                 weights=health_weights(program))
    for entry in document["loops"]:
        health = healths.get(entry["loop_id"])
        if health is not None:
            entry["health"] = {"score": health["score"], "parts": health["parts"]}
    _add_milestones(session, program, person, now, document)
    if history:
        document["ended_loops"] = [
            entry
            for ended_id in _ended_loop_ids(session, program, person, now, loop_id)
            if (entry := _ended_entry(session, program, person, ended_id)) is not None
        ]
    return document


def _add_milestones(session: Session, program: Program, person: Participant, now: datetime, document: dict) -> None:
    """The person's program milestones under ``participant``, each loop's relationship ones under it."""
    from mloop.store.milestones import member_milestones

    items = member_milestones(session, program, person, now)
    document["participant"]["milestones"] = [item.status_record() for item in items if item.loop_id is None]
    for entry in document["loops"]:
        entry["milestones"] = [item.status_record() for item in items if item.loop_id == entry["loop_id"]]


def _ended_loop_ids(session: Session, program: Program, person: Participant, now: datetime, loop_id: int | None) -> list[int]:
    query = sa.select(Loop.id).where(
        Loop.program_id == program.id,
        sa.or_(Loop.mentor_id == person.id, Loop.mentee_id == person.id),
        Loop.ended_at.is_not(None),
        Loop.ended_at <= now,
    )
    if loop_id is not None:
        query = query.where(Loop.id == loop_id)
    return list(session.connection().execute(query.order_by(Loop.id)).scalars())


def membership_in(session: Session, program: Program, loop: Loop, person: Participant, now: datetime) -> Membership | None:
    """The member's place in ``loop`` as of ``now``, or just before the loop ended."""
    as_of = now
    if loop.ended_at is not None and loop.ended_at <= now:
        as_of = loop.ended_at - timedelta(microseconds=1)
    found = [m for m in memberships(session, program, as_of, person_id=person.id, include_unmatched=False,
                                    with_counts=True) if m.loop_id == loop.id]
    return found[0] if found else None


def _ended_entry(session: Session, program: Program, person: Participant, loop_id: int) -> dict | None:
    loop = session.get(Loop, loop_id)
    # The stages a loop reached are those it had just before it ended.
    m = membership_in(session, program, loop, person, loop.ended_at)
    if m is None:
        return None
    return {
        "loop_id": loop_id,
        "role": m.role,
        "partner": {"email": m.partner.email, "name": m.partner.name} if m.partner else None,
        "matched_at": loop.matched_at,
        "status": loop.outcome,
        "ended_at": loop.ended_at,
        "end_reason": loop.end_reason,
        "final_stage": m.progress.stage,
        "history": history_records(m.progress),
    }
