"""Is the clock being synchronized?  Asked without the network.

Four sources, each either a :class:`Source` with facts or skipped with a reason:

* ``kernel``: ``adjtimex(2)`` / ``ntp_adjtime(3)`` through ctypes with
  ``modes = 0`` (read-only): the ``STA_UNSYNC`` flag, the clock state
  (``TIME_ERROR`` means unsynchronized), maximum and estimated error.
* ``chrony``: ``chronyc -c tracking`` (CSV), when chronyc exists.
* ``timesyncd``: ``timedatectl show`` (``NTP``, ``NTPSynchronized``), when it exists.
* ``ptp``: on EC2 Nitro, the ENA PTP hardware clock (``/dev/ptp*``,
  ``/dev/ptp_ena``, ``/sys/class/ptp/*/clock_name``) and whether chrony uses it.

The seams: commands are looked up under the context's filesystem root
(``ctx.path("/usr/bin/chronyc")``...), so a test describes a machine by
writing small scripts there; they run with a timeout, no stdin, ``LC_ALL=C``
and only these read-only status arguments.  The kernel reading is shared
through ``ctx.once(KERNEL_KEY, ...)``; when the root is not ``/`` (a
described machine) the real kernel is not consulted unless a test seeded
that key.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import glob
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokendoctor import files
from tokendoctor.context import Context

KERNEL_KEY = "clock.kernel"
COMMAND_TIMEOUT = 2.0
_BIN_DIRS = ("/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin")
_MAX_OUTPUT = 64 * 1024

STA_UNSYNC = 0x0040
TIME_ERROR = 5
_CLOCK_STATES = {0: "TIME_OK", 1: "TIME_INS", 2: "TIME_DEL", 3: "TIME_OOP", 4: "TIME_WAIT", 5: "TIME_ERROR"}


@dataclass(frozen=True, kw_only=True)
class Source:
    """One view of synchronization.  ``synchronized`` is None when this source cannot tell."""

    kind: str
    available: bool
    synchronized: bool | None = None
    reason: str = ""
    """Why skipped, or a one-line description of what it said."""
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "available": self.available,
            "synchronized": self.synchronized,
            "detail": self.reason,
            **self.facts,
        }


# -------------------------------------------------------------------- kernel


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """``struct timex`` from <sys/timex.h> (Linux, glibc/musl)."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


def kernel_from_timex(state: int, status: int, maxerror_us: int, esterror_us: int) -> Source:
    """Interpret the kernel's answer (pure; used by tests to describe a kernel)."""
    unsync = bool(status & STA_UNSYNC) or state == TIME_ERROR
    facts = {
        "clock_state": _CLOCK_STATES.get(state, str(state)),
        "sta_unsync": bool(status & STA_UNSYNC),
        "maxerror_seconds": round(maxerror_us / 1e6, 6),
        "esterror_seconds": round(esterror_us / 1e6, 6),
    }
    if unsync:
        what = "kernel says the clock is NOT synchronized (STA_UNSYNC" + (
            ", TIME_ERROR)" if state == TIME_ERROR else ")"
        )
    else:
        what = (
            f"kernel says synchronized (max error {maxerror_us / 1000:.1f} ms, est. error {esterror_us / 1000:.1f} ms)"
        )
    return Source(kind="kernel", available=True, synchronized=not unsync, reason=what, facts=facts)


def read_kernel() -> Source:
    """``adjtimex`` with ``modes = 0``: reads, never changes, the kernel clock."""
    if not sys.platform.startswith("linux"):
        return Source(kind="kernel", available=False, reason=f"adjtimex is Linux-only (this is {sys.platform})")
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError as exc:
        return Source(kind="kernel", available=False, reason=f"libc not loadable ({exc})")
    func = getattr(libc, "ntp_adjtime", None) or getattr(libc, "adjtimex", None)
    if func is None:
        return Source(kind="kernel", available=False, reason="libc has neither ntp_adjtime nor adjtimex")
    tx = _Timex()
    tx.modes = 0  # read-only
    func.argtypes = [ctypes.POINTER(_Timex)]
    func.restype = ctypes.c_int
    state = func(ctypes.byref(tx))
    if state < 0:
        err = ctypes.get_errno()
        return Source(kind="kernel", available=False, reason=f"adjtimex failed ({os.strerror(err)})")
    return kernel_from_timex(state, tx.status, tx.maxerror, tx.esterror)


