"""Where the demo program lives: inside the installed package, or beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

from mloop.errors import MloopError


def sample_program_path() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here / "sample_data" / "program.jsonl", here.parent / "sample_data" / "program.jsonl"):
        if candidate.is_file():
            return candidate
    raise MloopError("the sample program is missing from this installation: reinstall mloop")
