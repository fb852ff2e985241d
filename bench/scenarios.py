"""What the benchmark times, what each figure is compared with, and the targets (issue 3, DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass

from bench.runner import Series

NOW = "2027-06-01T09:00:00Z"  # bench/generate.py's NOW: every stage populated, stalls real


@dataclass(frozen=True)
class Floor:
    key: str
    label: str
    short: str
    meaning: str


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    floor: str  # the Floor it is shown against
    startup: str  # the floor whose median is its start-up, for "work beyond start-up"
    meaning: str


FLOORS = (
    Floor("typer", 'python -c "import typer"', "import typer",
          "a Python process that imports Typer and does nothing: the least any Typer CLI costs"),
    Floor("store", 'python -c "import typer, rich.table, sqlmodel"', "import typer+rich+sqlmodel",
          "start-up of any command that renders from the store: the bare imports, no query"),
    Floor("load", "raw load (json + executemany, one transaction)", "raw load",
          "the same JSONL parsed with json and inserted into equivalent tables (same columns, "
          "foreign keys and indexes) with executemany in one transaction: bench/floors.py load"),
    Floor("aggregate", "raw SQL aggregate (per-loop GROUP BY)", "raw aggregate",
          "the report's facts as plain SQL over the raw tables (per-loop and per-member aggregates "
          "of meetings, feedback, goals and shares, unmatched people, activity counts), fetched and "
          "nothing more: bench/floors.py aggregate"),
)

SCENARIOS = (
    Scenario("help", "mloop --help", "typer", "typer", "start-up alone: no store is opened"),
    Scenario("import", "mloop import FILE", "load", "store",
             "the whole program into a fresh store, one transaction (progress bar hidden: not a terminal)"),
    Scenario("report", "mloop coordinator report", "aggregate", "store",
             "funnel, stalled people, loops at risk and activity as Rich tables"),
    Scenario("stalled", "mloop coordinator report --stalled --json", "aggregate", "store",
             "the stalled list as one JSON document"),
    Scenario("status", "mloop status --as MENTEE", "store", "store",
             "one far-along mentee's loops, stages and next steps"),
    Scenario("export", "mloop export --out FILE", "store", "store", "the whole program back to JSON Lines"),
    Scenario("batch", "mloop batch FILE (1,000 lines)", "store", "store",
             "500 'meet log' and 500 'feedback give' lines in one process, each its own transaction, "
             "on a copy of the store made before each run (SQLite)"),
)

FLOOR_BY_KEY = {floor.key: floor for floor in FLOORS}

# A store command on a small store may cost at most this many times the store floor.
SMALL_STORE_RATIO = 1.2
HELP_RATIO = 1.5
LARGE_REPORT_WORK_S = 1.5
LARGE_REPORT_PEAK_MB = 300
LARGE_IMPORT_S = 60
BATCH_LINES = 1000
BATCH_LINE_MS = 5  # per line, beyond one start-up


@dataclass
class Verdict:
    target: str  # the bar, as text
    value: str  # what was measured against it
    passed: bool | None  # None: no target for this figure


def judge(scenario: Scenario, size: str, series: Series, floors: dict[str, Series]) -> Verdict:
    """Compare one scenario with the targets of issue 3 item 2. Reports; never raises."""
    target = target_text(scenario, size)
    if series.failed:
        return Verdict(target, f"error: {series.error}", False)
    if target == "—":
        return Verdict(target, "", None)
    median, peak = series.median, series.peak_mb
    startup = floors[scenario.startup].median
    if startup is None and scenario.key != "import":
        return Verdict(target, "floor failed", None)
    if scenario.key == "help":
        ratio = median / startup
        return Verdict(target, f"{ratio:.2f}×", ratio <= HELP_RATIO)
    if size == "large" and scenario.key == "import":
        return Verdict(target, f"{median:.1f} s", median <= LARGE_IMPORT_S)
    if scenario.key == "batch":
        per_line_ms = (median - startup) / BATCH_LINES * 1000
        return Verdict(target, f"{per_line_ms:.1f} ms/line", per_line_ms <= BATCH_LINE_MS)
    if size == "large":  # the report
        work = median - startup
        return Verdict(target, f"{work:.2f} s, {peak:.0f} MB",
                       work <= LARGE_REPORT_WORK_S and peak <= LARGE_REPORT_PEAK_MB)
    ratio = median / startup
    return Verdict(target, f"{ratio:.2f}×", ratio <= SMALL_STORE_RATIO)


def target_text(scenario: Scenario, size: str) -> str:
    if scenario.key == "help":
        return f"≤ {HELP_RATIO}× import typer"
    if size == "large" and scenario.key in ("report", "stalled"):
        return f"≤ {LARGE_REPORT_WORK_S} s work, ≤ {LARGE_REPORT_PEAK_MB} MB"
    if size == "large" and scenario.key == "import":
        return f"≤ {LARGE_IMPORT_S} s"
    if scenario.key == "batch":
        return f"≤ {BATCH_LINE_MS} ms a line beyond start-up"
    if size != "large" and scenario.key in ("report", "stalled", "status"):
        return f"≤ {SMALL_STORE_RATIO}× store floor"
    return "—"
