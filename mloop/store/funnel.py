"""The coordinator report as data: the milestone funnel, who is stalled, which loops are at risk.

Coordinators see stages, counts, meeting counts and feedback ratings, never
goal titles, agendas or notes.  Every verdict (stage, stall, risk, check-in)
is the rules'; this module counts and lists them.
"""

from __future__ import annotations

import heapq
from datetime import datetime
from operator import attrgetter

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.errors import UsageError
from mloop.store.memberships import Contact, FactReader, LoopRow, ProgramFacts, Standing, standings
from mloop.store.milestones import milestone_counts
from mloop.store.models import Feedback, Goal, JourneyShare, Loop, Meeting, Participant, Program
from mloop.store.programs import thresholds

def parse_stage(text: str) -> str:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in rules.STAGES:
        return key
    raise UsageError(f"unknown stage {text!r}: use one of {', '.join(rules.STAGES)}")


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
    facts = FactReader(session, program, now)
    wants_members = with_rows or stage is not None
    loops = facts.loops(program.momentum_meetings, with_counts=wants_members)
    fits = facts.latest_fits()
    program_facts = ProgramFacts(loops, facts.people_without_loop(), facts.member_feedback(), facts.shared_goals(),
                                 facts.journey_shares(), facts.last_ended())
    by_stage = thresholds(program)
    checkin_due, risk_reasons, in_funnel = rules.checkin_due, rules.risk_reasons, rules.in_funnel
    cutoffs = rules.stall_cutoffs(now, program.stall_days, by_stage)
    # Each loop's risk, decided once per loop.
    risks = {}
    for row in loops:
        fit = fits.get(row.loop_id)
        reasons = risk_reasons(row.latest_rating, fit[0] if fit else None)
        if reasons:
            risks[row.loop_id] = reasons
    stages = dict.fromkeys(rules.STAGES, 0)
    alumni = 0
    checkins_overdue = 0
    waiting: list[Standing] = []  # the stalled, among the chosen
    risky: set[int] = set()  # the loops at risk, among the chosen
    chosen: list[tuple[Standing, bool, bool]] = []  # (membership, stalled, at risk), when their rows are wanted
    for standing in standings(program_facts, now):
        row, _role, _person, _partner, _facts, progress, last_loop_feedback = standing
        if not in_funnel(progress.stage):
            alumni += 1
            continue
        stages[progress.stage] += 1
        if row is not None and checkin_due(row.matched_at, last_loop_feedback, now) is not None:
            checkins_overdue += 1
        if stage is not None and progress.stage != stage:
            continue
        risk = row is not None and row.loop_id in risks
        if at_risk and not risk:
            continue
        waits = rules.is_stalled(progress, now, cutoffs=cutoffs)
        if waits:
            waiting.append(standing)
        elif stalled:
            continue
        if risk:
            risky.add(row.loop_id)
        if wants_members:
            chosen.append((standing, waits, risk))
    longest = _longest_waits(waiting, listed)
    at_risk_loops = sorted(risky)
    poor_fits = [row for row in loops if row.loop_id in fits and fits[row.loop_id][0] == rules.POOR_FIT]
    people = facts.contacts(_named(longest, at_risk_loops[:listed], poor_fits, chosen, fits, loops))
    at_risk_rows = _at_risk(loops, risks, fits, people, at_risk_loops[:listed])
    document = {
        "program": program.name,
        "as_of": now,
        "stall_days": program.stall_days,
        "stage_stall_days": by_stage,
        "momentum_meetings": program.momentum_meetings,
        "stages": stages,
        "alumni": alumni,
        "stalled": _stalled(facts.last_nudges() if waiting else {}, people, now, longest),
        "at_risk": at_risk_rows,
        "activity": program_totals(facts),
        "checkins_overdue": checkins_overdue,
        "re_pairing": _re_pairing(poor_fits, fits, people),
        "milestones": milestone_counts(session, program, now),
    }
    members = [_member(standing, waits, risk, people, now) for standing, waits, risk in chosen]
    members.sort(key=_member_order)
    if stage is not None:
        document["members"] = members[:listed]
    if listed is not None:
        document["stalled_total"] = len(waiting)
        document["at_risk_total"] = len(at_risk_loops)
        if stage is not None:
            document["members_total"] = len(chosen)
    return document, members if with_rows else []


def _named(longest: list[Standing], at_risk_loops: list[int], poor_fits: list[LoopRow],
           chosen: list[tuple[Standing, bool, bool]], fits: dict, loops: list[LoopRow]) -> set[int]:
    """Everyone the report names: the stalled it lists, both members of each
    loop at risk or fitting poorly and who said so, the members it lists and their partners."""
    ids = {standing.member_id for standing in longest}
    if at_risk_loops:
        rows = {row.loop_id: row for row in loops}
        for loop_id in at_risk_loops:
            row = rows[loop_id]
            ids.update((row.mentor_id, row.mentee_id, row.latest_rating_by))
            if loop_id in fits:
                ids.add(fits[loop_id][1])
    for row in poor_fits:
        ids.update((row.mentor_id, row.mentee_id, fits[row.loop_id][1]))
    for standing, _stalled, _risk in chosen:
        ids.update((standing.member_id, standing.partner_id))
    ids.discard(None)
    return ids


