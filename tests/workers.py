"""Worker processes that run mloop commands against one store, started together.

Each worker is one Python process that imports mloop once and then runs the
CLI's own entry point per command — a fresh engine, connection and transaction
every time, exactly as separate ``mloop`` invocations would, without paying
the interpreter start-up hundreds of times on a small CI machine.  Workers
wait at a start line (a file) until all have started, so that they really run
at the same moment.  Used by tests/test_concurrency.py and
tests/test_reliability.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from itertools import count
from pathlib import Path

import mloop

NOW = "2026-03-02T09:00:00Z"

# Runs in each worker process: python worker.py GO MODE ARGS...
#   once ARG...: run 'mloop ARG...' once (its command's module imported before the start)
#   log LOOP ROUNDS: log a meeting and give feedback on it, ROUNDS times
#   pair COORDINATOR MENTOR MENTEE ROUNDS: match the pair, then ROUNDS times log a meeting
#       as the mentor and give feedback on it as the mentee; then leave the file GO.done.PID
#   report COORDINATOR WRITERS: 'coordinator report --json' over and over until WRITERS
#       done files exist, then once more
# Prints {"results": [[exit code, stderr], ...], "outputs": [stdout, ...], "elapsed": seconds}.
WORKER = textwrap.dedent(
    """
    import gc, importlib, io, json, os, sys, time
    from contextlib import redirect_stderr, redirect_stdout

    from mloop.cli import COMMANDS, app

    gc.set_threshold(1_000_000, 20, 20)  # as the console script runs a command (mloop.cli.run)

    go, mode, rest = sys.argv[1], sys.argv[2], sys.argv[3:]
    results, outputs = [], []

    def mloop(*args):
        out, err = io.StringIO(), io.StringIO()
        code = 0
        try:
            with redirect_stdout(out), redirect_stderr(err):
                app(args=[str(a) for a in args], prog_name="mloop")
        except SystemExit as done:
            code = done.code or 0
        results.append([code, err.getvalue()])
        outputs.append(out.getvalue())
        return code, out.getvalue()

    def log(loop_id, n, mentor=None, mentee=None):
        acting = ["--as", mentor] if mentor else []
        code, out = mloop(*acting, "meet", "log", loop_id, "--at", f"2026-02-{n % 27 + 1:02d} 10:00",
                          "--notes", f"round {n}", "--json")
        if code:
            return code
        acting = ["--as", mentee] if mentee else []
        code, _ = mloop(*acting, "feedback", "give", loop_id, "--meeting", json.loads(out)["id"],
                        "--rating", 1 + n % 5, "--comment", f"round {n}", "--json")
        return code

    if mode == "once":  # so that the command's own work starts at the line, not its imports
        importlib.import_module(COMMANDS[next(arg for arg in rest if arg in COMMANDS)].module)
        importlib.import_module("mloop.store.db")
    open(f"{go}.ready.{os.getpid()}", "w").close()
    while not os.path.exists(go):  # start every worker at the same moment
        time.sleep(0.002)
    started = time.monotonic()
    if mode == "once":
        mloop(*rest)
    elif mode == "log":
        for n in range(int(rest[1])):
            if log(rest[0], n):
                break
    elif mode == "pair":
        coordinator, mentor, mentee, rounds = rest
        code, out = mloop("--as", coordinator, "match", "create", "--mentor", mentor, "--mentee", mentee,
                          "--at", "2026-01-05", "--json")
        for n in range(int(rounds) if code == 0 else 0):
            if log(json.loads(out)["id"], n, mentor, mentee):
                break
        open(f"{go}.done.{os.getpid()}", "w").close()
    elif mode == "report":
        coordinator, writers = rest[0], int(rest[1])
        folder, done = os.path.dirname(go), os.path.basename(go) + ".done."
        while True:
            finished = sum(name.startswith(done) for name in os.listdir(folder)) >= writers
            mloop("--as", coordinator, "coordinator", "report", "--json")
            if finished:
                break
    sys.stdout.write(json.dumps({"results": results, "outputs": outputs, "elapsed": time.monotonic() - started}))
    """
)
_start_lines = count()


def start_workers(tmp_path: Path, store: str, jobs: list[tuple[str | None, list[str]]]
                  ) -> tuple[Path, list[subprocess.Popen]]:
    """Start one worker per (acting user or None, MODE and ARGS); return once all
    stand at the start line, with the file whose creation starts them."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / f"go{next(_start_lines)}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLOOP_")}
    # The workers import this checkout's mloop, whatever is installed.
    env["PYTHONPATH"] = os.pathsep.join([str(Path(mloop.__file__).parent.parent), env.get("PYTHONPATH", "")])
    env.update(MLOOP_DB=store, MLOOP_NOW=NOW, MLOOP_TZ="UTC")
    workers = [
        subprocess.Popen([sys.executable, str(script), str(go), *args],
                         env={**env, **({"MLOOP_USER": user} if user else {})},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for user, args in jobs
    ]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob(f"{go.name}.ready.*"))) < len(workers):
        assert time.monotonic() < deadline and all(w.poll() is None for w in workers), "a worker did not start"
        time.sleep(0.01)
    return go, workers


def finish(worker: subprocess.Popen) -> dict:
    """Wait for a worker to end; its report."""
    out, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, f"worker exited {worker.returncode}: {err}"
    assert err == "", err
    return json.loads(out)


def run_together(tmp_path: Path, store: str, jobs: list[tuple[str | None, list[str]]]) -> tuple[list[dict], float]:
    """Start one worker per job, release them at once, wait for all; their reports and the time taken."""
    go, workers = start_workers(tmp_path, store, jobs)
    started = time.monotonic()
    go.touch()
    reports = [dict(finish(worker), user=user) for (user, _args), worker in zip(jobs, workers)]
    return reports, time.monotonic() - started
