"""Reading the files a command names ('-' is standard input)."""

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


def read_text(path: str) -> str:
    """The whole file as text (UTF-8, with or without BOM)."""
    with _reading(path):
        if path == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
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
