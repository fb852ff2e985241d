"""Goal tasks through the CLI: added, marked done and listed, with the goals' privacy."""

from __future__ import annotations

import csv
import io

import pytest

CORA, BO, ANA, CY = "cora@example.org", "bo@example.org", "ana@example.org", "cy@example.org"


@pytest.fixture
def tasks(cli, make_program, add_person, make_loop) -> dict:
    """Bo mentors Ana (loop 1) and Cy (loop 2); Ana's shared goal has two tasks, Bo's private one has one."""
    make_program(now=cli.at(days=-10))
    cli.ok("participant", "add", "--name", "Cora", "--email", CORA, "--role", "coordinator", now=cli.at(days=-10))
    add_person(BO, "mentor", capacity=2, as_user=CORA, now=cli.at(days=-10))
    add_person(ANA, "mentee", as_user=CORA, now=cli.at(days=-10))
    add_person(CY, "mentee", as_user=CORA, now=cli.at(days=-10))
    ana_loop = make_loop(BO, ANA, as_user=CORA, now=cli.at(days=-9))
    cy_loop = make_loop(BO, CY, as_user=CORA, now=cli.at(days=-9))
    shared = cli.json("goal", "add", ana_loop, "Ship a package", user=ANA, now=cli.at(days=-8))["id"]
    private = cli.json("goal", "add", ana_loop, "Ask for a raise", "--private", user=BO, now=cli.at(days=-8))["id"]
    ids = {"ana_loop": ana_loop, "cy_loop": cy_loop, "shared": shared, "private": private}
    ids["readme"] = cli.json("goal", "task", "add", shared, "Write the README", "--due", "2026-03-10",
                             user=ANA, now=cli.at(days=-7))["id"]
    ids["release"] = cli.json("goal", "task", "add", shared, "Tag a release", user=BO, now=cli.at(days=-7))["id"]
    ids["secret"] = cli.json("goal", "task", "add", private, "Collect numbers", user=BO, now=cli.at(days=-7))["id"]
    return ids


def test_done_marks_the_task_done_now(cli, tasks):
    record = cli.json("goal", "task", "done", tasks["readme"], user=BO, now=cli.at(days=-1))
    assert record == {"id": tasks["readme"], "goal_id": tasks["shared"], "title": "Write the README",
                      "due": "2026-03-10T00:00:00Z", "done_at": cli.at(days=-1)}
    said = cli.ok("goal", "task", "done", tasks["release"], user=ANA).stdout
    assert said == f"Task {tasks['release']} of goal {tasks['shared']} is done.\n"
    listed = cli.json("goal", "list", user=ANA)[0]["tasks"]
    assert [t["done_at"] for t in listed] == [cli.at(days=-1), cli.at()]


@pytest.mark.parametrize(("who", "task", "code", "message"), [
    (CY, "readme", 1, "no task {id} among your tasks: see 'mloop goal task list'"),  # not her loop
    (ANA, "secret", 1, "no task {id} among your tasks: see 'mloop goal task list'"),  # Bo's private goal
    (CORA, "readme", 1, "completing a task is for the loop's mentor or mentee: act as one of them with --as EMAIL"),
    (ANA, 99, 1, "no task 99 in Spring 2026: see 'mloop goal task list'"),
    (ANA, 0, 1, "no task 0 in Spring 2026: see 'mloop goal task list'"),
])
def test_done_refusals_leave_the_store_unchanged(cli, tasks, who, task, code, message):
    task_id = tasks.get(task, task)
    before = cli.snapshot()
    cli.fails("goal", "task", "done", task_id, user=who, code=code, match=message.format(id=task_id))
    assert cli.snapshot() == before


def test_a_task_already_done_is_refused(cli, tasks):
    cli.ok("goal", "task", "done", tasks["readme"], user=ANA, now=cli.at(days=-1))
    before = cli.snapshot()
    line = cli.check_error(cli("goal", "task", "done", tasks["readme"], user=BO), code=1)
    assert line == f"mloop: error: task {tasks['readme']} is already done (since 2026-03-01)"
    assert cli.snapshot() == before


def test_a_task_of_an_ended_loop_is_read_only(cli, tasks):
    cli.ok("match", "end", tasks["ana_loop"], "--outcome", "completed", user=CORA, now=cli.at(days=-2))
    before = cli.snapshot()
    line = cli.check_error(cli("goal", "task", "done", tasks["readme"], user=ANA), code=1)
    assert line == (f"mloop: error: loop {tasks['ana_loop']} ended on 2026-02-28 (completed) and is read-only: "
                    "cannot complete a task")
    assert cli.snapshot() == before


def test_list_shows_the_tasks_of_the_goals_you_see(cli, tasks):
    cli.ok("goal", "task", "done", tasks["release"], user=BO, now=cli.at(days=-1))
    readme = {"id": tasks["readme"], "goal_id": tasks["shared"], "title": "Write the README",
              "due": "2026-03-10T00:00:00Z", "done_at": None}
    release = {"id": tasks["release"], "goal_id": tasks["shared"], "title": "Tag a release", "due": None,
               "done_at": cli.at(days=-1)}
    secret = {"id": tasks["secret"], "goal_id": tasks["private"], "title": "Collect numbers", "due": None,
              "done_at": None}
    assert cli.json("goal", "task", "list", user=ANA) == [readme, release]  # not Bo's private goal
    assert cli.json("goal", "task", "list", user=BO) == [readme, release, secret]
    assert cli.json("goal", "task", "list", "--goal", tasks["private"], user=BO) == [secret]
    assert cli.json("goal", "task", "list", user=CY) == []
    assert cli.ok("goal", "task", "list", user=CY).stdout == "no tasks yet: add one with 'mloop goal task add GOAL TITLE'\n"
    table = cli.ok("goal", "task", "list", user=ANA).stdout
    assert "Write the README" in table and "2026-03-10 00:00" in table and "2026-03-01 09:00" in table
    rows = list(csv.DictReader(io.StringIO(cli.ok("goal", "task", "list", "--csv", user=ANA).stdout)))
    assert [(r["id"], r["title"], r["done_local"]) for r in rows] == [
        (str(tasks["readme"]), "Write the README", ""), (str(tasks["release"]), "Tag a release", "2026-03-01 09:00 UTC")]


def test_a_coordinator_lists_task_states_never_titles(cli, tasks):
    cli.ok("goal", "task", "done", tasks["release"], user=BO, now=cli.at(days=-1))
    listed = cli.json("goal", "task", "list", user=CORA)
    assert listed == [{"id": tasks["readme"], "goal_id": tasks["shared"], "done_at": None},
                      {"id": tasks["release"], "goal_id": tasks["shared"], "done_at": cli.at(days=-1)}]
    assert cli.json("goal", "task", "list", "--goal", tasks["shared"], user=CORA) == listed
    table = cli.ok("goal", "task", "list", user=CORA).stdout
    assert "README" not in table and "release" not in table and "Collect" not in table


@pytest.mark.parametrize(("who", "goal", "message"), [
    (ANA, "private", "no goal {id} among your goals: see 'mloop goal list'"),
    (CY, "shared", "no goal {id} among your goals: see 'mloop goal list'"),
    (CORA, "private", "listing tasks is for the loop's mentor or mentee: act as one of them with --as EMAIL"),
])
def test_list_of_a_goal_you_may_not_see_is_refused(cli, tasks, who, goal, message):
    cli.fails("goal", "task", "list", "--goal", tasks[goal], user=who, code=1, match=message.format(id=tasks[goal]))
