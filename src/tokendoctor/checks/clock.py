"""The clock: how far off is it, is anything keeping it right, and what does that do to expiry?

Entry points: :func:`check` (the ``clock`` check: NTP measurement and offline
sync health, TD401 clock-skew, TD402 clock-unsynchronized, TD403
time-source-unreachable) and :func:`combine`, the pure step the reporter runs
after all checks (``tokendoctor.reporter.derive``): it adds the IMDS and STS
(``--live``) ``Date`` headers as clock references and applies the offset to the winning credentials'
expiry and botocore's refresh windows.  Doing that after the checks, on their
results, keeps the clock check independent of the credentials and imds checks
(no waiting on another thread) and keeps the arithmetic pure.

Sign convention everywhere: ``offset_seconds`` = local clock minus reference
clock; positive = local clock ahead (fast), negative = behind (slow).
"""

from __future__ import annotations

import datetime as _dt
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from tokendoctor.chain.botocore_private import refresh_windows
from tokendoctor.context import Context
from tokendoctor.limits import DATE_HEADER_UNCERTAINTY, SIGV4_TOLERANCE_SECONDS
from tokendoctor.models import CheckResult, CheckStatus, Finding
from tokendoctor.probes import ntp as _ntp
from tokendoctor.probes import timesync as _sync
from tokendoctor.timefmt import iso, parse_time

NAME = "clock"
CHRONY_TIME_SYNC_LINE = "server 169.254.169.123 prefer iburst minpoll 4 maxpoll 4"


def check(ctx: Context) -> CheckResult:
    from tokendoctor.probes.platform import detect

    started = time.monotonic()
    deadline = started + max(ctx.options.timeout * _ntp.BUDGET_SHARE, 0.05)
    selection = _ntp.select_servers(ctx)
    box: list[_ntp.Measurement] = []
    thread = None
    if not ctx.options.offline:
        thread = threading.Thread(
            target=lambda: box.append(_ntp.measure(ctx, selection)), name="td-clock-ntp", daemon=True
        )
        thread.start()
    sources = _sync.health(ctx, deadline)
    if thread is not None:
        thread.join(max(deadline - time.monotonic() + 0.1, 0))
    if ctx.options.offline:
        measurement = _ntp.Measurement(selection=selection, skipped="--offline: NTP not queried")
    elif box:
        measurement = box[0]
    else:
        measurement = _ntp.Measurement(
            selection=selection, skipped="NTP measurement did not finish before the deadline"
        )
    on_ec2 = detect(ctx).on_ec2
    data = _data(ctx, measurement, sources, on_ec2)
    findings = _findings(data, measurement, sources)
    status: CheckStatus = "ok"
    detail = ""
    if data["offset_seconds"] is None and data["synchronized"] is None:
        status = "skipped"
        detail = measurement.skipped or "no time source answered and no sync status is readable"
    return CheckResult(name=NAME, status=status, detail=detail, findings=tuple(findings), data=present(data))


def _data(ctx: Context, m: _ntp.Measurement, sources: tuple[_sync.Source, ...], on_ec2: bool) -> dict[str, Any]:
    best = m.best.best if m.best is not None else None
    return {
        "offset_seconds": round(best.offset, 6) if best else None,
        "delay_seconds": round(best.delay, 6) if best else None,
        "source": m.best.server if m.best else None,
        "source_kind": "ntp" if m.best else None,
        "stratum": best.stratum if best else None,
        "leap": best.leap if best else None,
        "synchronized": _sync.verdict(sources),
        "references": [r.to_dict() for r in m.servers],
        "sync": [s.to_dict() for s in sources],
        "ntp": {
            "servers": list(m.selection.servers),
            "selected_because": m.selection.why,
            "skipped": m.skipped,
            "elapsed_ms": m.elapsed_ms,
        },
        "max_skew_seconds": ctx.options.max_skew,
        "on_ec2": on_ec2,
        "effect": None,
    }


def _direction(offset: float) -> str:
    return f"{abs(offset):.3f} s {'ahead of' if offset > 0 else 'behind'}"


