"""Loop health: the facts of each active loop gathered for ``rules.loop_health``."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.store.memberships import FactReader, Membership, memberships
from mloop.store.models import Agreement, Program


def cadence_of(text: str | None, matched_at: datetime) -> timedelta | None:
    """An agreement's cadence ("2w", "1 month") as a length of time from the match."""
    if not text:
        return None
    from mloop.timeparse import WhenError, parse_offset

    try:
        return (matched_at + parse_offset(text, what="a meeting cadence")) - matched_at
    except WhenError:
        return None


def health_facts(members: list[Membership], cadence: timedelta | None, fit: str | None,
                 now: datetime) -> rules.HealthFacts:
    """One loop's facts from its two memberships."""
    first = members[0]
    owed = sum(1 for m in members if rules.checkin_due(m.matched_at, m.last_loop_feedback, now) is not None)
    return rules.HealthFacts(
        matched_at=first.matched_at,
        stages=tuple(m.progress.stage for m in members),
        last_held=first.last_meeting_at,
        cadence=cadence,
        latest_rating=first.latest_rating,
        latest_fit=fit,
        checkins_owed=owed,
    )


def loop_health(session: Session, program: Program, now: datetime, *,
                weights: dict[str, int] | None = None) -> list[dict]:
    """Every active loop's health, lowest score first."""
    members = memberships(session, program, now, include_unmatched=False, with_counts=True)
    rows = _health_rows(session, program, now, _by_loop(members), weights)
    rows.sort(key=lambda row: (row["score"], row["loop_id"]))
    return rows


def member_loop_health(session: Session, program: Program, now: datetime, members: list[Membership], *,
                       weights: dict[str, int] | None = None) -> dict[int, dict]:
    """loop -> health, for the loops among ``members``: one person's
    memberships with their partners' (``memberships(with_partners=True)``)."""
    return {row["loop_id"]: row for row in _health_rows(session, program, now, _by_loop(members), weights)}


def _by_loop(members: list[Membership]) -> dict[int, list[Membership]]:
    """loop -> its members' memberships, of those in a loop."""
    by_loop: dict[int, list[Membership]] = {}
    for m in members:
        if m.loop_id is not None:
            by_loop.setdefault(m.loop_id, []).append(m)
    return by_loop


def _health_rows(session: Session, program: Program, now: datetime, by_loop: dict[int, list[Membership]],
                 weights: dict[str, int] | None) -> list[dict]:
    if not by_loop:
        return []
    fits = FactReader(session, program, now, list(by_loop)).latest_fits()
    cadences = dict(session.connection().execute(
        sa.select(Agreement.loop_id, Agreement.cadence).where(
            Agreement.loop_id.in_(list(by_loop)), Agreement.created_at <= now)).all())
    rows = []
    for loop_id, members in by_loop.items():
        members = sorted(members, key=lambda m: m.role != rules.MENTOR)
        facts = health_facts(members, cadence_of(cadences.get(loop_id), members[0].matched_at),
                             fits[loop_id][0] if loop_id in fits else None, now)
        health = rules.loop_health(facts, now, weights)
        people = {m.role: m.person.email for m in members}
        rows.append({
            "loop_id": loop_id,
            "mentor": people.get(rules.MENTOR),
            "mentee": people.get(rules.MENTEE),
            "score": health.score,
            "parts": {part.name: {"value": round(part.value, 3), "weight": part.weight,
                                  "points": round(part.points, 1), "raise_by": part.raise_by}
                      for part in health.parts},
        })
    return rows
