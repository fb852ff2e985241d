"""Start-up: the root lists its commands without importing them; leaving: the
console script ends the process as soon as the command is done, with its exit
code and all its output."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

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
        "from mloop.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
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
        "from mloop.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('mloop.commands.')), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "schedule" in result.stdout
    assert "mloop.commands.goal" not in result.stderr and "mloop.commands.meet" in result.stderr


# --- leaving: the console script ends the process once the command is done ----------


class Ended(Exception):
    """What the fake os._exit raises: the process would have ended with ``code``."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


class Stream:
    def __init__(self, log: list[str], name: str, error: Exception | None = None):
        self.log, self.name, self.error = log, name, error

    def flush(self) -> None:
        self.log.append(f"flush {self.name}")
        if self.error is not None:
            raise self.error


def leave_after(monkeypatch, command, *, stdout_error: Exception | None = None) -> tuple[int, list[str]]:
    """run() with main() replaced by ``command``: the exit code it ends the process with, and what it did first."""
    import atexit

    import mloop.cli as cli

    log: list[str] = []

    def fake_exit(code: int):
        log.append("exit")
        raise Ended(code)

    monkeypatch.setattr(cli, "main", command)
    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    monkeypatch.setattr(atexit, "_run_exitfuncs", lambda: log.append("exit handlers"))
    monkeypatch.setattr(sys, "stdout", Stream(log, "stdout", stdout_error))
    monkeypatch.setattr(sys, "stderr", Stream(log, "stderr"))
    try:
        with pytest.raises(Ended) as ended:
            cli.run()
    finally:
        gc.enable()  # run() turns the cycle collector off for the rest of its process
    return ended.value.code, log


def raising(code):
    def command():
        raise SystemExit(code)
    return command


@pytest.mark.parametrize(("command", "code"), [(lambda: None, 0), (raising(0), 0), (raising(None), 0),
                                               (raising(1), 1), (raising(2), 2), (raising(130), 130)])
def test_the_console_script_ends_with_the_commands_exit_code_after_the_exit_handlers_and_output(
        monkeypatch, command, code):
    assert leave_after(monkeypatch, command) == (code, ["exit handlers", "flush stdout", "flush stderr", "exit"])


def test_the_console_script_runs_the_command_without_the_cycle_collector(monkeypatch):
    collector = []
    leave_after(monkeypatch, lambda: collector.append(gc.isenabled()))
    assert collector == [False]
    assert gc.isenabled()


def test_a_reader_gone_before_the_output_was_flushed_ends_with_code_1(monkeypatch):
    assert leave_after(monkeypatch, raising(0), stdout_error=BrokenPipeError())[0] == 1
    assert leave_after(monkeypatch, raising(2), stdout_error=BrokenPipeError())[0] == 2


def test_a_thread_still_running_gets_the_usual_exit_which_waits_for_it(monkeypatch):
    import threading

    import mloop.cli as cli

    release = threading.Event()
    worker = threading.Thread(target=release.wait, args=(30,))

    def command():
        worker.start()
        raise SystemExit(0)

    monkeypatch.setattr(cli, "main", command)
    monkeypatch.setattr(cli.os, "_exit", lambda code: pytest.fail("ended the process under a running thread"))
    try:
        with pytest.raises(SystemExit) as leaving:
            cli.run()
        assert leaving.value.code == 0
    finally:
        gc.enable()
        release.set()
        worker.join()


def test_a_text_exit_gets_the_usual_exit(monkeypatch):
    import mloop.cli as cli

    monkeypatch.setattr(cli, "main", raising("stopped"))
    monkeypatch.setattr(cli.os, "_exit", lambda code: pytest.fail("ended the process on a text exit"))
    try:
        with pytest.raises(SystemExit) as leaving:
            cli.run()
    finally:
        gc.enable()
    assert leaving.value.code == "stopped"


def test_python_m_mloop_keeps_what_it_wrote_and_prints_all_its_output(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLOOP_")}
    env.update(MLOOP_DB=str(tmp_path / "store.db"), MLOOP_NOW="2026-03-02T09:00:00Z", MLOOP_TZ="UTC")

    def mloop(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "mloop", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    # ~80 KB of JSON to list: more than a pipe holds at once.
    names = [f"Person {i} " + "x" * 240 for i in range(300)]
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
    failed = mloop("status", "--as", "nobody@example.org")
    assert (failed.returncode, failed.stdout) == (1, "")
    assert failed.stderr.startswith("mloop: error: ") and len(failed.stderr.splitlines()) == 1


def test_commands_build_no_pydantic_validator_for_the_tables_yet_validation_works(tmp_path):
    """The tables' validators are deferred (models.DEFERRED): a write and a report
    never build them; a model validated on purpose still is, in full."""
    code = (
        "import sys\n"
        "from mloop.cli import main\n"
        "for argv in (['participant', 'add', '--email', 'ana@example.org', '--name', 'Ana', '--role', 'coordinator'],\n"
        "             ['coordinator', 'report', '--as', 'ana@example.org']):\n"
        "    sys.argv = ['mloop', *argv]\n"
        "    try:\n        main()\n    except SystemExit as leaving:\n        assert not leaving.code, leaving.code\n"
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
