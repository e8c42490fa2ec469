"""The clock check (issue 4) against loopback NTP responders that the tests start.

No test here talks to a public or link-local time server: servers are passed as
``127.0.0.1:PORT``; the default selection (Amazon Time Sync, configured servers,
time.aws.com) is tested as a pure function over a fake filesystem root; and
``TOKENDOCTOR_NTP_LOOPBACK_ONLY=1`` (conftest) makes the probe refuse anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW, Machine, codes
from tests.servers.ntp import NtpResponder
from tokendoctor.checks import clock
from tokendoctor.models import CheckResult
from tokendoctor.pipeline import rank
from tokendoctor.probes import ntp, timesync

DAY = 86400.0


@pytest.fixture
def responder() -> Iterator[Callable[..., NtpResponder]]:
    started: list[NtpResponder] = []

    def start(**knobs: Any) -> NtpResponder:
        r = NtpResponder(**knobs).start()
        started.append(r)
        return r

    yield start
    for r in started:
        r.stop()


def ctx_for(machine: Machine, *servers: str, kernel: timesync.Source | None = None, **options: Any) -> Any:
    opts: dict[str, Any] = {"offline": False, "ntp_servers": tuple(servers), "timeout": 3.0, **options}
    ctx = machine.context(**opts)
    if kernel is not None:
        ctx.once(timesync.KERNEL_KEY, lambda: kernel)
    return ctx


SYNCED_KERNEL = timesync.kernel_from_timex(0, 0x2001, 12_000, 500)
UNSYNCED_KERNEL = timesync.kernel_from_timex(5, 0x0041, 16_000_000, 16_000_000)


def fake_command(machine: Machine, name: str, script: str) -> None:
    path = machine.file(f"/usr/bin/{name}", "#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


# ---------------------------------------------------------------- the sign


@pytest.mark.parametrize("server_offset", [0.5, -0.5, 120.0, -120.0, DAY, -DAY])
def test_offset_sign_positive_means_local_clock_ahead(machine, responder, server_offset):
    """A server whose clock is ahead makes the local clock look behind: negative offset."""
    r = responder(offset=server_offset)
    result = clock.check(ctx_for(machine, r.address, kernel=SYNCED_KERNEL))
    data = result.data
    assert data["offset_seconds"] == pytest.approx(-server_offset, abs=0.05)
    assert data["source"] == r.address and data["source_kind"] == "ntp"
    assert data["stratum"] == 2 and data["leap"] == 0
    assert 0 <= data["delay_seconds"] < 0.5
    if abs(server_offset) > 5:
        assert codes(result) == ["TD401"]
        td401 = result.findings[0]
        assert td401.evidence["offset_seconds"] == pytest.approx(-server_offset, abs=0.05)
        assert ("ahead of" if server_offset < 0 else "behind") in td401.fix
    else:
        assert codes(result) == []
    if abs(server_offset) > 300:
        assert "RequestTimeTooSkewed" in result.findings[0].fix


def test_ntplib_offset_sign_is_the_opposite_of_ours(responder):
    """Documents why probes/ntp.py negates: ntplib's offset is what to ADD to the local clock."""
    import ntplib

    r = responder(offset=120.0)
    stats = ntplib.NTPClient().request("127.0.0.1", port=r.port, version=4, timeout=2)
    assert stats.offset == pytest.approx(120.0, abs=0.05)
    sample = ntp.query_server(r.address, deadline=__import__("time").monotonic() + 2, samples=1)
    assert sample.best is not None and sample.best.offset == pytest.approx(-120.0, abs=0.05)


def test_max_skew_is_the_threshold(machine, responder):
    r = responder(offset=-0.5)
    assert codes(clock.check(ctx_for(machine, r.address, kernel=SYNCED_KERNEL, max_skew=0.2))) == ["TD401"]
    assert codes(clock.check(ctx_for(machine, r.address, kernel=SYNCED_KERNEL, max_skew=5.0))) == []


# ------------------------------------------------------------ bad answers


