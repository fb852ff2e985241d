"""Running many mloop commands in one process (``mloop batch``).

Each line runs through the same entry point as a command typed in a shell
(``MloopGroup.main``: the same parsing, checks, transaction and one-line
errors), with its output caught so that the batch can say which line said
what. The lines share the store's engine (``mloop.context.shared_stores``):
the start-up, the store's opening and the statements' compilation are paid
once, not per line.
"""

from __future__ import annotations

import io
import shlex
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

from mloop.errors import BadFile, UsageError

ERROR_PREFIX = "mloop: error: "


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, in the file
    words: list[str]


@dataclass
class Outcome:
    line: Line
    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def error(self) -> str:
        """The command's one-line error, without the 'mloop: error: ' it starts with."""
        last = self.stderr.strip().splitlines()[-1] if self.stderr.strip() else f"exit status {self.exit_code}"
        return last.removeprefix(ERROR_PREFIX)


def read_lines(text: str, source: str) -> list[Line]:
    """The commands of a batch file: shell words per line, '#' comments and
    blank lines skipped, a leading 'mloop' dropped."""
    lines = []
    for number, raw in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(raw, comments=True)
        except ValueError as error:
            raise BadFile(f"{source}: line {number}: {error} (quote the words as in a shell)") from None
        if words and words[0] == "mloop":
            words = words[1:]
        if not words:
            continue
        if words[0] == "batch":
            raise UsageError(f"{source}: line {number}: a batch cannot run another batch")
        lines.append(Line(number, words))
    return lines


def root_command():
    """mloop's root Click command, built once per process."""
    global _root
    if _root is None:
        from typer.main import get_command

        from mloop.cli import app

        _root = get_command(app)
    return _root


_root = None


def takes_json(words: list[str]) -> bool:
    """Whether the command these words name has a --json option."""
    from mloop.cli import GLOBAL_OPTIONS

    command = root_command()
    skip = False
    for word in words:
        if skip or word.startswith("-"):
            skip = word in GLOBAL_OPTIONS  # a root option's value comes next
            continue
        sub = command.get_command(None, word) if hasattr(command, "get_command") else None
        if sub is None:
            break
        command = sub
    return any("--json" in getattr(param, "opts", ()) for param in command.params)


def run_line(line: Line, prefix: list[str], *, json_out: bool) -> Outcome:
    """Run one line as ``mloop PREFIX WORDS`` and catch what it prints and its exit status."""
    words = prefix + line.words
    if json_out and "--json" not in line.words and takes_json(line.words):
        words.append("--json")
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with redirect_stdout(out), redirect_stderr(err):
        try:
            root_command().main(args=words, prog_name="mloop")
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return Outcome(line, code, out.getvalue(), err.getvalue())


def run_batch(lines: list[Line], *, prefix: list[str], atomic: bool, keep_going: bool, json_out: bool) -> bool:
    """Run ``lines`` in order, writing each one's output as it ends; whether any failed."""
    from mloop.context import shared_stores

    failed = False
    with shared_stores(atomic=atomic) as shared:
        for line in lines:
            outcome = run_line(line, prefix, json_out=json_out)
            _report(outcome, json_out=json_out, atomic=atomic)
            if not outcome.ok:
                failed = True
                if outcome.exit_code == 130:  # interrupted: stop whatever was asked
                    break
                if atomic or not keep_going:
                    break
        shared.end(commit=not failed)
    return failed


ROLLED_BACK = " (--atomic: the whole batch was undone)"


def _report(outcome: Outcome, *, json_out: bool, atomic: bool) -> None:
    error = outcome.error + (ROLLED_BACK if atomic else "")
    if json_out:
        from mloop.output import json_text

        if outcome.ok:
            record = {"line": outcome.line.number, "ok": True, "result": _result(outcome.stdout)}
        else:
            record = {"line": outcome.line.number, "ok": False, "exit_code": outcome.exit_code,
                      "error": error}
        sys.stdout.write(json_text(record) + "\n")
    else:
        sys.stdout.write(outcome.stdout)
    if outcome.ok:
        sys.stderr.write(outcome.stderr)  # a successful line's notes stay on stderr
    else:  # the error line, as any failed command writes it, and in --json mode too
        sys.stderr.write(f"{ERROR_PREFIX}line {outcome.line.number}: {error}\n")


def _result(stdout: str):
    """A line's --json document, or its text where the command has no --json."""
    import json

    try:
        return json.loads(stdout)
    except ValueError:
        return stdout
