"""The activity report: what happened in a program between ``since`` and ``now``.

Counts only (coordinators never see titles, agendas or notes): meetings held
per ISO week, feedback by sentiment, goals created and completed, custom
milestones completed by milestone and role, matches made and ended.  Every
bound is inclusive: ``since <= t <= now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.store.models import Feedback, Goal, Loop, Meeting, Milestone, MilestoneDone, Program

DEFAULT_WEEKS = 12


def default_since(now: datetime) -> datetime:
    return now - timedelta(weeks=DEFAULT_WEEKS)


def week_start(moment: datetime) -> datetime:
    """Monday 00:00 UTC of the ISO week holding ``moment``."""
    day = moment.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def activity_report(session: Session, program: Program, now: datetime, since: datetime) -> dict:
    conn = session.connection()
    in_program = sa.select(Loop.id).where(Loop.program_id == program.id)

    def within(column):
        return sa.and_(column.is_not(None), column >= since, column <= now)

    # Each fact falls in the ISO week of its moment: a held meeting at its start
    # (only those booked by now), feedback when given, a goal when created and
    # when completed, a loop when matched and when it ended.
    weeks: dict[datetime, dict] = {}
    monday, last = week_start(since), week_start(now)
    while monday <= last:
        year, week, _ = monday.isocalendar()
        weeks[monday] = {"week": f"{year}-W{week:02d}", "week_start": monday.date().isoformat(), "held": 0,
                         **dict.fromkeys(rules.SENTIMENTS, 0), "goals_created": 0, "goals_completed": 0,
                         "matches_made": 0, "matches_ended": 0}
        monday += timedelta(weeks=1)

    def count(moment: datetime | None, key: str) -> None:
        if moment is not None and since <= moment <= now:
            weeks[week_start(moment)][key] += 1

    for (start,) in conn.execute(sa.select(Meeting.start).where(
            Meeting.loop_id.in_(in_program), Meeting.status == rules.HELD, Meeting.created_at <= now,
            within(Meeting.start))):
        count(start, "held")
    for given, rating in conn.execute(sa.select(Feedback.created_at, Feedback.rating).where(
            Feedback.loop_id.in_(in_program), within(Feedback.created_at))):
        count(given, rules.sentiment(rating))
    for created, completed in conn.execute(sa.select(Goal.created_at, Goal.completed_at).where(
            Goal.loop_id.in_(in_program), sa.or_(within(Goal.created_at), within(Goal.completed_at)))):
        count(created, "goals_created")
        count(completed, "goals_completed")
    for matched, ended in conn.execute(sa.select(Loop.matched_at, Loop.ended_at).where(
            Loop.program_id == program.id, Loop.matched_at <= now,
            sa.or_(within(Loop.matched_at), within(Loop.ended_at)))):
        count(matched, "matches_made")
        count(ended, "matches_ended")
    series = list(weeks.values())
    sentiments = {key: sum(w[key] for w in series) for key in rules.SENTIMENTS}

    goals_created, goals_completed = conn.execute(
        sa.select(
            sa.func.count().filter(within(Goal.created_at)),
            sa.func.count().filter(within(Goal.completed_at)),
        ).where(Goal.loop_id.in_(in_program))
    ).one()

    # The role is the one the person held in the loop; a program milestone done outside a loop keeps its own.
    role = sa.case(
        (MilestoneDone.participant_id == Loop.mentor_id, "mentor"),
        (MilestoneDone.participant_id == Loop.mentee_id, "mentee"),
        else_=Milestone.role,
    )
    milestones = [
        {"milestone": name, "role": who, "completed": n}
        for name, who, n in conn.execute(
            sa.select(Milestone.name, role, sa.func.count())
            .select_from(MilestoneDone)
            .join(Milestone, Milestone.id == MilestoneDone.milestone_id)
            .outerjoin(Loop, Loop.id == MilestoneDone.loop_id)
            .where(Milestone.program_id == program.id, within(MilestoneDone.done_at))
            .group_by(Milestone.name, role)
            .order_by(Milestone.name, role)
        ).all()
    ]

    made, completed, cancelled = conn.execute(
        sa.select(
            sa.func.count().filter(within(Loop.matched_at)),
            sa.func.count().filter(within(Loop.ended_at), Loop.outcome == rules.OUTCOME_COMPLETED),
            sa.func.count().filter(within(Loop.ended_at), Loop.outcome == rules.OUTCOME_CANCELLED),
        ).where(Loop.program_id == program.id, Loop.matched_at <= now)
    ).one()

    return {
        "program": program.name,
        "as_of": now,
        "since": since,
        "meetings": {"held": sum(w["held"] for w in series),
                     "per_week": [{"week": w["week"], "week_start": w["week_start"], "held": w["held"]} for w in series]},
        "weeks": series,
        "feedback": {"total": sum(sentiments.values()), **sentiments},
        "goals": {"created": goals_created, "completed": goals_completed},
        "milestones": milestones,
        "matches": {"made": made, "ended": completed + cancelled, "completed": completed, "cancelled": cancelled},
    }


def activity_csv_rows(document: dict) -> list[dict]:
    """The report as (section, key, count) rows: one per week, sentiment, goal tally, milestone and role, match tally."""
    rows = [{"section": "meetings_held", "key": w["week"], "count": w["held"]} for w in document["meetings"]["per_week"]]
    rows += [{"section": "feedback", "key": k, "count": document["feedback"][k]} for k in rules.SENTIMENTS]
    rows += [{"section": "goals", "key": k, "count": v} for k, v in document["goals"].items()]
    rows += [{"section": "milestones", "key": f"{m['milestone']} ({m['role']})", "count": m["completed"]}
             for m in document["milestones"]]
    rows += [{"section": "matches", "key": k, "count": v} for k, v in document["matches"].items()]
    return rows