def sync_fix(on_ec2: bool) -> str:
    server = (
        f"  in /etc/chrony/chrony.conf (Amazon Linux: /etc/chrony.conf) put:  {CHRONY_TIME_SYNC_LINE}\n"
        if on_ec2
        else "  in /etc/chrony/chrony.conf (RHEL/Amazon Linux: /etc/chrony.conf) name a reachable server, e.g.  "
        "server time.aws.com iburst   (on EC2:  " + CHRONY_TIME_SYNC_LINE + ")\n"
    )
    return (
        "Run a time sync daemon and let it correct the clock:\n"
        "  sudo apt-get install chrony   (or: sudo dnf install chrony)\n"
        + server
        + "  sudo systemctl enable --now chronyd   (Debian/Ubuntu unit name: chrony)\n"
        "  sudo chronyc makestep        # step the clock now instead of slewing for hours\n"
        "  chronyc tracking             # check: 'Leap status : Normal', System time near 0\n"
        "Or, with systemd-timesyncd instead of chrony:  sudo timedatectl set-ntp true  (check: timedatectl show | "
        "grep NTPSynchronized)"
    )


def _td401(data: dict[str, Any], offset: float, source: str, uncertainty: float) -> Finding:
    effects = []
    if abs(offset) > SIGV4_TOLERANCE_SECONDS:
        effects.append(
            "AWS rejects every signed request off by more than 5 minutes (RequestTimeTooSkewed, "
            "'Signature expired', 'Signature not yet current'); botocore does not correct skew."
        )
    if offset < 0:
        effects.append(
            "A slow clock makes the SDK keep using credentials AWS already considers expired "
            "(it refreshes by the local clock) - ExpiredToken."
        )
    else:
        effects.append("A fast clock makes the SDK refresh credentials early and stamp requests in the future.")
    evidence: dict[str, Any] = {
        "offset_seconds": round(offset, 3),
        "source": source,
        "max_skew_seconds": data.get("max_skew_seconds"),
        "uncertainty_seconds": uncertainty,
    }
    return Finding(
        code="TD401",
        evidence=evidence,
        title=f"The local clock is {_direction(offset)} {source}",
        fix=f"The local clock is {_direction(offset)} {source}. "
        + " ".join(effects)
        + "\n"
        + sync_fix(bool(data.get("on_ec2"))),
    )


def _findings(data: dict[str, Any], m: _ntp.Measurement, sources: tuple[_sync.Source, ...]) -> list[Finding]:
    out: list[Finding] = []
    offset = data["offset_seconds"]
    if offset is not None and abs(offset) > data["max_skew_seconds"]:
        out.append(_td401(data, offset, f"NTP server {data['source']}", round(data["delay_seconds"] / 2, 6)))
    if data["synchronized"] is False:
        said = {s.kind: s.reason for s in sources if s.available}
        out.append(
            Finding(
                code="TD402",
                evidence={"sources": said},
                fix="Nothing keeps this clock right: "
                + "; ".join(said.values())
                + ".\n"
                + sync_fix(bool(data.get("on_ec2"))),
            )
        )
    if m.skipped is None and m.servers and m.best is None:
        tried = {r.server: f"{r.status}: {r.reason}" for r in m.servers}
        servers = ", ".join(m.selection.servers)
        out.append(
            Finding(
                code="TD403",
                evidence={"servers": tried, "selected_because": m.selection.why},
                fix=(
                    f"No usable answer from {servers} ({m.selection.why}). Allow outbound UDP 123 to it "
                    "(security group / NACL / firewall), or on EC2 use Amazon Time Sync at 169.254.169.123, "
                    "which needs no internet access. Check by hand without touching the clock:\n"
                    f"  chronyd -Q -t 5 'server {_host(m.selection.servers)} iburst maxsamples 1'\n"
                    "Or pass a server you can reach: tokendoctor check --ntp-server HOST[:PORT]"
                ),
            )
        )
    return out


def _host(servers: tuple[str, ...]) -> str:
    try:
        return _ntp.parse_server(servers[0])[0]
    except (IndexError, ValueError):
        return "time.aws.com"


# ------------------------------------------------------------- presentation


def _fmt_offset(offset: float | None) -> str:
    if offset is None:
        return "unknown"
    return f"{offset:+.3f} s ({'ahead' if offset > 0 else 'behind' if offset < 0 else 'exact'})"


