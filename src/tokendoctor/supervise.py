"""Run a command transparently: its stdin and stdout are untouched, its stderr is passed through
as it comes and shown to a watcher, signals are forwarded, and its exit status is returned.

POSIX only.  The child stays in tokendoctor's process group, so a key press at the
terminal (Ctrl-C, Ctrl-\\) reaches it directly; SIGINT, SIGTERM and SIGHUP sent to
tokendoctor by another process (``kill``) are forwarded.  Signals the terminal
sent (``si_code > 0``) are not forwarded again, so the child never gets one twice.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
DRAIN_SECONDS = 1.0
"""After the command exits, how long stderr is still read for (a background process it left may hold it)."""
IDLE_SECONDS = 0.1
_CHUNK = 65536


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    """The command's exit status, or 128+N when signal N ended it (as a shell reports it)."""
    signal: int | None
    forwarded: tuple[int, ...]


class CommandNotStarted(Exception):
    """The command could not be executed; ``exit_code`` is what a shell would return (126/127)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _Pump(threading.Thread):
    """Copies the child's stderr to ours and hands each chunk to the watcher."""

    def __init__(self, fd: int, on_output: Callable[[bytes], None], on_idle: Callable[[], None]) -> None:
        super().__init__(name="tokendoctor-stderr", daemon=True)
        self.fd = fd
        self.on_output = on_output
        self.on_idle = on_idle
        self.stop = threading.Event()
        self.write_ok = True
        self.watch_ok = True
        self.lock = threading.Lock()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                ready, _, _ = select.select([self.fd], [], [], IDLE_SECONDS)
                if not ready:
                    self.watch(self.on_idle)
                    continue
                try:
                    data = os.read(self.fd, _CHUNK)
                except InterruptedError:  # pragma: no cover - PEP 475 retries
                    continue
                if not data:
                    return
                self._write(data)
                self.watch(lambda: self.on_output(data))  # noqa: B023 - called at once, inside this iteration
        finally:
            with contextlib.suppress(OSError):
                os.close(self.fd)

    def _write(self, data: bytes) -> None:
        if not self.write_ok:
            return
        view = memoryview(data)
        while view:
            try:
                n = os.write(2, view)
            except InterruptedError:  # pragma: no cover
                continue
            except OSError as exc:  # our stderr went away: keep draining so the child never blocks
                if exc.errno in (errno.EPIPE, errno.EBADF, errno.EIO):
                    self.write_ok = False
                    return
                raise
            view = view[n:]

    def watch(self, call: Callable[[], None]) -> None:
        if not self.watch_ok:
            return
        try:
            with self.lock:
                call()
        except Exception:  # noqa: BLE001 - the watcher failing must not stop the passthrough
            self.watch_ok = False


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    on_output: Callable[[bytes], None],
    on_idle: Callable[[], None],
    on_close: Callable[[], None],
) -> Outcome:
    """Run ``argv`` to completion.  ``on_output``/``on_idle``/``on_close`` are called one at a time, in order;
    ``on_close`` once, when stderr ended or was given up on."""
    child: list[subprocess.Popen[bytes]] = []
    early: list[int] = []
    forwarded: list[int] = []

    def forward(signo: int) -> None:
        if child and child[0].returncode is None:
            try:
                child[0].send_signal(signo)
                forwarded.append(signo)
            except ProcessLookupError:
                pass
        elif not child:
            early.append(signo)

    def handler(signo: int, _frame: FrameType | None) -> None:
        forward(signo)

    previous = {s: signal.signal(s, handler) for s in FORWARDED}
    waited: set[signal.Signals] = {*FORWARDED, signal.SIGCHLD}
    old_mask: Any = None
    try:
        try:
            proc = subprocess.Popen(list(argv), env=dict(env), stderr=subprocess.PIPE)
        except FileNotFoundError:
            raise CommandNotStarted(f"{argv[0]}: command not found", 127) from None
        except PermissionError:
            raise CommandNotStarted(f"{argv[0]}: permission denied", 126) from None
        except OSError as exc:
            raise CommandNotStarted(f"{argv[0]}: {exc.strerror or exc}", 126) from None
        child.append(proc)
        assert proc.stderr is not None
        fd = os.dup(proc.stderr.fileno())
        proc.stderr.close()
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
        for signo in early:
            forward(signo)
        pump = _Pump(fd, on_output, on_idle)
        pump.start()  # inherits the blocked mask: signals reach only the waiting loop below
        while proc.poll() is None:
            info = signal.sigtimedwait(waited, 0.25)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            try:
                same_group = os.getpgid(proc.pid) == os.getpgrp()
            except OSError:
                same_group = True
            if info.si_code > 0 and same_group:
                continue  # sent by the kernel for the terminal: the child, in our group, has it already
            forward(info.si_signo)
        pump.join(DRAIN_SECONDS)
        pump.stop.set()
        pump.join(IDLE_SECONDS * 3)
        pump.watch(on_close)  # under the pump's lock: after the last chunk it handed over
        pump.watch_ok = False
    finally:
        if old_mask is not None:
            # Take signals of the waited set still pending (a late SIGCHLD) before unblocking.
            while signal.sigtimedwait(waited, 0) is not None:
                pass
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        for signo, old in previous.items():
            signal.signal(signo, old)
    rc = proc.returncode
    if rc < 0:
        return Outcome(exit_code=128 - rc, signal=-rc, forwarded=tuple(forwarded))
    return Outcome(exit_code=rc, signal=None, forwarded=tuple(forwarded))


__all__ = ["CommandNotStarted", "FORWARDED", "Outcome", "run"]