@pytest.mark.parametrize(
    ("knobs", "words"),
    [
        ({"stratum": 0, "refid": b"XFOO"}, "stratum 0"),
        ({"stratum": 16}, "stratum 16"),
        ({"leap": 3}, "leap indicator 3"),
        ({"kiss": b"RATE"}, "kiss-of-death 'RATE'"),
        ({"kiss": b"DENY"}, "kiss-of-death 'DENY'"),
    ],
)
def test_rejected_answers_are_never_used(machine, responder, knobs, words):
    r = responder(offset=DAY, **knobs)
    result = clock.check(ctx_for(machine, r.address))
    ref = result.data["references"][0]
    assert ref["status"] == "rejected" and words in ref["reason"]
    assert result.data["offset_seconds"] is None
    assert codes(result) == ["TD403"], "a rejected server's 1-day offset must not become TD401"
    assert result.status == "skipped" and result.detail
    if "kiss" in knobs:
        assert len(r.requests) == 1, "a kiss-of-death means stop asking"


def test_kiss_of_death_from_one_server_does_not_hide_a_good_one(machine, responder):
    bad = responder(kiss=b"RATE")
    good = responder(offset=-120.0)
    result = clock.check(ctx_for(machine, bad.address, good.address, kernel=SYNCED_KERNEL))
    assert result.data["source"] == good.address
    assert result.data["offset_seconds"] == pytest.approx(120.0, abs=0.05)
    assert codes(result) == ["TD401"]


@pytest.mark.parametrize(
    ("knobs", "status", "words"),
    [
        ({"garbage": b"\x00\x01hello"}, "garbage", "not an NTP packet"),
        ({"mode": 3}, "garbage", "mode 3"),
        ({"stratum": 200}, "garbage", "out of range"),
        ({"echo_origin": False}, "garbage", "origin timestamp not ours"),
    ],
)
def test_garbage_becomes_a_status_with_a_reason(machine, responder, knobs, status, words):
    r = responder(**knobs)
    result = clock.check(ctx_for(machine, r.address, timeout=1.0))
    ref = result.data["references"][0]
    assert ref["status"] == status and words in ref["reason"]
    assert codes(result) == ["TD403"]


def test_best_sample_by_delay_across_servers(machine, responder):
    slow = responder(offset=-50.0, delay=0.3)
    fast = responder(offset=0.0)
    result = clock.check(ctx_for(machine, slow.address, fast.address, kernel=SYNCED_KERNEL))
    assert result.data["source"] == fast.address
    assert codes(result) == []
    slow_ref = next(r for r in result.data["references"] if r["server"] == slow.address)
    assert slow_ref["status"] == "ok" and slow_ref["delay_seconds"] >= 0.25


def test_artificial_delay_shows_in_delay_not_offset(machine, responder):
    r = responder(offset=0.0, delay=0.2)
    data = clock.check(ctx_for(machine, r.address, kernel=SYNCED_KERNEL)).data
    assert data["delay_seconds"] >= 0.18
    assert data["offset_seconds"] == pytest.approx(0.0, abs=0.05)


def test_dropped_packets_are_retried_and_reported(machine, responder):
    r = responder(offset=-120.0, drop=2)
    result = clock.check(ctx_for(machine, r.address, kernel=SYNCED_KERNEL, timeout=4.0))
    ref = result.data["references"][0]
    assert ref["status"] == "ok" and "lost" in ref["reason"]
    assert ref["samples_sent"] > ref["samples_answered"]
    assert codes(result) == ["TD401"]


def test_all_packets_dropped_is_time_source_unreachable_not_an_error(machine, responder):
    r = responder(drop="all")
    result = clock.check(ctx_for(machine, r.address, timeout=0.5))
    assert result.data["references"][0]["status"] == "timeout"
    assert codes(result) == ["TD403"]
    report = rank([result])
    assert report.causes[0].severity == "warning" and report.exit_code == 0


def test_answer_slower_than_the_budget_is_a_timeout(machine, responder):
    r = responder(delay=3.0)
    result = clock.check(ctx_for(machine, r.address, timeout=0.5))
    assert result.data["references"][0]["status"] == "timeout"
    assert codes(result) == ["TD403"]