def present(data: dict[str, Any]) -> dict[str, Any]:
    """Add ``summary`` (one line) and ``rows`` ([item, value] pairs) for the text renderer."""
    data = dict(data)
    offset = data.get("offset_seconds")
    sync = data.get("synchronized")
    sync_word = {True: "synchronized", False: "NOT synchronized", None: "sync status unknown"}[sync]
    if offset is not None:
        head = f"local clock {_fmt_offset(offset)} vs {data['source']}"
        if data.get("delay_seconds") is not None:
            head += f" (delay {data['delay_seconds'] * 1000:.1f} ms, stratum {data['stratum']})"
        elif data.get("source_kind") in ("imds-date", "sts-date"):
            head += " (1 s resolution)"
    else:
        ntp = data.get("ntp") or {}
        head = "offset not measured" + (f" ({ntp['skipped']})" if ntp.get("skipped") else " (no time source answered)")
    data["summary"] = f"{head}; {sync_word}"
    rows: list[list[str]] = []
    for ref in data.get("references") or []:
        if ref.get("kind") == "ntp":
            if ref.get("status") == "ok":
                delay_ms = ref["delay_seconds"] * 1000
                value = f"{_fmt_offset(ref['offset_seconds'])}, delay {delay_ms:.1f} ms, stratum {ref['stratum']}"
            else:
                value = f"{ref['status']}: {ref.get('reason') or ''}"
            rows.append([f"NTP {ref['server']}", value])
        else:
            rows.append(
                [
                    str(ref.get("label") or ref.get("kind")),
                    f"{_fmt_offset(ref.get('offset_seconds'))}, {ref.get('detail', '')}",
                ]
            )
    for src in data.get("sync") or []:
        rows.append([f"sync: {src['kind']}", str(src.get("detail") or "")])
    effect = data.get("effect")
    if isinstance(effect, dict) and effect.get("summary"):
        rows.append(["effect on credentials", effect["summary"]])
    data["rows"] = rows
    return data


# ------------------------------------------------------------------ combine


def credential_effect(resolved: dict[str, Any] | None, offset: float, windows: dict[str, int]) -> dict[str, Any]:
    """What a clock ``offset`` (local minus AWS, seconds) does to these credentials.  Pure.

    All ``*_aws_time`` values are instants on AWS's clock.  The SDK compares the
    expiry AWS issued with the LOCAL clock, so an event the SDK schedules at
    local time ``T`` happens at AWS time ``T - offset``.
    """
    resolved = resolved or {}
    expires = parse_time(resolved.get("expires_at"))
    method = resolved.get("method")
    if expires is None:
        return {"known": False, "method": method, "summary": "credential expiry not known offline: effect not computed"}
    refreshable = bool(resolved.get("refreshable"))
    d = float(offset)
    shift = _dt.timedelta(seconds=d)
    out: dict[str, Any] = {
        "known": True,
        "method": method,
        "refreshable": refreshable,
        "offset_seconds": round(d, 3),
        "expires_at_aws_time": iso(expires),
        "local_clock_reads_at_expiry": iso(expires + shift),
        "sdk_expiry_aws_time": iso(expires - shift),
        "refresh_windows_seconds": windows,
    }
    remaining_local = resolved.get("seconds_remaining")
    if isinstance(remaining_local, (int, float)):
        out["seconds_remaining_aws_clock"] = int(remaining_local + d)
        out["expired_by_aws_clock"] = remaining_local + d <= 0
        out["sdk_thinks_valid"] = remaining_local > 0
    gap = 0.0
    if refreshable:
        adv, mand = windows["advisory"], windows["mandatory"]
        out["sdk_refresh_aws_time"] = iso(expires - _dt.timedelta(seconds=adv) - shift)
        out["sdk_mandatory_refresh_aws_time"] = iso(expires - _dt.timedelta(seconds=mand) - shift)
        gap = max(0.0, -d - adv)
        out["gap_seconds"] = int(gap)
        out["gap_if_advisory_refresh_fails_seconds"] = int(max(0.0, -d - mand))
        if gap > 0:
            out["failing_window_aws_time"] = [iso(expires), iso(expires + _dt.timedelta(seconds=gap))]
            summary = (
                f"the clock is {abs(d):.0f} s slow, more than botocore's {adv} s refresh window: after the credentials "
                f"expire at {iso(expires)} (AWS time) the SDK keeps signing with them for {gap:.0f} s before it "
                f"refreshes at {out['sdk_refresh_aws_time']} - ExpiredToken in that gap, every cycle"
            )
        elif d < 0:
            summary = (
                f"expire {iso(expires)} (AWS time); the SDK refreshes at {out['sdk_refresh_aws_time']} "
                f"({adv + d:.0f} s before expiry instead of {adv} s): no gap"
            )
        else:
            summary = (
                f"expire {iso(expires)} (AWS time); the clock is {d:.0f} s fast, so the SDK refreshes early at "
                f"{out['sdk_refresh_aws_time']}: no gap"
                + ("; if the session is shorter than that it refreshes on every call" if d > adv else "")
            )
        if method == "assume-role" and -d > windows["assume_role_cache"]:
            summary += (
                f"; the AWS CLI/botocore assume-role cache also trusts cached sessions {abs(d):.0f} s past their expiry"
            )
    else:
        out["gap_seconds"] = None
        summary = (
            f"nothing refreshes them: AWS rejects them from {iso(expires)} (AWS time), when the local clock reads "
            f"{out['local_clock_reads_at_expiry']}"
        )
    if out.get("expired_by_aws_clock") and out.get("sdk_thinks_valid"):
        summary = (
            f"ALREADY EXPIRED by AWS's clock ({-out['seconds_remaining_aws_clock']} s ago) while the local clock says "
            f"{remaining_local} s remain: requests fail with ExpiredToken now; " + summary
        )
    out["summary"] = summary
    return out


