"""python -m bench: time mloop as whole processes beside floors measured in the same run.

    python -m bench --size small            # 5 runs each, about a minute
    python -m bench --size large            # 3 runs each, a few minutes
    python -m bench --size tiny --runs 1    # smoke test of the harness, seconds
    python -m bench --engine postgres --pg-url postgresql+psycopg://user@host/db

Every figure is the median of the same number of runs, and every floor is
measured in the same run, interleaved with the commands, so that ratios
compare like with like on whatever machine runs it.  The benchmark reports;
it never asserts.  See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from bench import pg
from bench.results import machine, render_markdown, render_table, revision, write_results
from bench.runner import Series, Spawner
from bench.scenarios import BATCH_LINES, FLOORS, NOW, SCENARIOS

HERE = Path(__file__).resolve().parent
FLOORS_SCRIPT = HERE / "floors.py"
DEFAULT_RUNS = {"tiny": 5, "small": 5, "large": 3}
# Commands cheap enough to run once untimed first, so that no timed run pays for
# compiling .pyc files or reading the interpreter from a cold disk.
WARM_UP = ("typer", "store", "help", "status")
LABELS = {floor.key: f"floor: {floor.short}" for floor in FLOORS} | {s.key: s.label for s in SCENARIOS}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=("tiny", "small", "large"), default="small",
                        help="program size (bench/generate.py); default small")
    parser.add_argument("--runs", type=int, default=None,
                        help="timed runs of every command and floor (default 5; 3 for large)")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file, updated per size and engine (default bench/results.json; "
                             "for tiny, results.json in the work folder so smoke tests leave the repo clean)")
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--pg-url", default=None,
                        help="PostgreSQL server for --engine postgres (postgresql+psycopg://user@host/db); "
                             "the benchmark works in its own mloop_bench_* databases beside the one named")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="work in DIR and keep the program file and stores there for the next run")
    parser.add_argument("--skip-import", action="store_true",
                        help="with --keep: reuse the kept store instead of timing import again")
    parser.add_argument("--markdown", action="store_true",
                        help="print the figures already in the results file as the Markdown table of docs/performance.md, and exit")
    args = parser.parse_args(argv)
    if args.runs is None:
        args.runs = DEFAULT_RUNS[args.size]
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def mloop_executable() -> str:
    beside = Path(sys.executable).parent / "mloop"
    return str(beside) if beside.exists() else (shutil.which("mloop") or "mloop")


class Bench:
    def __init__(self, args: argparse.Namespace, folder: Path, spawner: Spawner):
        self.args = args
        self.spawner = spawner
        self.size = args.size
        self.folder = folder
        self.notes: list[str] = []
        self.floors = {floor.key: Series() for floor in FLOORS}
        self.scenarios = {scenario.key: Series() for scenario in SCENARIOS}
        self.logs = folder / "logs"
        self.logs.mkdir(exist_ok=True)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith("MLOOP_")}
        self.env.update(MLOOP_NOW=NOW, MLOOP_TZ="UTC")
        if args.engine == "sqlite":
            self.store = str(folder / f"store-{self.size}.db")
            self.raw = str(folder / f"raw-{self.size}.db")
        else:
            self.store = pg.with_database(args.pg_url, f"{pg.PREFIX}store_{self.size}")
            self.raw = pg.with_database(args.pg_url, f"{pg.PREFIX}raw_{self.size}")
        self.env["MLOOP_DB"] = self.store
        self.export_path = folder / f"export-{self.size}.jsonl"

    # -- commands ---------------------------------------------------------------

    def commands(self, program: Path, mentee: str) -> dict[str, list[str]]:
        python, mloop, engine = sys.executable, mloop_executable(), self.args.engine
        return {
            "typer": [python, "-c", "import typer"],
            "store": [python, "-c", "import typer, rich.table, sqlmodel"],
            "load": [python, str(FLOORS_SCRIPT), "load", engine, self.raw, str(program)],
            "aggregate": [python, str(FLOORS_SCRIPT), "aggregate", engine, self.raw, NOW],
            "help": [mloop, "--help"],
            "import": [mloop, "import", str(program)],
            "report": [mloop, "coordinator", "report"],
            "stalled": [mloop, "coordinator", "report", "--stalled", "--json"],
            "status": [mloop, "status", "--as", mentee],
            "export": [mloop, "export", "--out", str(self.export_path)],
            "batch": [mloop, "--db", str(self.folder / "batch.db"), "batch", str(self.folder / "batch.txt")],
        }

    def time(self, key: str, argv: list[str], label: str, *, timed: bool = True) -> None:
        sample = self.spawner.run(argv, self.env, self.logs / f"{key}.out", self.logs / f"{key}.err")
        if not timed:
            return
        series = self.floors.get(key) or self.scenarios[key]
        series.samples.append(sample)
        outcome = f"{sample.seconds:7.3f} s {sample.peak_mb:6.0f} MB"
        if sample.exit_code:
            outcome += f"  FAILED (exit {sample.exit_code}): {sample.error}"
        say(f"  {label:<48} {outcome}")

    def fresh(self, where: str) -> None:
        """An empty store (or raw database) before each import."""
        if self.args.engine == "sqlite":
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(where + suffix).unlink(missing_ok=True)
        else:
            pg.recreate(self.args.pg_url, where.rsplit("/", 1)[1].split("?")[0])

    # -- phases -----------------------------------------------------------------

    def write_phase(self, commands: dict[str, list[str]]) -> None:
        """Import and the raw load, each into an empty database every run; the last run's stay."""
        for number in range(1, self.args.runs + 1):
            say(f"run {number}/{self.args.runs} (writes)")
            self.fresh(self.raw)
            self.time("load", commands["load"], LABELS["load"])
            self.fresh(self.store)
            self.time("import", commands["import"], LABELS["import"])

    def read_phase(self, commands: dict[str, list[str]]) -> None:
        order = ("typer", "help", "store", "status", "aggregate", "report", "stalled", "export")
        warm = order if self.size != "large" else WARM_UP
        for key in warm:
            self.time(key, commands[key], key, timed=False)
        for number in range(1, self.args.runs + 1):
            say(f"run {number}/{self.args.runs} (reads)")
            for key in order:
                if key == "export":
                    self.export_path.unlink(missing_ok=True)
                self.time(key, commands[key], LABELS[key])

    def batch_phase(self, commands: dict[str, list[str]]) -> None:
        """``mloop batch`` of BATCH_LINES meeting and feedback lines, each run on a fresh copy of the store."""
        if self.args.engine != "sqlite":
            self.notes.append("batch is timed on SQLite only (each run needs a fresh copy of the store)")
            return
        copy = self.folder / "batch.db"
        (self.folder / "batch.txt").write_text(batch_lines(self.store, BATCH_LINES))
        for number in range(1, self.args.runs + 1):
            say(f"run {number}/{self.args.runs} (batch)")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{copy}{suffix}").unlink(missing_ok=True)
            shutil.copyfile(self.store, copy)
            self.time("batch", commands["batch"], LABELS["batch"])

    def have_kept_stores(self) -> bool:
        if self.args.engine == "sqlite":
            return Path(self.store).exists() and Path(self.raw).exists()
        return True  # databases are checked when opened; a missing one shows as an error


