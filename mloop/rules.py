"""Milestone and stall rules (DESIGN §3).

Pure: plain facts in, ``now`` passed in, no I/O and no clock.  A stage is never
stored; it is derived from the facts that exist as of ``now``, so the same
function answers "where is everyone today" and "where was everyone on 1 March".
Facts whose time is after ``now`` are ignored here even if the caller already
filtered them, so these functions are safe to call with a whole history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

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


class GoalFact(NamedTuple):
    """A goal of the loop (a tuple: the report builds one per shared goal)."""

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


class Progress(NamedTuple):
    """Where one membership stands: its stage, since when, and when each stage was reached.

    ``reached`` holds the times only, in stage order from Getting Started
    (someone unmatched) or from Matched (a member of a loop): the report
    derives a hundred thousand of these and never reads the history.
    """

    stage: str
    stage_since: datetime
    reached: tuple[datetime, ...] = ()

    @property
    def history(self) -> tuple[tuple[str, datetime], ...]:
        """Every stage reached, in order, with the time it was reached."""
        first = 0 if self.stage == GETTING_STARTED else 1
        return tuple(zip(STAGES[first:], self.reached))

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

    A completed goal rules out the times in [shared_at, completed_at); a goal
    never completed rules out everything from its shared_at on.  So sweep
    the completed goals in sharing order, jumping past each interval that
    covers the candidate.
    """
    first_shared = None
    first_open = None
    intervals = []
    for goal in goals:
        shared_at = goal.shared_at
        if shared_at is None or shared_at > now:
            continue
        if first_shared is None or shared_at < first_shared:
            first_shared = shared_at
        completed_at = goal.completed_at
        if completed_at is None or completed_at > now:
            if first_open is None or shared_at < first_open:
                first_open = shared_at
        elif completed_at > shared_at:
            intervals.append((shared_at, completed_at))
    if first_shared is None:
        return None
    t = max(not_before, first_shared)
    if len(intervals) > 1:
        intervals.sort()
    for shared_at, completed_at in intervals:
        if shared_at > t:
            break
        if completed_at > t:
            t = completed_at
    if (first_open is not None and t >= first_open) or t > now:
        return None
    return t


def membership_progress(
    loop: LoopFacts,
    member: MemberFacts,
    now: datetime,
    momentum_meetings: int = DEFAULT_MOMENTUM_MEETINGS,
) -> Progress | None:
    """Stage of one member in one loop as of ``now``; None if the loop is not active."""
    if not is_active(loop, now):
        return None
    return progress_from_aggregates(
        now,
        matched_at=loop.matched_at,
        first_booking=_earliest(loop.booking_times, now),
        first_held=_earliest(loop.held_meeting_times, now),
        kth_held=_kth(loop.held_meeting_times, momentum_meetings, now),
        first_shared_goal=_earliest([g.shared_at for g in loop.goals if g.shared_at is not None], now),
        first_held_meeting_feedback=_earliest(member.held_meeting_feedback_times, now),
        first_positive_loop_feedback=_earliest(member.positive_loop_feedback_times, now),
        first_journey_share=_earliest(member.journey_share_times, now),
        goals=loop.goals,
    )


