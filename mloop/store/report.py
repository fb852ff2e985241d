"""Reports as data: the coordinator funnel and a participant's status.

Both return plain, JSON-ready dicts; the commands render them.  Coordinators
see stages, counts, meeting counts and feedback ratings, never goal titles,
agendas or notes; a participant sees their own loops and never the partner's
feedback (so no at-risk flag either: it would give that feedback away).
"""

from __future__ import annotations

import heapq
from operator import attrgetter
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.errors import NotFound, UsageError
from mloop.store.models import Feedback, Goal, JourneyShare, Loop, Meeting, Participant, Program
from mloop.store.participants import roles_of
from mloop.store.progress import Membership, cycle_collector_paused, memberships
from mloop.timeparse import isoformat_utc as utc_text


def parse_stage(text: str) -> str:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in rules.STAGES:
        return key
    raise UsageError(f"unknown stage {text!r}: use one of {', '.join(rules.STAGES)}")


def member_record(m: Membership, now: datetime) -> dict:
    return {
        "email": m.person.email,
        "name": m.person.name,
        "role": m.role,
        "loop_id": m.loop_id,
        "partner": m.partner.email if m.partner else None,
        "stage": m.progress.stage,
        "stage_since": m.progress.stage_since,
        "days_in_stage": m.days,
        "stalled": m.stalled,
        "at_risk": m.at_risk,
        "meetings_held": m.held_meetings,
    }


@cycle_collector_paused()
def coordinator_report(
    session: Session,
    program: Program,
    now: datetime,
    *,
    stage: str | None = None,
    stalled: bool = False,
    at_risk: bool = False,
    with_rows: bool = False,
    listed: int | None = None,
) -> tuple[dict, list[dict]]:
    """The report document, and (``with_rows``) the membership rows behind it, for CSV.

    ``listed`` caps the stalled, at-risk and member lists (longest waits
    first) for a reader on a terminal; the document then also carries each
    list's full length as ``stalled_total``, ``at_risk_total`` and
    ``members_total``.  Without it every row is listed.
    """
    members = memberships(session, program, now, with_counts=with_rows or stage is not None)
    stages = dict.fromkeys(rules.STAGES, 0)
    for m in members:
        stages[m.progress.stage] += 1

    chosen = members
    if stage is not None:
        chosen = [m for m in chosen if m.progress.stage == stage]
    if stalled:
        chosen = [m for m in chosen if m.stalled]
    if at_risk:
        chosen = [m for m in chosen if m.at_risk]
    stalled_rows = chosen if stalled else [m for m in chosen if m.stalled]
    # One entry per loop at risk, naming who gave the negative feedback.
    risky: dict[int, dict] = {}
    for m in chosen:
        if m.at_risk and m.loop_id not in risky:
            mentor, mentee = (m.person, m.partner) if m.role == "mentor" else (m.partner, m.person)
            risky[m.loop_id] = {
                "loop_id": m.loop_id,
                "mentor": mentor.email,
                "mentee": mentee.email,
                "email": m.latest_rating_by,
                "latest_rating": m.latest_rating,
            }
    at_risk_rows = [risky[loop_id] for loop_id in sorted(risky)]
    document = {
        "program": program.name,
        "as_of": now,
        "stall_days": program.stall_days,
        "momentum_meetings": program.momentum_meetings,
        "stages": stages,
        "stalled": [
            {
                "email": m.person.email,
                "name": m.person.name,
                "role": m.role,
                "loop_id": m.loop_id,
                "stage": m.progress.stage,
                "stage_since": utc_text(m.progress.stage_since),  # text already: JSON writes it as is
                "days_in_stage": m.days,
            }
            for m in _longest_waits(stalled_rows, listed)
        ],
        "at_risk": at_risk_rows[:listed],
        "activity": activity(session, program, now),
    }
    ordered = _ordered(chosen) if stage is not None or with_rows else []
    if stage is not None:
        document["members"] = [member_record(m, now) for m in ordered[:listed]]
    if listed is not None:
        document["stalled_total"] = len(stalled_rows)
        document["at_risk_total"] = len(at_risk_rows)
        if stage is not None:
            document["members_total"] = len(chosen)
    return document, [member_record(m, now) for m in ordered] if with_rows else []


