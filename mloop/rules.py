"""Milestone, stall and risk rules: each rule of the product written once.

Pure: plain facts in, ``now`` passed in, no I/O and no clock.  A stage is never
stored; it is derived from the facts that exist as of ``now``, so the same
function answers "where is everyone today" and "where was everyone on 1 March".

The store gathers one ``MembershipFacts`` per member of a loop (the aggregates
this module defines) and asks ``progress``; status next steps, the
certificate's refusal, nudges, the participant card and the coordinator
report all ask the functions here.  Where SQL pre-filters for speed it takes
its values from here (``positive_ratings``, ``held_from`` in SQL form) and a
test holds it equal to these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from mloop.timeparse import format_local

# --- vocabularies ------------------------------------------------------------------

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

# The stages someone can stall (and be nudged) in: every stage but Completed.
STALL_STAGES: tuple[str, ...] = tuple(stage for stage in STAGES if stage != COMPLETED)

STAGE_LABELS: dict[str, str] = {
    GETTING_STARTED: "Getting Started",
    MATCHED: "Matched",
    FIRST_MEETING: "First Meeting",
    GROW_TOGETHER: "Grow Together",
    LEVELLING_UP: "Levelling Up",
    COMPLETED: "Completed",
}

# Someone whose latest loop ended completed and who has no active loop: outside
# the funnel (not a stage), counted beside it.
ALUMNI = "alumni"
# Labels of every standing a person can have: the stages, and alumni.
LABELS: dict[str, str] = {**STAGE_LABELS, ALUMNI: "Alumni"}

MENTOR, MENTEE, COORDINATOR = "mentor", "mentee", "coordinator"
MEMBER_ROLES: tuple[str, ...] = (MENTOR, MENTEE)  # the roles a person holds in a loop
PARTICIPANT_ROLES: tuple[str, ...] = (MENTOR, MENTEE, COORDINATOR)

# How a loop ends.
OUTCOME_COMPLETED, OUTCOME_CANCELLED = "completed", "cancelled"
OUTCOMES: tuple[str, ...] = (OUTCOME_COMPLETED, OUTCOME_CANCELLED)

SCHEDULED, HELD, CANCELLED = "scheduled", "held", "cancelled"
MEETING_STATUSES: tuple[str, ...] = (SCHEDULED, HELD, CANCELLED)

TERMS: tuple[str, ...] = ("short", "long")  # a goal's term

GOOD_FIT, UNSURE_FIT, POOR_FIT = "good", "unsure", "poor"
FITS: tuple[str, ...] = (GOOD_FIT, UNSURE_FIT, POOR_FIT)  # how a member says the pairing fits them

# --- thresholds ----------------------------------------------------------------------

DEFAULT_STALL_DAYS = 21
# A century: no program runs longer, and a time span of millions of days cannot be computed.
MAX_STALL_DAYS = 36_500
DEFAULT_MOMENTUM_MEETINGS = 3

# Small groups (report --min-group N, program set --min-group N): a count from 1
# to N - 1 could single people out, so reports show it as "<N".  A 0 names
# nobody and is shown; N of 0 or 1 shows every count.
MAX_MIN_GROUP = 1000


def hides_count(count: int, min_group: int) -> bool:
    """Whether a report with this min_group shows ``count`` as "<min_group"."""
    return 0 < count < min_group


def hidden_count(min_group: int) -> str:
    """How a report shows a count it hides."""
    return f"<{min_group}"


RATINGS: tuple[int, ...] = (1, 2, 3, 4, 5)
POSITIVE_FROM = 4  # a rating of 4 or 5 is positive
NEGATIVE_UP_TO = 2  # a rating of 1 or 2 is negative; 3 is neutral

# Check-ins fall due 30 days after the match and every 60 days after (as
# Mentorloop's periodic survey does); loop feedback from a week before one answers it.
CHECKIN_FIRST = timedelta(days=30)
CHECKIN_EVERY = timedelta(days=60)
CHECKIN_EARLY = timedelta(days=7)

# --- facts -----------------------------------------------------------------------------


POSITIVE, NEUTRAL, NEGATIVE = "positive", "neutral", "negative"
SENTIMENTS: tuple[str, ...] = (POSITIVE, NEUTRAL, NEGATIVE)


def sentiment(rating: int) -> str:
    """positive, neutral or negative."""
    if rating >= POSITIVE_FROM:
        return POSITIVE
    if rating <= NEGATIVE_UP_TO:
        return NEGATIVE
    return NEUTRAL


def is_positive(rating: int | None) -> bool:
    return rating is not None and sentiment(rating) == POSITIVE


def is_negative(rating: int | None) -> bool:
    return rating is not None and sentiment(rating) == NEGATIVE


def positive_ratings() -> tuple[int, ...]:
    """The ratings that count as positive, for SQL that filters by them."""
    return sentiment_ratings(POSITIVE)


def sentiment_ratings(kind: str) -> tuple[int, ...]:
    """The ratings of one sentiment (positive, neutral or negative), lowest first."""
    return tuple(r for r in RATINGS if sentiment(r) == kind)


def rating_span(ratings: Iterable[int]) -> str:
    """(4, 5) -> '4–5'; (3,) -> '3': how a chart's legend names a sentiment's ratings."""
    ratings = sorted(ratings)
    if not ratings:
        return "none"
    return str(ratings[0]) if len(ratings) == 1 else f"{ratings[0]}–{ratings[-1]}"


def rating_words(ratings: Iterable[int]) -> str:
    """(4, 5) -> '4 or 5'; (5,) -> '5'."""
    ratings = [str(r) for r in ratings]
    return ratings[0] if len(ratings) == 1 else f"{', '.join(ratings[:-1])} or {ratings[-1]}"


def held_from(start: datetime, created_at: datetime) -> datetime:
    """A held meeting counts from its start, never before it was booked.

    The store's SQL writes this as GREATEST(start, created_at) (``held_from``
    in mloop/store/memberships.py); a test holds the two equal."""
    return max(start, created_at)


def is_held(status: str, start: datetime, created_at: datetime, now: datetime) -> bool:
    """Whether a meeting counts as held at ``now``: marked held, and from ``held_from`` on."""
    return status == HELD and held_from(start, created_at) <= now


def is_booking(status: str) -> bool:
    """A meeting counts as booked (from its created_at) unless it was cancelled."""
    return status != CANCELLED


_DAY = timedelta(days=1)


def days_between(since: datetime, now: datetime) -> int:
    """Whole days elapsed from ``since`` to ``now`` (never negative)."""
    return max(0, (now - since) // _DAY)


class GoalFact(NamedTuple):
    """A goal of the loop, as of now: when it was shared and completed (None: not yet).

    The rules read a goal as the pair (shared_at, completed_at): any 2-tuple will do."""

    shared_at: datetime | None
    completed_at: datetime | None = None


class MembershipFacts(NamedTuple):
    """What one member's stage is computed from: aggregates of the facts that
    exist as of ``now`` (each the earliest time, or None when there is none).

    The loop's facts are the same for both members; the member's own are
    theirs alone (the partner's feedback never moves them).
    """

    matched_at: datetime
    first_booking: datetime | None = None  # created_at of the loop's first meeting not cancelled
    first_held: datetime | None = None  # ``held_from`` of the loop's first held meeting
    kth_held: datetime | None = None  # ``held_from`` of its momentum_meetings-th held meeting
    first_shared_goal: datetime | None = None  # shared_at of the loop's first shared goal
    first_meeting_feedback: datetime | None = None  # the member's first feedback on a held meeting
    first_positive_loop_feedback: datetime | None = None  # the member's first positive loop feedback (no meeting)
    first_journey_share: datetime | None = None  # the member's journey share
    goals: Iterable[GoalFact] = ()  # the loop's shared goals: read only from Levelling Up on


class Progress(NamedTuple):
    """Where one person stands: their stage, since when, and when each stage was reached.

    ``reached`` holds the times only, in stage order from Matched for a member
    of a loop; someone without a loop (Getting Started, or an alumnus) has
    the one time they got there.
    """

    stage: str
    stage_since: datetime
    reached: tuple[datetime, ...] = ()

    @property
    def history(self) -> tuple[tuple[str, datetime], ...]:
        """Every stage reached, in order, with the time it was reached."""
        if self.stage in (GETTING_STARTED, ALUMNI):
            return ((self.stage, self.stage_since),)
        return tuple(zip(STAGES[1:], self.reached))

    def days_in_stage(self, now: datetime) -> int:
        return days_between(self.stage_since, now)


# --- stages ----------------------------------------------------------------------------


def goals_all_done_at(goals: Iterable[GoalFact], not_before: datetime, now: datetime) -> datetime | None:
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
    for shared_at, completed_at in goals:
        if shared_at is None or shared_at > now:
            continue
        if first_shared is None or shared_at < first_shared:
            first_shared = shared_at
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


def progress(facts: MembershipFacts, now: datetime) -> Progress:
    """One member's stage in an active loop as of ``now``.

    | stage | reached at |
    |---|---|
    | matched | t1 = matched_at |
    | first_meeting | t2 = max(t1, first booking) |
    | grow_together | t3 = max(t2, first held meeting, the member's first feedback on a held meeting) |
    | levelling_up | t4 = max(t3, k-th held meeting, first shared goal, the member's first positive loop feedback) |
    | completed | t5 = max(t4, the earlier of the member's journey share and the moment every shared goal is done) |

    A stage whose inputs do not all exist is not reached; the member's stage is
    the highest reached.
    """
    (matched_at, first_booking, first_held, kth_held, first_shared_goal, first_meeting_feedback,
     first_positive_loop_feedback, first_journey_share, goals) = facts
    if first_booking is None:
        return Progress(MATCHED, matched_at, (matched_at,))
    t2 = max(matched_at, first_booking)
    if first_held is None or first_meeting_feedback is None:
        return Progress(FIRST_MEETING, t2, (matched_at, t2))
    t3 = max(t2, first_held, first_meeting_feedback)
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


def is_active(matched_at: datetime, ended_at: datetime | None, now: datetime) -> bool:
    """A loop is active from matched_at until ended_at."""
    return matched_at <= now and (ended_at is None or ended_at > now)


class EndedLoop(NamedTuple):
    ended_at: datetime
    outcome: str  # completed | cancelled


def latest_ended(ended: Iterable[EndedLoop], now: datetime) -> EndedLoop | None:
    """A person's latest loop ended by ``now``; of two ending at once, the completed one."""
    latest = None
    for loop in ended:
        if loop.ended_at > now:
            continue
        if latest is None or (loop.ended_at, loop.outcome == OUTCOME_COMPLETED) > (
                latest.ended_at, latest.outcome == OUTCOME_COMPLETED):
            latest = loop
    return latest


def progress_without_loop(joined_at: datetime, last_ended: EndedLoop | None, now: datetime) -> Progress | None:
    """Where a mentor or mentee with no active loop stands as of ``now``; None before they joined.

    Never matched: Getting Started since joining.  Their latest loop ended
    cancelled: Getting Started again, since it ended (they need a new match).
    It ended completed: an alumnus, outside the funnel.
    """
    if joined_at > now:
        return None
    if last_ended is None:
        return Progress(GETTING_STARTED, joined_at, (joined_at,))
    since = max(joined_at, last_ended.ended_at)
    if last_ended.outcome == OUTCOME_COMPLETED:
        return Progress(ALUMNI, since, (since,))
    return Progress(GETTING_STARTED, since, (since,))


# A member shares their journey (and gets a certificate) from this stage on.
SHARE_FROM = LEVELLING_UP


def may_share_journey(stage: str) -> bool:
    """Whether a member at ``stage`` of an active loop may share their journey."""
    return stage in STAGES[STAGES.index(SHARE_FROM):]


def in_funnel(stage: str) -> bool:
    """Alumni stand outside the funnel: they are counted beside the stages."""
    return stage != ALUMNI


# --- stall -------------------------------------------------------------------------------


def stall_days_by_stage(stall_days: int = DEFAULT_STALL_DAYS, overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """Each stage's stall threshold in days: the program's own for a stage where
    it set one, else ``stall_days``.  Completed never stalls, so has none."""
    own = overrides or {}
    return {stage: own.get(stage, stall_days) for stage in STALL_STAGES}


def stall_cutoffs(now: datetime, stall_days: int = DEFAULT_STALL_DAYS,
                  by_stage: Mapping[str, int] | None = None) -> dict[str, datetime]:
    """Per stage that can stall: someone who reached it before this moment is
    stalled at ``now`` (strictly more than the stage's threshold × 24 h in it).
    The threshold is ``by_stage[stage]`` where given, else ``stall_days``;
    Completed and alumni never stall, so have none."""
    own = by_stage or {}
    return {stage: now - timedelta(days=own.get(stage, stall_days)) for stage in STALL_STAGES}


def is_stalled(
    progress: Progress, now: datetime, stall_days: int = DEFAULT_STALL_DAYS,
    by_stage: Mapping[str, int] | None = None, *, cutoffs: Mapping[str, datetime] | None = None,
) -> bool:
    """Whether ``progress`` is stalled at ``now`` (see ``stall_cutoffs``; a report
    judging many people passes the cutoffs it computed once)."""
    if cutoffs is None:
        cutoffs = stall_cutoffs(now, stall_days, by_stage)
    cutoff = cutoffs.get(progress.stage)
    return cutoff is not None and progress.stage_since < cutoff


# --- at risk -----------------------------------------------------------------------------

NEGATIVE_RATING = "negative_rating"  # why a loop is at risk: its latest member feedback is negative
POOR_PAIRING_FIT = "poor_fit"  # or a member's latest word on the pairing is that it fits poorly


def risk_reasons(latest_member_rating: int | None, latest_fit: str | None = None) -> tuple[str, ...]:
    """Why an active loop is at risk (empty: it is not).

    ``latest_member_rating`` is the rating of the loop's latest feedback by
    either member (a later good rating clears an earlier complaint);
    ``latest_fit`` the loop's latest pairing fit.
    """
    reasons = []
    if is_negative(latest_member_rating):
        reasons.append(NEGATIVE_RATING)
    if latest_fit == POOR_FIT:
        reasons.append(POOR_PAIRING_FIT)
    return tuple(reasons)


def is_at_risk(latest_member_rating: int | None, latest_fit: str | None = None) -> bool:
    return bool(risk_reasons(latest_member_rating, latest_fit))


# --- check-ins ---------------------------------------------------------------------------


def checkin_due(matched_at: datetime, last_loop_feedback: datetime | None, now: datetime) -> datetime | None:
    """When the check-in a member owes fell due, or None when none is owed.

    The latest check-in that has fallen due is answered by the member's loop
    feedback (no meeting) from ``CHECKIN_EARLY`` before it on.
    """
    first = matched_at + CHECKIN_FIRST
    if now < first:
        return None
    due = first + ((now - first) // CHECKIN_EVERY) * CHECKIN_EVERY
    if last_loop_feedback is not None and last_loop_feedback >= due - CHECKIN_EARLY:
        return None
    return due


# --- what is still missing -----------------------------------------------------------------

# What a member may still lack before a stage (``missing``).
NEEDS_BOOKING = "booking"  # a meeting booked
NEEDS_HELD_MEETING = "held_meeting"  # a meeting held
NEEDS_MEETING_FEEDBACK = "meeting_feedback"  # the member's feedback on a held meeting
NEEDS_MORE_MEETINGS = "more_meetings"  # momentum_meetings held meetings
NEEDS_SHARED_GOAL = "shared_goal"  # a shared goal
NEEDS_POSITIVE_FEEDBACK = "positive_loop_feedback"  # the member's positive loop feedback
NEEDS_FINISH = "finish"  # every shared goal done, or the member's journey shared


class Missing(NamedTuple):
    need: str
    count: int = 1  # how many more (held meetings)


def missing(facts: MembershipFacts, held_meetings: int, now: datetime, *,
            momentum_meetings: int = DEFAULT_MOMENTUM_MEETINGS, through: str | None = None) -> tuple[Missing, ...]:
    """What the member still lacks for the stages after theirs, up to ``through``
    (default: the next stage), in the order the stages ask for them.

    ``held_meetings`` is the loop's count of held meetings as of now.
    """
    current = progress(facts, now).stage
    start = STAGES.index(current) + 1
    end = STAGES.index(through) + 1 if through is not None else start + 1
    wanted = STAGES[start:end]
    needs: list[Missing] = []
    for stage in wanted:
        if stage == FIRST_MEETING and facts.first_booking is None:
            needs.append(Missing(NEEDS_BOOKING))
        elif stage == GROW_TOGETHER:
            if facts.first_held is None and LEVELLING_UP not in wanted:
                needs.append(Missing(NEEDS_HELD_MEETING))
            if facts.first_meeting_feedback is None:
                needs.append(Missing(NEEDS_MEETING_FEEDBACK))
        elif stage == LEVELLING_UP:
            if facts.kth_held is None:
                needs.append(Missing(NEEDS_MORE_MEETINGS, max(1, momentum_meetings - held_meetings)))
            if facts.first_shared_goal is None:
                needs.append(Missing(NEEDS_SHARED_GOAL))
            if facts.first_positive_loop_feedback is None:
                needs.append(Missing(NEEDS_POSITIVE_FEEDBACK))
        elif stage == COMPLETED:
            needs.append(Missing(NEEDS_FINISH))
    return tuple(needs)


def describe_missing(item: Missing, *, loop_id: int, held_meetings: int,
                     momentum_meetings: int = DEFAULT_MOMENTUM_MEETINGS) -> str:
    """One missing fact in words, with the command that supplies it."""
    if item.need == NEEDS_BOOKING:
        return f"a first meeting ('mloop meet schedule {loop_id} --at \"next tue 14:00\"')"
    if item.need == NEEDS_HELD_MEETING:
        return f"a held meeting ('mloop meet log {loop_id} --at \"yesterday 14:00\"' for one already held)"
    if item.need == NEEDS_MORE_MEETINGS:
        plural = "s" if item.count != 1 else ""
        return f"{item.count} more held meeting{plural} ({held_meetings} of {momentum_meetings})"
    if item.need == NEEDS_MEETING_FEEDBACK:
        return "your feedback on a held meeting"
    if item.need == NEEDS_SHARED_GOAL:
        return "a shared goal"
    if item.need == NEEDS_POSITIVE_FEEDBACK:
        return (f"your loop feedback rated {rating_words(positive_ratings())} "
                f"('mloop feedback give {loop_id} --rating {max(RATINGS)}')")
    return f"every shared goal done, or your journey shared ('mloop share {loop_id}')"


# --- next steps ----------------------------------------------------------------------------

# Without a loop, per role: what to do to get one.
WAITING_STEPS: dict[str, dict[str, tuple[str, ...]]] = {
    GETTING_STARTED: {
        MENTOR: (
            "Complete your profile: the skills you offer and your capacity",
            "Wait for a match, or ask your coordinator for one",
        ),
        MENTEE: (
            "Complete your profile: the skills you are looking for",
            "Ask your coordinator for a match",
        ),
    },
    ALUMNI: {
        MENTOR: ("Your loop is complete: ask your coordinator if you would like to mentor again",),
        MENTEE: ("Your loop is complete: ask your coordinator if you would like a new match",),
    },
}

EXAMPLE_WHEN = '"next tue 14:00"'  # a WHEN that parses on any day, for commands shown as steps
EXAMPLE_RATING = 4


@dataclass(frozen=True)
class StepFacts:
    """What a member's next steps name, gathered by the store for one loop as of now."""

    loop_id: int
    role: str  # mentor | mentee
    partner: str  # the partner's name
    held_meetings: int = 0
    booked_ahead: tuple[int, datetime] | None = None  # the next booked meeting: (id, start)
    booked_past: int | None = None  # a booked meeting whose start has passed, not marked done
    unrated_meeting: int | None = None  # a held meeting the member has not given feedback on
    private_goal: int | None = None  # a goal of the member's not shared yet
    open_goals: tuple[int, ...] = ()  # shared goals not done yet
    shared_goals: int = 0
    goals_done: int = 0
    has_agreement: bool = False
    has_fit: bool = False
    checkin_due: datetime | None = None


def _utc(moment: datetime) -> str:
    return format_local(moment, timezone.utc)


def next_steps(facts: MembershipFacts, steps: StepFacts, now: datetime, *,
               momentum_meetings: int = DEFAULT_MOMENTUM_MEETINGS) -> tuple[str, ...]:
    """The member's next steps in an active loop: what the rules say is still
    missing for the next stage, each with the command and the real ids that
    supply it; each command at most once."""
    stage = progress(facts, now).stage
    loop, role, partner = steps.loop_id, steps.role, steps.partner
    held, k = steps.held_meetings, momentum_meetings
    lines: list[str] = []
    commands: set[str] = set()

    def add(text: str, command: str | None = None) -> None:
        if command is not None:
            if command in commands:
                return
            commands.add(command)
            text = f"{text}: {command}"
        if text not in lines:
            lines.append(text)

    def rate_loop(text: str) -> None:
        add(text, f"mloop feedback give {loop} --rating {EXAMPLE_RATING}")

    def meeting_steps(*, first: bool) -> None:
        """Hold the next meeting: mark a past one done, name the booked one, or book one."""
        which = "first" if first else "next"
        if steps.booked_past is not None:
            add(f"Mark meeting {steps.booked_past} done once it has taken place",
                f"mloop meet done {steps.booked_past}")
        elif steps.booked_ahead is not None:
            meeting_id, start = steps.booked_ahead
            if role == MENTEE:
                add(f"Prepare an agenda for meeting {meeting_id} with {partner} on {_utc(start)}")
            else:
                add(f"Hold meeting {meeting_id} with {partner} on {_utc(start)}, then mark it done",
                    f"mloop meet done {meeting_id}")
        elif role == MENTOR and first:
            add(f"Introduce yourself to {partner} and offer a few times for your first meeting")
        else:
            add(f"Book your {which} meeting with {partner}", f"mloop meet schedule {loop} --at {EXAMPLE_WHEN}")

    if steps.checkin_due is not None:
        rate_loop(f"A check-in is due since {_utc(steps.checkin_due)}: rate the loop")
    if stage == MATCHED and not steps.has_agreement:
        add("Settle your mentoring agreement",
            f"mloop agreement set {loop} --notes-by mentee --agenda-by mentee --cadence 2w")
    if stage != MATCHED and stage != COMPLETED and held > 0 and not steps.has_fit:
        add("Say how the pairing fits you", f"mloop feedback give {loop} --fit {GOOD_FIT}")
    if stage == COMPLETED:
        add("Celebrate! Consider ending the loop with your coordinator, or setting a new goal together")
        return tuple(lines)

    for item in missing(facts, held, now, momentum_meetings=k):
        need = item.need
        if need == NEEDS_BOOKING:
            if role == MENTEE and not steps.has_agreement:
                add(f"Agree with {partner} who takes notes and who sets agendas")
            meeting_steps(first=True)
        elif need == NEEDS_HELD_MEETING:
            meeting_steps(first=True)
        elif need == NEEDS_MEETING_FEEDBACK:
            if steps.unrated_meeting is not None:
                add(f"Give feedback on meeting {steps.unrated_meeting} (1 poor to 5 great)",
                    f"mloop feedback give {loop} --meeting {steps.unrated_meeting} --rating {EXAMPLE_RATING}")
            elif steps.booked_ahead is not None and facts.first_held is None:
                meeting_id = steps.booked_ahead[0]
                add(f"After meeting {meeting_id}, give feedback on it",
                    f"mloop feedback give {loop} --meeting {meeting_id} --rating {EXAMPLE_RATING}")
        elif need == NEEDS_MORE_MEETINGS:
            add(f"Keep meeting: {min(held, k)} of {k} meetings held")
            meeting_steps(first=False)
        elif need == NEEDS_SHARED_GOAL:
            if steps.private_goal is not None:
                add(f"Share goal {steps.private_goal} with {partner}", f"mloop goal share {steps.private_goal}")
            elif role == MENTOR:
                add(f"Help {partner} set a goal and share it",
                    f"mloop goal add {loop} \"What we work towards\"")
            else:
                add("Set a goal and share it with your mentor", f"mloop goal add {loop} \"What I work towards\"")
        elif need == NEEDS_POSITIVE_FEEDBACK:
            rate_loop(f"Rate the loop (a {rating_words(positive_ratings())} counts towards Levelling Up)")
        elif need == NEEDS_FINISH:
            add(f"{steps.goals_done} of {steps.shared_goals} shared goals done")
            for goal_id in steps.open_goals[:3]:
                if role == MENTEE:
                    add(f"Complete goal {goal_id} once it is done", f"mloop goal done {goal_id}")
                else:
                    add(f"Review progress on goal {goal_id} with {partner}")
            add("Share your journey when you are ready", f"mloop share {loop}")
    return tuple(lines)


def waiting_steps(stage: str, role: str) -> tuple[str, ...]:
    """Next steps for a mentor or mentee without an active loop."""
    return WAITING_STEPS.get(stage, {}).get(role, ())


# --- custom milestones (program-defined, DESIGN §2) ---------------------------

MILESTONE_KINDS: tuple[str, ...] = ("relationship", "program")
MILESTONE_ROLES: tuple[str, ...] = MEMBER_ROLES  # who marks a milestone done
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


# --- loop health ---------------------------------------------------------------------------
#
# A score from 0 to 100 for an active loop, from five parts, each a value from 0
# to 1 weighed by the program's weights (``HEALTH_WEIGHTS`` unless it sets its own):
#
#   progress   the slower member's stage against the stage a loop matched that
#              long ago should have reached (``EXPECTED_STAGE``): 1 on time, less
#              when behind (stage rank ÷ expected rank);
#   cadence    days since the last held meeting (since the match before the first)
#              against the agreed cadence, or ``DEFAULT_CADENCE``: 1 within it,
#              falling in a straight line to 0 at three times it;
#   sentiment  the latest rating by a member: (rating − 1) ÷ 4; 0.5 before any;
#   fit        the latest pairing fit a member gave: good 1, unsure 0.5, poor 0;
#              0.75 before any;
#   checkins   1 − (members owing a check-in) ÷ 2.
#
# score = round(100 × Σ weight × value ÷ Σ weight). Better facts never lower it.

HEALTH_PARTS: tuple[str, ...] = ("progress", "cadence", "sentiment", "fit", "checkins")
HEALTH_WEIGHTS: dict[str, int] = {"progress": 30, "cadence": 25, "sentiment": 20, "fit": 10, "checkins": 15}
DEFAULT_CADENCE = timedelta(days=30)
# (days since the match, the stage a loop should have reached by then)
EXPECTED_STAGE: tuple[tuple[int, str], ...] = (
    (0, MATCHED), (14, FIRST_MEETING), (45, GROW_TOGETHER), (90, LEVELLING_UP),
)
FIT_VALUES: dict[str | None, float] = {GOOD_FIT: 1.0, UNSURE_FIT: 0.5, POOR_FIT: 0.0, None: 0.75}


class HealthFacts(NamedTuple):
    """What a loop's health is computed from, as of ``now``."""

    matched_at: datetime
    stages: tuple[str, ...]  # each member's stage in the loop
    last_held: datetime | None  # the latest held meeting
    cadence: timedelta | None  # the agreed interval between meetings, if any
    latest_rating: int | None  # the latest rating by a member
    latest_fit: str | None  # the latest pairing fit a member gave
    checkins_owed: int  # members owing a check-in (0–2)


class HealthPart(NamedTuple):
    name: str
    value: float  # 0–1
    weight: int
    points: float  # value × weight ÷ Σ weights × 100: this part's share of the score
    raise_by: str | None  # what would raise it, when it is below 1


class Health(NamedTuple):
    score: int
    parts: tuple[HealthPart, ...]


def check_health_weights(weights: dict[str, int]) -> dict[str, int]:
    """Every part with a whole weight of 0 or more, not all 0 (ValueError otherwise)."""
    if set(weights) != set(HEALTH_PARTS):
        raise ValueError(f"health weights need exactly {', '.join(HEALTH_PARTS)}")
    if any(not isinstance(w, int) or isinstance(w, bool) or w < 0 for w in weights.values()):
        raise ValueError("a health weight is a whole number of 0 or more")
    if not any(weights.values()):
        raise ValueError("at least one health weight must be above 0")
    return {part: weights[part] for part in HEALTH_PARTS}


def expected_stage(matched_at: datetime, now: datetime) -> str:
    days = days_between(matched_at, now)
    reached = MATCHED
    for after, stage in EXPECTED_STAGE:
        if days >= after:
            reached = stage
    return reached


def loop_health(facts: HealthFacts, now: datetime, weights: dict[str, int] | None = None) -> Health:
    """The loop's score and its parts (see the block comment above)."""
    weights = HEALTH_WEIGHTS if weights is None else weights
    rank = STAGES.index
    slowest = min(facts.stages, key=rank)
    expected = expected_stage(facts.matched_at, now)
    progress = min(1.0, rank(slowest) / rank(expected))
    interval = facts.cadence or DEFAULT_CADENCE
    waited = now - (facts.last_held or facts.matched_at)
    cadence = 1.0 if waited <= interval else max(0.0, 1 - (waited - interval) / (2 * interval))
    sentiment_value = 0.5 if facts.latest_rating is None else (facts.latest_rating - 1) / 4
    fit = FIT_VALUES[facts.latest_fit]
    checkins = 1 - min(facts.checkins_owed, 2) / 2
    days = max(0, waited.days)
    advice = {
        "progress": f"reach {STAGE_LABELS[STAGES[rank(slowest) + 1]]}: a loop matched "
                    f"{days_between(facts.matched_at, now)} days ago is expected at {STAGE_LABELS[expected]}"
        if rank(slowest) < rank(COMPLETED) else None,
        "cadence": f"meet: the last meeting was {days} days ago, the rhythm is every {interval.days} days"
        if facts.last_held else f"hold a first meeting: matched {days} days ago",
        "sentiment": "rate how the loop is going" if facts.latest_rating is None
        else f"talk about what would make it better (latest rating {facts.latest_rating}/5)",
        "fit": "say how the pairing fits you" if facts.latest_fit is None
        else f"talk about the pairing (latest fit: {facts.latest_fit})",
        "checkins": "answer the check-in with loop feedback",
    }
    values = {"progress": progress, "cadence": cadence, "sentiment": sentiment_value, "fit": fit, "checkins": checkins}
    total = sum(weights.values())
    parts = tuple(
        HealthPart(name, values[name], weights[name], 100 * values[name] * weights[name] / total,
                   advice[name] if values[name] < 1 else None)
        for name in HEALTH_PARTS
    )
    return Health(round(sum(part.points for part in parts)), parts)