def progress_from_aggregates(
    now: datetime,
    *,
    matched_at: datetime,
    first_booking: datetime | None,
    first_held: datetime | None,
    kth_held: datetime | None,
    first_shared_goal: datetime | None,
    first_held_meeting_feedback: datetime | None,
    first_positive_loop_feedback: datetime | None,
    first_journey_share: datetime | None,
    goals=(),
) -> Progress:
    """The stages of DESIGN §3 from one membership's aggregates as of ``now``.

    Each argument is the earliest (or, for ``kth_held``, the k-th) time of a
    fact that exists as of ``now``, or None; ``goals`` are the loop's goals,
    only read once Levelling Up is reached.  This is the form the store's
    per-loop SQL aggregates arrive in.
    """
    if first_booking is None:
        return Progress(MATCHED, matched_at, (matched_at,))
    t2 = max(matched_at, first_booking)
    if first_held is None or first_held_meeting_feedback is None:
        return Progress(FIRST_MEETING, t2, (matched_at, t2))
    t3 = max(t2, first_held, first_held_meeting_feedback)
    if kth_held is None or first_shared_goal is None or first_positive_loop_feedback is None:
        return Progress(GROW_TOGETHER, t3, (matched_at, t2, t3))
    t4 = max(t3, kth_held, first_shared_goal, first_positive_loop_feedback)
    finish = goals_all_done_at(goals, t4, now)
    if first_journey_share is not None and (finish is None or first_journey_share < finish):
        finish = first_journey_share
    if finish is None:
        return Progress(LEVELLING_UP, t4, (matched_at, t2, t3, t4))
    t5 = max(t4, finish)
    return Progress(COMPLETED, t5, (matched_at, t2, t3, t4, t5))


def unmatched_progress(joined_at: datetime, now: datetime) -> Progress | None:
    """A mentor or mentee with no active loop is getting started since joining."""
    if joined_at > now:
        return None
    return Progress(GETTING_STARTED, joined_at, (joined_at,))


