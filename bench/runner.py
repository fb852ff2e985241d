"""Time one whole process: wall seconds and that process's own peak RSS.

Commands are started by ``bench/spawn.py``, a tiny helper process, which
times each from spawn to reaping and reports ``os.wait4``'s usage of exactly
that child — no psutil, and no ``/usr/bin/time`` wrapper whose own start-up
(~10 ms) would land in the wall time of a 70 ms floor.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import signal
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

# ru_maxrss is in kilobytes on Linux and in bytes on macOS.
RSS_UNIT = 1 if sys.platform == "darwin" else 1024


@dataclass
class Sample:
    seconds: float
    peak_mb: float
    exit_code: int
    error: str | None = None


@dataclass
class Series:
    """Every run of one command, and the figures the table shows."""

    samples: list[Sample] = field(default_factory=list)

    @property
    def ok(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.exit_code == 0]

    @property
    def failed(self) -> bool:
        return not self.ok or len(self.ok) < len(self.samples)

    @property
    def error(self) -> str | None:
        for sample in self.samples:
            if sample.exit_code != 0:
                return sample.error or f"exit code {sample.exit_code}"
        return None

    @property
    def median(self) -> float | None:
        ok = self.ok
        return statistics.median(sample.seconds for sample in ok) if ok else None

    @property
    def minimum(self) -> float | None:
        ok = self.ok
        return min(sample.seconds for sample in ok) if ok else None

    @property
    def peak_mb(self) -> float | None:
        ok = self.ok
        return max(sample.peak_mb for sample in ok) if ok else None


class Spawner:
    """The helper process; one per benchmark, used for every command and floor."""

    def __init__(self) -> None:
        script = Path(__file__).with_name("spawn.py")
        self.process = subprocess.Popen([sys.executable, "-I", "-S", str(script)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def __enter__(self) -> "Spawner":
        return self

    def __exit__(self, *_exc) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def _send(self, message: dict) -> None:
        data = marshal.dumps(message)
        self.process.stdin.write(len(data).to_bytes(4, "little") + data)
        self.process.stdin.flush()

    def _receive(self) -> dict:
        header = self.process.stdout.read(4)
        if len(header) < 4:
            raise RuntimeError("the spawn helper stopped")
        return marshal.loads(self.process.stdout.read(int.from_bytes(header, "little")))

    def run(self, argv: list[str], env: dict[str, str], stdout: Path, stderr: Path) -> Sample:
        """Run ``argv`` to completion; stdout and stderr go to files."""
        self._send({"argv": list(argv), "env": dict(env), "stdout": str(stdout), "stderr": str(stderr)})
        pid = None
        try:
            reply = self._receive()
            if "error" in reply:
                return Sample(0.0, 0.0, 127, reply["error"])
            pid = reply["pid"]
            reply = self._receive()
        except BaseException:  # Ctrl-C or SIGTERM: leave no command running
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.process.kill()
            raise
        error = None
        if reply["exit"] != 0:
            lines = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
            error = lines[-1] if lines else None
        return Sample(reply["seconds"], reply["maxrss"] * RSS_UNIT / 2**20, reply["exit"], error)