def _longest_waits(rows: list[Membership], listed: int | None) -> list[Membership]:
    """Longest wait first; equal waits keep the order memberships come in
    (by loop, mentor before mentee, then the unmatched), so the order is
    stable from run to run without a costlier key."""
    by_wait = attrgetter("days")
    if listed is None:
        return sorted(rows, key=by_wait, reverse=True)
    return heapq.nlargest(listed, rows, key=by_wait)


def _ordered(members: list[Membership]) -> list[Membership]:
    order = {name: i for i, name in enumerate(rules.STAGES)}
    return sorted(members, key=lambda m: (order[m.progress.stage], m.person.email, m.loop_id or 0))


def activity(session: Session, program: Program, now: datetime) -> dict:
    """Counts of what has happened in the program up to ``now``."""
    from mloop.store.progress import only_program

    conn = session.connection()
    in_program = Loop.program_id == program.id
    alone = only_program(session, program)

    def count(query) -> int:
        return conn.execute(query).scalar_one()

    def scoped(query, loop_column):
        """Limit to this program's loops, unless it is the store's only program."""
        return query if alone else query.where(loop_column.in_(sa.select(Loop.id).where(in_program)))

    loop_state = sa.case(
        (sa.and_(Loop.ended_at.is_not(None), Loop.ended_at <= now), Loop.outcome),
        else_="active",
    )
    loops = dict(
        conn.execute(
            sa.select(loop_state, sa.func.count()).where(in_program, Loop.matched_at <= now).group_by(loop_state)
        ).all()
    )
    # One index range per status (migration 4) rather than a pass over every meeting.
    def meetings_with(status: str):
        return (
            scoped(sa.select(sa.func.count()).select_from(Meeting), Meeting.loop_id)
            .where(Meeting.status == status, Meeting.created_at <= now)
            .scalar_subquery()
        )

    statuses = ("held", "scheduled", "cancelled")
    meetings = dict(zip(statuses, conn.execute(sa.select(*(meetings_with(s) for s in statuses))).one()))
    ratings = dict(
        conn.execute(
            scoped(sa.select(Feedback.rating, sa.func.count()), Feedback.loop_id)
            .where(Feedback.created_at <= now)
            .group_by(Feedback.rating)
        ).all()
    )
    sentiments = {"positive": 0, "neutral": 0, "negative": 0}
    for rating, n in ratings.items():
        sentiments[rules.sentiment(rating)] += n
    goals_shared, goals_completed = conn.execute(
        scoped(
            sa.select(
                sa.func.count().filter(Goal.shared_at.is_not(None), Goal.shared_at <= now),
                sa.func.count().filter(Goal.completed_at.is_not(None), Goal.completed_at <= now),
            ),
            Goal.loop_id,
        )
    ).one()
    journeys = count(
        scoped(sa.select(sa.func.count()).select_from(JourneyShare), JourneyShare.loop_id)
        .where(JourneyShare.created_at <= now)
    )
    people = conn.execute(
        sa.select(
            sa.func.count().filter(Participant.is_mentor),
            sa.func.count().filter(Participant.is_mentee),
            sa.func.count().filter(Participant.is_coordinator),
        ).where(Participant.program_id == program.id, Participant.joined_at <= now)
    ).one()
    return {
        "participants": {"mentors": people[0], "mentees": people[1], "coordinators": people[2]},
        "loops": {
            "active": loops.get("active", 0),
            "completed": loops.get("completed", 0),
            "cancelled": loops.get("cancelled", 0),
        },
        "meetings": meetings,
        "feedback": {"total": sum(sentiments.values()), **sentiments},
        "goals": {"shared": goals_shared, "completed": goals_completed},
        "journeys_shared": journeys,
    }


# --- a participant's own view ------------------------------------------------