def test_closed_port_is_unreachable(machine):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = clock.check(ctx_for(machine, f"127.0.0.1:{port}", timeout=1.0))
    ref = result.data["references"][0]
    assert ref["status"] in ("unreachable", "timeout")
    assert codes(result) == ["TD403"]


def test_offline_sends_nothing_but_still_reads_sync_health(machine, responder):
    r = responder()
    result = clock.check(ctx_for(machine, r.address, kernel=UNSYNCED_KERNEL, offline=True))
    assert r.requests == []
    assert "--offline" in result.data["ntp"]["skipped"]
    assert result.data["synchronized"] is False
    assert codes(result) == ["TD402"]
    assert "offset not measured (--offline" in result.data["summary"]


# ------------------------------------------------------ server selection


def test_parse_server():
    assert ntp.parse_server("127.0.0.1:1234") == ("127.0.0.1", 1234)
    assert ntp.parse_server("time.aws.com") == ("time.aws.com", 123)
    assert ntp.parse_server("fd00:ec2::123") == ("fd00:ec2::123", 123)
    assert ntp.parse_server("[::1]:9999") == ("::1", 9999)
    for bad in ("", ":123", "host:0", "host:99999", "[::1", "host:abc"):
        with pytest.raises(ValueError):
            ntp.parse_server(bad)


def test_select_explicit_servers_win(machine):
    machine.file("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n")
    sel = ntp.select_servers(machine.context(ntp_servers=("127.0.0.1:5", "127.0.0.1:5", "127.0.0.1:6")))
    assert sel.servers == ("127.0.0.1:5", "127.0.0.1:6") and sel.why == "--ntp-server"


def test_select_amazon_time_sync_on_ec2(machine):
    machine.file("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n")
    machine.file("/etc/chrony/chrony.conf", "pool 2.debian.pool.ntp.org iburst\n")
    assert ntp.select_servers(machine.context()).servers == ("169.254.169.123",)


def test_select_amazon_time_sync_ipv6_when_ipv6_is_on(machine):
    machine.file("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n")
    machine.file(
        "/proc/net/if_inet6",
        "00000000000000000000000000000001 01 80 10 80       lo\n"
        "fe80000000000000042b1afffe9e4d3b 02 40 20 80     ens5\n"
        "26001f1400000000aaaabbbbccccdddd 02 80 00 00     ens5\n",
    )
    assert ntp.select_servers(machine.context()).servers == ("169.254.169.123", "fd00:ec2::123")


def test_select_link_local_ipv6_only_is_not_ipv6_on(machine):
    machine.file("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n")
    machine.file("/proc/net/if_inet6", "fe80000000000000042b1afffe9e4d3b 02 40 20 80     ens5\n")
    assert ntp.select_servers(machine.context()).servers == ("169.254.169.123",)


def test_select_chrony_config_and_its_sourcedir(machine):
    machine.file(
        "/etc/chrony/chrony.conf",
        "# comment\npool 2.debian.pool.ntp.org iburst\n! server commented.example\nsourcedir "
        "/etc/chrony/extra\nmakestep 1 3\n",
    )
    machine.file("/etc/chrony/extra/corp.sources", "server ntp.corp.example iburst\n")
    machine.file("/etc/chrony/conf.d/aws.conf", "server 169.254.169.123 prefer iburst\n")
    sel = ntp.select_servers(machine.context())
    assert sel.servers == ("2.debian.pool.ntp.org", "169.254.169.123", "ntp.corp.example")
    assert sel.why == "named in /etc/chrony/chrony.conf"


def test_select_ntpd_config(machine):
    machine.file(
        "/etc/ntp.conf", "driftfile /var/lib/ntp/drift\nserver 0.rhel.pool.ntp.org iburst\nrestrict default nomodify\n"
    )
    sel = ntp.select_servers(machine.context())
    assert sel.servers == ("0.rhel.pool.ntp.org",) and "/etc/ntp.conf" in sel.why


