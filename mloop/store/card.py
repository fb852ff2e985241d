"""A coordinator's card on one participant (``mloop coordinator participant``).

Stages, flags, history, meeting counts and feedback ratings — never goal
titles, agendas or notes.  Every verdict is the rules', through ``memberships``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from mloop.store.memberships import memberships
from mloop.store.models import Feedback, Participant, Program
from mloop.store.participants import roles_of
from mloop.store.status import history_records


def participant_card(session: Session, program: Program, person: Participant, now: datetime) -> dict:
    """A coordinator's view of one person: stages, flags, history, meeting
    counts and feedback ratings — never goal titles, agendas or notes.

    Nudges sent to the person are listed by loop (``loop_id`` None: sent
    while unmatched, under ``participant``), without their text."""
    from mloop.store.models import Nudge

    members = memberships(session, program, now, person_id=person.id, with_counts=True)
    nudges: dict[int | None, list[dict]] = {}
    for loop_id, sent_at, stage, days_in_stage in session.connection().execute(
        sa.select(Nudge.loop_id, Nudge.sent_at, Nudge.stage, Nudge.days_in_stage)
        .where(Nudge.program_id == program.id, Nudge.participant_id == person.id, Nudge.sent_at <= now)
        .order_by(Nudge.sent_at, Nudge.id)
    ):
        nudges.setdefault(loop_id, []).append({"sent_at": sent_at, "stage": stage, "days_in_stage": days_in_stage})
    card: dict = {
        "participant": {
            "email": person.email, "name": person.name, "roles": roles_of(person),
            "joined_at": person.joined_at, "capacity": person.capacity,
            "nudges": nudges.get(None, []),
        },
        "as_of": now,
        "loops": [],
    }
    for m in members:
        if m.loop_id is None:
            card["participant"].update(
                stage=m.progress.stage, stage_since=m.progress.stage_since,
                days_in_stage=m.days, stalled=m.stalled,
                last_activity=m.progress.stage_since,
            )
            continue
        ratings = session.connection().execute(
            sa.select(Feedback.id, Feedback.meeting_id, Feedback.rating, Feedback.created_at)
            .where(Feedback.loop_id == m.loop_id, Feedback.author_id == person.id, Feedback.created_at <= now)
            .order_by(Feedback.created_at, Feedback.id)
        ).all()
        last_activity = max(
            (t for t in (m.last_meeting_at, *(r[3] for r in ratings), m.progress.stage_since) if t is not None),
            default=None,
        )
        card["loops"].append({
            "loop_id": m.loop_id,
            "role": m.role,
            "partner": {"email": m.partner.email, "name": m.partner.name},
            "stage": m.progress.stage,
            "stage_since": m.progress.stage_since,
            "days_in_stage": m.days,
            "stalled": m.stalled,
            "at_risk": m.at_risk,
            "at_risk_reasons": list(m.risks),
            "history": history_records(m.progress),
            "meetings_held": m.held_meetings,
            "last_activity": last_activity,
            "feedback": [{"id": r[0], "meeting_id": r[1], "rating": r[2], "created_at": r[3]} for r in ratings],
            "nudges": nudges.get(m.loop_id, []),
        })
    return card
