"""Reports as data: the coordinator funnel and a participant's status.

Both return plain, JSON-ready dicts; the commands render them.  Coordinators
see stages, counts, meeting counts and feedback ratings, never goal titles,
agendas or notes; a participant sees their own loops and never the partner's
feedback (so no at-risk flag either: it would give that feedback away).
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from mloop import rules
from mloop.errors import NotFound, UsageError
from mloop.records import Records, encode_text
from mloop.store.models import Feedback, Goal, JourneyShare, Loop, Meeting, PairingFit, Participant, Program
from mloop.store.participants import roles_of
from mloop.store.agreements import latest_fits, overdue_checkins
from mloop.store.programs import thresholds
from mloop.store.progress import (
    FactReader, LoopRow, Membership, Standing, cycle_collector_paused, memberships, standings,
)

STALLED_KEYS = ("email", "name", "role", "loop_id", "stage", "stage_since", "days_in_stage",
                "last_nudged_at", "nudged_days_ago")


def parse_stage(text: str) -> str:
    key = text.strip().lower().replace("-", "_").replace(" ", "_")
    if key in rules.STAGES:
        return key
    raise UsageError(f"unknown stage {text!r}: use one of {', '.join(rules.STAGES)}")


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

    One pass over the memberships counts the stages and keeps only the rows
    the document lists, in raw times; only those are turned into records.
    """
    facts = FactReader(session, program, now)
    wants_members = with_rows or stage is not None
    jobs: dict = {}
    if not facts.client_server:
        # SQLite computes a whole program's loops in one step, without the
        # interpreter (FactReader._loops_in_one_row): on the second connection,
        # while this one reads the other facts.
        jobs["loops"] = lambda s: FactReader(s, program, now).loops(program.momentum_meetings,
                                                                     with_counts=wants_members)
    with facts.reading_ahead(*FactReader.AHEAD, **jobs, activity=lambda s: activity(s, program, now),
                             checkins=lambda s: overdue_checkins(s, program, now)):
        return _report(facts, program, now, stage=stage, stalled=stalled, at_risk=at_risk,
                       wants_members=wants_members, with_rows=with_rows, listed=listed)


def _report(facts: FactReader, program: Program, now: datetime, *, stage: str | None, stalled: bool,
            at_risk: bool, wants_members: bool, with_rows: bool, listed: int | None) -> tuple[dict, list[dict]]:
    if facts.client_server:
        # The loops here (the server's longest query) while the other facts are read ahead.
        loops = facts.loops(program.momentum_meetings, with_counts=wants_members)
    else:
        # The facts here while the loops are computed ahead (each is read once per reader).
        facts.member_feedback()
        facts.shared_goals()
        facts.journey_shares()
        loops = facts.result("loops")
    people = facts.people()
    stall_days = thresholds(program)
    # Raw stage starts before which someone is stalled, per stage (none for Completed).
    stalled_before = {name: facts.raw(now - timedelta(days=days)) for name, days in stall_days.items()}.get
    at_risk_of = rules.is_at_risk
    # Loops whose latest pairing fit is poor: at risk, and listed for re-pairing.
    poor_fit = {loop_id: (author, at) for loop_id, (fit, author, at) in latest_fits(facts.session, program, now).items()
                if fit == "poor"}
    # The loops at risk, decided once per loop rather than once per member.
    risky_ids = {row.loop_id for row in loops if at_risk_of(row.latest_rating)}.union(poor_fit)
    stages = dict.fromkeys(rules.STAGES, 0)
    waiting: list[Standing] = []  # the stalled, among the chosen
    risky: dict[int, LoopRow] = {}  # the loops at risk, among the chosen
    chosen: list[tuple[Standing, bool, bool]] = []  # (membership, stalled, at risk), when their rows are wanted
    for standing in standings(facts, loops, people):
        row, _role, _member, _partner, progress = standing
        progress_stage = progress.stage
        stages[progress_stage] += 1
        if stage is not None and progress_stage != stage:
            continue
        risk = row is not None and row.loop_id in risky_ids
        if at_risk and not risk:
            continue
        # is_stalled in raw times: strictly more than the stage's threshold, in a stage that is not the last.
        limit = stalled_before(progress_stage)
        waits = limit is not None and progress.stage_since < limit
        if waits:
            waiting.append(standing)
        elif stalled:
            continue
        if risk:
            risky[row.loop_id] = row
        if wants_members:
            chosen.append((standing, waits, risk))

    records = ReportRecords(facts, people, now)
    at_risk_rows = records.at_risk(risky, poor_fit)
    document = {
        "program": program.name,
        "as_of": now,
        "stall_days": program.stall_days,
        "stage_stall_days": stall_days,
        "momentum_meetings": program.momentum_meetings,
        "stages": stages,
        "stalled": records.stalled(_longest_waits(waiting, listed)),
        "at_risk": at_risk_rows[:listed],
        "activity": facts.result("activity"),
        "checkins_overdue": facts.result("checkins"),
        "re_pairing": records.re_pairing(loops, poor_fit),
        "milestones": _milestone_counts(facts.session, program, now),
    }
    members = [records.member(*choice) for choice in chosen]
    members.sort(key=_member_order)
    if stage is not None:
        document["members"] = members[:listed]
    if listed is not None:
        document["stalled_total"] = len(waiting)
        document["at_risk_total"] = len(at_risk_rows)
        if stage is not None:
            document["members_total"] = len(chosen)
    return document, members if with_rows else []