def test_select_timesyncd_config_and_dropins(machine):
    machine.file("/etc/systemd/timesyncd.conf", "[Time]\n#NTP=\nFallbackNTP=ntp.ubuntu.com\n")
    machine.file("/etc/systemd/timesyncd.conf.d/10-corp.conf", "[Time]\nNTP=a.corp.example b.corp.example\n")
    sel = ntp.select_servers(machine.context())
    assert sel.servers == ("a.corp.example", "b.corp.example")


def test_select_falls_back_to_time_aws_com(machine):
    sel = ntp.select_servers(machine.context())
    assert sel.servers == ("time.aws.com",) and sel.why.startswith("fallback")


def test_default_servers_are_never_queried_under_test(machine, monkeypatch):
    """The conftest guard: a non-loopback server is refused before any DNS lookup or packet."""
    machine.file("/sys/devices/virtual/dmi/id/sys_vendor", "Amazon EC2\n")

    def forbidden(*a: Any, **k: Any) -> Any:
        raise AssertionError("a test tried to resolve or reach a real time server")

    monkeypatch.setattr(socket, "getaddrinfo", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    result = clock.check(machine.context(offline=False, timeout=1.0))
    assert [r["status"] for r in result.data["references"]] == ["not-allowed"]
    assert result.data["ntp"]["servers"] == ["169.254.169.123"]
    assert codes(result) == ["TD403"]


# ------------------------------------------------------------ sync health


CHRONY_SYNCED = "A9FEA97B,169.254.169.123,4,1750247940.123,-0.000001234,-0.000002,0.000010,-3.2,-0.001,0.05,0.000500,0.000200,16.0,Normal"
CHRONY_UNSYNCED = "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised"


def test_chrony_synced(machine):
    fake_command(machine, "chronyc", f"echo '{CHRONY_SYNCED}'")
    result = clock.check(ctx_for(machine, offline=True))
    chrony = next(s for s in result.data["sync"] if s["kind"] == "chrony")
    assert chrony["synchronized"] is True and chrony["reference"] == "169.254.169.123" and chrony["stratum"] == 4
    assert chrony["system_clock_offset_seconds"] == pytest.approx(0.000001234)
    assert result.data["synchronized"] is True
    assert codes(result) == []


def test_chrony_not_synchronised_is_TD402(machine):
    fake_command(machine, "chronyc", f"echo '{CHRONY_UNSYNCED}'")
    result = clock.check(ctx_for(machine, offline=True))
    assert result.data["synchronized"] is False
    assert codes(result) == ["TD402"]
    assert "chronyd is running but not synchronized" in result.findings[0].fix
    assert "sudo systemctl enable --now chronyd" in result.findings[0].fix


def test_chronyd_not_running(machine):
    fake_command(machine, "chronyc", "echo '506 Cannot talk to daemon'; exit 1")
    chrony = next(s for s in clock.check(ctx_for(machine, offline=True)).data["sync"] if s["kind"] == "chrony")
    assert chrony["available"] is False and "chronyd is not running" in chrony["detail"]


def test_chronyc_garbage_is_skipped_with_reason(machine):
    fake_command(machine, "chronyc", "printf 'zz,\\377\\376 garbage\\n'")
    chrony = next(s for s in clock.check(ctx_for(machine, offline=True)).data["sync"] if s["kind"] == "chrony")
    assert chrony["available"] is False and "unexpected" in chrony["detail"]


def test_hanging_status_command_is_cut_off(machine, monkeypatch):
    monkeypatch.setattr(timesync, "COMMAND_TIMEOUT", 0.3)
    fake_command(machine, "timedatectl", "exec /bin/sleep 30")
    result = clock.check(ctx_for(machine, offline=True))
    ts = next(s for s in result.data["sync"] if s["kind"] == "timesyncd")
    assert ts["available"] is False and "did not answer" in ts["detail"]


def test_timesyncd_not_synchronized_is_TD402(machine):
    fake_command(
        machine, "timedatectl", "printf 'Timezone=UTC\\nLocalRTC=no\\nCanNTP=yes\\nNTP=no\\nNTPSynchronized=no\\n'"
    )
    result = clock.check(ctx_for(machine, offline=True))
    assert result.data["synchronized"] is False
    assert codes(result) == ["TD402"]
    assert "NTP=no" in result.findings[0].fix
    assert "timedatectl set-ntp true" in result.findings[0].fix


def test_kernel_view_wins_over_daemons(machine):
    fake_command(machine, "timedatectl", "printf 'NTP=yes\\nNTPSynchronized=yes\\n'")
    result = clock.check(ctx_for(machine, kernel=UNSYNCED_KERNEL, offline=True))
    assert result.data["synchronized"] is False
    kernel = next(s for s in result.data["sync"] if s["kind"] == "kernel")
    assert kernel["sta_unsync"] is True and kernel["clock_state"] == "TIME_ERROR"
    assert kernel["maxerror_seconds"] == 16.0
    assert codes(result) == ["TD402"]


def test_nothing_readable_offline_is_a_skip_with_a_reason(machine):
    result = clock.check(ctx_for(machine, offline=True))
    assert result.status == "skipped" and "--offline" in result.detail
    assert result.data["synchronized"] is None and codes(result) == []
    kinds = {s["kind"]: s for s in result.data["sync"]}
    assert "described machine" in kinds["kernel"]["detail"]
    assert kinds["chrony"]["detail"] == "chronyc is not installed"
    assert kinds["ptp"]["available"] is False


def test_real_adjtimex_is_read_only_and_answers():
    src = timesync.read_kernel()
    if not src.available:
        pytest.skip(src.reason)
    assert isinstance(src.synchronized, bool)
    assert src.facts["clock_state"] in ("TIME_OK", "TIME_INS", "TIME_DEL", "TIME_OOP", "TIME_WAIT", "TIME_ERROR")


def test_ptp_hardware_clock_on_nitro(machine):
    machine.file("/dev/ptp0", "")
    machine.file("/dev/ptp_ena", "")
    machine.file("/sys/class/ptp/ptp0/clock_name", "ena-ptp-05\n")
    machine.file("/etc/chrony/chrony.conf", "refclock PHC /dev/ptp_ena poll 0 delay 0.000010 prefer\n")
    ptp = next(s for s in clock.check(ctx_for(machine, offline=True)).data["sync"] if s["kind"] == "ptp")
    assert ptp["available"] is True and ptp["ena"] is True and ptp["chrony_refclock_phc"] is True
    assert ptp["devices"] == ["ptp0", "ptp_ena"]


# --------------------------------------------- effect on the credentials


WINDOWS = {"advisory": 900, "mandatory": 600, "assume_role_cache": 900}


def _resolved(method: str = "iam-role", refreshable: bool = True, remaining: int = 3000) -> dict[str, Any]:
    expires = NOW + dt.timedelta(seconds=remaining)
    return {
        "method": method,
        "access_key_id": "ASIA…WXYZ",
        "temporary": True,
        "refreshable": refreshable,
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "seconds_remaining": remaining,
    }


def test_effect_slow_clock_beyond_the_refresh_window_leaves_a_gap():
    e = clock.credential_effect(_resolved(), -1200.0, WINDOWS)
    assert e["expires_at_aws_time"] == "2026-06-18T12:50:00Z"
    assert e["sdk_expiry_aws_time"] == "2026-06-18T13:10:00Z"
    assert e["sdk_refresh_aws_time"] == "2026-06-18T12:55:00Z"
    assert e["gap_seconds"] == 300
    assert e["failing_window_aws_time"] == ["2026-06-18T12:50:00Z", "2026-06-18T12:55:00Z"]
    assert e["gap_if_advisory_refresh_fails_seconds"] == 600
    assert "ExpiredToken in that gap" in e["summary"]


def test_effect_slow_clock_inside_the_window_has_no_gap():
    e = clock.credential_effect(_resolved(), -120.0, WINDOWS)
    assert e["gap_seconds"] == 0 and "no gap" in e["summary"]
    assert e["sdk_refresh_aws_time"] == "2026-06-18T12:37:00Z"


def test_effect_fast_clock_refreshes_early():
    e = clock.credential_effect(_resolved(), 1200.0, WINDOWS)
    assert e["gap_seconds"] == 0 and "refreshes early" in e["summary"]
    assert "on every call" in e["summary"]


def test_effect_already_expired_by_aws_clock():
    e = clock.credential_effect(_resolved(method="env", refreshable=False, remaining=100), -400.0, WINDOWS)
    assert e["expired_by_aws_clock"] is True and e["sdk_thinks_valid"] is True
    assert e["seconds_remaining_aws_clock"] == -300
    assert e["summary"].startswith("ALREADY EXPIRED by AWS's clock")
    assert e["local_clock_reads_at_expiry"] == "2026-06-18T11:55:00Z"


def test_effect_unknown_expiry():
    e = clock.credential_effect({"method": "env", "expires_at": None}, -1200.0, WINDOWS)
    assert e["known"] is False


def test_refresh_windows_come_from_botocore(monkeypatch):
    import botocore.credentials as bc

    assert clock.refresh_windows() == {"advisory": 900, "mandatory": 600, "assume_role_cache": 900}
    monkeypatch.setattr(bc, "_DEFAULT_ADVISORY_REFRESH_TIMEOUT", 1000)
    assert clock.refresh_windows()["advisory"] == 1000


def _clock_result(offset: float | None, **extra: Any) -> CheckResult:
    data = {
        "offset_seconds": offset,
        "delay_seconds": 0.001 if offset is not None else None,
        "source": "127.0.0.1:9" if offset is not None else None,
        "source_kind": "ntp" if offset is not None else None,
        "stratum": 2 if offset is not None else None,
        "leap": 0,
        "synchronized": True,
        "references": [],
        "sync": [],
        "ntp": {"servers": [], "selected_because": "--ntp-server", "skipped": None, "elapsed_ms": 1},
        "max_skew_seconds": 5.0,
        "on_ec2": True,
        "effect": None,
        **extra,
    }
    return CheckResult(name="clock", data=clock.present(data))


def test_reporter_derive_puts_the_gap_into_TD401():
    creds = CheckResult(name="credentials", data={"resolved": _resolved(), "chain": []})
    clock_res = _clock_result(-1200.0)
    from tokendoctor.checks.clock import _td401

    clock_res = CheckResult(
        name="clock", data=clock_res.data, findings=(_td401(clock_res.data, -1200.0, "NTP server 127.0.0.1:9", 0.001),)
    )
    report = rank([creds, clock_res])
    td401 = next(c for c in report.causes if c.code == "TD401")
    assert "Effect on the iam-role credentials" in td401.fix and "300 s" in td401.fix
    assert CHRONY_LINE in td401.fix
    assert report.sections["clock"]["effect"]["gap_seconds"] == 300
    assert ["effect on credentials", report.sections["clock"]["effect"]["summary"]] in report.sections["clock"]["rows"]
    assert report.exit_code == 1


CHRONY_LINE = "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"


def test_imds_date_header_is_a_reference_and_can_raise_TD401_alone():
    imds = CheckResult(name="imds", data={"probed": True, "date_header_offset_seconds": -400.0})
    report = rank([_clock_result(None), imds])
    data = report.sections["clock"]
    assert data["source"] == "IMDS Date header" and data["offset_seconds"] == -400.0
    assert data["references"][-1]["kind"] == "imds-date" and data["references"][-1]["resolution_seconds"] == 1
    assert [c.code for c in report.causes] == ["TD401"]
    assert "1 s resolution" in data["summary"]


def test_imds_date_within_its_resolution_is_not_skew():
    imds = CheckResult(name="imds", data={"probed": True, "date_header_offset_seconds": 5.8})
    report = rank([_clock_result(None), imds])
    assert report.causes == ()
    imds_with_ntp = rank([_clock_result(0.01), imds])
    assert imds_with_ntp.sections["clock"]["source"] == "127.0.0.1:9"


# ---------------------------------------------------------- end to end


def _cli(args: list[str], capsys: Any, monkeypatch: Any, root: Path) -> tuple[int, str]:
    from tokendoctor.cli import main

    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(root))
    rc = main(["check", *args])
    return rc, capsys.readouterr().out


