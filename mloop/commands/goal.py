"""mloop goal: goals and their tasks, private until shared."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from mloop.commandline import command_group, examples
from mloop.commands._common import CsvFlag, CsvRawFlag, JsonFlag, Term, local, program_session, when_or_none

app = command_group(
    "Set, share and complete goals; add tasks to them.",
    'mloop goal add 2 "Ship a first open-source contribution" --due 2026-04-30',
    'mloop goal list --loop 2',
)
task_app = command_group(
    "Tasks that break a goal down.",
    'mloop goal task add 3 "Pick a good first issue"',
    'mloop goal task list --goal 3',
)
app.add_typer(task_app, name="task")

GoalArg = Annotated[int, typer.Argument(metavar="GOAL", help="The goal's id (see 'mloop goal list').")]


def _record(goal, who=None, loop=None) -> dict:
    record = {
        "id": goal.id, "loop_id": goal.loop_id, "title": goal.title, "term": goal.term, "due": goal.due,
        "created_at": goal.created_at, "shared_at": goal.shared_at, "completed_at": goal.completed_at,
        "locked": goal.locked,
    }
    if who is not None and loop is not None:
        from mloop.store.access import sees_content

        if not sees_content(who, loop):
            record.pop("title")  # coordinators never see goal titles
    return record


@app.command("add", epilog=examples(
    'mloop goal add 2 "Ship a first open-source contribution" --due 2026-04-30',
    'mloop goal add 2 "Move into a data role" --term long --private',
))
def add(
    ctx: typer.Context,
    loop_id: Annotated[int, typer.Argument(metavar="LOOP", help="The loop's id.")],
    title: Annotated[str, typer.Argument(help="What you want to achieve.")],
    term: Annotated[Term, typer.Option("--term", case_sensitive=False, help="A short- or long-term goal.")] = "short",
    due: Annotated[Optional[str], typer.Option("--due", help="Target date (WHEN).")] = None,
    private: Annotated[bool, typer.Option("--private", help="Keep it to yourself until 'goal share'.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Add a goal to your loop; it is shared with your partner unless --private."""
    from mloop.output import emit, pick_format
    from mloop.store.goals import add_goal
    from mloop.store.models import Loop

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        goal = add_goal(session, program, who, loop_id, title=title, term=term.strip().lower(),
                        due=when_or_none(app_ctx, due), private=private, now=app_ctx.now)
        record = _record(goal, who, session.get(Loop, goal.loop_id))
    shared = "private" if goal.shared_at is None else "shared"
    emit(pick_format(json_out), record, message=f"Added goal {goal.id} to loop {loop_id} ({shared}).")


def _goal_action(ctx, goal_id, json_out, action, message):
    from mloop.output import emit, pick_format
    from mloop.store.models import Loop

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        goal = action(session, program, who, goal_id, now=app_ctx.now)
        record = _record(goal, who, session.get(Loop, goal.loop_id))
    emit(pick_format(json_out), record, message=message.format(id=goal.id))


@app.command("done", epilog=examples(
    'mloop goal done 3',
))
def done(ctx: typer.Context, goal_id: GoalArg, json_out: JsonFlag = False) -> None:
    """Mark a goal as achieved."""
    from mloop.store.goals import complete_goal

    _goal_action(ctx, goal_id, json_out, complete_goal, "Goal {id} is done. Well done!")


@app.command("share", epilog=examples(
    'mloop goal share 4',
))
def share(ctx: typer.Context, goal_id: GoalArg, json_out: JsonFlag = False) -> None:
    """Share a private goal with your partner."""
    from mloop.store.goals import share_goal

    _goal_action(ctx, goal_id, json_out, share_goal, "Goal {id} is shared with your partner.")


