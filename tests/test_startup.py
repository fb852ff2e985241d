"""Start-up: the root lists its commands without importing them."""

from __future__ import annotations

import subprocess
import sys

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
