"""A member's journey share (the certificate step) and the facts its certificate shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from mloop import rules
from mloop.certificate import CertificateFacts, Milestone as Achieved
from mloop.errors import Conflict
from mloop.store.access import Actor, loop_for, require_active
from mloop.store.models import JourneyShare, Loop, Participant, Program


@dataclass
class JourneyShared:
    """A member's journey share for a loop and the facts of its certificate."""

    share: JourneyShare
    newly_shared: bool  # False: shared before, only the certificate is written again
    certificate: CertificateFacts


def share_journey(
    session: Session, program: Program, who: Actor, loop_id: int, *, now: datetime, issuer: str | None = None,
) -> JourneyShared:
    """Records the acting member's journey share (once) and gathers their certificate.

    A first share needs the member at Levelling Up or Completed in an active
    loop; sharing again records nothing and gives the certificate of the
    first share, even once the loop has ended.
    """
    loop = loop_for(session, program, who, loop_id, doing="sharing your journey", members_only=True)
    person = who.person
    existing = session.exec(
        select(JourneyShare)
        .where(JourneyShare.loop_id == loop.id, JourneyShare.author_id == person.id, JourneyShare.created_at <= now)
        .order_by(JourneyShare.created_at, JourneyShare.id)
    ).first()
    if existing is not None:
        share, newly = existing, False
    else:
        require_active(loop, now, "share the journey")
        _require_levelling_up(session, program, loop, person, now)
        share, newly = JourneyShare(loop_id=loop.id, author_id=person.id, created_at=now), True
        session.add(share)
        session.flush()
    return JourneyShared(share, newly, _certificate_facts(session, program, loop, person, share, now, issuer))


def _require_levelling_up(session: Session, program: Program, loop: Loop, person: Participant, now: datetime) -> None:
    """Refuses a first journey share before the member reaches ``rules.SHARE_FROM``,
    naming what the rules say is still missing."""
    from mloop.store.status import membership_in

    member = membership_in(session, program, loop, person, now)
    if member is not None and rules.may_share_journey(member.progress.stage):
        return
    facts = member.facts if member else rules.MembershipFacts(loop.matched_at)
    held = member.held_meetings if member else 0
    stage = member.progress.stage if member else rules.MATCHED
    needs = [
        rules.describe_missing(item, loop_id=loop.id, held_meetings=held, momentum_meetings=program.momentum_meetings)
        for item in rules.missing(facts, held, now, momentum_meetings=program.momentum_meetings,
                                  through=rules.SHARE_FROM)
    ]
    raise Conflict(
        f"loop {loop.id} is at {rules.STAGE_LABELS[stage]} for you and a certificate needs "
        f"{rules.STAGE_LABELS[rules.SHARE_FROM]}: "
        f"still needed: {'; '.join(needs) or 'nothing more: try again in a moment'}"
    )


def _in_journey_order(stages: list[Achieved], custom: list[Achieved]) -> list[Achieved]:
    """Stages in stage order, each custom milestone placed by its time: it
    follows every stage reached by then (a tie goes to the stage) and comes
    before the first stage reached later, even when stage times disagree with
    the stage order."""
    merged, waiting = [], list(custom)
    for stage in stages:
        while waiting and waiting[0].achieved_at < stage.achieved_at:
            merged.append(waiting.pop(0))
        merged.append(stage)
    return merged + waiting


def _certificate_facts(
    session: Session, program: Program, loop: Loop, person: Participant, share: JourneyShare, now: datetime,
    issuer: str | None,
) -> CertificateFacts:
    from mloop.store.models import Milestone, MilestoneDone

    from mloop.store.status import membership_in

    member = membership_in(session, program, loop, person, now)
    reached = member.progress.history if member else ()
    custom = session.connection().execute(
        sa.select(Milestone.name, sa.func.min(MilestoneDone.done_at))
        .join(Milestone, Milestone.id == MilestoneDone.milestone_id)
        .where(MilestoneDone.loop_id == loop.id, MilestoneDone.participant_id == person.id,
               MilestoneDone.done_at <= now)
        .group_by(Milestone.name)
    ).all()
    # The history is in rules.STAGES order, which stays the order when stages share a time.
    achieved = _in_journey_order(
        [Achieved(rules.STAGE_LABELS[name], at) for name, at in reached],
        sorted((Achieved(name, at, kind="custom") for name, at in custom), key=lambda m: (m.achieved_at, m.name)),
    )
    mentor, mentee = session.get(Participant, loop.mentor_id), session.get(Participant, loop.mentee_id)
    completed_at = dict(reached).get(rules.COMPLETED)
    return CertificateFacts(
        program=program.name,
        issuer=(issuer or "").strip() or program.name,
        loop_id=loop.id,
        holder_name=person.name,
        holder_email=person.email,
        holder_role=rules.MENTOR if loop.mentor_id == person.id else rules.MENTEE,
        mentor_name=mentor.name,
        mentee_name=mentee.name,
        matched_at=loop.matched_at,
        shared_at=share.created_at,
        completed_at=completed_at,
        milestones=tuple(achieved),
    )
