"""Mentoring agreements and pairing fits: what a pair settles at the start, and
how each member feels about the pairing after the first meeting."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from mloop import rules
from mloop.rules import FITS, MEMBER_ROLES
from mloop.errors import one_of
from mloop.store.access import Actor, loop_for, require_active
from mloop.store.checks import check_agreement, check_fit_after_first_meeting
from mloop.store.memberships import held_from
from mloop.store.models import Agreement, Loop, Meeting, PairingFit, Participant, Program



def set_agreement(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    notes_by: str, agenda_by: str, cadence: str, ends_at: datetime | None, now: datetime,
) -> tuple[Agreement, bool]:
    """Record (or replace) the loop's agreement; returns it and whether it is new."""
    notes_by, agenda_by = one_of(notes_by, MEMBER_ROLES, "--notes-by"), one_of(agenda_by, MEMBER_ROLES, "--agenda-by")
    loop = loop_for(session, program, who, loop_id, doing="setting the mentoring agreement", members_only=True)
    require_active(loop, now, "set its agreement")
    cadence = check_agreement(cadence, ends_at, loop.matched_at)
    agreement = session.exec(select(Agreement).where(Agreement.loop_id == loop.id)).first()
    created = agreement is None
    if created:
        agreement = Agreement(loop_id=loop.id, notes_by=notes_by, agenda_by=agenda_by, cadence=cadence,
                              ends_at=ends_at, author_id=who.person.id, created_at=now, updated_at=now)
    else:
        agreement.notes_by, agreement.agenda_by, agreement.cadence = notes_by, agenda_by, cadence
        agreement.ends_at, agreement.author_id, agreement.updated_at = ends_at, who.person.id, now
    session.add(agreement)
    session.flush()
    return agreement, created


def agreement_of(session: Session, loop_id: int, now: datetime) -> Agreement | None:
    """The loop's agreement as of ``now`` (one made later does not exist yet)."""
    return session.exec(
        select(Agreement).where(Agreement.loop_id == loop_id, Agreement.created_at <= now)
    ).first()


def agreement_record(session: Session, agreement: Agreement | None) -> dict | None:
    if agreement is None:
        return None
    author = session.get(Participant, agreement.author_id)
    return {
        "loop_id": agreement.loop_id, "notes_by": agreement.notes_by, "agenda_by": agreement.agenda_by,
        "cadence": agreement.cadence, "ends_at": agreement.ends_at, "set_by": author.email if author else None,
        "created_at": agreement.created_at, "updated_at": agreement.updated_at,
    }


def show_agreement(session: Session, program: Program, who: Actor, loop_id: int, now: datetime) -> tuple[Loop, dict | None]:
    loop = loop_for(session, program, who, loop_id, doing="reading the mentoring agreement")
    return loop, agreement_record(session, agreement_of(session, loop.id, now))


def record_fit(session: Session, program: Program, who: Actor, loop_id: int, *, fit: str, now: datetime) -> PairingFit:
    """A member's pairing fit, allowed once the loop has held its first meeting."""
    fit = one_of(fit, FITS, "--fit")
    loop = loop_for(session, program, who, loop_id, doing="recording a pairing fit", members_only=True)
    require_active(loop, now, "record a pairing fit")
    held = session.exec(
        select(Meeting.id).where(Meeting.loop_id == loop.id, Meeting.status == rules.HELD, held_from() <= now).limit(1)
    ).first()
    check_fit_after_first_meeting(loop.id, held=held is not None)
    record = PairingFit(loop_id=loop.id, author_id=who.person.id, fit=fit, created_at=now)
    session.add(record)
    session.flush()
    return record