def _next_meeting(session: Session, loop_id: int, now: datetime) -> dict | None:
    row = session.connection().execute(
        sa.select(Meeting.id, Meeting.start, Meeting.duration_min, Meeting.location, Meeting.agenda)
        .where(Meeting.loop_id == loop_id, Meeting.status == "scheduled", Meeting.start >= now, Meeting.created_at <= now)
        .order_by(Meeting.start, Meeting.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"id": row[0], "start": row[1], "duration_min": row[2], "where": row[3], "agenda": row[4]}


def _history(progress: rules.Progress) -> list[dict]:
    return [{"stage": stage, "reached_at": at} for stage, at in progress.history]


def _loop_entry(session: Session, m: Membership, now: datetime, *, history: bool) -> dict:
    entry = {
        "loop_id": m.loop_id,
        "role": m.role,
        "partner": {"email": m.partner.email, "name": m.partner.name} if m.partner else None,
        "matched_at": m.matched_at,
        "status": "active",
        "stage": m.progress.stage,
        "stage_label": rules.STAGE_LABELS[m.progress.stage],
        "stage_since": m.progress.stage_since,
        "days_in_stage": m.days,
        "stalled": m.stalled,
        "meetings_held": m.held_meetings,
        "next_meeting": _next_meeting(session, m.loop_id, now),
        "next_steps": list(rules.next_steps(m.progress.stage, m.role)),
    }
    if history:
        entry["history"] = _history(m.progress)
    return entry


def participant_status(
    session: Session,
    program: Program,
    person: Participant,
    now: datetime,
    *,
    loop_id: int | None = None,
    history: bool = False,
) -> dict:
    members = memberships(session, program, now, person_id=person.id, with_counts=True)
    in_loops = [m for m in members if m.loop_id is not None]
    document: dict = {
        "participant": {
            "email": person.email,
            "name": person.name,
            "roles": roles_of(person),
            "joined_at": person.joined_at,
        },
        "as_of": now,
        "loops": [],
    }
    unmatched = [m for m in members if m.loop_id is None]
    if unmatched:
        m = unmatched[0]
        document["participant"].update(
            stage=m.progress.stage,
            stage_since=m.progress.stage_since,
            days_in_stage=m.days,
            stalled=m.stalled,
            next_steps=list(rules.next_steps(m.progress.stage, m.role)),
        )
    if loop_id is not None:
        in_loops = [m for m in in_loops if m.loop_id == loop_id]
        if not in_loops and not (history and _ended_loop_ids(session, program, person, now, loop_id)):
            raise NotFound(f"loop {loop_id} is not one of {person.email}'s active loops: see 'mloop status'")
    document["loops"] = [_loop_entry(session, m, now, history=history) for m in in_loops]
    if history:
        document["ended_loops"] = [
            entry
            for ended_id in _ended_loop_ids(session, program, person, now, loop_id)
            if (entry := _ended_entry(session, program, person, ended_id)) is not None
        ]
    return document


def _ended_loop_ids(session: Session, program: Program, person: Participant, now: datetime, loop_id: int | None) -> list[int]:
    query = sa.select(Loop.id).where(
        Loop.program_id == program.id,
        sa.or_(Loop.mentor_id == person.id, Loop.mentee_id == person.id),
        Loop.ended_at.is_not(None),
        Loop.ended_at <= now,
    )
    if loop_id is not None:
        query = query.where(Loop.id == loop_id)
    return list(session.connection().execute(query.order_by(Loop.id)).scalars())


def _ended_entry(session: Session, program: Program, person: Participant, loop_id: int) -> dict | None:
    loop = session.get(Loop, loop_id)
    # The stages a loop reached are those it had just before it ended.
    just_before = loop.ended_at - timedelta(microseconds=1)
    found = [m for m in memberships(session, program, just_before, person_id=person.id, include_unmatched=False) if m.loop_id == loop_id]
    if not found:
        return None
    m = found[0]
    return {
        "loop_id": loop_id,
        "role": m.role,
        "partner": {"email": m.partner.email, "name": m.partner.name} if m.partner else None,
        "matched_at": loop.matched_at,
        "status": loop.outcome,
        "ended_at": loop.ended_at,
        "end_reason": loop.end_reason,
        "final_stage": m.progress.stage,
        "history": _history(m.progress),
    }


def participant_card(session: Session, program: Program, person: Participant, now: datetime) -> dict:
    """A coordinator's view of one person: stages, flags, history, meeting
    counts and feedback ratings — never goal titles, agendas or notes."""
    members = memberships(session, program, now, person_id=person.id, with_counts=True)
    card: dict = {
        "participant": {
            "email": person.email, "name": person.name, "roles": roles_of(person),
            "joined_at": person.joined_at, "capacity": person.capacity,
        },
        "as_of": now,
        "loops": [],
    }
    for m in members:
        if m.loop_id is None:
            card["participant"].update(
                stage=m.progress.stage, stage_since=m.progress.stage_since,
                days_in_stage=m.days, stalled=m.stalled,
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
            "history": _history(m.progress),
            "meetings_held": m.held_meetings,
            "last_activity": last_activity,
            "feedback": [{"id": r[0], "meeting_id": r[1], "rating": r[2], "created_at": r[3]} for r in ratings],
        })
    return card