def _stalled(nudged: dict, people: dict[int, Contact], now: datetime, waiting: list[Standing]) -> list[dict]:
    """The stalled list's records, with each person's latest nudge for that loop."""
    days_between, last_nudged = rules.days_between, nudged.get
    rows = []
    for row, role, member_id, _partner, _facts, (stage, since, _reached), _last in waiting:
        email, name = people[member_id]
        loop_id = row.loop_id if row is not None else None
        sent = last_nudged((member_id, loop_id))
        rows.append({
            "email": email,
            "name": name,
            "role": role,
            "loop_id": loop_id,
            "stage": stage,
            "stage_since": since,
            "days_in_stage": days_between(since, now),
            "last_nudged_at": sent,
            "nudged_days_ago": None if sent is None else days_between(sent, now),
        })
    return rows


def _member(standing: Standing, stalled: bool, at_risk: bool, people: dict[int, Contact], now: datetime) -> dict:
    row, role, member_id, partner_id = standing.row, standing.role, standing.member_id, standing.partner_id
    return {
        "email": people[member_id].email,
        "name": people[member_id].name,
        "role": role,
        "loop_id": row.loop_id if row is not None else None,
        "partner": people[partner_id].email if partner_id is not None else None,
        "stage": standing.progress.stage,
        "stage_since": standing.progress.stage_since,
        "days_in_stage": standing.progress.days_in_stage(now),
        "stalled": stalled,
        "at_risk": at_risk,
        "meetings_held": row.held_meetings if row is not None else 0,
    }


def _at_risk(loops: list[LoopRow], risks: dict[int, tuple[str, ...]], fits: dict, people: dict[int, Contact],
             listed: list[int]) -> list[dict]:
    """One entry per loop at risk, saying why: the negative rating and who gave
    it, and/or the poor pairing fit and who said so."""
    rows = {row.loop_id: row for row in loops}
    entries = []
    for loop_id in listed:
        row, reasons = rows[loop_id], risks[loop_id]
        rated_by = people[row.latest_rating_by].email if row.latest_rating_by in people else None
        fit = fits.get(loop_id)
        fit_by = people[fit[1]].email if rules.POOR_PAIRING_FIT in reasons and fit[1] in people else None
        entries.append({
            "loop_id": loop_id,
            "mentor": people[row.mentor_id].email,
            "mentee": people[row.mentee_id].email,
            "reasons": list(reasons),
            "email": rated_by if rules.NEGATIVE_RATING in reasons else fit_by,
            "latest_rating": row.latest_rating,
            "rating_by": rated_by,
            "poor_fit": rules.POOR_PAIRING_FIT in reasons,
            "fit_by": fit_by,
        })
    return entries


def _re_pairing(poor_fits: list[LoopRow], fits: dict, people: dict[int, Contact]) -> list[dict]:
    """The active loops whose latest pairing fit is poor (``poor_fits``): candidates for a new pairing."""
    return [
        {"loop_id": row.loop_id, "mentor": people[row.mentor_id].email, "mentee": people[row.mentee_id].email,
         "fit_by": people[fits[row.loop_id][1]].email, "fit_at": fits[row.loop_id][2]}
        for row in poor_fits
    ]


# A Standing's stage start, read in C: the stalled list sorts tens of thousands.
_stage_since = attrgetter("progress.stage_since")


def _longest_waits(rows: list[Standing], listed: int | None) -> list[Standing]:
    """Longest wait first (earliest stage start); equal starts keep the order
    memberships come in (by loop, mentor before mentee, then the unmatched)."""
    if listed is None:
        return sorted(rows, key=_stage_since)
    return heapq.nsmallest(listed, rows, key=_stage_since)


_STAGE_ORDER = {name: i for i, name in enumerate(rules.STAGES)}


def _member_order(record: dict):
    return _STAGE_ORDER[record["stage"]], record["email"], record["loop_id"] or 0


def program_totals(facts: FactReader) -> dict:
    """Totals of what the program holds up to ``now``: people, loops by state,
    meetings by status, feedback by sentiment, goals, journeys (the report's
    ``activity`` section; the activity report breaks these down over time)."""
    program, now = facts.program, facts.now
    conn = facts.session.connection()
    in_program = Loop.program_id == program.id

    def count(query) -> int:
        return conn.execute(query).scalar_one()

    def scoped(query, loop_column):
        """Limit to this program's facts (the reader's scope)."""
        return query.where(facts.in_scope(loop_column))

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

    statuses = rules.MEETING_STATUSES
    meetings = dict(zip(statuses, conn.execute(sa.select(*(meetings_with(s) for s in statuses))).one()))
    ratings = dict(
        conn.execute(
            scoped(sa.select(Feedback.rating, sa.func.count()), Feedback.loop_id)
            .where(Feedback.created_at <= now)
            .group_by(Feedback.rating)
        ).all()
    )
    sentiments = dict.fromkeys(rules.SENTIMENTS, 0)
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
            rules.OUTCOME_COMPLETED: loops.get(rules.OUTCOME_COMPLETED, 0),
            rules.OUTCOME_CANCELLED: loops.get(rules.OUTCOME_CANCELLED, 0),
        },
        "meetings": meetings,
        "feedback": {"total": sum(sentiments.values()), **sentiments},
        "goals": {"shared": goals_shared, "completed": goals_completed},
        "journeys_shared": journeys,
    }
