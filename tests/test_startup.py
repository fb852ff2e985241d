"""Start-up: the root lists its commands without importing them; the console
script: its exit codes, all its output, and a reader gone early."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest
import typer

from mloop.cli import COMMANDS, app


def test_every_listed_command_exists_with_the_same_help():
    root = typer.main.get_command(app)
    context = root.make_context("mloop", [], resilient_parsing=True)
    for name, entry in COMMANDS.items():
        command = root.get_command(context, name)
        assert command is not None, name
        first_line = (command.help or "").strip().splitlines()[0]
        assert first_line == entry.help, name


def test_root_help_imports_no_command_module_and_no_store():
    code = (
        "import sys\n"
        "sys.argv = ['mloop', '--help']\n"
        "from mloop.cli import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "loaded = [m for m in sys.modules if m.startswith(('mloop.commands.', 'mloop.store', 'sqlalchemy', 'sqlmodel', 'rich'))]\n"
        "print(sorted(loaded), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Commands:" in result.stdout
    assert result.stderr.strip() == "[]"


def test_a_group_help_loads_only_that_group():
    code = (
        "import sys\n"
        "sys.argv = ['mloop', 'meet', '--help']\n"
        "from mloop.cli import run\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('mloop.commands.')), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "schedule" in result.stdout
    assert "mloop.commands.goal" not in result.stderr and "mloop.commands.meet" in result.stderr


# --- the console script: exit codes, output, a reader gone early ----------------------


@pytest.fixture
def mloop(tmp_path):
    """``python -m mloop ARGS`` as a process of its own, on a store in tmp_path;
    its output captured as text unless told where it goes."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLOOP_")}
    env.pop("PYTHONUNBUFFERED", None)  # output to a pipe is buffered, as most people run Python
    env.update(MLOOP_DB=str(tmp_path / "store.db"), MLOOP_NOW="2026-03-02T09:00:00Z", MLOOP_TZ="UTC")

    def run_mloop(*args: str, unbuffered: bool = False, **streams) -> subprocess.CompletedProcess:
        streams = streams or {"stdout": subprocess.PIPE}
        return subprocess.run([sys.executable, "-m", "mloop", *args], stderr=subprocess.PIPE, text=True,
                              env=dict(env, PYTHONUNBUFFERED="1") if unbuffered else env, timeout=120, **streams)

    return run_mloop


