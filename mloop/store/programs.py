"""Program settings and starter goals.

A program's settings are its name, ``stall_days`` (the stall threshold of every
stage), ``momentum_meetings``, and a threshold per stage where the program
wants one (say 14 days for First Meeting); the rules take them as data.
Starter goals are goals the program gives every new loop when it is matched.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, func, select

from mloop import rules
from mloop.errors import Conflict, NotFound, StoreError, UsageError, valid_id
from mloop.store.access import Actor, check_program_numbers, require_coordinator
from mloop.store.checks import check_name, check_term, check_title
from mloop.store.models import Goal, Loop, Program, StarterGoal



def stage_stall_days(program: Program) -> dict[str, int]:
    """The program's own thresholds, stage -> days, for the stages that have one."""
    try:
        found = json.loads(program.stage_stall_days or "{}")
    except ValueError:
        raise StoreError(f"program {program.name!r} has unreadable stage thresholds: set them again with "
                         "'mloop program set --stage-stall-days STAGE=DAYS'") from None
    return {stage: int(days) for stage, days in found.items() if stage in rules.STAGES}


def thresholds(program: Program) -> dict[str, int]:
    """Every stage's stall threshold in days (Completed never stalls, so has none)."""
    return rules.stall_days_by_stage(program.stall_days, stage_stall_days(program))


def own_health_weights(program: Program) -> dict[str, int]:
    """The health parts the program weighs its own way, part -> weight."""
    try:
        found = json.loads(program.health_weights or "{}")
    except ValueError:
        raise StoreError(f"program {program.name!r} has unreadable health weights: set them again with "
                         "'mloop program set --health-weight PART=WEIGHT'") from None
    return {part: int(found[part]) for part in rules.HEALTH_PARTS if part in found}


def health_weights(program: Program) -> dict[str, int]:
    """Every health part's weight: the program's own, else the default."""
    return {**rules.HEALTH_WEIGHTS, **own_health_weights(program)}


def parse_health_weight(text: str) -> tuple[str, int | None]:
    """'cadence=40' -> ('cadence', 40); 'cadence=default' drops the program's own."""
    part_text, sep, weight_text = text.partition("=")
    part = part_text.strip().lower().replace("-", "_")
    if not sep or part not in rules.HEALTH_PARTS:
        raise UsageError(f"--health-weight takes PART=WEIGHT with PART one of {', '.join(rules.HEALTH_PARTS)}, "
                         f"not {text!r}")
    weight_text = weight_text.strip().lower()
    if weight_text in ("default", ""):
        return part, None
    if not weight_text.isdigit() or int(weight_text) > 1000:
        raise UsageError(f"--health-weight {text!r}: the weight is a whole number from 0 to 1000, or 'default'")
    return part, int(weight_text)


def set_health_weights(program: Program, changes: dict[str, int | None]) -> list[str]:
    """Apply part -> weight (None: the default) to the program; what changed, as lines."""
    own = own_health_weights(program)
    before = health_weights(program)
    for part, weight in changes.items():
        if weight is None:
            own.pop(part, None)
        else:
            own[part] = weight
    after = {**rules.HEALTH_WEIGHTS, **own}
    try:
        rules.check_health_weights(after)
    except ValueError as error:
        raise UsageError(f"--health-weight: {error}") from None
    program.health_weights = json.dumps({p: own[p] for p in rules.HEALTH_PARTS if p in own}, separators=(",", ":"))
    return [f"health weight of {part}: {before[part]} -> {after[part]}" for part in rules.HEALTH_PARTS
            if before[part] != after[part]]


