"""What happens inside a loop: meetings, goals and tasks, feedback, journey shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, and_, or_, select

from mloop.certificate import CertificateFacts

from mloop.errors import Conflict, Forbidden, NotFound, UsageError, valid_id
from mloop.store.access import Actor, is_member, loop_for, require_active
from mloop.store.checks import (
    check_goal_title, check_goal_unlocked, check_meeting_held, check_meeting_in_loop, check_rating, check_task_title,
    check_term,
)
from mloop.store.models import (
    MAX_MEETING_MINUTES, Feedback, Goal, JourneyShare, Loop, Meeting, Participant, Program, Task, new_calendar_uid,
)


# --- meetings ---------------------------------------------------------------

def _check_duration(duration: timedelta) -> int:
    minutes = int(duration.total_seconds() // 60)
    if not 1 <= minutes <= MAX_MEETING_MINUTES:
        raise UsageError("a meeting lasts between 1 minute and 24 hours: use e.g. --duration 45m")
    return minutes


def schedule_meeting(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    start: datetime, duration: timedelta, agenda: str | None, where: str | None, now: datetime,
) -> Meeting:
    return _book(session, program, who, loop_id, [start], duration=duration, agenda=agenda, where=where,
                 now=now, series=None, doing="booking a meeting")[0]


def schedule_series(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    starts: list[datetime], duration: timedelta, agenda: str | None, where: str | None, now: datetime,
) -> list[Meeting]:
    """Books one meeting at each of ``starts`` (see ``timeparse.series_starts``) as one series."""
    return _book(session, program, who, loop_id, starts, duration=duration, agenda=agenda, where=where,
                 now=now, series=new_calendar_uid(), doing="booking meetings")


def _book(
    session: Session, program: Program, who: Actor, loop_id: int, starts: list[datetime], *,
    duration: timedelta, agenda: str | None, where: str | None, now: datetime, series: str | None, doing: str,
) -> list[Meeting]:
    loop = loop_for(session, program, who, loop_id, doing=doing)
    require_active(loop, now, "book a meeting")
    minutes = _check_duration(duration)
    meetings = [
        Meeting(loop_id=loop.id, start=start, duration_min=minutes, agenda=agenda, location=where,
                status="scheduled", created_at=now, series=series)
        for start in starts
    ]
    session.add_all(meetings)
    session.flush()
    return meetings


def log_meeting(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    start: datetime, duration: timedelta, notes: str | None, agenda: str | None,
    where: str | None, now: datetime,
) -> Meeting:
    loop = loop_for(session, program, who, loop_id, doing="logging a meeting")
    require_active(loop, now, "log a meeting")
    if start > now:
        raise UsageError(
            f"--at {start:%Y-%m-%d %H:%M} UTC is still ahead: 'meet log' records a meeting already held; "
            "book a future one with 'mloop meet schedule'"
        )
    if start < loop.matched_at:
        raise UsageError(f"--at is before loop {loop.id} was matched ({loop.matched_at:%Y-%m-%d}): check the date")
    meeting = Meeting(
        loop_id=loop.id, start=start, duration_min=_check_duration(duration), notes=notes,
        agenda=agenda, location=where, status="held", created_at=now,
    )
    session.add(meeting)
    session.flush()
    return meeting


def get_meeting(session: Session, program: Program, who: Actor, meeting_id: int, *, doing: str) -> tuple[Meeting, Loop]:
    meeting = session.get(Meeting, meeting_id) if valid_id(meeting_id) else None
    loop = session.get(Loop, meeting.loop_id) if meeting else None
    if meeting is None or loop is None or loop.program_id != program.id:
        raise NotFound(f"no meeting {meeting_id} in {program.name}: see 'mloop meet list'")
    loop_for(session, program, who, loop.id, doing=doing)
    return meeting, loop


def meeting_done(
    session: Session, program: Program, who: Actor, meeting_id: int, *,
    notes: str | None, actions: list[str], now: datetime,
) -> Meeting:
    meeting, loop = get_meeting(session, program, who, meeting_id, doing="marking a meeting done")
    require_active(loop, now, "change its meetings")
    if meeting.status == "held":
        raise Conflict(f"meeting {meeting.id} is already marked done")
    if meeting.status == "cancelled":
        raise Conflict(f"meeting {meeting.id} was cancelled: log the meeting you held with 'mloop meet log {loop.id} --at WHEN'")
    if meeting.start > now:
        raise Conflict(
            f"meeting {meeting.id} is booked for {meeting.start:%Y-%m-%d %H:%M} UTC, still ahead: "
            "mark it done once it has happened"
        )
    meeting.status = "held"
    meeting.sequence += 1
    if notes:
        meeting.notes = notes if not meeting.notes else f"{meeting.notes}\n{notes}"
    if actions:
        meeting.actions = "\n".join([a for a in meeting.actions.split("\n") if a] + actions)
    session.add(meeting)
    session.flush()
    return meeting


def cancel_meeting(
    session: Session, program: Program, who: Actor, meeting_id: int, *, now: datetime, rest_of_series: bool = False,
) -> list[Meeting]:
    """Cancels a booked meeting or (``rest_of_series``) it and every later
    booked meeting of its series; returns the meetings cancelled."""
    meeting, loop = get_meeting(session, program, who, meeting_id, doing="cancelling a meeting")
    require_active(loop, now, "change its meetings")
    if meeting.status == "held":
        raise Conflict(f"meeting {meeting.id} was held and cannot be cancelled")
    if meeting.status == "cancelled" and not rest_of_series:
        raise Conflict(f"meeting {meeting.id} is already cancelled")
    cancelled = [meeting] if meeting.status == "scheduled" else []
    if rest_of_series:
        if meeting.series is None:
            raise Conflict(
                f"meeting {meeting.id} is not part of a series: cancel it alone with 'mloop meet cancel {meeting.id}'"
            )
        cancelled += session.exec(
            select(Meeting).where(
                Meeting.loop_id == loop.id, Meeting.series == meeting.series, Meeting.status == "scheduled",
                Meeting.start > meeting.start, Meeting.created_at <= now, Meeting.id != meeting.id,
            ).order_by(Meeting.start, Meeting.id)
        ).all()
        if not cancelled:
            raise Conflict(f"nothing left to cancel: meeting {meeting.id} and the rest of its series are not booked")
    for found in cancelled:
        found.status = "cancelled"
        found.sequence += 1
        session.add(found)
    session.flush()
    return cancelled


def list_meetings(
    session: Session, program: Program, who: Actor, *, loop_id: int | None, upcoming: bool, now: datetime,
    within: timedelta | None = None,
) -> list[Meeting]:
    """Meetings the actor may see, by start; ``upcoming``: booked and still
    ahead, and with ``within``, starting no later than ``now + within``."""
    query = meetings_in_view(
        select(Meeting), session, program, who, loop_id=loop_id, upcoming=upcoming, now=now, within=within,
        doing="listing meetings",
    )
    return list(session.exec(query))


def meetings_in_view(
    query, session: Session, program: Program, who: Actor, *, loop_id: int | None, upcoming: bool, now: datetime,
    doing: str, within: timedelta | None = None,
):
    """``query`` (a select of Meeting, and Loop if wanted) narrowed to the
    meetings the actor may see as of ``now``, by start: their own loops' (a
    coordinator: every loop's), one loop's, or the upcoming ones."""
    query = query.join(Loop, Loop.id == Meeting.loop_id).where(Loop.program_id == program.id, Meeting.created_at <= now)
    if loop_id is not None:
        loop_for(session, program, who, loop_id, doing=doing)
        query = query.where(Meeting.loop_id == loop_id)
    if not who.is_coordinator:
        person_id = who.person.id if who.person else -1
        query = query.where(or_(Loop.mentor_id == person_id, Loop.mentee_id == person_id))
    if upcoming:
        query = query.where(Meeting.status == "scheduled", Meeting.start >= now)
        if within is not None:
            query = query.where(Meeting.start <= now + within)
    return query.order_by(Meeting.start, Meeting.id)


# --- feedback ---------------------------------------------------------------

def give_feedback(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    rating: int, meeting_id: int | None, comment: str | None, now: datetime,
) -> Feedback:
    check_rating(rating)
    loop = loop_for(session, program, who, loop_id, doing="giving feedback", members_only=True)
    require_active(loop, now, "give feedback")
    if meeting_id is not None:
        meeting = session.get(Meeting, meeting_id) if valid_id(meeting_id) else None
        check_meeting_in_loop(meeting_id, loop.id, found=meeting is not None and meeting.loop_id == loop.id)
        check_meeting_held(meeting_id, held=meeting.status == "held" and meeting.start <= now)
    feedback = Feedback(
        loop_id=loop.id, meeting_id=meeting_id, author_id=who.person.id,
        rating=rating, comment=comment, created_at=now,
    )
    session.add(feedback)
    session.flush()
    return feedback


def list_feedback(
    session: Session, program: Program, who: Actor, *, loop_id: int | None, now: datetime,
) -> list[tuple[Feedback, Participant]]:
    """Feedback is private: its author sees their own; coordinators see all."""
    query = (
        select(Feedback, Participant)
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


# --- goals ------------------------------------------------------------------

def add_goal(
    session: Session, program: Program, who: Actor, loop_id: int, *,
    title: str, term: str, due: datetime | None, private: bool, now: datetime,
) -> Goal:
    title = check_goal_title(title)
    check_term(term)
    loop = loop_for(session, program, who, loop_id, doing="adding a goal")
    require_active(loop, now, "add a goal")
    member = is_member(loop, who.person)
    if private and not member:
        raise UsageError("a coordinator's goal for a loop is shared with both members: drop --private")
    goal = Goal(
        loop_id=loop.id, author_id=who.person.id if member else None, title=title, term=term, due=due,
        created_at=now, shared_at=None if private else now,
    )
    session.add(goal)
    session.flush()
    return goal


def get_goal(
    session: Session, program: Program, who: Actor, goal_id: int, *, doing: str, coordinator_ok: bool = False,
) -> tuple[Goal, Loop]:
    """A goal the actor may act on: a shared goal of their loop or their own
    private one; with ``coordinator_ok``, any shared goal for a coordinator."""
    goal = session.get(Goal, goal_id) if valid_id(goal_id) else None
    loop = session.get(Loop, goal.loop_id) if goal else None
    if goal is None or loop is None or loop.program_id != program.id:
        raise NotFound(f"no goal {goal_id} in {program.name}: see 'mloop goal list'")
    if is_member(loop, who.person):
        if goal.shared_at is not None or goal.author_id == who.person.id:
            return goal, loop
        raise NotFound(f"no goal {goal_id} among your goals: see 'mloop goal list'")
    if who.is_coordinator:
        if coordinator_ok and goal.shared_at is not None:
            return goal, loop
        raise Forbidden(f"{doing} is for the loop's mentor or mentee: act as one of them with --as EMAIL")
    raise NotFound(f"no goal {goal_id} among your goals: see 'mloop goal list'")


def complete_goal(session: Session, program: Program, who: Actor, goal_id: int, *, now: datetime) -> Goal:
    goal, loop = get_goal(session, program, who, goal_id, doing="completing a goal", coordinator_ok=True)
    require_active(loop, now, "complete a goal")
    if goal.completed_at is not None and goal.completed_at <= now:
        raise Conflict(f"goal {goal.id} is already done (since {goal.completed_at:%Y-%m-%d})")
    goal.completed_at = now
    session.add(goal)
    session.flush()
    return goal


def share_goal(session: Session, program: Program, who: Actor, goal_id: int, *, now: datetime) -> Goal:
    goal, loop = get_goal(session, program, who, goal_id, doing="sharing a goal", coordinator_ok=True)
    require_active(loop, now, "share a goal")
    if goal.shared_at is None or goal.shared_at > now:
        goal.shared_at = now
        session.add(goal)
        session.flush()
    return goal


def edit_goal(
    session: Session, program: Program, who: Actor, goal_id: int, *,
    title: str | None, term: str | None, due: datetime | None, now: datetime,
) -> Goal:
    goal, loop = get_goal(session, program, who, goal_id, doing="editing a goal")
    require_active(loop, now, "edit a goal")
    check_goal_unlocked(goal.id, goal.title, locked=goal.locked)
    if title is not None:
        if not title.strip():
            raise UsageError("a goal's title cannot be empty")
        goal.title = title.strip()
    if term is not None:
        goal.term = check_term(term)
    if due is not None:
        goal.due = due
    session.add(goal)
    session.flush()
    return goal


def delete_goal(session: Session, program: Program, who: Actor, goal_id: int, *, now: datetime) -> Goal:
    goal, loop = get_goal(session, program, who, goal_id, doing="deleting a goal")
    require_active(loop, now, "delete a goal")
    check_goal_unlocked(goal.id, goal.title, locked=goal.locked, deleting=True)
    for task in session.exec(select(Task).where(Task.goal_id == goal.id)):
        session.delete(task)
    session.delete(goal)
    session.flush()
    return goal


def add_task(
    session: Session, program: Program, who: Actor, goal_id: int, *, title: str, due: datetime | None, now: datetime,
) -> Task:
    title = check_task_title(title)
    goal, loop = get_goal(session, program, who, goal_id, doing="adding a task")
    require_active(loop, now, "add a task")
    task = Task(goal_id=goal.id, title=title, due=due)
    session.add(task)
    session.flush()
    return task


def list_goals(
    session: Session, program: Program, who: Actor, *, loop_id: int | None, now: datetime,
) -> list[tuple[Goal, list[Task]]]:
    """A member sees their loops' shared goals and their own private ones; a
    coordinator sees every shared goal (the caller drops the titles)."""
    query = select(Goal).join(Loop, Loop.id == Goal.loop_id).where(
        Loop.program_id == program.id, Goal.created_at <= now
    )
    if loop_id is not None:
        loop = loop_for(session, program, who, loop_id, doing="listing goals")
        query = query.where(Goal.loop_id == loop_id)
        member_view = is_member(loop, who.person)
    else:
        member_view = who.person is not None and (who.person.is_mentor or who.person.is_mentee)
    if member_view:
        person_id = who.person.id
        query = query.where(
            or_(Loop.mentor_id == person_id, Loop.mentee_id == person_id),
            or_(and_(Goal.shared_at.is_not(None), Goal.shared_at <= now), Goal.author_id == person_id),
        )
    elif who.is_coordinator:
        query = query.where(Goal.shared_at.is_not(None), Goal.shared_at <= now)
    else:
        return []
    goals = list(session.exec(query.order_by(Goal.loop_id, Goal.id)))
    tasks: dict[int, list[Task]] = {g.id: [] for g in goals}
    if goals:
        for task in session.exec(select(Task).where(Task.goal_id.in_(list(tasks))).order_by(Task.id)):
            tasks[task.goal_id].append(task)
    return [(g, tasks[g.id]) for g in goals]


# --- journey ----------------------------------------------------------------

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
    """Refuses a first journey share before the member reaches Levelling Up,
    naming what the rules say is still missing."""
    from mloop import rules
    from mloop.store.status import membership_in

    member = membership_in(session, program, loop, person, now)
    if member is not None and member.progress.stage in rules.STAGES[rules.STAGES.index(rules.LEVELLING_UP):]:
        return
    facts = member.facts if member else rules.MembershipFacts(loop.matched_at)
    held = member.held_meetings if member else 0
    stage = member.progress.stage if member else rules.MATCHED
    needs = [
        rules.describe_missing(item, loop_id=loop.id, held_meetings=held, momentum_meetings=program.momentum_meetings)
        for item in rules.missing(facts, held, now, momentum_meetings=program.momentum_meetings,
                                  through=rules.LEVELLING_UP)
    ]
    raise Conflict(
        f"loop {loop.id} is at {rules.STAGE_LABELS[stage]} for you and a certificate needs Levelling Up: "
        f"still needed: {'; '.join(needs) or 'nothing more: try again in a moment'}"
    )


def _certificate_facts(
    session: Session, program: Program, loop: Loop, person: Participant, share: JourneyShare, now: datetime,
    issuer: str | None,
) -> CertificateFacts:
    from mloop import rules
    from mloop.certificate import Milestone as Achieved
    from mloop.store.models import Milestone, MilestoneDone

    from mloop.store.status import membership_in

    member = membership_in(session, program, loop, person, now)
    reached = member.progress.history if member else ()
    stages = [Achieved(rules.STAGE_LABELS[name], at) for name, at in reached]
    custom = session.connection().execute(
        sa.select(Milestone.name, sa.func.min(MilestoneDone.done_at))
        .join(Milestone, Milestone.id == MilestoneDone.milestone_id)
        .where(MilestoneDone.loop_id == loop.id, MilestoneDone.participant_id == person.id,
               MilestoneDone.done_at <= now)
        .group_by(Milestone.name)
    ).all()
    achieved = sorted([*stages, *(Achieved(name, at, kind="custom") for name, at in custom)],
                      key=lambda m: (m.achieved_at, m.kind != "stage", m.name))
    mentor, mentee = session.get(Participant, loop.mentor_id), session.get(Participant, loop.mentee_id)
    completed_at = dict(reached).get(rules.COMPLETED)
    return CertificateFacts(
        program=program.name,
        issuer=(issuer or "").strip() or program.name,
        loop_id=loop.id,
        holder_name=person.name,
        holder_email=person.email,
        holder_role="mentor" if loop.mentor_id == person.id else "mentee",
        mentor_name=mentor.name,
        mentee_name=mentee.name,
        matched_at=loop.matched_at,
        shared_at=share.created_at,
        completed_at=completed_at,
        milestones=tuple(achieved),
    )
