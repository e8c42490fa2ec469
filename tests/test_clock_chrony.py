"""tokendoctor against a real chronyd (Debian's package; .ci/run installs it).

chronyd runs with ``-x`` (it never touches the system clock), in the
foreground, serving NTP on 127.0.0.1 at a free high port, with its config, pid,
drift file and command socket in a temp dir.  It is not a system service and is
killed (by its own pid) after each test.  The tests are skipped only when no
chronyd binary is installed.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Machine, codes
from tokendoctor.checks import clock
from tokendoctor.probes import ntp

CHRONYD = shutil.which("chronyd") or next(
    (p for p in ("/usr/sbin/chronyd", "/sbin/chronyd") if os.access(p, os.X_OK)), None
)
CHRONYC = shutil.which("chronyc") or next(
    (p for p in ("/usr/bin/chronyc", "/bin/chronyc") if os.access(p, os.X_OK)), None
)

pytestmark = [
    pytest.mark.chrony,
    pytest.mark.skipif(
        CHRONYD is None, reason="chronyd is not installed (apt-get install -y chrony; .ci/run does this)"
    ),
]


@dataclass
class Chronyd:
    port: int
    socket_path: Path
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_chronyd(tmp: Path, *, local_stratum: int | None) -> Chronyd:
    assert CHRONYD is not None
    tmp.chmod(0o700)  # chronyd refuses a command socket in a directory others can write to
    port = _free_udp_port()
    sock = tmp / "chronyd.sock"
    conf = tmp / "chrony.conf"
    lines = [
        f"port {port}",
        "bindaddress 127.0.0.1",
        "allow 127.0.0.1",
        f"bindcmdaddress {sock}",
        f"pidfile {tmp / 'chronyd.pid'}",
        f"driftfile {tmp / 'chrony.drift'}",
        "cmdallow 127.0.0.1",
    ]
    if local_stratum is not None:
        lines.append(f"local stratum {local_stratum}")
    conf.write_text("\n".join(lines) + "\n")
    log = tmp / "chronyd.log"
    # -x: never touch the system clock.  -d: foreground, log to stderr.  -u: stay this user
    # (dropping to _chrony would lose access to the temp dir).  -U: allow a non-root start.
    args = [CHRONYD, "-x", "-d", "-f", str(conf), "-u", getpass.getuser()]
    if os.geteuid() != 0:
        args.append("-U")
    with log.open("wb") as fh:
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT)
    daemon = Chronyd(port=port, socket_path=sock, proc=proc, log=log)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"chronyd exited with {proc.returncode}: {log.read_text()[-2000:]}")
        result = ntp.query_server(daemon.address, time.monotonic() + 0.3, samples=1)
        if result.answered:
            return daemon
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"chronyd did not answer on {daemon.address}: {log.read_text()[-2000:]}")


def _running(tmp: Path, local_stratum: int | None) -> Iterator[Chronyd]:
    tmp.mkdir()
    daemon = _start_chronyd(tmp, local_stratum=local_stratum)
    try:
        yield daemon
    finally:
        daemon.proc.terminate()
        try:
            daemon.proc.wait(5)
        except subprocess.TimeoutExpired:
            daemon.proc.kill()
            daemon.proc.wait(5)


@pytest.fixture
def chronyd(tmp_path: Path) -> Iterator[Chronyd]:
    """A synchronized chronyd: its own clock is the reference (``local stratum 8``)."""
    yield from _running(tmp_path / "chronyd-synced", 8)


@pytest.fixture
def chronyd_unsynced(tmp_path: Path) -> Iterator[Chronyd]:
    """A chronyd with no source at all: it answers with leap 3 and calls itself unsynchronized."""
    yield from _running(tmp_path / "chronyd-unsynced", None)


def _chronyc_pointing_at(machine: Machine, daemon: Chronyd) -> None:
    """The machine's chronyc is the real one, talking to this chronyd's private socket."""
    if CHRONYC is None:
        pytest.skip("chronyd is installed but chronyc is not")
    path = machine.file("/usr/bin/chronyc", f'#!/bin/sh\nexec {CHRONYC} -h {daemon.socket_path} "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_chronyd_is_measured_over_ntp(machine, chronyd):
    result = clock.check(machine.context(offline=False, ntp_servers=(chronyd.address,), timeout=3.0))
    ref = result.data["references"][0]
    assert ref["status"] == "ok", ref
    assert result.data["source"] == chronyd.address
    assert result.data["stratum"] == 8
    # same machine, same clock: chronyd -x serves the system time
    assert result.data["offset_seconds"] == pytest.approx(0.0, abs=0.05)
    assert "TD401" not in codes(result) and "TD403" not in codes(result)


def test_chronyc_tracking_from_a_real_chronyd(machine, chronyd):
    _chronyc_pointing_at(machine, chronyd)
    result = clock.check(machine.context(offline=True))
    src = next(s for s in result.data["sync"] if s["kind"] == "chrony")
    assert src["available"] is True, src
    assert src["synchronized"] is True and src["leap_status"] == "Normal"
    assert result.data["synchronized"] is True and codes(result) == []


def test_unsynchronized_chronyd_is_rejected_and_reported(machine, chronyd_unsynced):
    _chronyc_pointing_at(machine, chronyd_unsynced)
    result = clock.check(machine.context(offline=False, ntp_servers=(chronyd_unsynced.address,), timeout=2.0))
    ref = result.data["references"][0]
    assert ref["status"] == "rejected" and "not synchronized" in ref["reason"]
    src = next(s for s in result.data["sync"] if s["kind"] == "chrony")
    assert src["synchronized"] is False
    assert sorted(codes(result)) == ["TD402", "TD403"]