class ReportRecords:
    """Turns the report's chosen memberships (raw times) into its records."""

    def __init__(self, facts: FactReader, people: dict[int, tuple], now: datetime) -> None:
        self.facts, self.people, self.now = facts, people, now
        self.time = facts.time
        self.day = timedelta(days=1)

    def stalled(self, waiting: list[Standing]) -> Records:
        """The stalled list's records, given longest wait first (stage starts never decreasing).

        Someone has been in a stage at least ``d`` whole days when their start
        is no later than ``now - d days``; walking the starts in order, the
        days in stage need one raw comparison per person, and a new boundary
        only when the count drops, instead of parsing every start.
        """
        people, text, raw, now, day = self.people, self.facts.text, self.facts.raw, self.now, self.day
        rows = []
        nudged = {}
        if waiting:
            days = (now - self.time(waiting[0][4].stage_since)) // day
            bound = raw(now - days * day)
            # One query for everyone's latest nudge, looked up per row (the list can run to 80k people).
            from mloop.store.nudges import last_nudges
            from mloop.timeparse import isoformat_utc

            nudged = {key: (isoformat_utc(sent), (now - sent) // day)
                      for key, sent in last_nudges(self.facts.session, self.facts.program, now).items()}
        never = (None, None)
        nudge = never
        for row, role, member_id, _partner, progress in waiting:
            since = progress.stage_since
            while since > bound:
                days -= 1
                bound = raw(now - days * day)
            person = people[member_id]
            loop_id = row and row.loop_id
            if nudged:
                nudge = nudged.get((member_id, loop_id), never)
            rows.append((
                person[1], person[2], role, loop_id, progress.stage,
                text(since),  # text already: JSON writes it as is
                days, nudge[0], nudge[1],
            ))
        return Records(STALLED_KEYS, rows, _stalled_json)

    def member(self, standing: Standing, stalled: bool, at_risk: bool) -> dict:
        row, role, member_id, partner_id, progress = standing
        people = self.people
        since = self.time(progress.stage_since)
        return {
            "email": people[member_id][1],
            "name": people[member_id][2],
            "role": role,
            "loop_id": row and row.loop_id,
            "partner": people[partner_id][1] if partner_id is not None else None,
            "stage": progress.stage,
            "stage_since": since,
            "days_in_stage": (self.now - since) // self.day,
            "stalled": stalled,
            "at_risk": at_risk,
            "meetings_held": row.held_meetings if row else 0,
        }

    def at_risk(self, risky: dict[int, LoopRow], poor_fit: dict[int, tuple]) -> list[dict]:
        """One entry per loop at risk, naming who gave the negative feedback
        (or, for a poor pairing fit alone, who said so)."""
        ids = sorted(risky)
        authors = self.facts.latest_rating_authors(ids) if ids else {}
        people = self.people
        entries = []
        for loop_id in ids:
            row = risky[loop_id]
            author = authors.get(loop_id) if rules.is_at_risk(row.latest_rating) else poor_fit[loop_id][0]
            entries.append({
                "loop_id": loop_id,
                "mentor": people[row.mentor_id][1],
                "mentee": people[row.mentee_id][1],
                "email": people[author][1] if author in people else None,
                "latest_rating": row.latest_rating,
                "poor_fit": loop_id in poor_fit,
            })
        return entries

    def re_pairing(self, loops: list[LoopRow], poor_fit: dict[int, tuple]) -> list[dict]:
        """The active loops whose latest pairing fit is poor: candidates for a new pairing."""
        if not poor_fit:
            return []
        people = self.people
        return [
            {"loop_id": row.loop_id, "mentor": people[row.mentor_id][1], "mentee": people[row.mentee_id][1],
             "fit_by": people[poor_fit[row.loop_id][0]][1], "fit_at": poor_fit[row.loop_id][1]}
            for row in loops if row.loop_id in poor_fit
        ]


def _stalled_json(row: tuple, text=encode_text) -> str:
    """One stalled record as JSON (the stalled list is most of a large report's
    JSON).  Role and stage are names from fixed sets and the stage start is UTC
    text, none needing escapes; a test holds this to ``json.dumps``."""
    email, name, role, loop_id, stage, stage_since, days_in_stage, last_nudged_at, nudged_days_ago = row
    loop = "null" if loop_id is None else loop_id
    nudged_at = "null" if last_nudged_at is None else f'"{last_nudged_at}"'
    nudged_ago = "null" if nudged_days_ago is None else nudged_days_ago
    return (f'{{"email":{text(email)},"name":{text(name)},"role":"{role}","loop_id":{loop},'
            f'"stage":"{stage}","stage_since":"{stage_since}","days_in_stage":{days_in_stage},'
            f'"last_nudged_at":{nudged_at},"nudged_days_ago":{nudged_ago}}}')


def _longest_waits(rows: list[Standing], listed: int | None) -> list[Standing]:
    """Longest wait first (earliest stage start); equal starts keep the order
    memberships come in (by loop, mentor before mentee, then the unmatched)."""
    since = _stage_since
    if listed is None:
        return sorted(rows, key=since)
    return heapq.nsmallest(listed, rows, key=since)


def _stage_since(standing: Standing):
    return standing[4].stage_since


_STAGE_ORDER = {name: i for i, name in enumerate(rules.STAGES)}


def _member_order(record: dict):
    return _STAGE_ORDER[record["stage"]], record["email"], record["loop_id"] or 0


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


def _loop_state(session: Session, program: Program, m: Membership, now: datetime) -> tuple[rules.LoopState, dict]:
    """What the member's next steps count live, and the status fields behind it."""
    from mloop.store.agreements import agreement_of, agreement_record

    conn = session.connection()
    shared, done = conn.execute(
        sa.select(
            sa.func.count().filter(Goal.shared_at.is_not(None), Goal.shared_at <= now),
            sa.func.count().filter(Goal.shared_at.is_not(None), Goal.shared_at <= now,
                                   Goal.completed_at.is_not(None), Goal.completed_at <= now),
        ).where(Goal.loop_id == m.loop_id)
    ).one()
    last_loop_feedback = conn.execute(
        sa.select(sa.func.max(Feedback.created_at)).where(
            Feedback.loop_id == m.loop_id, Feedback.author_id == m.person.id, Feedback.meeting_id.is_(None),
            Feedback.created_at <= now)
    ).scalar()
    fit = conn.execute(
        sa.select(PairingFit.fit).where(PairingFit.loop_id == m.loop_id, PairingFit.author_id == m.person.id,
                                        PairingFit.created_at <= now)
        .order_by(PairingFit.created_at.desc(), PairingFit.id.desc()).limit(1)
    ).scalar()
    agreement = agreement_record(session, agreement_of(session, m.loop_id, now))
    due = rules.checkin_due(m.matched_at, last_loop_feedback, now)
    state = rules.LoopState(
        held_meetings=m.held_meetings, momentum_meetings=program.momentum_meetings, shared_goals=shared,
        goals_done=done, has_agreement=agreement is not None, has_fit=fit is not None, checkin_due=due,
    )
    fields = {"agreement": agreement, "goals": {"shared": shared, "done": done}, "pairing_fit": fit,
              "checkin_due": due}
    return state, fields


def _loop_entry(session: Session, program: Program, m: Membership, now: datetime, *, history: bool) -> dict:
    state, fields = _loop_state(session, program, m, now)
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
        "next_steps": list(rules.next_steps(m.progress.stage, m.role, state, m.loop_id)),
        **fields,
    }
    # The confirm-ahead advice needs a booking to confirm; a completed loop may rest.
    entry["no_meeting_booked"] = entry["next_meeting"] is None and m.progress.stage != rules.COMPLETED
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
    document["loops"] = [_loop_entry(session, program, m, now, history=history) for m in in_loops]
    _add_milestones(session, program, person, now, document)
    if history:
        document["ended_loops"] = [
            entry
            for ended_id in _ended_loop_ids(session, program, person, now, loop_id)
            if (entry := _ended_entry(session, program, person, ended_id)) is not None
        ]
    return document


