"""The benchmark's program file: generated once per size, and one person to ask about."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bench import generate

SEED = 7


def ensure_generated(folder: Path, size: str) -> tuple[Path, bool]:
    """``folder/program-SIZE.jsonl``, generated unless a complete one is already there.

    The generator is deterministic, so a file left by an earlier run (``--keep``)
    is the same file; it is written under a temporary name and renamed, so an
    interrupted generation never passes for a complete one.
    """
    path = folder / f"program-{size}-seed{SEED}.jsonl"
    if path.exists():
        return path, False
    partial = path.with_suffix(".partial")
    generate.write(str(partial), size, SEED)
    os.replace(partial, path)
    return path, True


def count_records(path: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            # The type is the first key of every generated record: skip parsing the rest.
            kind = line[9:line.index('"', 9)] if line.startswith('{"type":"') else json.loads(line)["type"]
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def pick_status_participant(path: Path) -> str:
    """A mentee whose active loop has come a long way through the milestones.

    ``status`` then has the most to compute and show: held meetings, shared and
    completed goals, meeting and loop feedback by that mentee, sometimes a
    journey share.  Among those, the one with the most facts; ties go to the
    earliest loop, so the choice is the same on every run of the same file.
    """
    loops: dict[str, dict] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            kind = record["type"]
            if kind == "match":
                if record.get("ended_at") is None:
                    loops[record["ref"]] = {"mentee": record["mentee"], "order": len(loops), "held": 0,
                                            "goals": 0, "feedback": 0, "loop_feedback": False, "facts": 0}
                continue
            loop = loops.get(record.get("loop"))
            if loop is None:
                continue
            loop["facts"] += 1
            if kind == "meeting" and record["status"] == "held":
                loop["held"] += 1
            elif kind == "goal" and record.get("shared_at"):
                loop["goals"] += 1
            elif kind == "feedback" and record["author"] == loop["mentee"]:
                loop["feedback"] += 1
                if record.get("meeting") is None and record["rating"] >= 4:
                    loop["loop_feedback"] = True
    if not loops:
        raise ValueError(f"{path} has no active loop to ask about")

    def reach(loop: dict) -> tuple:
        far = loop["held"] >= 3 and loop["goals"] > 0 and loop["feedback"] > 0 and loop["loop_feedback"]
        return (far, loop["facts"], -loop["order"])

    return max(loops.values(), key=reach)["mentee"]


def prepare(folder: Path, size: str) -> dict:
    path, generated = ensure_generated(folder, size)
    return {"path": str(path), "generated": generated, "counts": count_records(path),
            "mentee": pick_status_participant(path)}


if __name__ == "__main__":
    # Run as its own process by the benchmark, so that generating and scanning a
    # large program never grows the harness: a child's peak RSS as reported by
    # wait4 starts from the memory of the process that spawned it.
    import sys

    print(json.dumps(prepare(Path(sys.argv[1]), sys.argv[2])))
