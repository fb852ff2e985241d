"""Goals of a loop and their tasks: added, shared, completed, edited and listed."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, and_, or_, select

from mloop.errors import Conflict, Forbidden, NotFound, UsageError, valid_id
from mloop.store.access import Actor, is_member, loop_for, require_active
from mloop.store.checks import check_goal_title, check_goal_unlocked, check_task_title, check_term, check_title
from mloop.store.models import Goal, Loop, Program, Task


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
        goal.title = check_title(title, "goal title")
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


def get_task(session: Session, program: Program, who: Actor, task_id: int, *, doing: str) -> tuple[Task, Loop]:
    """A task of a goal the actor may act on (see ``get_goal``); one they may
    not see is as unknown to them as a goal they may not see."""
    task = session.get(Task, task_id) if valid_id(task_id) else None
    if task is None:
        raise NotFound(f"no task {task_id} in {program.name}: see 'mloop goal task list'")
    try:
        _goal, loop = get_goal(session, program, who, task.goal_id, doing=doing)
    except NotFound:
        raise NotFound(f"no task {task_id} among your tasks: see 'mloop goal task list'") from None
    return task, loop


def complete_task(session: Session, program: Program, who: Actor, task_id: int, *, now: datetime) -> Task:
    task, loop = get_task(session, program, who, task_id, doing="completing a task")
    require_active(loop, now, "complete a task")
    if task.done_at is not None and task.done_at <= now:
        raise Conflict(f"task {task.id} is already done (since {task.done_at:%Y-%m-%d})")
    task.done_at = now
    session.add(task)
    session.flush()
    return task


def list_tasks(
    session: Session, program: Program, who: Actor, *, goal_id: int | None, now: datetime,
) -> list[tuple[Task, Loop]]:
    """The tasks of the goals ``who`` sees (as ``list_goals`` and ``get_goal``
    decide), each with its loop so the caller can drop what a coordinator
    does not see."""
    if goal_id is not None:
        goal, loop = get_goal(session, program, who, goal_id, doing="listing tasks", coordinator_ok=True)
        tasks = session.exec(select(Task).where(Task.goal_id == goal.id).order_by(Task.id))
        return [(task, loop) for task in tasks]
    return [(task, session.get(Loop, goal.loop_id))
            for goal, tasks in list_goals(session, program, who, loop_id=None, now=now) for task in tasks]


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