def _milestone_counts(session: Session, program: Program, now: datetime) -> list[dict]:
    """Done and overdue counts per custom milestone (one cheap query when there are none)."""
    from mloop.store.milestones import milestone_counts

    return milestone_counts(session, program, now)


def _add_milestones(session: Session, program: Program, person: Participant, now: datetime, document: dict) -> None:
    """The person's program milestones under ``participant``, each loop's relationship ones under it."""
    from mloop.store.milestones import member_milestones

    items = member_milestones(session, program, person, now)
    document["participant"]["milestones"] = [item.status_record() for item in items if item.loop_id is None]
    for entry in document["loops"]:
        entry["milestones"] = [item.status_record() for item in items if item.loop_id == entry["loop_id"]]


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
    counts and feedback ratings — never goal titles, agendas or notes.

    Nudges sent to the person are listed by loop (``loop_id`` None: sent
    while unmatched, under ``participant``), without their text."""
    from mloop.store.models import Nudge

    members = memberships(session, program, now, person_id=person.id, with_counts=True)
    nudges: dict[int | None, list[dict]] = {}
    for loop_id, sent_at, stage, days_in_stage in session.connection().execute(
        sa.select(Nudge.loop_id, Nudge.sent_at, Nudge.stage, Nudge.days_in_stage)
        .where(Nudge.program_id == program.id, Nudge.participant_id == person.id, Nudge.sent_at <= now)
        .order_by(Nudge.sent_at, Nudge.id)
    ):
        nudges.setdefault(loop_id, []).append({"sent_at": sent_at, "stage": stage, "days_in_stage": days_in_stage})
    card: dict = {
        "participant": {
            "email": person.email, "name": person.name, "roles": roles_of(person),
            "joined_at": person.joined_at, "capacity": person.capacity,
            "nudges": nudges.get(None, []),
        },
        "as_of": now,
        "loops": [],
    }
    for m in members:
        if m.loop_id is None:
            card["participant"].update(
                stage=m.progress.stage, stage_since=m.progress.stage_since,
                days_in_stage=m.days, stalled=m.stalled,
                last_activity=m.progress.stage_since,
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
            "nudges": nudges.get(m.loop_id, []),
        })
    return card