def results_path(args: argparse.Namespace, folder: Path | None) -> Path:
    if args.out is not None:
        return args.out
    if args.size == "tiny" and folder is not None:
        return folder / "results.json"
    return HERE / "results.json"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A polite kill stops the benchmark the same way Ctrl-C does: the running child is stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.markdown:
        path = args.out or HERE / "results.json"
        print(render_markdown(json.loads(path.read_text(encoding="utf-8"))))
        return 0
    if args.engine == "postgres":
        problem = "no --pg-url given" if not args.pg_url else pg.check(args.pg_url)
        if problem:
            say(f"PostgreSQL figures skipped: {problem}. "
                "Give --pg-url postgresql+psycopg://user@host/db of a server where that user may create databases.")
            return 0

    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return bench(args, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="mloop-bench-") as folder:
        return bench(args, Path(folder))


def compile_mloop() -> None:
    """Byte-compile mloop's own modules first, as ``pip install`` does.

    An editable install under PYTHONDONTWRITEBYTECODE=1 (set on some CI
    machines) would otherwise compile every module in every timed run, a
    cost no installed copy pays; the floors' packages are compiled already.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("mloop")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            compileall.compile_dir(location, quiet=1)


def bench(args: argparse.Namespace, folder: Path) -> int:
    say(f"mloop benchmark: {args.size} program, {args.engine}, {args.runs} run(s) of each command, in {folder}")
    load_before = _load_average()
    measured = revision(HERE.parent)
    say(f"preparing the {args.size} program (generated once per folder, then reused)…")
    prepared = subprocess.run([sys.executable, "-m", "bench.program", str(folder), args.size],
                              cwd=HERE.parent, capture_output=True, text=True)
    if prepared.returncode != 0:
        say(f"cannot generate the program: {prepared.stderr.strip().splitlines()[-1:]}")
        return 1
    facts = json.loads(prepared.stdout)
    program, counts, mentee = Path(facts["path"]), facts["counts"], facts["mentee"]
    compile_mloop()
    say(f"{'generated' if facts['generated'] else 'reusing'} {program.name}; status asks about {mentee}")
    with Spawner() as spawner:
        runner = Bench(args, folder, spawner)
        commands = runner.commands(program, mentee)
        measure(runner, args, commands)
    entry = {
        "size": args.size,
        "engine": args.engine,
        "runs": args.runs,
        "date": _now_utc(),
        **measured,
        "machine": machine(),
        "program": counts,
        "status_participant": mentee,
        "commands": {key: _without_password(" ".join(argv), args.pg_url) for key, argv in commands.items()},
        "notes": runner.notes + _moved(measured, revision(HERE.parent)),
        "load_average": {"before": load_before, "after": _load_average()},
    }
    if args.engine == "postgres":
        entry["machine"]["postgres_server"] = pg.server_version(args.pg_url)
        entry["machine"]["postgres_host"] = urlsplit(args.pg_url).hostname or "a local socket"
    if args.engine == "sqlite":
        entry["store_mb"] = round(_size_mb(runner.store), 1)
    report_json = _read_json(runner.logs / "stalled.out")
    if report_json is not None:
        entry["report_stages"] = report_json.get("stages")
        entry["report_stalled"] = len(report_json.get("stalled") or ())
    entry.update(render_table(args.size, args.engine, runner.floors, runner.scenarios, runner.notes))
    out = results_path(args, folder)
    write_results(out, entry)
    say(f"results written to {out}")
    return 0


def measure(runner: Bench, args: argparse.Namespace, commands: dict[str, list[str]]) -> None:
    try:
        if args.skip_import and args.keep is not None and runner.have_kept_stores():
            runner.notes.append("import not timed: --skip-import reused the kept store")
        else:
            if args.skip_import:
                runner.notes.append("--skip-import needs --keep DIR with a kept store: import timed instead")
            runner.write_phase(commands)
        runner.read_phase(commands)
        runner.batch_phase(commands)
    finally:
        if args.engine == "postgres" and args.keep is None:
            pg.drop(args.pg_url, [f"{pg.PREFIX}store_{args.size}", f"{pg.PREFIX}raw_{args.size}"])


def batch_lines(store: str, count: int) -> str:
    """``count`` lines for ``mloop batch``: in turn, a mentor logs a meeting of an
    active loop and its mentee gives the loop feedback, over up to 100 loops."""
    import sqlite3

    with sqlite3.connect(store) as conn:
        loops = conn.execute(
            "SELECT loop.id, mentor.email, mentee.email FROM loop"
            " JOIN participant AS mentor ON mentor.id = loop.mentor_id"
            " JOIN participant AS mentee ON mentee.id = loop.mentee_id"
            " WHERE loop.ended_at IS NULL AND loop.matched_at < ? ORDER BY loop.id LIMIT 100",
            ("2027-05-01",),
        ).fetchall()
    lines = []
    for i in range(count // 2):
        loop, mentor, mentee = loops[i % len(loops)]
        day, minute = 1 + i // len(loops), i % 60
        lines.append(f"meet log {loop} --at 2027-05-{day:02d}T10:{minute:02d} --as {mentor}")
        lines.append(f"feedback give {loop} --rating 4 --as {mentee}")
    return "\n".join(lines) + "\n"


def _moved(before: dict, after: dict) -> list[str]:
    """Others commit while the benchmark runs: say so when the code measured changed under it."""
    if before == after:
        return []
    return [f"the code changed during the run: commit {before['commit']} at the start, {after['commit']} at the end"
            + (", mloop/ with uncommitted changes" if after["mloop_uncommitted_changes"] else "")]


def _without_password(text: str, url: str | None) -> str:
    password = urlsplit(url).password if url else None
    return text.replace(f":{password}@", ":***@") if password else text


def _load_average() -> list[float] | None:
    """Other work on the machine while measuring (1, 5, 15 minutes), recorded beside the figures."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def _now_utc() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _size_mb(path: str) -> float:
    return sum(Path(path + suffix).stat().st_size for suffix in ("", "-wal") if Path(path + suffix).exists()) / 2**20


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    sys.exit(main())