def test_python_m_mloop_keeps_what_it_wrote_and_prints_all_its_output(tmp_path, mloop):
    # ~80 KB of JSON to list: more than a pipe holds at once.
    names = [f"Person {i} " + "x" * 180 for i in range(300)]
    lines = [json.dumps({"type": "program", "name": "Spring 2026"})]
    lines += [json.dumps({"type": "participant", "email": f"p{i}@example.org", "name": name, "roles": ["mentee"],
                          "joined_at": "2026-01-05T09:00:00Z"}) for i, name in enumerate(names)]
    (tmp_path / "people.jsonl").write_text("\n".join(lines) + "\n")
    assert mloop("import", str(tmp_path / "people.jsonl")).returncode == 0
    added = mloop("participant", "add", "--email", "last@example.org", "--name", "Last", "--role", "mentor")
    assert added.returncode == 0, added.stderr

    listed = mloop("participant", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert sorted(person["name"] for person in json.loads(listed.stdout)) == sorted([*names, "Last"])
    for args, code in ((("status", "--as", "nobody@example.org"), 1), (("participant", "list", "--bogus"), 2)):
        failed = mloop(*args)
        assert (failed.returncode, failed.stdout) == (code, ""), args
        assert failed.stderr.startswith("mloop: error: ") and len(failed.stderr.splitlines()) == 1, failed.stderr


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("args", [
    (), ("--help",), ("meet",), ("participant", "list", "--json"), ("participant", "list"),
    ("coordinator", "report", "--as", "ana@example.org"), ("export", "--as", "ana@example.org"),
])
def test_a_reader_gone_before_the_output_ends_the_command_quietly_with_code_0(mloop, args, unbuffered):
    """'mloop ... | head': the reader of the pipe has gone before mloop writes,
    so every write fails (at once when unbuffered, at the final flush when
    buffered); the reader had all it wanted, so, as for git, nothing is said
    about it and the exit code is 0."""
    added = mloop("participant", "add", "--email", "ana@example.org", "--name", "Ana", "--role", "coordinator")
    assert added.returncode == 0, added.stderr
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        gone = mloop(*args, stdout=write_end, unbuffered=unbuffered)
    finally:
        os.close(write_end)
    assert (gone.returncode, gone.stderr) == (0, "")


def test_a_reader_gone_after_the_first_lines_ends_the_export_quietly_with_code_0(tmp_path, mloop):
    """'mloop export | head -1' on a program larger than a pipe holds: the
    reader leaves after one line, while mloop is still writing."""
    lines = [json.dumps({"type": "program", "name": "Spring 2026"})]
    lines += [json.dumps({"type": "participant", "email": f"p{i}@example.org", "name": f"Person {i} " + "x" * 180,
                          "roles": ["coordinator"], "joined_at": "2026-01-05T09:00:00Z"}) for i in range(600)]
    (tmp_path / "people.jsonl").write_text("\n".join(lines) + "\n")
    assert mloop("import", str(tmp_path / "people.jsonl")).returncode == 0
    for unbuffered in (False, True):
        finished = {}
        read_end, write_end = os.pipe()
        writer = threading.Thread(target=lambda: finished.update(
            result=mloop("export", "--as", "p0@example.org", stdout=write_end, unbuffered=unbuffered)))
        writer.start()
        with os.fdopen(read_end, "rb") as reader:
            assert json.loads(reader.readline())["type"] == "program"
        writer.join(timeout=150)
        os.close(write_end)
        assert (finished["result"].returncode, finished["result"].stderr) == (0, ""), unbuffered


def test_commands_build_no_pydantic_validator_for_the_tables_yet_validation_works(tmp_path):
    """The tables' validators are deferred (models.DEFERRED): a write and a report
    never build them; a model validated on purpose still is, in full."""
    code = (
        "import sys\n"
        "from mloop.cli import run\n"
        "for argv in (['participant', 'add', '--email', 'ana@example.org', '--name', 'Ana', '--role', 'coordinator'],\n"
        "             ['coordinator', 'report', '--as', 'ana@example.org']):\n"
        "    sys.argv = ['mloop', *argv]\n"
        "    try:\n        run()\n    except SystemExit as leaving:\n        assert not leaving.code, leaving.code\n"
        "from sqlmodel import SQLModel\n"
        "from mloop.store import models\n"
        "tables = [value for value in vars(models).values()\n"
        "          if isinstance(value, type) and issubclass(value, SQLModel) and value is not SQLModel]\n"
        "built = sorted(table.__name__ for table in tables if table.__pydantic_complete__)\n"
        "sys.stderr.write('RESULT ' + repr((len(tables), built)) + '\\n')\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLOOP_")}
    env.update(MLOOP_DB=str(tmp_path / "store.db"), MLOOP_TZ="UTC")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    result = [line for line in done.stderr.splitlines() if line.startswith("RESULT ")]
    assert result, done.stderr
    assert result[-1] == "RESULT (16, [])"


def test_a_deferred_table_model_still_validates_and_dumps():
    from datetime import datetime, timezone

    from pydantic import ValidationError

    from mloop.store.models import Program

    program = Program.model_validate({"name": "Spring", "created_at": "2026-03-02T09:00:00Z", "stall_days": "14"})
    assert (program.stall_days, program.created_at) == (14, datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    assert program.model_dump()["name"] == "Spring"
    with pytest.raises(ValidationError):
        Program.model_validate({"name": "Spring", "created_at": "not a time"})