@pytest.fixture
def static_creds(machine: Machine, monkeypatch: Any) -> Machine:
    machine.credentials(
        # not AWS's documentation example key: that is a placeholder (TD241), this is a plain long-term key
        "[default]\naws_access_key_id = AKIACLOCKTESTCLOCKTS\naws_secret_access_key = "
        "clocktestsecretclocktestsecretclocktests\n"
    )
    monkeypatch.setenv("HOME", str(machine.home))
    return machine


def test_cli_json_clock_section_and_exit_code(static_creds, responder, capsys, monkeypatch):
    r = responder(offset=-120.0)
    rc, out = _cli(["--json", "--ntp-server", r.address], capsys, monkeypatch, static_creds.root)
    doc = json.loads(out)
    assert rc == 1 and doc["exit_code"] == 1
    c = doc["clock"]
    for key in ("offset_seconds", "delay_seconds", "source", "stratum", "synchronized", "references", "summary"):
        assert key in c
    assert c["offset_seconds"] == pytest.approx(120.0, abs=0.05)
    assert [x["code"] for x in doc["causes"]][0] == "TD401"
    assert {"name": "clock"}.items() <= next(x for x in doc["checks"] if x["name"] == "clock").items()
    schema_path = Path(clock.__file__).parent.parent / "resources" / "report.schema.json"
    if schema_path.exists():
        jsonschema = pytest.importorskip("jsonschema")
        jsonschema.validate(doc, json.loads(schema_path.read_text()))


