"""Loop and member facts as lists of events, reduced to ``rules.MembershipFacts``.

The store gathers the aggregates in SQL; the rules' tests state facts as the
events they come from (every booking, every held meeting, every feedback) and
reduce them here the way ``MembershipFacts`` defines each aggregate, so a test
reads as a timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mloop import rules


@dataclass(frozen=True)
class LoopFacts:
    """What the loop as a whole has done (the same for both members).

    ``held_meeting_times`` are the moments held meetings count from
    (``rules.held_from`` of each held meeting)."""

    loop_id: int
    matched_at: datetime
    ended_at: datetime | None = None
    booking_times: tuple[datetime, ...] = ()  # created_at of meetings not cancelled
    held_meeting_times: tuple[datetime, ...] = ()
    goals: tuple[rules.GoalFact, ...] = ()


@dataclass(frozen=True)
class MemberFacts:
    """What one member of a loop has done themselves."""

    held_meeting_feedback_times: tuple[datetime, ...] = ()  # feedback on a held meeting
    positive_loop_feedback_times: tuple[datetime, ...] = ()  # loop feedback with a positive rating
    journey_share_times: tuple[datetime, ...] = ()


def _earliest(times, now):
    known = [t for t in times if t <= now]
    return min(known) if known else None


def _kth(times, k, now):
    known = sorted(t for t in times if t <= now)
    return known[k - 1] if k >= 1 and len(known) >= k else None


def membership_facts(loop: LoopFacts, member: MemberFacts, now: datetime, k: int) -> rules.MembershipFacts:
    shared = [g for g in loop.goals if g.shared_at is not None and g.shared_at <= now]
    return rules.MembershipFacts(
        matched_at=loop.matched_at,
        first_booking=_earliest(loop.booking_times, now),
        first_held=_earliest(loop.held_meeting_times, now),
        kth_held=_kth(loop.held_meeting_times, k, now),
        first_shared_goal=min((g.shared_at for g in shared), default=None),
        first_meeting_feedback=_earliest(member.held_meeting_feedback_times, now),
        first_positive_loop_feedback=_earliest(member.positive_loop_feedback_times, now),
        first_journey_share=_earliest(member.journey_share_times, now),
        goals=tuple(shared),
    )


def is_active(loop: LoopFacts, now: datetime) -> bool:
    return rules.is_active(loop.matched_at, loop.ended_at, now)


def membership_progress(loop: LoopFacts, member: MemberFacts, now: datetime, k: int = 3) -> rules.Progress | None:
    """The member's progress as of ``now``; None when the loop is not active."""
    if not is_active(loop, now):
        return None
    return rules.progress(membership_facts(loop, member, now, k), now)
