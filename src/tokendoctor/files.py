"""The one way tokendoctor reads a file: regular files only, a size cap, a streamed read that stops at the cap.

Every file tokendoctor reads goes through :func:`read_bytes` (config and credentials files, the CLI,
SSO and login caches, token files, env files, ``/proc`` and ``/sys``); every file botocore would read
is first vetted with :func:`problem` (the same type and size rules) so botocore never opens a FIFO, a
device or a huge file.  A FIFO, socket or device is refused before it is opened (``/dev/zero`` reports
size 0, so a size check alone passes it); ``/proc`` files also report size 0, so the read itself is
capped as well.  Problems are :class:`FileProblem`: one line, never the file's content.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

#: AWS config/credentials files, env files, /proc/PID/environ: far larger than any real one.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: Token files, cache documents, /sys and /proc status files.
MAX_SMALL_BYTES = 64 * 1024
_CHUNK = 64 * 1024


class FileProblem(Exception):
    """Why a file was not read (``missing``, ``directory``, ``symlink``, ``not-regular``, ``too-large``,
    ``unreadable``)."""

    def __init__(self, path: str, kind: str, problem: str, errno: int | None = None) -> None:
        super().__init__(f"{path} {problem}")
        self.path = path
        self.kind = kind
        self.problem = problem
        self.errno = errno


def _unreadable(path: str, exc: OSError) -> FileProblem:
    return FileProblem(path, "unreadable", f"cannot be read ({exc.strerror or type(exc).__name__})", exc.errno)


def _mib(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit // 1024} KiB"


def _type_problem(path: str, mode: int) -> FileProblem | None:
    if stat.S_ISDIR(mode):
        return FileProblem(path, "directory", "is a directory")
    if stat.S_ISLNK(mode):
        return FileProblem(path, "symlink", "is a symbolic link; not followed")
    if not stat.S_ISREG(mode):
        what = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        return FileProblem(path, "not-regular", f"is {what}, not a regular file; not read")
    return None


def check(path: str | os.PathLike[str], limit: int = MAX_CONFIG_BYTES, *, follow_symlinks: bool = True) -> None:
    """Raise :class:`FileProblem` unless ``path`` is a regular file of at most ``limit`` bytes (no read)."""
    shown = os.fspath(path)
    try:
        info = os.stat(shown, follow_symlinks=follow_symlinks)
    except FileNotFoundError:
        raise FileProblem(shown, "missing", "does not exist") from None
    except OSError as exc:
        raise _unreadable(shown, exc) from None
    found = _type_problem(shown, info.st_mode)
    if found is not None:
        raise found
    if info.st_size > limit:
        raise FileProblem(shown, "too-large", f"is too large (larger than {_mib(limit)}); not read")


def problem(path: str | os.PathLike[str], limit: int = MAX_CONFIG_BYTES) -> str | None:
    """Why botocore must not be given ``path`` (type or size), or None when it may (an absent file is fine)."""
    try:
        check(path, limit)
    except FileProblem as exc:
        return None if exc.kind == "missing" else exc.problem
    return None


def read_bytes(
    path: str | os.PathLike[str], limit: int = MAX_CONFIG_BYTES, *, head: bool = False, follow_symlinks: bool = True
) -> bytes:
    """The content of a regular file of at most ``limit`` bytes, read in chunks that stop at the cap;
    with ``head`` the first ``limit`` bytes of a larger file instead of :class:`FileProblem`; without
    ``follow_symlinks`` a symbolic link is a :class:`FileProblem` (kind ``symlink``)."""
    shown = os.fspath(path)
    check(shown, (1 << 62) if head else limit, follow_symlinks=follow_symlinks)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(shown, flags)  # O_NONBLOCK: a path swapped for a FIFO after check() cannot block open()
    except FileNotFoundError:
        raise FileProblem(shown, "missing", "does not exist") from None
    except OSError as exc:
        raise _unreadable(shown, exc) from None
    try:
        found = _type_problem(shown, os.fstat(fd).st_mode)  # what was opened, not what was stat'ed
        if found is not None:
            raise found
        data = bytearray()
        while len(data) <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - len(data)))
            if not chunk:
                break
            data.extend(chunk)
    except OSError as exc:
        raise _unreadable(shown, exc) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        if head:
            return bytes(data[:limit])
        raise FileProblem(shown, "too-large", f"is too large (larger than {_mib(limit)}); not read")
    return bytes(data)


def read_text(
    path: str | os.PathLike[str], limit: int = MAX_CONFIG_BYTES, errors: str = "strict", *, head: bool = False
) -> str:
    """:func:`read_bytes` decoded as UTF-8 (``UnicodeDecodeError`` with ``errors="strict"``)."""
    return read_bytes(path, limit, head=head).decode("utf-8", errors)


def parse_json(text: str | bytes) -> Any:
    """``json.loads`` that raises only ``ValueError``: nesting deep enough to exhaust the stack is invalid too."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_json(path: str | os.PathLike[str], limit: int = MAX_SMALL_BYTES) -> Any:
    """A bounded JSON file; :class:`FileProblem` for the file, ``ValueError`` for the content."""
    return parse_json(read_bytes(path, limit))


__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_SMALL_BYTES",
    "FileProblem",
    "check",
    "parse_json",
    "problem",
    "read_bytes",
    "read_json",
    "read_text",
]
