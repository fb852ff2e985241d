"""Unit and property tests of mloop.rules (DESIGN §3): plain function calls, no store.

`held_meeting_times` given to the rules are already the moments held meetings
count from (max(start, created_at)); the store computes those.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mloop import rules
from mloop.timeparse import isoformat_utc as utc_text
from mloop.rules import (
    COMPLETED,
    FIRST_MEETING,
    GETTING_STARTED,
    GROW_TOGETHER,
    LEVELLING_UP,
    MATCHED,
    STAGES,
    GoalFact,
    Progress,
)
import rulefacts
from rulefacts import LoopFacts, MemberFacts, is_active, membership_progress

UTC = timezone.utc
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the match
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)


def d(days: float = 0, hours: float = 0, seconds: float = 0) -> datetime:
    """A moment relative to the match."""
    return T0 + timedelta(days=days, hours=hours, seconds=seconds)


def progress(loop: LoopFacts, member: MemberFacts | None = None, now: datetime | None = None, k: int = 3) -> Progress:
    return membership_progress(loop, member or MemberFacts(), now or d(365), k)


def stage_of(loop: LoopFacts, member: MemberFacts | None = None, now: datetime | None = None, k: int = 3):
    p = progress(loop, member, now, k)
    return (p.stage, p.stage_since) if p is not None else None


# A loop that reaches every stage: booked day 1, held days 3/10/17, a goal shared
# day 5 and completed day 30; the member's meeting feedback on day 4 and
# positive loop feedback on day 12.
FULL_LOOP = LoopFacts(
    loop_id=1,
    matched_at=T0,
    booking_times=(d(1), d(8), d(15)),
    held_meeting_times=(d(3), d(10), d(17)),
    goals=(GoalFact(shared_at=d(5), completed_at=d(30)),),
)
FULL_MEMBER = MemberFacts(
    held_meeting_feedback_times=(d(4),),
    positive_loop_feedback_times=(d(12),),
)


# --- each stage's reach time ---------------------------------------------------------


def test_matched_since_matched_at():
    loop = LoopFacts(loop_id=1, matched_at=T0)
    p = progress(loop, now=d(2))
    assert (p.stage, p.stage_since) == (MATCHED, T0)
    assert p.history == ((MATCHED, T0),)


def test_first_meeting_from_first_booking():
    loop = LoopFacts(loop_id=1, matched_at=T0, booking_times=(d(6), d(2), d(9)))
    assert stage_of(loop) == (FIRST_MEETING, d(2))


def test_first_meeting_never_before_the_match():
    # A meeting booked before the match (e.g. imported) counts from the match.
    loop = LoopFacts(loop_id=1, matched_at=T0, booking_times=(d(-3),))
    assert stage_of(loop) == (FIRST_MEETING, T0)


def test_grow_together_needs_a_held_meeting_and_this_members_feedback():
    loop = LoopFacts(loop_id=1, matched_at=T0, booking_times=(d(1),), held_meeting_times=(d(3),))
    # Held, but this member has given no feedback on it: still first meeting.
    assert stage_of(loop) == (FIRST_MEETING, d(1))
    # Feedback but no held meeting (the loop facts say none was held): first meeting.
    no_held = replace(loop, held_meeting_times=())
    assert stage_of(no_held, MemberFacts(held_meeting_feedback_times=(d(4),))) == (FIRST_MEETING, d(1))
    # Both: reached at the later of the two (and of t2).
    assert stage_of(loop, MemberFacts(held_meeting_feedback_times=(d(4), d(3, hours=5)))) == (
        GROW_TOGETHER, d(3, hours=5))


def test_grow_together_is_per_member():
    loop = LoopFacts(loop_id=1, matched_at=T0, booking_times=(d(1),), held_meeting_times=(d(3),))
    mentee = MemberFacts(held_meeting_feedback_times=(d(4),))
    mentor = MemberFacts()  # gave no feedback: the partner's does not move them
    assert stage_of(loop, mentee) == (GROW_TOGETHER, d(4))
    assert stage_of(loop, mentor) == (FIRST_MEETING, d(1))


def test_grow_together_is_max_of_its_inputs():
    # Feedback timed before the held meeting and the booking: t3 is the held time.
    loop = LoopFacts(loop_id=1, matched_at=T0, booking_times=(d(1),), held_meeting_times=(d(7),))
    assert stage_of(loop, MemberFacts(held_meeting_feedback_times=(d(0.5),))) == (GROW_TOGETHER, d(7))
    # A held meeting that counts before the booking (logged early): t3 = t2.
    early = LoopFacts(loop_id=1, matched_at=T0, booking_times=(d(5),), held_meeting_times=(d(2),))
    assert stage_of(early, MemberFacts(held_meeting_feedback_times=(d(3),))) == (GROW_TOGETHER, d(5))


def test_levelling_up_needs_kth_meeting_shared_goal_and_positive_loop_feedback():
    assert stage_of(FULL_LOOP, replace(FULL_MEMBER), now=d(20)) == (LEVELLING_UP, d(17))
    # Only two held meetings: grow together.
    two = replace(FULL_LOOP, held_meeting_times=(d(3), d(10)))
    assert stage_of(two, FULL_MEMBER, now=d(20)) == (GROW_TOGETHER, d(4))
    # No shared goal (a private goal does not count).
    private = replace(FULL_LOOP, goals=(GoalFact(shared_at=None, completed_at=d(6)),))
    assert stage_of(private, FULL_MEMBER, now=d(20)) == (GROW_TOGETHER, d(4))
    # No positive loop feedback from this member.
    no_praise = replace(FULL_MEMBER, positive_loop_feedback_times=())
    assert stage_of(FULL_LOOP, no_praise, now=d(20)) == (GROW_TOGETHER, d(4))


def test_levelling_up_is_max_of_its_inputs():
    late_goal = replace(FULL_LOOP, goals=(GoalFact(shared_at=d(19)),))
    assert stage_of(late_goal, FULL_MEMBER, now=d(25)) == (LEVELLING_UP, d(19))
    late_praise = replace(FULL_MEMBER, positive_loop_feedback_times=(d(21), d(23)))
    assert stage_of(FULL_LOOP, late_praise, now=d(25)) == (LEVELLING_UP, d(21))


def test_kth_held_meeting_is_by_time_not_by_order_given():
    loop = replace(FULL_LOOP, held_meeting_times=(d(17), d(3), d(30), d(10)))
    assert stage_of(loop, FULL_MEMBER, now=d(25)) == (LEVELLING_UP, d(17))


@pytest.mark.parametrize(("k", "expected"), [(1, d(12)), (2, d(12)), (3, d(17)), (4, None)])
def test_momentum_meetings_sets_k(k, expected):
    p = progress(FULL_LOOP, FULL_MEMBER, now=d(25), k=k)
    if expected is None:
        assert p.stage == GROW_TOGETHER
    else:
        assert (p.stage, p.stage_since) == (LEVELLING_UP, expected)


def test_completed_by_journey_share():
    loop = replace(FULL_LOOP, goals=(GoalFact(shared_at=d(5)),))  # never completed
    member = replace(FULL_MEMBER, journey_share_times=(d(40), d(35)))
    assert stage_of(loop, member, now=d(50)) == (COMPLETED, d(35))


def test_completed_by_journey_share_before_levelling_up_counts_from_t4():
    loop = replace(FULL_LOOP, goals=(GoalFact(shared_at=d(5)),))
    member = replace(FULL_MEMBER, journey_share_times=(d(8),))
    assert stage_of(loop, member, now=d(50)) == (COMPLETED, d(17))


def test_journey_share_is_per_member():
    loop = replace(FULL_LOOP, goals=(GoalFact(shared_at=d(5)),))
    sharer = replace(FULL_MEMBER, journey_share_times=(d(35),))
    assert stage_of(loop, sharer, now=d(50)) == (COMPLETED, d(35))
    assert stage_of(loop, FULL_MEMBER, now=d(50)) == (LEVELLING_UP, d(17))


def test_completed_by_goals():
    assert stage_of(FULL_LOOP, FULL_MEMBER, now=d(50)) == (COMPLETED, d(30))


def test_completed_goal_done_before_levelling_up_counts_from_t4():
    loop = replace(FULL_LOOP, goals=(GoalFact(shared_at=d(5), completed_at=d(9)),))
    assert stage_of(loop, FULL_MEMBER, now=d(50)) == (COMPLETED, d(17))


def test_completed_the_earliest_of_share_and_goals():
    member = replace(FULL_MEMBER, journey_share_times=(d(25),))
    assert stage_of(FULL_LOOP, member, now=d(50)) == (COMPLETED, d(25))  # goals done at 30
    member = replace(FULL_MEMBER, journey_share_times=(d(40),))
    assert stage_of(FULL_LOOP, member, now=d(50)) == (COMPLETED, d(30))


@pytest.mark.parametrize(
    ("goals", "expected"),
    [
        # Every shared goal must be done: the later completion decides.
        ((GoalFact(d(5), d(40)), GoalFact(d(6), d(30))), d(40)),
        # A goal shared after the others were done is not in play at that moment.
        ((GoalFact(d(5), d(20)), GoalFact(d(25), d(45))), d(20)),
        # A goal shared at the very moment the last one completes is in play then.
        ((GoalFact(d(5), d(20)), GoalFact(d(20), d(45))), d(45)),
        # Done privately, then shared later: not in play until shared.
        ((GoalFact(d(5), d(20)), GoalFact(d(50), d(18))), d(20)),
        # One shared goal never completed: never via goals.
        ((GoalFact(d(5), d(20)), GoalFact(d(8), None)), None),
        # A private goal neither helps nor blocks.
        ((GoalFact(d(5), d(20)), GoalFact(None, None), GoalFact(None, d(3))), d(20)),
        # Completed before it was shared: counts once shared (t >= t4 anyway).
        ((GoalFact(d(5), d(2)),), d(17)),
    ],
)
def test_completed_goal_rule(goals, expected):
    loop = replace(FULL_LOOP, goals=goals)
    p = progress(loop, FULL_MEMBER, now=d(60))
    if expected is None:
        assert p.stage == LEVELLING_UP
    else:
        assert (p.stage, p.stage_since) == (COMPLETED, expected)


def test_goals_all_done_at_direct():
    goals = (GoalFact(d(5), d(20)), GoalFact(d(6), d(25)), GoalFact(d(30), d(31)))
    assert rules.goals_all_done_at(goals, d(10), d(60)) == d(25)
    assert rules.goals_all_done_at(goals, d(26), d(60)) == d(26)
    assert rules.goals_all_done_at(goals, d(10), d(24)) is None  # the second completion is after now
    assert rules.goals_all_done_at((), d(10), d(60)) is None
    assert rules.goals_all_done_at((GoalFact(None, d(3)),), d(10), d(60)) is None


def test_full_history():
    p = progress(FULL_LOOP, FULL_MEMBER, now=d(50))
    assert p.history == (
        (MATCHED, T0),
        (FIRST_MEETING, d(1)),
        (GROW_TOGETHER, d(4)),
        (LEVELLING_UP, d(17)),
        (COMPLETED, d(30)),
    )
    assert (p.stage, p.stage_since) == p.history[-1]


# --- facts after now, active loops, the unmatched ------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (d(0.5), (MATCHED, T0)),
        (d(1), (FIRST_MEETING, d(1))),  # a fact dated exactly now counts
        (d(3.9), (FIRST_MEETING, d(1))),
        (d(4), (GROW_TOGETHER, d(4))),
        (d(16), (GROW_TOGETHER, d(4))),
        (d(17), (LEVELLING_UP, d(17))),
        (d(30) - timedelta(seconds=1), (LEVELLING_UP, d(17))),
        (d(30), (COMPLETED, d(30))),
    ],
)
def test_facts_after_now_are_ignored(now, expected):
    assert stage_of(FULL_LOOP, FULL_MEMBER, now=now) == expected


def test_goal_completion_after_now_is_ignored():
    loop = replace(FULL_LOOP, goals=(GoalFact(d(5), d(30)),))
    assert stage_of(loop, FULL_MEMBER, now=d(29)) == (LEVELLING_UP, d(17))
    unshared_yet = replace(FULL_LOOP, goals=(GoalFact(d(18), d(19)),))
    assert stage_of(unshared_yet, FULL_MEMBER, now=d(17.5)) == (GROW_TOGETHER, d(4))


def test_share_after_now_is_ignored():
    loop = replace(FULL_LOOP, goals=(GoalFact(d(5)),))
    member = replace(FULL_MEMBER, journey_share_times=(d(40),))
    assert stage_of(loop, member, now=d(39)) == (LEVELLING_UP, d(17))


@pytest.mark.parametrize(
    ("matched_at", "ended_at", "now", "active"),
    [
        (T0, None, T0, True),
        (T0, None, T0 - timedelta(seconds=1), False),  # matched later
        (T0, d(10), d(10) - timedelta(seconds=1), True),
        (T0, d(10), d(10), False),  # ended exactly now: gone
        (T0, d(10), d(11), False),
    ],
)
def test_inactive_loops_have_no_progress(matched_at, ended_at, now, active):
    loop = replace(FULL_LOOP, matched_at=matched_at, ended_at=ended_at)
    assert is_active(loop, now) is active
    p = membership_progress(loop, FULL_MEMBER, now, 3)
    assert (p is not None) is active


def test_unmatched_getting_started_since_joined():
    joined = d(-10)
    p = rules.progress_without_loop(joined, None, d(0))
    assert (p.stage, p.stage_since) == (GETTING_STARTED, joined)
    assert p.history == ((GETTING_STARTED, joined),)
    assert rules.progress_without_loop(joined, None, joined).stage == GETTING_STARTED
    assert rules.progress_without_loop(joined, None, joined - timedelta(seconds=1)) is None


def test_after_a_cancelled_loop_getting_started_again_since_it_ended():
    ended = rules.EndedLoop(d(40), rules.OUTCOME_CANCELLED)
    p = rules.progress_without_loop(d(-10), ended, d(50))
    assert (p.stage, p.stage_since) == (GETTING_STARTED, d(40))
    assert not rules.is_stalled(p, d(40) + 21 * DAY)
    assert rules.is_stalled(p, d(40) + 21 * DAY + timedelta(seconds=1))


def test_after_a_completed_loop_an_alumnus_outside_the_funnel():
    ended = rules.EndedLoop(d(40), rules.OUTCOME_COMPLETED)
    p = rules.progress_without_loop(d(-10), ended, d(500))
    assert (p.stage, p.stage_since) == (rules.ALUMNI, d(40))
    assert not rules.in_funnel(p.stage) and p.stage not in STAGES
    assert not rules.is_stalled(p, d(1000), stall_days=1)


def test_latest_ended_loop_and_a_tie_goes_to_completed():
    cancelled, completed = rules.OUTCOME_CANCELLED, rules.OUTCOME_COMPLETED
    loops = [rules.EndedLoop(d(10), completed), rules.EndedLoop(d(20), cancelled)]
    assert rules.latest_ended(loops, d(30)) == rules.EndedLoop(d(20), cancelled)
    assert rules.latest_ended(loops, d(15)) == rules.EndedLoop(d(10), completed)  # the later one had not ended
    assert rules.latest_ended(loops, d(5)) is None
    tie = [rules.EndedLoop(d(20), cancelled), rules.EndedLoop(d(20), completed), rules.EndedLoop(d(20), cancelled)]
    assert rules.latest_ended(tie, d(30)).outcome == completed


# --- stall, days in stage, sentiment, at risk, next steps ----------------------------------


def test_stall_boundary_is_strictly_more_than_21_days():
    p = progress(LoopFacts(loop_id=1, matched_at=T0), now=d(1))
    exactly = T0 + timedelta(days=21)
    assert not rules.is_stalled(p, exactly)
    assert p.days_in_stage(exactly) == 21
    assert rules.is_stalled(p, exactly + timedelta(seconds=1))
    assert p.days_in_stage(exactly + timedelta(seconds=1)) == 21
    assert not rules.is_stalled(p, exactly - timedelta(seconds=1))
    assert p.days_in_stage(exactly - timedelta(seconds=1)) == 20


def test_stall_boundary_for_getting_started():
    p = rules.progress_without_loop(T0, None, T0)
    assert not rules.is_stalled(p, T0 + 21 * DAY)
    assert rules.is_stalled(p, T0 + 21 * DAY + timedelta(seconds=1))


def test_custom_stall_days():
    p = progress(LoopFacts(loop_id=1, matched_at=T0), now=d(1))
    assert not rules.is_stalled(p, T0 + 7 * DAY, stall_days=7)
    assert rules.is_stalled(p, T0 + 7 * DAY + timedelta(seconds=1), stall_days=7)
    assert not rules.is_stalled(p, T0 + 8 * DAY, stall_days=30)


def test_completed_never_stalls():
    p = progress(FULL_LOOP, FULL_MEMBER, now=d(50))
    assert p.stage == COMPLETED
    assert not rules.is_stalled(p, d(1000))
    assert not rules.is_stalled(p, d(1000), stall_days=1)


def test_days_in_stage_whole_days_never_negative():
    p = Progress(MATCHED, T0)
    assert p.days_in_stage(T0) == 0
    assert p.days_in_stage(T0 + DAY - timedelta(microseconds=1)) == 0
    assert p.days_in_stage(T0 + DAY) == 1
    assert p.days_in_stage(T0 + 74 * DAY + 23 * HOUR) == 74
    assert p.days_in_stage(T0 - DAY) == 0
    assert rules.days_between(T0, T0 + 3 * DAY + HOUR) == 3


@pytest.mark.parametrize(("rating", "expected"), [(1, "negative"), (2, "negative"), (3, "neutral"), (4, "positive"), (5, "positive")])
def test_sentiment(rating, expected):
    assert rules.sentiment(rating) == expected


@pytest.mark.parametrize(("rating", "at_risk"), [(1, True), (2, True), (3, False), (4, False), (5, False), (None, False)])
def test_at_risk_by_latest_rating(rating, at_risk):
    # The rating of the loop's latest member feedback: 1-2 is at risk, 3 is not, none is not.
    assert rules.is_negative(rating) is at_risk
    assert rules.is_at_risk(rating) is at_risk


@pytest.mark.parametrize("stage", [GETTING_STARTED, rules.ALUMNI])
@pytest.mark.parametrize("role", ["mentor", "mentee"])
def test_waiting_steps_exist_for_every_standing_without_a_loop(stage, role):
    steps = rules.waiting_steps(stage, role)
    assert isinstance(steps, tuple) and steps
    assert all(isinstance(s, str) and s.strip() for s in steps)
    assert rules.waiting_steps("no_such_stage", "mentee") == ()


def steps_for(facts, now, **step_facts):
    base = dict(loop_id=13, role="mentee", partner="Bo")
    return rules.next_steps(facts, rules.StepFacts(**(base | step_facts)), now)


def test_next_steps_name_real_ids_and_never_a_placeholder():
    matched = rules.MembershipFacts(T0)
    mentee = steps_for(matched, d(1))
    assert any("mloop meet schedule 13 --at" in s for s in mentee)
    assert any("who takes notes" in s for s in mentee)
    mentor = " ".join(steps_for(matched, d(1), role="mentor")).lower()
    assert "introduce" in mentor and "times" in mentor
    # A held meeting this member has not rated: named, with its id.
    held = rules.MembershipFacts(T0, d(1), d(2))
    steps = steps_for(held, d(3), held_meetings=1, unrated_meeting=7, has_agreement=True)
    assert any("mloop feedback give 13 --meeting 7 --rating" in s for s in steps)
    assert not any("Prepare an agenda for your first meeting" in s for s in steps)
    # A booked meeting whose time has passed: mark it done, by id.
    booked = rules.MembershipFacts(T0, d(1))
    assert any(s.endswith("mloop meet done 4") for s in steps_for(booked, d(3), booked_past=4, has_agreement=True))
    # Levelling Up: the open goals by id, then the journey.
    t = d(2)
    up = rules.MembershipFacts(T0, t, t, t, t, t, t, None, (GoalFact(t),))
    steps = steps_for(up, d(3), held_meetings=3, open_goals=(5, 6), shared_goals=2, has_agreement=True, has_fit=True)
    assert any(s.endswith("mloop goal done 5") for s in steps) and any(s.endswith("mloop share 13") for s in steps)
    for facts, now, extra in ((matched, d(1), {}), (held, d(3), {"unrated_meeting": 7}), (up, d(3), {"open_goals": (5,)})):
        for role in ("mentor", "mentee"):
            for line in steps_for(facts, now, role=role, **extra):
                assert not any(word in line for word in ("LOOP", "MEETING", "GOAL", " N ", "--rating N", "WHEN")), line


def test_next_steps_never_repeat_a_command():
    # A check-in due and positive loop feedback missing ask for the same command: once.
    t = d(2)
    grow = rules.MembershipFacts(T0, t, t, None, None, t)
    steps = steps_for(grow, d(40), held_meetings=1, checkin_due=d(30), has_agreement=True, has_fit=True)
    assert sum("mloop feedback give 13 --rating" in s for s in steps) == 1
    assert steps[0].startswith("A check-in is due")
    assert len(steps) == len(set(steps))


def test_stage_order_and_labels():
    assert STAGES == (GETTING_STARTED, MATCHED, FIRST_MEETING, GROW_TOGETHER, LEVELLING_UP, COMPLETED)
    assert [rules.STAGE_LABELS[s] for s in STAGES] == [
        "Getting Started", "Matched", "First Meeting", "Grow Together", "Levelling Up", "Completed"]


# --- properties ------------------------------------------------------------------------------

WINDOW_SECONDS = 200 * 24 * 3600
BASE = datetime(2026, 1, 1, tzinfo=UTC)

# Times in a 200-day window: mostly arbitrary seconds, sometimes whole days so
# that ties between facts are common.
moments = st.one_of(
    st.integers(0, WINDOW_SECONDS).map(lambda s: BASE + timedelta(seconds=s)),
    st.integers(0, 200).map(lambda n: BASE + timedelta(days=n)),
)
maybe_moment = st.one_of(st.none(), moments)
goal_facts = st.builds(GoalFact, shared_at=maybe_moment, completed_at=maybe_moment)


@st.composite
def loops(draw, ended: bool | None = None):
    matched = draw(moments)
    ended_at = None
    if ended is None:
        ended_at = draw(st.one_of(st.none(), st.integers(0, WINDOW_SECONDS).map(lambda s: matched + timedelta(seconds=s))))
    return LoopFacts(
        loop_id=1,
        matched_at=matched,
        ended_at=ended_at,
        booking_times=tuple(draw(st.lists(moments, max_size=4))),
        held_meeting_times=tuple(draw(st.lists(moments, max_size=6))),
        goals=tuple(draw(st.lists(goal_facts, max_size=4))),
    )


@st.composite
def active_loops(draw):
    """(loop, now) with the loop active at now: now >= matched_at, not ended by now."""
    loop = draw(loops(ended=False))
    now = max(loop.matched_at, draw(moments))
    if draw(st.booleans()):
        loop = replace(loop, ended_at=now + timedelta(seconds=draw(st.integers(1, WINDOW_SECONDS))))
    return loop, now


members = st.builds(
    MemberFacts,
    held_meeting_feedback_times=st.lists(moments, max_size=3).map(tuple),
    positive_loop_feedback_times=st.lists(moments, max_size=3).map(tuple),
    journey_share_times=st.lists(moments, max_size=2).map(tuple),
)
ks = st.integers(1, 4)
stall_days = st.integers(1, 40)
INDEX = {stage: i for i, stage in enumerate(STAGES)}

PROPERTY_SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reached(p: Progress | None) -> dict[str, datetime]:
    return dict(p.history) if p is not None else {}


@PROPERTY_SETTINGS
@given(loop=loops(), member=members, now=moments, k=ks)
def test_property_stage_times_ordered_and_not_after_now(loop, member, now, k):
    p = membership_progress(loop, member, now, k)
    if not is_active(loop, now):
        assert p is None
        return
    assert p is not None
    names = [stage for stage, _ in p.history]
    times = [t for _, t in p.history]
    # The stages reached are a prefix of the stage order, from matched.
    assert names == list(STAGES[1 : 1 + len(names)])
    assert times == sorted(times)
    assert times[0] == loop.matched_at
    assert all(t <= now for t in times)
    assert (p.stage, p.stage_since) == p.history[-1]


@PROPERTY_SETTINGS
@given(loop=loops(ended=False), member=members, now1=moments, gap=st.integers(0, WINDOW_SECONDS), k=ks)
def test_property_stable_in_time(loop, member, now1, gap, k):
    now1 = max(loop.matched_at, now1)
    now2 = now1 + timedelta(seconds=gap)
    early = membership_progress(loop, member, now1, k)
    late = membership_progress(loop, member, now2, k)
    # Every stage reached at now1 is reached at now2 at the same time...
    for stage, at in early.history:
        assert reached(late)[stage] == at
    # ...and the stages reached at now2 by now1 are exactly those of now1.
    assert {s: t for s, t in late.history if t <= now1} == dict(early.history)
    assert INDEX[late.stage] >= INDEX[early.stage]


def _added(loop: LoopFacts, member: MemberFacts, kind: str, at: datetime) -> tuple[LoopFacts, MemberFacts]:
    if kind == "booking":
        return replace(loop, booking_times=loop.booking_times + (at,)), member
    if kind == "held":
        # A held meeting is also a booking.
        return replace(loop, booking_times=loop.booking_times + (at,),
                       held_meeting_times=loop.held_meeting_times + (at,)), member
    if kind == "meeting_feedback":
        return loop, replace(member, held_meeting_feedback_times=member.held_meeting_feedback_times + (at,))
    if kind == "loop_feedback":
        return loop, replace(member, positive_loop_feedback_times=member.positive_loop_feedback_times + (at,))
    assert kind == "share"
    return loop, replace(member, journey_share_times=member.journey_share_times + (at,))


@PROPERTY_SETTINGS
@given(case=active_loops(), member=members, k=ks,
       kind=st.sampled_from(["booking", "held", "meeting_feedback", "loop_feedback", "share"]), at=moments)
def test_property_adding_a_fact_never_moves_backwards(case, member, k, kind, at):
    loop, now = case
    before = membership_progress(loop, member, now, k)
    new_loop, new_member = _added(loop, member, kind, at)
    after = membership_progress(new_loop, new_member, now, k)
    assert INDEX[after.stage] >= INDEX[before.stage]
    # More facts can only make each stage come earlier, never later.
    for stage, at_before in before.history:
        assert reached(after)[stage] <= at_before


@PROPERTY_SETTINGS
@given(case=active_loops(), member=members, k=ks, shared_after=st.integers(1, WINDOW_SECONDS),
       completed=maybe_moment)
def test_property_a_goal_shared_later_never_moves_backwards(case, member, k, shared_after, completed):
    """A goal shared after someone reached their stage does not undo it."""
    loop, now = case
    before = membership_progress(loop, member, now, k)
    goal = GoalFact(shared_at=before.stage_since + timedelta(seconds=shared_after), completed_at=completed)
    after = membership_progress(replace(loop, goals=loop.goals + (goal,)), member, now, k)
    assert INDEX[after.stage] >= INDEX[before.stage]
    assert reached(after)[before.stage] <= before.stage_since


@PROPERTY_SETTINGS
@given(case=active_loops(), member=members, k=ks)
def test_property_facts_after_now_make_no_difference(case, member, k):
    loop, now = case

    def known(times):
        return tuple(t for t in times if t <= now)

    def known_goal(g: GoalFact) -> GoalFact | None:
        if g.shared_at is None or g.shared_at > now:
            return None
        return GoalFact(g.shared_at, g.completed_at if g.completed_at is not None and g.completed_at <= now else None)

    filtered_loop = replace(
        loop,
        booking_times=known(loop.booking_times),
        held_meeting_times=known(loop.held_meeting_times),
        goals=tuple(g for g in map(known_goal, loop.goals) if g is not None),
    )
    filtered_member = MemberFacts(
        known(member.held_meeting_feedback_times),
        known(member.positive_loop_feedback_times),
        known(member.journey_share_times),
    )
    assert membership_progress(loop, member, now, k) == membership_progress(
        filtered_loop, filtered_member, now, k)


@PROPERTY_SETTINGS
@given(case=active_loops(), member=members, k=ks, extra=st.integers(0, 60 * 24 * 3600))
def test_property_days_in_stage(case, member, k, extra):
    loop, now = case
    p = membership_progress(loop, member, now, k)
    later = now + timedelta(seconds=extra)
    for moment in (now, later):
        assert p.days_in_stage(moment) == (moment - p.stage_since) // DAY
        assert p.days_in_stage(moment) == int((moment - p.stage_since).total_seconds() // 86400)


@PROPERTY_SETTINGS
@given(case=active_loops(), member=members, k=ks, days=stall_days, extra=st.integers(0, 60 * 24 * 3600))
def test_property_is_stalled(case, member, k, days, extra):
    loop, now = case
    p = membership_progress(loop, member, now, k)
    for moment in (now, now + timedelta(seconds=extra), p.stage_since + timedelta(days=days)):
        expected = p.stage != COMPLETED and moment - p.stage_since > timedelta(days=days)
        assert rules.is_stalled(p, moment, days) is expected
    assert not rules.is_stalled(p, p.stage_since + timedelta(days=days), days)


@PROPERTY_SETTINGS
@given(joined=moments, now=moments, days=stall_days,
       ended=st.lists(st.tuples(moments, st.sampled_from(rules.OUTCOMES)), max_size=3))
def test_property_without_a_loop(joined, now, days, ended):
    last = rules.latest_ended([rules.EndedLoop(*e) for e in ended], now)
    p = rules.progress_without_loop(joined, last, now)
    if joined > now:
        assert p is None
        return
    if last is None:
        assert (p.stage, p.stage_since) == (GETTING_STARTED, joined)
    elif last.outcome == rules.OUTCOME_COMPLETED:
        assert p.stage == rules.ALUMNI and not rules.is_stalled(p, now, days)
        return
    else:
        assert (p.stage, p.stage_since) == (GETTING_STARTED, max(joined, last.ended_at))
    assert rules.is_stalled(p, now, days) is (now - p.stage_since > timedelta(days=days))


@PROPERTY_SETTINGS
@given(case=active_loops(), member=members, k=ks)
def test_property_missing_is_empty_exactly_when_the_next_stage_is_reached(case, member, k):
    """What ``missing`` lists for the next stage is what holds the member back:
    supplying the facts it names (at now) moves them on."""
    loop, now = case
    facts = rulefacts.membership_facts(loop, member, now, k)
    stage = rules.progress(facts, now).stage
    if stage == COMPLETED:
        return
    needs = {item.need for item in rules.missing(facts, len(loop.held_meeting_times), now, momentum_meetings=k)}
    assert needs
    supplied = facts._replace(
        first_booking=facts.first_booking or now,
        first_held=facts.first_held or now if rules.NEEDS_HELD_MEETING in needs or facts.first_held else None,
        first_meeting_feedback=facts.first_meeting_feedback or now,
        kth_held=facts.kth_held or now if rules.NEEDS_MORE_MEETINGS in needs or facts.kth_held else None,
        first_shared_goal=facts.first_shared_goal or now,
        first_positive_loop_feedback=facts.first_positive_loop_feedback or now,
        first_journey_share=facts.first_journey_share or now,
    )
    if stage == GROW_TOGETHER or rules.NEEDS_HELD_MEETING in needs:
        supplied = supplied._replace(first_held=supplied.first_held or now)
    assert INDEX[rules.progress(supplied, now).stage] > INDEX[stage]


@pytest.mark.parametrize(("rating", "fit", "reasons"), [
    (2, None, ("negative_rating",)), (4, "poor", ("poor_fit",)), (1, "poor", ("negative_rating", "poor_fit")),
    (None, "good", ()), (3, "unsure", ()),
])
def test_risk_reasons(rating, fit, reasons):
    assert rules.risk_reasons(rating, fit) == reasons
    assert rules.is_at_risk(rating, fit) is bool(reasons)


def test_positive_ratings_follow_the_threshold(monkeypatch):
    assert rules.positive_ratings() == (4, 5)
    assert rules.rating_words(rules.positive_ratings()) == "4 or 5"
    monkeypatch.setattr(rules, "POSITIVE_FROM", 5)
    assert rules.positive_ratings() == (5,) and rules.sentiment(4) == "neutral"
    assert rules.rating_words(rules.positive_ratings()) == "5"


def test_sentiments_partition_the_ratings_and_name_their_span(monkeypatch):
    kinds = ("positive", "neutral", "negative")
    assert sorted(r for kind in kinds for r in rules.sentiment_ratings(kind)) == list(rules.RATINGS)
    assert [rules.rating_span(rules.sentiment_ratings(kind)) for kind in kinds] == ["4–5", "3", "1–2"]
    monkeypatch.setattr(rules, "POSITIVE_FROM", 3)
    assert rules.sentiment_ratings("neutral") == () and rules.rating_span(()) == "none"
    assert rules.rating_span(rules.sentiment_ratings("positive")) == "3–5"


def test_who_may_share_their_journey_follows_share_from(monkeypatch):
    assert [stage for stage in rules.STAGES if rules.may_share_journey(stage)] == [rules.LEVELLING_UP, rules.COMPLETED]
    monkeypatch.setattr(rules, "SHARE_FROM", rules.COMPLETED)
    assert [stage for stage in rules.STAGES if rules.may_share_journey(stage)] == [rules.COMPLETED]


@pytest.mark.parametrize(("status", "start", "created", "now", "held"), [
    ("held", 1, 0, 1, True), ("held", 1, 0, 0, False), ("held", 0, 2, 1, False), ("held", 0, 2, 2, True),
    ("scheduled", 0, 0, 5, False), ("cancelled", 0, 0, 5, False),
])
def test_a_meeting_counts_as_held_from_held_from_on(status, start, created, now, held):
    day = lambda n: datetime(2026, 1, 1 + n, tzinfo=timezone.utc)  # noqa: E731
    assert rules.is_held(status, day(start), day(created), day(now)) is held
