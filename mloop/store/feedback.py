"""Feedback on a loop or a held meeting: given by a member, private to its author and coordinators."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from mloop import rules
from mloop.errors import valid_id
from mloop.store.access import Actor, loop_for, require_active
from mloop.store.checks import check_meeting_held, check_meeting_in_loop, check_rating, check_text
from mloop.store.models import Feedback, Loop, Meeting, Participant, Program


def give_feedback(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    rating: int, meeting_id: int | None, comment: str | None, now: datetime,
) -> Feedback:
    check_rating(rating)
    check_text(comment, "comment")
    loop = loop_for(session, program, who, loop_id, doing="giving feedback", members_only=True)
    require_active(loop, now, "give feedback")
    if meeting_id is not None:
        meeting = session.get(Meeting, meeting_id) if valid_id(meeting_id) else None
        check_meeting_in_loop(meeting_id, loop.id, found=meeting is not None and meeting.loop_id == loop.id)
        check_meeting_held(meeting_id, held=rules.is_held(meeting.status, meeting.start, meeting.created_at, now))
    feedback = Feedback(
        loop_id=loop.id, meeting_id=meeting_id, author_id=who.person.id,
        rating=rating, comment=comment, created_at=now,
    )
    session.add(feedback)
    session.flush()
    return feedback


def list_feedback(
    session: Session, program: Program, who: Actor, *, loop_id: int | None, now: datetime,
) -> list[tuple[Feedback, Participant, Loop]]:
    """Feedback is private: its author sees their own; coordinators see all
    of it (the caller shows them ratings, not comments: access.sees_content)."""
    query = (
        select(Feedback, Participant, Loop)
        .join(Participant, Participant.id == Feedback.author_id)
        .join(Loop, Loop.id == Feedback.loop_id)
        .where(Loop.program_id == program.id, Feedback.created_at <= now)
    )
    if loop_id is not None:
        loop_for(session, program, who, loop_id, doing="listing feedback")
        query = query.where(Feedback.loop_id == loop_id)
    if not who.is_coordinator:
        query = query.where(Feedback.author_id == (who.person.id if who.person else -1))
    return list(session.exec(query.order_by(Feedback.created_at, Feedback.id)))