def kernel(ctx: Context) -> Source:
    if ctx.root != Path("/"):
        return ctx.once(
            KERNEL_KEY,
            lambda: Source(
                kind="kernel",
                available=False,
                reason="described machine (filesystem root is not /): the running kernel is not this machine's",
            ),
        )
    return ctx.once(KERNEL_KEY, read_kernel)


# ------------------------------------------------------------------ commands


def find_command(ctx: Context, name: str) -> Path | None:
    for directory in _BIN_DIRS:
        path = ctx.path(f"{directory}/{name}")
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def run_command(ctx: Context, name: str, args: list[str], timeout: float) -> tuple[str | None, str]:
    """Run a read-only status command: (stdout or None, why not)."""
    path = find_command(ctx, name)
    if path is None:
        return None, f"{name} is not installed"
    if timeout <= 0.05:
        return None, f"{name} not run: no time left before the deadline"
    env = {"PATH": ":".join(str(ctx.path(d)) for d in _BIN_DIRS), "LC_ALL": "C", "LANG": "C"}
    try:
        proc = subprocess.run(  # noqa: S603 - fixed read-only status commands, no shell
            [str(path), *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"`{name} {' '.join(args)}` did not answer within {timeout:.1f}s"
    except OSError as exc:
        return None, f"{name} could not be run ({exc.strerror or exc})"
    out = proc.stdout[:_MAX_OUTPUT].decode("utf-8", "replace")
    if proc.returncode != 0:
        said = proc.stderr[:500].decode("utf-8", "replace").strip() or out[:500].strip()
        err = (said.splitlines() or [f"exit status {proc.returncode}"])[-1]
        if name == "chronyc" and "Cannot talk to daemon" in err:
            return None, f"chronyd is not running (chronyc: {err[:120]})"
        return None, f"`{name} {' '.join(args)}` failed: {err[:200]}"
    return out, ""


_TRACKING_FIELDS = (
    "ref_id",
    "ref_name",
    "stratum",
    "ref_time",
    "system_time",
    "last_offset",
    "rms_offset",
    "frequency_ppm",
    "residual_freq_ppm",
    "skew_ppm",
    "root_delay",
    "root_dispersion",
    "update_interval",
    "leap_status",
)


def parse_chrony_tracking(text: str) -> Source:
    """Interpret ``chronyc -c tracking`` output (pure)."""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    parts = line.strip().split(",")
    if len(parts) < len(_TRACKING_FIELDS):
        return Source(kind="chrony", available=False, reason=f"unexpected `chronyc -c tracking` output: {line[:80]!r}")
    row = dict(zip(_TRACKING_FIELDS, parts, strict=False))
    try:
        stratum = int(row["stratum"])
        system_time = float(row["system_time"])
        root_dispersion = float(row["root_dispersion"])
        root_delay = float(row["root_delay"])
    except ValueError:
        return Source(kind="chrony", available=False, reason=f"unexpected `chronyc -c tracking` output: {line[:80]!r}")
    leap = row["leap_status"].strip()
    unsynced = leap.lower().startswith("not sync") or row["ref_id"].strip("0") == "" or stratum == 0 or stratum >= 16
    facts = {
        "reference": row["ref_name"] or row["ref_id"],
        "stratum": stratum,
        # chronyc's "System time": the correction chronyd is still slewing in.  Its text mode prints a
        # positive value as "seconds slow of NTP time", so local-clock-ahead (tokendoctor's sign) is -value.
        "system_clock_offset_seconds": -system_time,
        "leap_status": leap,
        "max_error_seconds": round(root_delay / 2 + root_dispersion + abs(system_time), 6),
    }
    if unsynced:
        return Source(
            kind="chrony",
            available=True,
            synchronized=False,
            reason=f"chronyd is running but not synchronized (leap status {leap!r})",
            facts=facts,
        )
    return Source(
        kind="chrony",
        available=True,
        synchronized=True,
        reason=f"chronyd synchronized to {facts['reference']} (stratum {stratum}, system clock {-system_time:+.6f}s "
        "vs its NTP time)",
        facts=facts,
    )


def parse_timedatectl(text: str) -> Source:
    """Interpret ``timedatectl show`` output (pure)."""
    props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "NTPSynchronized" not in props:
        return Source(kind="timesyncd", available=False, reason="`timedatectl show` did not report NTPSynchronized")
    synced = props.get("NTPSynchronized") == "yes"
    ntp_on = props.get("NTP")
    facts = {"ntp_service": ntp_on, "ntp_synchronized": props.get("NTPSynchronized"), "can_ntp": props.get("CanNTP")}
    if synced:
        what = "systemd says the clock is synchronized (NTPSynchronized=yes)"
    elif ntp_on == "no":
        what = "systemd: network time sync is switched off (NTP=no, NTPSynchronized=no)"
    else:
        what = "systemd says the clock is NOT synchronized (NTPSynchronized=no)"
    return Source(kind="timesyncd", available=True, synchronized=synced, reason=what, facts=facts)


def chrony(ctx: Context, timeout: float) -> Source:
    out, why = run_command(ctx, "chronyc", ["-c", "-n", "tracking"], timeout)
    if out is None:
        return Source(kind="chrony", available=False, reason=why)
    return parse_chrony_tracking(out)


def timesyncd(ctx: Context, timeout: float) -> Source:
    out, why = run_command(ctx, "timedatectl", ["show"], timeout)
    if out is None:
        return Source(kind="timesyncd", available=False, reason=why)
    return parse_timedatectl(out)


# ----------------------------------------------------------------------- PTP


def ptp(ctx: Context) -> Source:
    """The PTP hardware clock (EC2 Nitro's ENA exposes one as /dev/ptp_ena)."""
    devices = sorted(os.path.basename(p) for p in glob.glob(str(ctx.path("/dev") / "ptp*")))
    names = {}
    for path in sorted(glob.glob(str(ctx.path("/sys/class/ptp") / "ptp*" / "clock_name"))):
        try:
            names[Path(path).parent.name] = files.read_text(path, 4096, errors="replace", head=True).strip()[:64]
        except files.FileProblem:
            continue
    if not devices and not names:
        return Source(kind="ptp", available=False, reason="no PTP hardware clock (/dev/ptp*)")
    ena = "ptp_ena" in devices or any(n.startswith("ena") for n in names.values())
    conf_text = ""
    for conf in ("/etc/chrony/chrony.conf", "/etc/chrony.conf"):
        with contextlib.suppress(files.FileProblem):
            conf_text += files.read_text(ctx.path(conf), 262144, errors="replace", head=True)
    used = any(line.split("#", 1)[0].split()[:2] == ["refclock", "PHC"] for line in conf_text.splitlines())
    facts = {"devices": devices, "clock_names": names, "ena": ena, "chrony_refclock_phc": used}
    what = ("ENA PTP hardware clock present" if ena else "PTP hardware clock present") + (
        "; chrony uses it (refclock PHC)" if used else "; chrony does not use it (no `refclock PHC` line)"
    )
    return Source(kind="ptp", available=True, synchronized=None, reason=what, facts=facts)


def health(ctx: Context, deadline: float) -> tuple[Source, ...]:
    """Every offline source, each bounded by ``deadline`` (monotonic)."""
    return (
        kernel(ctx),
        chrony(ctx, min(COMMAND_TIMEOUT, deadline - time.monotonic())),
        timesyncd(ctx, min(COMMAND_TIMEOUT, deadline - time.monotonic())),
        ptp(ctx),
    )


def verdict(sources: tuple[Source, ...]) -> bool | None:
    """Synchronized?  The kernel's word first (it is what programs read), then chrony, then systemd."""
    by_kind = {s.kind: s for s in sources}
    for kind in ("kernel", "chrony", "timesyncd"):
        src = by_kind.get(kind)
        if src is not None and src.available and src.synchronized is not None:
            return src.synchronized
    return None
