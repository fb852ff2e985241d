"""Reading and writing the files a command names ('-' is standard input or output),
and the folders it writes into."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from mloop.errors import BadFile, MloopError


@contextmanager
def _reading(path: str) -> Iterator[None]:
    """Turn the ways opening a file fails into one line that says what to do."""
    try:
        yield
    except FileNotFoundError:
        raise MloopError(f"no file {path}: check the path") from None
    except IsADirectoryError:
        raise MloopError(f"{path} is a folder: give a file") from None
    except OSError as error:
        raise MloopError(f"cannot read {path}: {error.strerror}") from None


def not_utf8(path: str, error: UnicodeDecodeError) -> BadFile:
    return BadFile(f"{path} is not UTF-8 text (bad byte at offset {error.start}): save it as UTF-8")


def read_bytes(path: str) -> bytes:
    """The whole file as bytes ('-': standard input)."""
    with _reading(path):
        if path == "-":
            return sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        with open(path, "rb") as handle:
            return handle.read()


def read_text(path: str) -> str:
    """The whole file as text (UTF-8, with or without BOM)."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise not_utf8(path, error) from None


def open_lines(path: str):
    """The file's lines, streamed rather than read whole; the caller closes it."""
    with _reading(path):
        if path == "-":
            import io

            return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig") if hasattr(sys.stdin, "buffer") else sys.stdin
        return open(path, encoding="utf-8-sig")  # noqa: SIM115 - closed by the caller


def is_stdout(path: str | None) -> bool:
    """No --out, or '-', means standard output, as '-' names standard input when reading."""
    return path is None or path == "-"


@contextmanager
def atomic_file(path: str, mode: str = "w"):
    """A file written beside ``path`` and renamed over it once complete, so a
    failed write never leaves half a file (or clobbers the old one)."""
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MloopError(f"cannot write {path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".mloop-", dir=folder)
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
            yield handle
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def make_folder(folder: str) -> None:
    """The folder an --out option names, made with its parents if missing; a file there is refused."""
    import os

    if os.path.exists(folder) and not os.path.isdir(folder):
        raise MloopError(f"cannot write to {folder}: it is a file, give a folder for --out")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise MloopError(f"cannot make folder {folder}: {error.strerror}") from None
