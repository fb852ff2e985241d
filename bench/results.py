"""Figures out: the Rich table, bench/results.json and the Markdown table of docs/performance.md."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path

from bench.runner import Series
from bench.scenarios import FLOOR_BY_KEY, FLOORS, SCENARIOS, judge

ENGINE_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def machine() -> dict:
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": _memory_gb(),
        "sqlite": sqlite3.sqlite_version,
        "packages": {},
    }
    for name in ("typer", "rich", "sqlmodel", "SQLAlchemy", "psycopg"):
        try:
            info["packages"][name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def revision(repo: Path) -> dict:
    """The commit measured, and whether mloop/ had uncommitted changes (others edit it meanwhile)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "--short=10", "HEAD")
    changes = git("status", "--porcelain", "--", "mloop")
    return {"commit": commit, "mloop_uncommitted_changes": bool(changes) if changes is not None else None}


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def _figures(series: Series) -> dict:
    return {
        "median_s": _round(series.median),
        "min_s": _round(series.minimum),
        "peak_mb": _round(series.peak_mb, 1),
        "samples_s": [round(sample.seconds, 4) for sample in series.samples],
        "exit_codes": [sample.exit_code for sample in series.samples],
        "error": series.error,
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def render_table(size: str, engine: str, floors: dict[str, Series], scenarios: dict[str, Series],
                 notes: list[str]) -> dict:
    """Print the Rich table on stdout and return the figures for results.json."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"mloop benchmark — {size} program, {ENGINE_NAMES[engine]}", box=box.SIMPLE_HEAD)
    for name, justify in (("Scenario", "left"), ("Median s", "right"), ("Min s", "right"), ("Floor", "left"),
                          ("× floor", "right"), ("Work s", "right"), ("Peak MB", "right"),
                          ("Target", "left"), ("Result", "left")):
        table.add_column(name, justify=justify)
    figures: dict = {"floors": {}, "scenarios": {}}
    for floor in FLOORS:
        series = floors[floor.key]
        if not series.samples:
            continue
        figures["floors"][floor.key] = {"label": floor.label, **_figures(series)}
        table.add_row(f"[dim]floor:[/] {floor.short}", _seconds(series.median), _seconds(series.minimum), "", "", "",
                      _mb(series.peak_mb), "", f"[red]error: {series.error}[/]" if series.failed else "")
    table.add_section()
    for scenario in SCENARIOS:
        series = scenarios[scenario.key]
        if not series.samples:
            continue
        floor, startup = floors[scenario.floor], floors[scenario.startup]
        ratio = _divide(series.median, floor.median)
        work = None if series.median is None or startup.median is None else series.median - startup.median
        verdict = judge(scenario, size, series, floors)
        figures["scenarios"][scenario.key] = {
            "label": scenario.label,
            **_figures(series),
            "floor": scenario.floor,
            "ratio_to_floor": _round(ratio, 3),
            "startup_floor": scenario.startup,
            "work_beyond_startup_s": _round(work),
            "target": verdict.target,
            "measured": verdict.value,
            "passed": verdict.passed,
        }
        result = {True: f"[green]pass[/] {verdict.value}", False: f"[red]FAIL[/] {verdict.value}",
                  None: verdict.value}[verdict.passed]
        table.add_row(scenario.label, _seconds(series.median), _seconds(series.minimum),
                      FLOOR_BY_KEY[scenario.floor].short, "—" if ratio is None else f"{ratio:.2f}×",
                      _seconds(work), _mb(series.peak_mb), verdict.target, result)
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)  # a log file or pipe: keep each row on one line
    console.print(table)
    for note in notes:
        console.print(f"note: {note}")
    return figures


def _divide(top: float | None, bottom: float | None) -> float | None:
    return None if top is None or not bottom else top / bottom


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def write_results(path: Path, entry: dict) -> None:
    """Update ``path`` with this run's entry, keeping the entries of other sizes and engines."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(results.get("runs"), dict):
            raise ValueError
    except (OSError, ValueError, AttributeError):
        results = {"about": "python -m bench: see docs/performance.md. One entry per size/engine, the latest run.",
                   "runs": {}}
    results["runs"][f"{entry['size']}/{entry['engine']}"] = entry
    results["runs"] = dict(sorted(results["runs"].items(), key=lambda item: _order(item[1])))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _order(entry: dict) -> tuple:
    return (("tiny", "small", "large").index(entry.get("size", "small")),
            ("sqlite", "postgres").index(entry.get("engine", "sqlite")))


def _database(entry: dict) -> str:
    m = entry.get("machine", {})
    if entry.get("engine") == "postgres":
        return f"PostgreSQL {m.get('postgres_server') or '(version unknown)'} at {m.get('postgres_host')}"
    return f"SQLite {m.get('sqlite')}"


def _load(entry: dict, when: str) -> str:
    values = (entry.get("load_average") or {}).get(when)
    return "unknown" if not values else f"{values[0]:.1f}"


def render_markdown(results: dict) -> str:
    """The Markdown table of docs/performance.md: one block per size and engine in ``results``."""
    blocks = []
    for entry in results.get("runs", {}).values():
        m = entry.get("machine", {})
        commit = entry.get("commit") or "unknown commit"
        if entry.get("mloop_uncommitted_changes"):
            commit += " + uncommitted changes in mloop/"
        blocks.append(
            f"**{entry['size']} program, {ENGINE_NAMES.get(entry['engine'], entry['engine'])}** — "
            f"median of {entry['runs']} runs, {entry['date'][:10]}, commit {commit}; "
            f"{m.get('cpu_model')}, {m.get('cpu_count')} CPUs, {m.get('memory_gb')} GB, "
            f"{m.get('platform')}, Python {m.get('python')}, {_database(entry)}; "
            f"load average {_load(entry, 'before')} before, {_load(entry, 'after')} after; "
            f"`status` asks about {entry.get('status_participant')}.\n"
        )
        rows = ["| scenario | median s | min s | peak MB | floor | × floor | work s | target | result |",
                "|---|--:|--:|--:|---|--:|--:|---|---|"]
        for key, floor in entry.get("floors", {}).items():
            rows.append(f"| floor: {FLOOR_BY_KEY[key].label} | {_seconds(floor['median_s'])} | {_seconds(floor['min_s'])} | "
                        f"{_mb(floor['peak_mb'])} | | | | | |")
        for scenario in entry.get("scenarios", {}).values():
            ratio = scenario.get("ratio_to_floor")
            passed = {True: "pass", False: "**fail**", None: ""}[scenario.get("passed")]
            result = f"{passed} {scenario.get('measured') or ''}".strip()
            rows.append(
                f"| `{scenario['label']}` | {_seconds(scenario['median_s'])} | {_seconds(scenario['min_s'])} | "
                f"{_mb(scenario['peak_mb'])} | {FLOOR_BY_KEY[scenario['floor']].short} | "
                f"{'—' if ratio is None else f'{ratio:.2f}×'} | {_seconds(scenario.get('work_beyond_startup_s'))} | "
                f"{scenario['target']} | {result} |"
            )
        blocks.append("\n".join(rows) + "\n")
        for note in entry.get("notes", ()):
            blocks.append(f"Note: {note}\n")
    return "\n".join(blocks)