@app.command("edit", epilog=examples(
    'mloop goal edit 3 --due 2026-05-15',
    'mloop goal edit 4 --title "Move into a data engineering role" --term long',
))
def edit(
    ctx: typer.Context,
    goal_id: GoalArg,
    title: Annotated[Optional[str], typer.Option("--title", help="New title.")] = None,
    term: Annotated[Optional[Term], typer.Option("--term", case_sensitive=False, help="A short- or long-term goal.")] = None,
    due: Annotated[Optional[str], typer.Option("--due", help="New target date (WHEN).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Change a goal's title, term or due date (not a locked program goal)."""
    from mloop.output import emit, pick_format
    from mloop.store.goals import edit_goal

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        goal = edit_goal(session, program, who, goal_id, title=title, term=term.strip().lower() if term else None,
                         due=when_or_none(app_ctx, due), now=app_ctx.now)
        record = _record(goal)
    emit(pick_format(json_out), record, message=f"Goal {goal.id} is updated.")


@app.command("delete", epilog=examples(
    'mloop goal delete 4',
))
def delete(ctx: typer.Context, goal_id: GoalArg, json_out: JsonFlag = False) -> None:
    """Delete a goal and its tasks (not a locked program goal)."""
    from mloop.store.goals import delete_goal

    _goal_action(ctx, goal_id, json_out, delete_goal, "Goal {id} is deleted.")


@app.command("list", epilog=examples(
    'mloop goal list',
    'mloop goal list --loop 2 --csv > goals.csv',
))
def list_(
    ctx: typer.Context,
    loop_id: Annotated[Optional[int], typer.Option("--loop", help="Only this loop.")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """List the goals of your loops (a coordinator sees counts and states, never titles)."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.goals import list_goals
    from mloop.store.models import Loop

    fmt = pick_format(json_out, csv_out, csv_raw)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        records = []
        for goal, tasks in list_goals(session, program, who, loop_id=loop_id, now=app_ctx.now):
            record = _record(goal, who, session.get(Loop, goal.loop_id))
            record["tasks"] = [{"id": t.id, "title": t.title, "due": t.due, "done_at": t.done_at} for t in tasks]
            if "title" not in record:  # a coordinator's view: states, never titles
                record["tasks"] = [{"id": t["id"], "done_at": t["done_at"]} for t in record["tasks"]]
            records.append(record)
    coordinator_view = any("title" not in r for r in records)

    def state(r):
        return "done" if r["completed_at"] else ("shared" if r["shared_at"] else "private")

    shown = [dict(r, state=state(r), due_local=local(app_ctx, r["due"]),
                  tasks_done=f"{sum(1 for t in r['tasks'] if t['done_at'])}/{len(r['tasks'])}") for r in records]
    columns = [Column("id", "Goal", "right"), Column("loop_id", "Loop", "right")]
    if not coordinator_view:
        columns.append(Column("title", "Title"))
    columns += [Column("term", "Term"), Column("state", "State"), Column("due_local", "Due"), Column("tasks_done", "Tasks")]
    emit(fmt, records, rows=Rows(columns, shown, empty="no goals yet: add one with 'mloop goal add LOOP TITLE'"), pager=app_ctx.pager)


@task_app.command("add", epilog=examples(
    'mloop goal task add 3 "Pick a good first issue"',
    'mloop goal task add 3 "Open the pull request" --due "next fri"',
))
def task_add(
    ctx: typer.Context,
    goal_id: GoalArg,
    title: Annotated[str, typer.Argument(help="The task.")],
    due: Annotated[Optional[str], typer.Option("--due", help="Target date (WHEN).")] = None,
    json_out: JsonFlag = False,
) -> None:
    """Add a task to a goal."""
    from mloop.output import emit, pick_format
    from mloop.store.goals import add_task

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        task = add_task(session, program, who, goal_id, title=title, due=when_or_none(app_ctx, due), now=app_ctx.now)
        record = _task_record(task)
    emit(pick_format(json_out), record, message=f"Added task {task.id} to goal {goal_id}.")


def _task_record(task, who=None, loop=None) -> dict:
    record = {"id": task.id, "goal_id": task.goal_id, "title": task.title, "due": task.due, "done_at": task.done_at}
    if who is not None and loop is not None:
        from mloop.store.access import sees_content

        if not sees_content(who, loop):  # a coordinator sees a task's state, as in 'goal list'
            record = {"id": task.id, "goal_id": task.goal_id, "done_at": task.done_at}
    return record


@task_app.command("done", epilog=examples(
    'mloop goal task done 1',
))
def task_done(
    ctx: typer.Context,
    task_id: Annotated[int, typer.Argument(metavar="TASK", help="The task's id (see 'mloop goal task list').")],
    json_out: JsonFlag = False,
) -> None:
    """Mark a task of one of your goals as done."""
    from mloop.output import emit, pick_format
    from mloop.store.goals import complete_task

    with program_session(ctx, write=True) as (app_ctx, session, program, who):
        record = _task_record(complete_task(session, program, who, task_id, now=app_ctx.now))
    emit(pick_format(json_out), record, message=f"Task {record['id']} of goal {record['goal_id']} is done.")


@task_app.command("list", epilog=examples(
    'mloop goal task list',
    'mloop goal task list --goal 3',
))
def task_list(
    ctx: typer.Context,
    goal_id: Annotated[Optional[int], typer.Option("--goal", metavar="GOAL", help="Only this goal's tasks.")] = None,
    json_out: JsonFlag = False,
    csv_out: CsvFlag = False,
    csv_raw: CsvRawFlag = False,
) -> None:
    """List the tasks of the goals you see (a coordinator sees their states, never titles)."""
    from mloop.output import Column, Rows, emit, pick_format
    from mloop.store.goals import list_tasks

    fmt = pick_format(json_out, csv_out, csv_raw)
    with program_session(ctx, write=False) as (app_ctx, session, program, who):
        records = [_task_record(task, who, loop)
                   for task, loop in list_tasks(session, program, who, goal_id=goal_id, now=app_ctx.now)]
    shown = [dict(r, due_local=local(app_ctx, r.get("due")), done_local=local(app_ctx, r["done_at"])) for r in records]
    columns = [Column("id", "Task", "right"), Column("goal_id", "Goal", "right")]
    if all("title" in r for r in records):
        columns += [Column("title", "Title"), Column("due_local", "Due")]
    columns.append(Column("done_local", "Done"))
    emit(fmt, records, rows=Rows(columns, shown, empty="no tasks yet: add one with 'mloop goal task add GOAL TITLE'"), pager=app_ctx.pager)