def test_cli_unreachable_time_source_alone_exits_0(static_creds, responder, capsys, monkeypatch):
    r = responder(drop="all")
    rc, out = _cli(["--json", "--timeout", "2", "--ntp-server", r.address], capsys, monkeypatch, static_creds.root)
    doc = json.loads(out)
    assert [x["code"] for x in doc["causes"]] == ["TD403"]
    assert rc == 0 and doc["status"] == "warning"


def test_cli_text_report_shows_the_clock(static_creds, responder, capsys, monkeypatch):
    r = responder(offset=0.5)
    rc, out = _cli(["--ntp-server", r.address], capsys, monkeypatch, static_creds.root)
    assert rc == 0
    shown = re.search(r"Clock: local clock (-?\d+(?:\.\d+)?)", out)
    # The loopback measurement is 0.5 s give or take scheduling noise (-0.499 happens): compare numbers.
    assert shown and float(shown[1]) == pytest.approx(-0.5, abs=0.05) and f"NTP {r.address}" in out


def test_cli_garbage_server_is_never_a_traceback(static_creds, responder, capsys, monkeypatch):
    r = responder(garbage=bytes(range(256)) * 3)
    rc, out = _cli(["--json", "--timeout", "3", "--ntp-server", r.address], capsys, monkeypatch, static_creds.root)
    doc = json.loads(out)
    assert rc == 0 and doc["clock"]["references"][0]["status"] == "garbage"


def test_cli_rejects_a_bad_ntp_server(capsys):
    from tokendoctor.cli import main

    assert main(["check", "--ntp-server", "host:99999"]) == 2
    assert "port must be 1-65535" in capsys.readouterr().err


def test_cli_max_skew_duration(static_creds, responder, capsys, monkeypatch):
    r = responder(offset=-120.0)
    rc, _ = _cli(["--json", "--max-skew", "5m", "--ntp-server", r.address], capsys, monkeypatch, static_creds.root)
    assert rc == 0


def test_answers_later_than_a_sample_waits_are_late_not_garbage(machine, responder):
    r = responder(delay=1.3)
    result = clock.check(ctx_for(machine, r.address, timeout=5.0))
    ref = result.data["references"][0]
    assert ref["status"] == "timeout" and "later than" in ref["reason"]
    assert codes(result) == ["TD403"]