def combine(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Pure: enrich the ``clock`` result with the IMDS Date reference and the effect on the credentials."""
    by_name = {r.name: r for r in results}
    clock = by_name.get(NAME)
    if clock is None or not clock.data:
        return list(results)
    data = dict(clock.data)
    findings = list(clock.findings)
    references = list(data.get("references") or [])
    imds = by_name.get("imds")
    live = by_name.get("live")
    live_source = (live.data or {}).get("clock_offset_source") if live is not None else None
    date_refs = (
        (
            "imds-date",
            "IMDS Date header",
            (imds.data or {}).get("date_header_offset_seconds") if imds is not None else None,
        ),
        (
            "sts-date",
            "STS error message" if live_source == "error-message" else "STS Date header",
            (live.data or {}).get("clock_offset_seconds") if live is not None else None,
        ),
    )
    for kind, label, ref_offset in date_refs:  # NTP first; a Date header only when NTP gave nothing
        if not isinstance(ref_offset, (int, float)) or any(r.get("kind") == kind for r in references):
            continue
        references.append(
            {
                "kind": kind,
                "label": label,
                "offset_seconds": round(float(ref_offset), 3),
                "resolution_seconds": 1,
                "detail": f"1 s resolution (+/-{DATE_HEADER_UNCERTAINTY / 2:g} s plus the round trip)",
            }
        )
        data["references"] = references
        if data.get("offset_seconds") is None:
            data.update(
                offset_seconds=round(float(ref_offset), 3),
                source=label,
                source_kind=kind,
                delay_seconds=None,
                stratum=None,
                leap=None,
            )
            if abs(ref_offset) - DATE_HEADER_UNCERTAINTY > float(data.get("max_skew_seconds") or 0):
                findings.append(_td401(data, float(ref_offset), f"the {label}", DATE_HEADER_UNCERTAINTY))
    offset = data.get("offset_seconds")
    creds = by_name.get("credentials")
    resolved = (creds.data or {}).get("resolved") if creds is not None else None
    if offset is not None and isinstance(resolved, dict) and resolved.get("method"):
        effect = credential_effect(resolved, float(offset), refresh_windows())
        data["effect"] = effect
        harmful = bool(effect.get("gap_seconds")) or (
            effect.get("expired_by_aws_clock") and effect.get("sdk_thinks_valid")
        )
        if harmful:
            idx = next((i for i, f in enumerate(findings) if f.code == "TD401"), None)
            if idx is None:
                findings.append(_td401(data, float(offset), str(data.get("source")), 0.0))
                idx = len(findings) - 1
            old = findings[idx]
            findings[idx] = replace(
                old,
                evidence={**old.evidence, "effect": effect["summary"]},
                fix=f"Effect on the {effect['method']} credentials: {effect['summary']}.\n{old.fix}",
            )
    new = replace(clock, data=present(data), findings=tuple(findings))
    return [new if r is clock else r for r in results]