def stall_days_by_stage(stall_days: int = DEFAULT_STALL_DAYS, overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Each stage's stall threshold in days: the program's own for a stage where
    it set one, else ``stall_days``.  Completed never stalls, so has none."""
    own = overrides or {}
    return {stage: own.get(stage, stall_days) for stage in STAGES if stage != COMPLETED}


def is_stalled(
    progress: Progress, now: datetime, stall_days: int = DEFAULT_STALL_DAYS,
    by_stage: Mapping[str, int] | None = None,
) -> bool:
    """Strictly more than the stage's threshold × 24 h in a stage that is not
    the last; the threshold is ``by_stage[stage]`` where given, else ``stall_days``."""
    if progress.stage == COMPLETED:
        return False
    days = by_stage.get(progress.stage, stall_days) if by_stage else stall_days
    return now - progress.stage_since > timedelta(days=days)


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


@dataclass(frozen=True)
class LoopState:
    """What a member's next steps count live: the loop's meetings, shared goals,
    agreement, the member's pairing fit and the check-in they owe."""

    held_meetings: int = 0
    momentum_meetings: int = 3
    shared_goals: int = 0
    goals_done: int = 0
    has_agreement: bool = False
    has_fit: bool = False
    checkin_due: datetime | None = None


# Live lines per stage, shown before the stage's steps; each names what it counts.
LIVE_STEPS: dict[str, tuple[tuple[str, str], ...]] = {
    MATCHED: (("no_agreement", "Settle your mentoring agreement: mloop agreement set LOOP --notes-by mentee "
                               "--agenda-by mentee --cadence 2w"),),
    FIRST_MEETING: (("no_fit", "Say how the pairing fits you: mloop feedback give LOOP --fit good|unsure|poor"),),
    GROW_TOGETHER: (("meetings", "Keep meeting: {held} of {momentum} meetings held"),
                    ("no_fit", "Say how the pairing fits you: mloop feedback give LOOP --fit good|unsure|poor")),
    LEVELLING_UP: (("goals", "{done} of {shared} shared goals done"),
                   ("no_fit", "Say how the pairing fits you: mloop feedback give LOOP --fit good|unsure|poor")),
}
CHECKIN_STEP = "A check-in is due: rate the loop with mloop feedback give LOOP --rating N"


def next_steps(stage: str, role: str, state: LoopState | None = None, loop_id: int | None = None) -> tuple[str, ...]:
    """The stage's steps for the role; with the loop's ``state``, live lines first
    (the Matched stage asks for the agreement until it exists, Grow Together
    counts meetings, Levelling Up counts shared goals, a due check-in asks for
    loop feedback), with LOOP filled in when ``loop_id`` is given."""
    steps = NEXT_STEPS.get(stage, {}).get(role, ())
    if state is None:
        return steps
    live: list[str] = []
    if state.checkin_due is not None:
        live.append(CHECKIN_STEP)
    for kind, text in LIVE_STEPS.get(stage, ()):
        if kind == "no_agreement" and not state.has_agreement:
            live.append(text)
        elif kind == "no_fit" and not state.has_fit and state.held_meetings > 0:  # a fit comes after a held meeting
            live.append(text)
        elif kind == "meetings":
            live.append(text.format(held=min(state.held_meetings, state.momentum_meetings),
                                    momentum=state.momentum_meetings))
        elif kind == "goals":
            live.append(text.format(done=state.goals_done, shared=state.shared_goals))
    if state.has_agreement:  # the agreement settles who takes notes and sets agendas
        steps = tuple(s for s in steps if "takes notes" not in s)
    lines = (*live, *steps)
    if loop_id is not None:
        lines = tuple(line.replace("LOOP", str(loop_id)) for line in lines)
    return lines


CHECKIN_FIRST = timedelta(days=30)
CHECKIN_EVERY = timedelta(days=60)
CHECKIN_EARLY = timedelta(days=7)


def checkin_due(matched_at: datetime, last_loop_feedback: datetime | None, now: datetime) -> datetime | None:
    """When the check-in a member owes fell due, or None when none is owed.

    Check-ins fall due 30 days after the match and every 60 days after (as
    Mentorloop's periodic survey does); the latest one that has fallen due is
    answered by loop feedback (no meeting) from a week before it on.
    """
    first = matched_at + CHECKIN_FIRST
    if now < first:
        return None
    due = first + ((now - first) // CHECKIN_EVERY) * CHECKIN_EVERY
    if last_loop_feedback is not None and last_loop_feedback >= due - CHECKIN_EARLY:
        return None
    return due


# --- custom milestones (program-defined, DESIGN §2) ---------------------------

MILESTONE_KINDS: tuple[str, ...] = ("relationship", "program")
MILESTONE_ROLES: tuple[str, ...] = ("mentor", "mentee")
MILESTONE_DONE, MILESTONE_DUE, MILESTONE_OVERDUE = "done", "due", "overdue"
# Adding months clips to the month's end (31 Jan + 1 month = 28 Feb): at most 3 days.
_CLIP_MARGIN = timedelta(days=4)


def milestone_offset(text: str):
    """A due offset ("10 days", "2 weeks", "3 months", "1 year", "1 month 2 weeks")
    -> dateutil relativedelta; unreadable, zero or negative -> timeparse.WhenError."""
    from mloop.timeparse import parse_offset

    return parse_offset(text)


def milestone_due(anchor: datetime, offset) -> datetime:
    """When a milestone falls due: the anchor (match or join time) plus the
    offset on the calendar, so 1 month after 31 January is the end of February."""
    return anchor + offset


def milestone_state(due: datetime, done_at: datetime | None, now: datetime) -> str:
    """done (marked by now), overdue (due strictly before now) or due (not yet)."""
    if done_at is not None and done_at <= now:
        return MILESTONE_DONE
    return MILESTONE_OVERDUE if due < now else MILESTONE_DUE


def overdue_anchor_bounds(offset, now: datetime) -> tuple[datetime, datetime]:
    """(lo, hi) such that every anchor before ``lo`` is past due at ``now``
    (anchor + offset < now) and no anchor from ``hi`` on is; anchors in
    between must be checked one by one.

    Lets the store count overdue people with range queries: month clipping
    makes anchor + offset only nearly monotonic (30 Jan 23:00 and 31 Jan 01:00
    both land on 28 Feb, in the other order), so the boundary is a narrow
    window around the anchor that would be due exactly now, not a point.
    """
    from dateutil.relativedelta import relativedelta

    calendar = relativedelta(years=offset.years, months=offset.months)
    elapsed = offset - calendar  # days, weeks and any clock units, added after the months
    exact = (now - elapsed) - calendar
    return exact - _CLIP_MARGIN, exact + _CLIP_MARGIN
