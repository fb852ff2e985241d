"""Milestone and stall rules (DESIGN §3).

Pure: plain facts in, ``now`` passed in, no I/O and no clock.  A stage is never
stored; it is derived from the facts that exist as of ``now``, so the same
function answers "where is everyone today" and "where was everyone on 1 March".
Facts whose time is after ``now`` are ignored here even if the caller already
filtered them, so these functions are safe to call with a whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

GETTING_STARTED = "getting_started"
MATCHED = "matched"
FIRST_MEETING = "first_meeting"
GROW_TOGETHER = "grow_together"
LEVELLING_UP = "levelling_up"
COMPLETED = "completed"

STAGES: tuple[str, ...] = (
    GETTING_STARTED,
    MATCHED,
    FIRST_MEETING,
    GROW_TOGETHER,
    LEVELLING_UP,
    COMPLETED,
)

STAGE_LABELS: dict[str, str] = {
    GETTING_STARTED: "Getting Started",
    MATCHED: "Matched",
    FIRST_MEETING: "First Meeting",
    GROW_TOGETHER: "Grow Together",
    LEVELLING_UP: "Levelling Up",
    COMPLETED: "Completed",
}

DEFAULT_STALL_DAYS = 21
DEFAULT_MOMENTUM_MEETINGS = 3


@dataclass(frozen=True)
class GoalFact:
    shared_at: datetime | None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class LoopFacts:
    """What the loop as a whole has done (the same for both members).

    ``held_meeting_times`` are the moments held meetings count from:
    max(start, created_at) of each meeting whose status is held.  The store
    may pass only the earliest ``momentum_meetings`` of them.
    """

    loop_id: int
    matched_at: datetime
    ended_at: datetime | None = None
    booking_times: tuple[datetime, ...] = ()  # created_at of non-cancelled meetings
    held_meeting_times: tuple[datetime, ...] = ()
    goals: tuple[GoalFact, ...] = ()


@dataclass(frozen=True)
class MemberFacts:
    """What one member of a loop has done themselves."""

    held_meeting_feedback_times: tuple[datetime, ...] = ()  # feedback on a held meeting
    positive_loop_feedback_times: tuple[datetime, ...] = ()  # loop feedback, rating >= 4
    journey_share_times: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Progress:
    stage: str
    stage_since: datetime
    history: tuple[tuple[str, datetime], ...] = field(default=())

    def days_in_stage(self, now: datetime) -> int:
        return days_between(self.stage_since, now)


def days_between(since: datetime, now: datetime) -> int:
    """Whole days elapsed from ``since`` to ``now`` (never negative)."""
    return max(0, (now - since) // timedelta(days=1))


def _earliest(times, now: datetime) -> datetime | None:
    known = [t for t in times if t <= now]
    return min(known) if known else None


def _kth(times, k: int, now: datetime) -> datetime | None:
    known = sorted(t for t in times if t <= now)
    return known[k - 1] if k >= 1 and len(known) >= k else None


def is_active(loop: LoopFacts, now: datetime) -> bool:
    """A match is a fact from matched_at until ended_at."""
    return loop.matched_at <= now and (loop.ended_at is None or loop.ended_at > now)


def goals_all_done_at(goals, not_before: datetime, now: datetime) -> datetime | None:
    """Earliest t in [not_before, now] at which the loop has at least one shared
    goal and every goal shared by t was completed by t.

    Sharing a goal can only break the condition and completing one can only
    mend it, so the candidates are ``not_before`` and each completion time.
    """
    shared = [g for g in goals if g.shared_at is not None and g.shared_at <= now]
    if not shared:
        return None
    candidates = sorted(
        {not_before}
        | {
            g.completed_at
            for g in shared
            if g.completed_at is not None and not_before < g.completed_at <= now
        }
    )
    for t in candidates:
        in_play = [g for g in shared if g.shared_at <= t]
        if in_play and all(
            g.completed_at is not None and g.completed_at <= t for g in in_play
        ):
            return t
    return None


def membership_progress(
    loop: LoopFacts,
    member: MemberFacts,
    now: datetime,
    momentum_meetings: int = DEFAULT_MOMENTUM_MEETINGS,
) -> Progress | None:
    """Stage of one member in one loop as of ``now``; None if the loop is not active."""
    if not is_active(loop, now):
        return None
    t1 = loop.matched_at
    history: list[tuple[str, datetime]] = [(MATCHED, t1)]

    def reach(stage: str, previous: datetime, *inputs: datetime | None) -> datetime | None:
        if any(t is None for t in inputs):
            return None
        reached = max(previous, *inputs)
        history.append((stage, reached))
        return reached

    t2 = reach(FIRST_MEETING, t1, _earliest(loop.booking_times, now))
    t3 = t2 and reach(
        GROW_TOGETHER,
        t2,
        _earliest(loop.held_meeting_times, now),
        _earliest(member.held_meeting_feedback_times, now),
    )
    t4 = t3 and reach(
        LEVELLING_UP,
        t3,
        _kth(loop.held_meeting_times, momentum_meetings, now),
        _earliest([g.shared_at for g in loop.goals if g.shared_at is not None], now),
        _earliest(member.positive_loop_feedback_times, now),
    )
    if t4:
        finish = [
            t
            for t in (
                _earliest(member.journey_share_times, now),
                goals_all_done_at(loop.goals, t4, now),
            )
            if t is not None
        ]
        if finish:
            reach(COMPLETED, t4, min(finish))
    stage, since = history[-1]
    return Progress(stage=stage, stage_since=since, history=tuple(history))


def unmatched_progress(joined_at: datetime, now: datetime) -> Progress | None:
    """A mentor or mentee with no active loop is getting started since joining."""
    if joined_at > now:
        return None
    return Progress(GETTING_STARTED, joined_at, ((GETTING_STARTED, joined_at),))


def is_stalled(progress: Progress, now: datetime, stall_days: int = DEFAULT_STALL_DAYS) -> bool:
    """Strictly more than ``stall_days`` × 24 h in a stage that is not the last."""
    return progress.stage != COMPLETED and now - progress.stage_since > timedelta(days=stall_days)


def sentiment(rating: int) -> str:
    if rating >= 4:
        return "positive"
    if rating == 3:
        return "neutral"
    return "negative"


def is_negative(rating: int | None) -> bool:
    return rating is not None and sentiment(rating) == "negative"


def is_at_risk(latest_member_rating: int | None) -> bool:
    """A loop is at risk when the latest feedback by one of its members is negative.

    Takes the rating of the loop's latest feedback by either member (None when
    neither gave any): a later positive rating clears an earlier complaint.
    """
    return is_negative(latest_member_rating)


# Next steps per stage and role: what the participant should do to move on.
NEXT_STEPS: dict[str, dict[str, tuple[str, ...]]] = {
    GETTING_STARTED: {
        "mentor": (
            "Complete your profile: the skills you offer and your capacity",
            "Wait for a match, or ask your coordinator for one",
        ),
        "mentee": (
            "Complete your profile: the skills you are looking for",
            "Ask your coordinator for a match",
        ),
    },
    MATCHED: {
        "mentor": (
            "Introduce yourself to your mentee",
            "Offer a few times for your first meeting",
        ),
        "mentee": (
            "Agree with your mentor who takes notes and who sets agendas",
            "Book your first meeting: mloop meet schedule LOOP --at WHEN",
        ),
    },
    FIRST_MEETING: {
        "mentor": (
            "Hold the first meeting and mark it done: mloop meet done MEETING",
            "Give feedback on the meeting: mloop feedback give LOOP --meeting MEETING --rating N",
        ),
        "mentee": (
            "Prepare an agenda for your first meeting",
            "After it, give feedback: mloop feedback give LOOP --meeting MEETING --rating N",
        ),
    },
    GROW_TOGETHER: {
        "mentor": (
            "Keep meeting regularly: book the next meeting",
            "Help your mentee set and share a goal",
            "Give feedback on the loop: mloop feedback give LOOP --rating N",
        ),
        "mentee": (
            "Set a goal and share it: mloop goal add LOOP TITLE, then mloop goal share GOAL",
            "Keep meeting regularly: book the next meeting",
            "Give feedback on the loop: mloop feedback give LOOP --rating N",
        ),
    },
    LEVELLING_UP: {
        "mentor": (
            "Review progress on the shared goals with your mentee",
            "Share your journey when you are ready: mloop share LOOP",
        ),
        "mentee": (
            "Complete your shared goals: mloop goal done GOAL",
            "Share your journey: mloop share LOOP",
        ),
    },
    COMPLETED: {
        "mentor": ("Celebrate! Consider ending the loop or setting a new goal",),
        "mentee": ("Celebrate! Consider ending the loop or setting a new goal",),
    },
}


def next_steps(stage: str, role: str) -> tuple[str, ...]:
    return NEXT_STEPS.get(stage, {}).get(role, ())
