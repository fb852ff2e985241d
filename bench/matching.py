"""Time 'mloop match suggest' on 2,000 unmatched mentees and 1,000 mentors (issue 6, item 4).

    python -m bench.matching [--runs 3] [--keep DIR] [--out FILE]

Builds a deterministic store through 'mloop import' (mentors with capacities
1–3, skills, time zones and departments; some ended loops, so that former
partners are excluded and every mentee is still unmatched), then times
'mloop match suggest --json' as a whole process, the way the main benchmark
times its scenarios, against the target of 5 s.  Separate from
'python -m bench' because it needs a store of its own shape.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench.runner import Series, Spawner

NOW = "2027-06-01T09:00:00Z"
MENTEES = 2_000
MENTORS = 1_000
FORMER_LOOPS = 500
TARGET_S = 5.0
SEED = 6
SKILLS = ("python", "leadership", "design", "data", "public speaking", "career change", "product", "sql",
          "management", "writing", "research", "sales", "marketing", "finance", "negotiation", "go", "rust",
          "security", "cloud", "testing", "ux", "strategy", "hiring", "coaching", "analytics")
ZONES = ("Europe/Lisbon", "Europe/London", "Europe/Berlin", "Europe/Athens", "America/New_York",
         "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata", "Asia/Singapore",
         "Asia/Tokyo", "Australia/Sydney", None)
DEPARTMENTS = ("Engineering", "Sales", "Marketing", "Finance", "Operations", "Support", "Research", None)


def program_lines(seed: int = SEED) -> list[dict]:
    """The program as JSON Lines records; the same seed gives the same records."""
    rng = random.Random(seed)
    records: list[dict] = [{"type": "program", "name": "Matching bench", "stall_days": 21, "momentum_meetings": 3},
                           {"type": "participant", "email": "coordinator@example.org", "name": "Coordinator",
                            "roles": ["coordinator"], "joined_at": "2027-01-01T09:00:00Z"}]

    def person(email: str, role: str, **extra) -> dict:
        record = {"type": "participant", "email": email, "name": email.split("@")[0].title(), "roles": [role],
                  "joined_at": "2027-01-01T09:00:00Z", **extra}
        zone, department = rng.choice(ZONES), rng.choice(DEPARTMENTS)
        if zone:
            record["timezone"] = zone
        if department:
            record["department"] = department
        return record

    for number in range(MENTORS):
        records.append(person(f"mentor{number:04d}@example.org", "mentor", capacity=rng.randint(1, 3),
                              offers=rng.sample(SKILLS, rng.randint(2, 5))))
    for number in range(MENTEES):
        records.append(person(f"mentee{number:04d}@example.org", "mentee", seeks=rng.sample(SKILLS, rng.randint(1, 3))))
    for number in range(FORMER_LOOPS):
        records.append({"type": "match", "ref": f"L{number + 1}",
                        "mentor": f"mentor{rng.randrange(MENTORS):04d}@example.org",
                        "mentee": f"mentee{number * 4:04d}@example.org",
                        "matched_at": "2027-01-15T09:00:00Z", "ended_at": "2027-04-15T09:00:00Z",
                        "outcome": "completed", "end_reason": None})
    return records


def mloop_executable() -> str:
    beside = Path(sys.executable).parent / "mloop"
    return str(beside) if beside.exists() else "mloop"


def _commit() -> str | None:
    found = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True,
                           cwd=Path(__file__).parent)
    return found.stdout.strip() or None


def _record(path: Path, figures: dict) -> None:
    """Keep the figures under the results file's "matching" key, beside the main benchmark's runs."""
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        results = {}
    results["matching"] = figures
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR", help="build the store in DIR and keep it")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"),
                        help="results file: the figures go under its \"matching\" key (default bench/results.json)")
    args = parser.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mloop-bench-matching-"))
    folder.mkdir(parents=True, exist_ok=True)
    store = folder / "matching.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith("MLOOP_")}
    env.update(MLOOP_NOW=NOW, MLOOP_TZ="UTC", MLOOP_DB=str(store))
    program = folder / "matching.jsonl"
    program.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in program_lines()))
    mloop = mloop_executable()
    subprocess.run([mloop, "import", str(program)], env=env, check=True, stdout=subprocess.DEVNULL)

    series = Series()
    with Spawner() as spawner:
        for run in range(args.runs):
            out, err = folder / "suggest.out", folder / "suggest.err"
            sample = spawner.run([mloop, "match", "suggest", "--json"], env, out, err)
            series.samples.append(sample)
            print(f"  run {run + 1}: {sample.seconds:6.2f} s {sample.peak_mb:5.0f} MB"
                  + (f"  FAILED: {sample.error}" if sample.exit_code else ""), file=sys.stderr)
    if series.failed:
        print(f"match suggest failed: {series.error}", file=sys.stderr)
        return 1
    proposal = json.loads((folder / "suggest.out").read_text())
    median = series.median
    figures = {
        "scenario": f"mloop match suggest --json ({MENTEES} unmatched mentees, {MENTORS} mentors, capacities 1-3)",
        "runs": args.runs, "median_s": round(median, 3), "min_s": round(series.minimum, 3),
        "peak_mb": round(series.peak_mb, 1), "target_s": TARGET_S, "passed": median <= TARGET_S,
        "suggestions": len(proposal["suggestions"]), "unmatched": len(proposal["unmatched"]),
        "total_score": round(sum(s["score"] for s in proposal["suggestions"]), 3),
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }
    verdict = "ok" if figures["passed"] else "OVER TARGET"
    print(f"match suggest: median {median:.2f} s (target ≤ {TARGET_S:.0f} s: {verdict}), "
          f"peak {series.peak_mb:.0f} MB, {figures['suggestions']} suggestions, {figures['unmatched']} unmatched")
    figures["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    figures["commit"] = _commit()
    _record(args.out, figures)
    if args.keep is None:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