def parse_stage_days(text: str) -> tuple[str, int | None]:
    """'first_meeting=14' -> ('first_meeting', 14); 'first_meeting=default' clears it."""
    stage_text, sep, days_text = text.partition("=")
    if not sep:
        raise UsageError(f"--stage-stall-days takes STAGE=DAYS (e.g. first_meeting=14), not {text!r}")
    stage = stage_text.strip().lower().replace("-", "_").replace(" ", "_")
    if stage not in rules.STALL_STAGES:
        choices = ", ".join(rules.STALL_STAGES)
        raise UsageError(f"unknown stage {stage_text.strip()!r} in --stage-stall-days: use one of {choices}")
    days_text = days_text.strip().lower()
    if days_text in ("default", ""):
        return stage, None
    try:
        days = int(days_text)
    except ValueError:
        raise UsageError(f"--stage-stall-days {text!r}: days must be a whole number of at least 1, or 'default'") from None
    if not 1 <= days <= rules.MAX_STALL_DAYS:
        raise UsageError(f"--stage-stall-days {text!r}: days must be 1 to {rules.MAX_STALL_DAYS} "
                         "(or 'default' for the program's)")
    return stage, days


def settings(session: Session, program: Program) -> dict:
    starters = list_starter_goals(session, program)
    return {
        "program": program.name,
        "default": program.is_default,
        "stall_days": program.stall_days,
        "stage_stall_days": thresholds(program),
        "momentum_meetings": program.momentum_meetings,
        "health_weights": health_weights(program),
        "min_group": program.min_group,
        "created_at": program.created_at,
        "starter_goals": [starter_record(g) for g in starters],
    }


def update_program(
    session: Session,
    program: Program,
    who: Actor,
    *,
    name: str | None = None,
    stall_days: int | None = None,
    momentum_meetings: int | None = None,
    stage_days: dict[str, int | None] | None = None,
    weights: dict[str, int | None] | None = None,
    min_group: int | None = None,
    make_default: bool = False,
) -> list[str]:
    """Change the program's settings; returns what changed, as 'key: old -> new'."""
    require_coordinator(who, "changing the program's settings")
    check_program_numbers(stall_days=stall_days, momentum_meetings=momentum_meetings, min_group=min_group)
    changes: list[str] = []
    if name is not None:
        name = check_name(name, "program name")
        if not name:
            raise UsageError("a program needs a name: --name NAME")
        if name != program.name:
            taken = session.exec(select(Program.id).where(Program.name == name, Program.id != program.id)).first()
            if taken is not None:
                raise Conflict(f"there is already a program named {name!r}: pick another name")
            changes.append(f"name: {program.name} -> {name}")
            program.name = name
    if stall_days is not None and stall_days != program.stall_days:
        changes.append(f"stall_days: {program.stall_days} -> {stall_days}")
        program.stall_days = stall_days
    if momentum_meetings is not None and momentum_meetings != program.momentum_meetings:
        changes.append(f"momentum_meetings: {program.momentum_meetings} -> {momentum_meetings}")
        program.momentum_meetings = momentum_meetings
    if stage_days:
        own = stage_stall_days(program)
        for stage, days in stage_days.items():
            before = own.get(stage)
            if days is None:
                own.pop(stage, None)
            else:
                own[stage] = days
            if own.get(stage) != before:
                changes.append(f"stall days at {stage}: {before or 'default'} -> {own.get(stage) or 'default'}")
        program.stage_stall_days = json.dumps({s: own[s] for s in rules.STAGES if s in own}, separators=(",", ":"))
    if weights:
        changes += set_health_weights(program, weights)
    if min_group is not None and min_group != program.min_group:
        changes.append(f"min_group: {program.min_group} -> {min_group}")
        program.min_group = min_group
    if make_default and not program.is_default:
        for other in session.exec(select(Program).where(Program.is_default)).all():
            other.is_default = False
            session.add(other)
        program.is_default = True
        changes.append("default: no -> yes")
    session.add(program)
    session.flush()
    return changes


