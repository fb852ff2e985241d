"""Reading and writing the files a command names ('-' is stdin/stdout)."""

from __future__ import annotations

import sys

from mloop.errors import MloopError, UsageError


def read_text(path: str) -> str:
    """The whole file as text (UTF-8, with or without BOM)."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except FileNotFoundError:
        raise MloopError(f"no file {path}: check the path") from None
    except IsADirectoryError:
        raise MloopError(f"{path} is a folder: give a file") from None
    except OSError as error:
        raise MloopError(f"cannot read {path}: {error.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 text (bad byte at offset {error.start}): save it as UTF-8") from None


def open_lines(path: str):
    """An iterator over the lines of a file (streamed, not read whole)."""
    try:
        if path == "-":
            import io

            return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig") if hasattr(sys.stdin, "buffer") else sys.stdin
        return open(path, encoding="utf-8-sig")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise MloopError(f"no file {path}: check the path") from None
    except IsADirectoryError:
        raise MloopError(f"{path} is a folder: give a file") from None
    except OSError as error:
        raise MloopError(f"cannot read {path}: {error.strerror}") from None
