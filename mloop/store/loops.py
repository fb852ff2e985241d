"""Matches (loops): create, end, list."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, or_, select

from mloop import rules
from mloop.errors import Conflict, Forbidden, UsageError
from mloop.store.access import Actor, get_participant, is_member, loop_active_at, require_coordinator
from mloop.store.checks import (
    check_capacity, check_match_date, check_match_roles, check_not_ahead, check_not_self_match, check_pair_free,
    check_text,
)
from mloop.store.models import Loop, Participant, Program
from mloop.store.participants import active_loop_count
from mloop.store.programs import plant_starter_goals



def create_match(
    session: Session,
    program: Program,
    who: Actor,
    *,
    mentor_email: str,
    mentee_email: str,
    matched_at: datetime,
    now: datetime,
) -> Loop:
    require_coordinator(who, "creating a match")
    mentor = get_participant(session, program, mentor_email, what="mentor")
    mentee = get_participant(session, program, mentee_email, what="mentee")
    check_not_self_match(mentor.email, same_person=mentor.id == mentee.id)
    check_match_roles(mentor.email, mentor.is_mentor, mentee.email, mentee.is_mentee)
    check_not_ahead(matched_at, now, what="--at", instead="a match starts now or in the past")
    check_match_date(matched_at, joined=((mentor.email, mentor.joined_at), (mentee.email, mentee.joined_at)))
    # A loop of the pair that has not ended by now blocks a new one, even one
    # an import dated after now: the two would overlap from its start.
    not_ended = or_(Loop.ended_at.is_(None), Loop.ended_at > now)
    same_pair = session.exec(
        select(Loop.id).where(Loop.mentor_id == mentor.id, Loop.mentee_id == mentee.id, not_ended)
    ).first()
    check_pair_free(mentor.email, mentee.email, same_pair)
    check_capacity(mentor.email, active_loop_count(session, mentor, now), mentor.capacity)
    check_capacity(mentee.email, active_loop_count(session, mentee, now, as_mentee=True), mentee.capacity,
                   as_mentee=True)
    loop = Loop(
        program_id=program.id,
        mentor_id=mentor.id,
        mentee_id=mentee.id,
        matched_at=matched_at,
    )
    session.add(loop)
    session.flush()
    plant_starter_goals(session, program, loop)
    return loop


def end_match(
    session: Session,
    program: Program,
    who: Actor,
    loop: Loop,
    *,
    outcome: str,
    reason: str | None,
    now: datetime,
) -> Loop:
    if not (who.is_coordinator or is_member(loop, who.person)):
        raise Forbidden(f"only loop {loop.id}'s members or a coordinator can end it")
    check_text(reason, "reason")
    if outcome not in rules.OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r}: use completed or cancelled")
    if loop.ended_at is not None and loop.ended_at <= now:
        raise Conflict(f"loop {loop.id} already ended on {loop.ended_at:%Y-%m-%d} ({loop.outcome})")
    loop.ended_at = now
    loop.outcome = outcome
    loop.end_reason = reason
    session.add(loop)
    session.flush()
    return loop


def list_matches(session: Session, program: Program, who: Actor, *, include_ended: bool, now: datetime):
    """Rows of (loop, mentor, mentee) the actor may see."""
    from sqlalchemy.orm import aliased

    mentor = aliased(Participant)
    mentee = aliased(Participant)
    query = (
        select(Loop, mentor, mentee)
        .join(mentor, mentor.id == Loop.mentor_id)
        .join(mentee, mentee.id == Loop.mentee_id)
        .where(Loop.program_id == program.id, Loop.matched_at <= now)
        .order_by(Loop.id)
    )
    if not include_ended:
        query = query.where(loop_active_at(now))
    if not who.is_coordinator:
        person_id = who.person.id if who.person else -1
        query = query.where(or_(Loop.mentor_id == person_id, Loop.mentee_id == person_id))
    return list(session.exec(query))


def loop_status_word(loop: Loop, now: datetime) -> str:
    if loop.ended_at is not None and loop.ended_at <= now:
        return loop.outcome or "ended"
    return "active"