def remove_program(session: Session, program: Program) -> None:
    """Deletes ``program`` and every record it holds, children before the rows
    they point to (the store's foreign keys do not cascade)."""
    import sqlalchemy as sa

    from mloop.store.models import (
        Agreement, Feedback, JourneyShare, Meeting, Milestone, MilestoneDone, Nudge, NudgeTemplate, PairingFit,
        Participant, Task,
    )

    loops = sa.select(Loop.id).where(Loop.program_id == program.id)
    goals = sa.select(Goal.id).where(Goal.loop_id.in_(loops))
    milestones = sa.select(Milestone.id).where(Milestone.program_id == program.id)
    for table, owned in (
        (Nudge, Nudge.program_id == program.id),
        (NudgeTemplate, NudgeTemplate.program_id == program.id),
        (PairingFit, PairingFit.loop_id.in_(loops)),
        (Agreement, Agreement.loop_id.in_(loops)),
        (MilestoneDone, MilestoneDone.milestone_id.in_(milestones)),
        (JourneyShare, JourneyShare.loop_id.in_(loops)),
        (Feedback, Feedback.loop_id.in_(loops)),
        (Task, Task.goal_id.in_(goals)),
        (Goal, Goal.loop_id.in_(loops)),
        (Meeting, Meeting.loop_id.in_(loops)),
        (Loop, Loop.program_id == program.id),
        (StarterGoal, StarterGoal.program_id == program.id),
        (Milestone, Milestone.program_id == program.id),
        (Participant, Participant.program_id == program.id),
        (Program, Program.id == program.id),
    ):
        session.execute(sa.delete(table).where(owned))
    session.expunge(program)


def list_programs(session: Session) -> list[dict]:
    programs = session.exec(select(Program).order_by(Program.name)).all()
    counts = dict(session.exec(select(Loop.program_id, func.count()).group_by(Loop.program_id)).all())
    return [
        {"program": p.name, "default": p.is_default, "stall_days": p.stall_days,
         "momentum_meetings": p.momentum_meetings, "loops": counts.get(p.id, 0), "created_at": p.created_at}
        for p in programs
    ]


# --- starter goals -----------------------------------------------------------

def starter_record(goal: StarterGoal) -> dict:
    return {"id": goal.id, "title": goal.title, "term": goal.term, "locked": goal.locked}


def list_starter_goals(session: Session, program: Program) -> list[StarterGoal]:
    return list(session.exec(
        select(StarterGoal).where(StarterGoal.program_id == program.id).order_by(StarterGoal.id)
    ).all())


def add_starter_goal(
    session: Session, program: Program, who: Actor, *, title: str, term: str, locked: bool, now: datetime,
) -> StarterGoal:
    require_coordinator(who, "adding a starter goal")
    title = check_title(title, "starter goal title")
    if not title:
        raise UsageError("a starter goal needs a title: mloop program goal add 'Agree on a mentoring agreement'")
    check_term(term)
    same = session.exec(
        select(StarterGoal.id).where(StarterGoal.program_id == program.id, StarterGoal.title == title)
    ).first()
    if same is not None:
        raise Conflict(f"{program.name} already has the starter goal {title!r} (id {same})")
    goal = StarterGoal(program_id=program.id, title=title, term=term, locked=locked, created_at=now)
    session.add(goal)
    session.flush()
    return goal


def remove_starter_goal(session: Session, program: Program, who: Actor, goal_id: int) -> StarterGoal:
    """Stop giving new loops this goal; loops that already have it keep it."""
    require_coordinator(who, "removing a starter goal")
    goal = session.get(StarterGoal, goal_id) if valid_id(goal_id) else None
    if goal is None or goal.program_id != program.id:
        raise NotFound(f"no starter goal {goal_id} in {program.name}: see 'mloop program goal list'")
    session.delete(goal)
    session.flush()
    return goal


def plant_starter_goals(session: Session, program: Program, loop: Loop) -> list[Goal]:
    """Give a new loop the program's starter goals, shared with both members from the match."""
    planted = [
        Goal(loop_id=loop.id, author_id=None, title=starter.title, term=starter.term, locked=starter.locked,
             created_at=loop.matched_at, shared_at=loop.matched_at)
        for starter in list_starter_goals(session, program)
    ]
    session.add_all(planted)
    session.flush()
    return planted
