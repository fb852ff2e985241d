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


def read_bytes(path: str, *, limit: int | None = None) -> bytes:
    """The whole file as bytes ('-': standard input); a file over ``limit``
    bytes is refused after reading at most one byte more (never all of it)."""
    with _reading(path):
        if path == "-":
            stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None
            data = (stream.read(-1 if limit is None else limit + 1) if stream is not None
                    else sys.stdin.read().encode())
        else:
            with open(path, "rb") as handle:
                data = handle.read(-1 if limit is None else limit + 1)
    if limit is not None and len(data) > limit:
        raise BadFile(f"{path} is larger than {limit:,} bytes, more than mloop reads for this: split it")
    return data


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


# The longest line of an import file: far above any record mloop writes, low
# enough that one endless line cannot fill memory (a file is read line by line).
MAX_LINE_CHARACTERS = 1_000_000


def bounded_lines(handle, limit: int | None = None) -> Iterator[str]:
    """The lines of ``handle``, each read up to ``limit`` characters
    (default MAX_LINE_CHARACTERS); a longer line is a BadFile naming it."""
    limit = MAX_LINE_CHARACTERS if limit is None else limit
    number = 0
    while True:
        line = handle.readline(limit + 1)
        if not line:
            return
        number += 1
        if len(line) > limit and not (len(line) == limit + 1 and line.endswith("\n")):
            raise BadFile(f"line {number}: longer than {limit:,} characters; no record is that long")
        yield line


def is_stdout(path: str | None) -> bool:
    """No --out, or '-', means standard output, as '-' names standard input when reading."""
    return path is None or path == "-"


def _cannot_write(path: str, error: OSError) -> MloopError:
    """An OSError while writing ``path`` as one line naming the file and what to do."""
    import errno

    reasons = {
        errno.ENOSPC: "the disk is full: free some space or choose another place",
        errno.EDQUOT: "the disk quota is used up: free some space or choose another place",
        errno.ENAMETOOLONG: "the name is too long: choose a shorter one",
        errno.EACCES: "permission denied: choose a place you may write to",
        errno.EPERM: "permission denied: choose a place you may write to",
        errno.EROFS: "the file system is read-only: choose another place",
        errno.EISDIR: "it is a folder: give a file name",
        errno.ENOTDIR: "part of the path is not a folder: check the path",
    }
    reason = reasons.get(error.errno) or f"{error.strerror or type(error).__name__}: choose another place"
    return MloopError(f"cannot write {path}: {reason}")


def _regular_target(path: str) -> None:
    """Refuse an --out that cannot be replaced by a new file: '', a folder, a device such as /dev/full."""
    import os
    import stat

    if not path:
        raise MloopError("cannot write '': give a file name (or '-' for standard output)")
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        raise _cannot_write(path, error) from None
    if stat.S_ISDIR(mode):
        raise MloopError(f"cannot write {path}: it is a folder: give a file name")
    if not stat.S_ISREG(mode):
        raise MloopError(f"cannot write {path}: it is not a regular file (a device or pipe): give a file name, "
                         "or '-' for standard output")


@contextmanager
def atomic_file(path: str, mode: str = "w"):
    """A file written beside ``path`` and renamed over it once complete, so a
    failed write never leaves half a file (or clobbers the old one).  An OS
    error (disk full, permission, a name too long) is one line naming ``path``."""
    import os
    import tempfile

    _regular_target(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MloopError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".mloop-", dir=folder)
    except OSError as error:
        raise _cannot_write(path, error) from None
    try:
        try:
            with os.fdopen(fd, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as handle:
                yield handle
            os.replace(tmp, path)
        except OSError as error:
            raise _cannot_write(path, error) from None
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class StagedFiles:
    """Files written into a hidden folder inside the target folder, moved into
    the target only once every one of them is complete (see `staged_files`)."""

    def __init__(self, folder: str, stage: str):
        self.folder = folder
        self.stage = stage
        self.names: list[str] = []

    def write(self, name: str, data: str | bytes) -> str:
        """Write one file (``name`` within the folder); returns the path it will have."""
        import os

        final = os.path.join(self.folder, name)
        if name in self.names or os.path.dirname(name):
            raise ValueError(f"{name!r}: each file once, and directly in the folder")
        try:
            fd = os.open(os.path.join(self.stage, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:  # the owner's alone, as every file mloop writes
                handle.write(data.encode() if isinstance(data, str) else data)
        except OSError as error:
            raise _cannot_write(final, error) from None
        self.names.append(name)
        return final


@contextmanager
def staged_files(folder: str) -> Iterator[StagedFiles]:
    """Several files into ``folder`` (made with its parents if missing), all or
    nothing: they are written into a hidden folder inside it and moved into
    place when the block ends.  A failure on any file leaves no new file and no
    new folder behind, and the files already in ``folder`` as they were."""
    import os
    import shutil
    import tempfile

    if not folder:
        raise MloopError("cannot write to '': give a folder for --out")
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise MloopError(f"cannot write to {folder}: it is a file, give a folder for --out")
    made = _missing_folders(folder)
    try:
        os.makedirs(folder, exist_ok=True)
        stage = tempfile.mkdtemp(prefix=".mloop-", dir=folder)
    except OSError as error:
        _remove_folders(made)
        raise MloopError(f"cannot make folder {folder}: {error.strerror}") from None
    try:
        files = StagedFiles(folder, stage)
        yield files
        for name in files.names:
            os.replace(os.path.join(stage, name), os.path.join(folder, name))
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        _remove_folders(made)
        raise
    os.rmdir(stage)


def _missing_folders(folder: str) -> list[str]:
    """The folders of ``folder``'s path that do not exist yet, innermost first."""
    import os

    missing = []
    path = os.path.abspath(folder)
    while not os.path.exists(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return missing


def _remove_folders(folders: list[str]) -> None:
    import os

    for path in folders:  # innermost first; each is empty once the stage is gone
        try:
            os.rmdir(path)
        except OSError:
            return
