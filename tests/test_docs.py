"""The README and docs/ run as written.

Every ```sh block of README.md and docs/*.md is executed, in order, by bash in a
fresh folder per file (each file is one reader's session: what one block exports or
changes folder to, the next block sees), with `mloop` being this checkout. A block
fails the test if any of its commands fails. A ```text block right after an sh block
is that block's expected output (stdout and stderr together): a line `...` in it
stands for any number of lines, `...` inside a line for any text (a temporary
folder's path), and trailing spaces are ignored.

A block that cannot run here (installing, a PostgreSQL server) is preceded by an
HTML comment `<!-- not run: why -->`. The docs also must not point at files that are
not in the repository.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^```(\w*)\s*$")
NOT_RUN = re.compile(r"<!--\s*not run:\s*(.+?)\s*-->")


class Block(NamedTuple):
    line: int  # where the block starts in its file (1-based), for messages
    code: str
    expected: str | None  # the ```text block that follows, if any
    skip: str | None  # why it is not run


def blocks(path: Path) -> list[Block]:
    """The sh blocks of one Markdown file, each with the output block after it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    fenced: list[tuple[int, str, str, str | None]] = []  # (line, lang, body, skip)
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        start, lang = i, opening.group(1)
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        skip = NOT_RUN.search(before)
        i += 1
        body = []
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        fenced.append((start + 1, lang, "\n".join(body), skip.group(1) if skip else None))
        i += 1
    found = []
    for n, (line, lang, body, skip) in enumerate(fenced):
        if lang != "sh":
            continue
        after = fenced[n + 1] if n + 1 < len(fenced) else None
        expected = after[2] if after and after[1] == "text" and after[0] > line else None
        found.append(Block(line, body, expected, skip))
    return found


def matches(expected: str, actual: str) -> bool:
    """`actual` has the lines of `expected`, where a line `...` stands for any lines."""
    def same(pattern: str, line: str) -> bool:
        if "..." not in pattern:
            return pattern == line
        return re.fullmatch(".*".join(map(re.escape, pattern.split("..."))), line) is not None

    want = [line.rstrip() for line in expected.strip("\n").splitlines()]
    got = [line.rstrip() for line in actual.strip("\n").splitlines()]

    def fit(w: int, g: int) -> bool:
        if w == len(want):
            return g == len(got)
        if want[w] == "...":
            return any(fit(w + 1, k) for k in range(g, len(got) + 1))
        return g < len(got) and same(want[w], got[g]) and fit(w + 1, g + 1)

    return fit(0, 0)


@pytest.fixture
def session(tmp_path: Path):
    return reader_session(tmp_path)


def reader_session(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A reader's shell: an empty folder, HOME inside it, none of mloop's variables set,
    and `mloop` on PATH running this checkout."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "mloop"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m mloop "$@"\n')
    shim.chmod(0o755)
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MLOOP_") and k not in {"COLUMNS", "LINES", "PAGER"}
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(home),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])]),
        NO_COLOR="1",
        TZ="UTC",
    )
    state = tmp_path / "state"
    state.mkdir()
    (state / "env").write_text("")
    (state / "cwd").write_text(str(work))
    return env, state


def run_block(code: str, env: dict[str, str], state: Path) -> subprocess.CompletedProcess:
    """Run one block as `bash -e` in the session's folder and variables, and keep
    what it leaves (its exports and folder) for the next block."""
    script = (
        f'. {shlex.quote(str(state / "env"))}\n'
        f'cd "$(cat {shlex.quote(str(state / "cwd"))})"\n'
        f"{code}\n"
        f'export -p > {shlex.quote(str(state / "env"))}\n'
        f'pwd > {shlex.quote(str(state / "cwd"))}\n'
    )
    return subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shell_blocks_run_as_written(doc: Path, session) -> None:
    env, state = session
    for block in blocks(doc):
        if block.skip:
            continue
        where = f"{doc.relative_to(ROOT)}:{block.line}"
        result = run_block(block.code, env, state)
        assert result.returncode == 0, f"{where} failed:\n{block.code}\n--- output ---\n{result.stdout}"
        if block.expected is not None:
            assert matches(block.expected, result.stdout), (
                f"{where}: the output differs from the block after it\n"
                f"--- expected ---\n{block.expected}\n--- actual ---\n{result.stdout}"
            )


def test_the_readme_walks_through_a_whole_loop() -> None:
    """The README has set-up commands (not run here) and a walk-through that is run."""
    found = blocks(ROOT / "README.md")
    assert any(b.skip and "pip install ." in b.code for b in found)
    assert any(b.skip and "pytest" in b.code for b in found)
    ran = "\n".join(b.code for b in found if not b.skip)
    for step in ("match create", "meet schedule", "meet done", "feedback give", "goal done",
                 "share", "coordinator report", "MLOOP_NOW="):
        assert step in ran


PATHLIKE = re.compile(r"`((?:mloop|tests|bench|docs|sample_data|\.ci)/[\w./-]*|[\w-]+\.(?:md|toml))`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_docs_point_only_at_files_in_the_repository(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    missing = []
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        if not (doc.parent / target).exists():
            missing.append(target)
    for target in PATHLIKE.findall(text):
        if not (ROOT / target).exists() and not (doc.parent / target).exists():
            missing.append(target)
    assert not missing, f"{doc.relative_to(ROOT)} names files that are not here: {missing}"
    assert "DESIGN" not in text and "STYLE.md" not in text


def test_output_blocks_match_with_ellipsis() -> None:
    assert matches("a\n...\nd", "a\nb\nc\nd\n")
    assert matches("a\n...\nd", "a\nd")
    assert not matches("a\nd", "a\nb\nd")
    assert matches("x  \n", "x")
    assert not matches("a\n...", "b\nc")
    assert matches("in sqlite:///.../x.db.", "in sqlite:////tmp/p/x.db.")
    assert not matches("in sqlite:///.../x.db.", "in sqlite:////tmp/p/y.db.")


def test_the_readme_layout_names_every_module() -> None:
    """A newcomer finds each module in the README's layout, with what it is for."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    layout = text[text.index("## Layout"):]
    layout = layout[:layout.index("\n## ", 1)]
    named = set(re.findall(r"[\w]+\.py", layout))
    modules = [path for path in sorted((ROOT / "mloop").rglob("*.py")) if path.name != "__init__.py"]
    unnamed = [str(path.relative_to(ROOT)) for path in modules if path.name not in named]
    assert not unnamed, f"README's Layout section does not name: {unnamed}"
