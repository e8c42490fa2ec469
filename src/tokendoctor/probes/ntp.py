"""Measure the local clock against NTP servers (ntplib packets, our own bounded socket).

Entry points: :func:`select_servers` (pure over the context: which servers and
why) and :func:`measure` (query them concurrently, several samples each, best
sample by round-trip delay).

Sign convention
---------------
``offset_seconds`` here is **local clock minus server clock**: positive means
the local clock is *ahead* (fast), negative means it is *behind* (slow).
ntplib's ``NTPStats.offset`` has the opposite sign (it is how much to *add* to
the local clock), so :func:`_one_sample` negates it.

Server selection (:func:`select_servers`)
-----------------------------------------
1. ``--ntp-server HOST[:PORT]`` (repeatable), exactly as given;
2. on EC2, Amazon Time Sync: ``169.254.169.123`` and, when the machine has a
   global IPv6 address, ``fd00:ec2::123``;
3. else the servers named in the machine's own chrony / ntpd / timesyncd config;
4. else ``time.aws.com``.

Safety net for test suites: when ``TOKENDOCTOR_NTP_LOOPBACK_ONLY=1`` is set in
the process environment (tests/conftest.py sets it), no packet is sent to an
address that is not loopback; such a server is reported as ``not-allowed``.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tokendoctor import files
from tokendoctor.context import Context

AMAZON_TIME_SYNC = "169.254.169.123"
AMAZON_TIME_SYNC_IPV6 = "fd00:ec2::123"
PUBLIC_FALLBACK = "time.aws.com"
NTP_PORT = 123
SAMPLES = 4
#: Longest wait for one answer; a server that answers at all answers much faster.
SAMPLE_TIMEOUT = 1.0
MAX_SERVERS = 4
#: Requests without a single answer after which a server counts as unreachable.
GIVE_UP_AFTER = 3
#: Share of ``--timeout`` the NTP measurement may spend, so the check reports before the run's deadline.
BUDGET_SHARE = 0.8
LOOPBACK_ONLY_ENV = "TOKENDOCTOR_NTP_LOOPBACK_ONLY"
#: Kiss-of-death codes (RFC 5905 7.4) a server sends with stratum 0.
KISS_CODES = {
    "ACST",
    "AUTH",
    "AUTO",
    "BCST",
    "CRYP",
    "DENY",
    "DROP",
    "RSTR",
    "INIT",
    "MCST",
    "NKEY",
    "NTSN",
    "RATE",
    "RMOT",
    "STEP",
}

_CHRONY_CONFS = ("/etc/chrony/chrony.conf", "/etc/chrony.conf")
_CHRONY_DIRS = ("/etc/chrony/conf.d", "/etc/chrony/sources.d", "/run/chrony-dhcp")
_NTPD_CONFS = ("/etc/ntpsec/ntp.conf", "/etc/ntp.conf", "/etc/openntpd/ntpd.conf", "/etc/ntpd.conf")
_TIMESYNCD_CONFS = ("/etc/systemd/timesyncd.conf",)
_TIMESYNCD_DIRS = (
    "/etc/systemd/timesyncd.conf.d",
    "/run/systemd/timesyncd.conf.d",
    "/usr/lib/systemd/timesyncd.conf.d",
)
_MAX_CONF_BYTES = 256 * 1024


# ----------------------------------------------------------------- selection


@dataclass(frozen=True)
class Selection:
    servers: tuple[str, ...]
    why: str
    """``--ntp-server``, ``Amazon Time Sync (EC2)``, ``/etc/chrony/chrony.conf``, ``fallback``..."""


def parse_server(spec: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address -> (host, port).

    :raises ValueError: for an empty host or a port outside 1-65535.
    """
    spec = spec.strip()
    host, port = spec, NTP_PORT
    if spec.startswith("["):
        end = spec.find("]")
        if end < 0:
            raise ValueError(f"{spec!r}: missing ']'")
        host, rest = spec[1:end], spec[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{spec!r}: expected [HOST]:PORT")
            port = _port(rest[1:], spec)
    elif spec.count(":") == 1:
        host, raw = spec.split(":")
        port = _port(raw, spec)
    if not host:
        raise ValueError(f"{spec!r}: no host")
    return host, port


def _port(raw: str, spec: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"{spec!r}: port must be 1-65535")
    return int(raw)


def _read_small(ctx: Context, path: str) -> str | None:
    try:
        return files.read_text(ctx.path(path), _MAX_CONF_BYTES, errors="replace")
    except files.FileProblem:
        return None


def _directive_servers(text: str, keywords: tuple[str, ...]) -> list[str]:
    out = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split("!", 1)[0].split()
        if len(words) >= 2 and words[0].lower() in keywords:
            out.append(words[1])
    return out


def _glob_under(ctx: Context, directory: str, pattern: str) -> list[str]:
    base = ctx.path(directory)
    return sorted("/" + os.path.relpath(p, ctx.root) for p in glob.glob(str(base / pattern)))


def configured_servers(ctx: Context) -> tuple[list[str], str | None]:
    """Servers named in chrony, ntpd or systemd-timesyncd config, and the first file that named one."""
    found: list[str] = []
    first: str | None = None

    def add(servers: list[str], path: str) -> None:
        nonlocal first
        for server in servers:
            if server not in found:
                found.append(server)
        if servers and first is None:
            first = path

    for conf in _CHRONY_CONFS:
        text = _read_small(ctx, conf)
        if text is None:
            continue
        add(_directive_servers(text, ("server", "pool", "peer")), conf)
        dirs = list(_CHRONY_DIRS)
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) >= 2 and words[0] in ("confdir", "sourcedir"):
                dirs.extend(words[1:])
            elif len(words) >= 2 and words[0] == "include":
                for path in _glob_under(ctx, os.path.dirname(words[1]) or "/", os.path.basename(words[1])):
                    add(_directive_servers(_read_small(ctx, path) or "", ("server", "pool", "peer")), path)
        for directory in dirs:
            for path in _glob_under(ctx, directory, "*.conf") + _glob_under(ctx, directory, "*.sources"):
                add(_directive_servers(_read_small(ctx, path) or "", ("server", "pool", "peer")), path)
        break
    for conf in _NTPD_CONFS:
        add(_directive_servers(_read_small(ctx, conf) or "", ("server", "pool", "peer", "servers")), conf)
    ts_files = list(_TIMESYNCD_CONFS)
    for directory in _TIMESYNCD_DIRS:
        ts_files += _glob_under(ctx, directory, "*.conf")
    for conf in ts_files:
        text = _read_small(ctx, conf)
        if text is None:
            continue
        servers: list[str] = []
        section = ""
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("["):
                section = line
            elif section == "[Time]" and "=" in line:
                key, value = (part.strip() for part in line.split("=", 1))
                if key == "NTP":
                    servers.extend(value.split())
        add(servers, conf)
    return found, first


def ipv6_enabled(ctx: Context) -> bool:
    """True when a non-loopback interface has a global IPv6 address (``/proc/net/if_inet6``)."""
    text = _read_small(ctx, "/proc/net/if_inet6") or ""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[5] != "lo" and parts[3] == "00":
            return True
    return False


def select_servers(ctx: Context) -> Selection:
    """Which NTP servers to ask, and why (no network: config files and /sys only)."""
    from tokendoctor.probes.platform import detect

    if ctx.options.ntp_servers:
        return Selection(tuple(dict.fromkeys(ctx.options.ntp_servers)), "--ntp-server")
    if detect(ctx).on_ec2:
        servers = [AMAZON_TIME_SYNC] + ([AMAZON_TIME_SYNC_IPV6] if ipv6_enabled(ctx) else [])
        return Selection(tuple(servers), "Amazon Time Sync (this is EC2)")
    found, where = configured_servers(ctx)
    if found:
        return Selection(tuple(found[:MAX_SERVERS]), f"named in {where}")
    return Selection((PUBLIC_FALLBACK,), "fallback (no server configured on this machine)")


# --------------------------------------------------------------- measurement


@dataclass(frozen=True, kw_only=True)
class Sample:
    offset: float
    """Local clock minus server clock, seconds (positive: local clock ahead)."""
    delay: float
    stratum: int
    leap: int
    refid: str
    version: int


@dataclass(frozen=True, kw_only=True)
class ServerResult:
    server: str
    address: str | None = None
    status: str = "timeout"
    """``ok``, ``rejected`` (kiss-of-death, stratum 0/16, leap 3), ``timeout``, ``unreachable``,
    ``garbage``, ``error`` (name resolution, socket), ``not-allowed`` (test loopback guard)."""
    reason: str = ""
    best: Sample | None = None
    sent: int = 0
    answered: int = 0

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "kind": "ntp",
            "server": self.server,
            "address": self.address,
            "status": self.status,
            "reason": self.reason or None,
            "offset_seconds": round(best.offset, 6) if best else None,
            "delay_seconds": round(best.delay, 6) if best else None,
            "stratum": best.stratum if best else None,
            "leap": best.leap if best else None,
            "refid": best.refid if best else None,
            "samples_sent": self.sent,
            "samples_answered": self.answered,
        }


@dataclass(frozen=True, kw_only=True)
class Measurement:
    selection: Selection
    servers: tuple[ServerResult, ...] = ()
    best: ServerResult | None = None
    skipped: str | None = None
    elapsed_ms: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Rejected(Exception):
    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.final = final


class _Garbage(Exception):
    pass


def _refid_text(raw: bytes) -> str:
    text = raw.rstrip(b"\0")
    if text and all(32 <= b < 127 for b in text):
        return text.decode("ascii")
    return ".".join(str(b) for b in raw)


def _one_sample(
    sock: socket.socket,
    timeout: float,
    strays: list[int] | None = None,
    earlier: list[bytes] | None = None,
    late: list[int] | None = None,
) -> Sample:
    """Send one client packet on a connected UDP socket and validate the answer.

    :raises TimeoutError: no answer in time.  :raises _Rejected: the server
        answered but its time must not be used.  :raises _Garbage: not an NTP reply
        to our request.  :raises OSError: e.g. ICMP port unreachable.
    """
    import ntplib

    query = ntplib.NTPPacket(version=4, mode=3, tx_timestamp=ntplib.system_to_ntp_time(time.time()))
    data = query.to_data()
    if earlier is not None:
        earlier.append(data[40:48])
    sock.settimeout(timeout)
    sock.send(data)
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        try:
            reply = sock.recv(2048)
        except TimeoutError:
            raise TimeoutError from None
        received = time.time()
        if len(reply) >= 48 and reply[24:32] == data[40:48]:
            break
        if len(reply) < 48:
            raise _Garbage(f"{len(reply)}-byte reply is not an NTP packet")
        # an answer to an earlier (timed-out) request, or spoofed: wait for ours
        if earlier is not None and late is not None and reply[24:32] in earlier:
            late.append(1)
        elif strays is not None:
            strays.append(len(reply))
    stats = ntplib.NTPStats()
    try:
        stats.from_data(reply)
    except ntplib.NTPException as exc:
        raise _Garbage(str(exc)) from None
    stats.dest_timestamp = ntplib.system_to_ntp_time(received)
    refid = _refid_text(reply[12:16])
    if stats.mode != 4:
        raise _Garbage(f"mode {stats.mode} is not a server reply")
    if stats.stratum == 0 and refid in KISS_CODES:
        raise _Rejected(f"kiss-of-death {refid!r} (the server refuses to serve us)", final=True)
    if stats.leap == 3:
        raise _Rejected(f"leap indicator 3 (alarm): the server's clock is not synchronized (stratum {stats.stratum})")
    if stats.stratum == 0:
        raise _Rejected(f"stratum 0 (unspecified) with refid {refid!r}")
    if stats.stratum == 16:
        raise _Rejected("stratum 16: the server itself is not synchronized")
    if stats.stratum > 16:
        raise _Garbage(f"stratum {stats.stratum} is out of range")
    if reply[40:48] == b"\0" * 8:
        raise _Garbage("transmit timestamp is zero")
    delay = float(stats.delay)
    if delay < -0.001:
        raise _Garbage(f"negative round-trip delay {delay:.3f}s (the server's timestamps are inconsistent)")
    # ntplib's offset is server minus local (what to ADD to the local clock): flip it.
    return Sample(
        offset=-float(stats.offset),
        delay=max(delay, 0.0),
        stratum=int(stats.stratum),
        leap=int(stats.leap),
        refid=refid,
        version=int(stats.version),
    )


def _resolve(host: str, port: int, timeout: float) -> tuple[int, tuple[Any, ...]] | str:
    """(family, sockaddr) for the first address, or a reason string.  DNS is bounded by ``timeout``."""
    result: list[Any] = []

    def lookup() -> None:
        try:
            result.append(socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM))
        except (OSError, UnicodeError) as exc:
            result.append(exc)

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM, flags=socket.AI_NUMERICHOST)
    except (socket.gaierror, UnicodeError):
        thread = threading.Thread(target=lookup, name="td-ntp-dns", daemon=True)
        thread.start()
        thread.join(timeout)
        if not result:
            return "name resolution timed out"
        if isinstance(result[0], BaseException):
            return f"name resolution failed ({result[0]})"
        infos = result[0]
    if not infos:
        return "name resolution returned no address"
    family, _, _, _, sockaddr = infos[0]
    return family, sockaddr


def _is_loopback_name(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _loopback_only() -> bool:
    return os.environ.get(LOOPBACK_ONLY_ENV) == "1"


def query_server(spec: str, deadline: float, samples: int = SAMPLES) -> ServerResult:
    """Query one server until ``samples`` answers, a final rejection, or ``deadline`` (monotonic)."""
    try:
        host, port = parse_server(spec)
    except ValueError as exc:
        return ServerResult(server=spec, status="error", reason=str(exc))
    if _loopback_only() and not _is_loopback_name(host):
        return ServerResult(
            server=spec, status="not-allowed", reason=f"{LOOPBACK_ONLY_ENV}=1: only loopback servers may be queried"
        )
    resolved = _resolve(host, port, max(deadline - time.monotonic(), 0.01))
    if isinstance(resolved, str):
        return ServerResult(server=spec, status="error", reason=resolved)
    family, sockaddr = resolved
    address = str(sockaddr[0])
    if _loopback_only() and not ipaddress.ip_address(address.split("%")[0]).is_loopback:
        return ServerResult(
            server=spec,
            address=address,
            status="not-allowed",
            reason=f"{LOOPBACK_ONLY_ENV}=1: only loopback servers may be queried",
        )
    good: list[Sample] = []
    rejected: list[str] = []
    garbage: list[str] = []
    sent = answered = 0
    refused = False
    strays: list[int] = []
    earlier: list[bytes] = []
    late: list[int] = []
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM)
    except OSError as exc:
        return ServerResult(server=spec, address=address, status="error", reason=f"socket: {exc.strerror or exc}")
    with sock:
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            return ServerResult(
                server=spec, address=address, status="unreachable", reason=f"connect: {exc.strerror or exc}"
            )
        for _ in range(samples * 2):  # lost packets get a second chance while time remains
            if len(good) + len(rejected) >= samples:
                break
            left = deadline - time.monotonic()
            if left <= 0.005:
                break
            sent += 1
            try:
                good.append(_one_sample(sock, min(SAMPLE_TIMEOUT, left), strays, earlier, late))
                answered += 1
            except TimeoutError:
                if answered == 0 and sent >= GIVE_UP_AFTER:
                    break  # never answered: do not spend the whole budget on a black hole
                continue
            except _Rejected as exc:
                answered += 1
                rejected.append(exc.reason)
                if exc.final:
                    break
            except _Garbage as exc:
                answered += 1
                garbage.append(str(exc))
                if len(garbage) >= samples:
                    break
            except ConnectionRefusedError:
                refused = True
                break
            except OSError as exc:
                return ServerResult(
                    server=spec,
                    address=address,
                    status="unreachable",
                    reason=f"{exc.strerror or exc}",
                    sent=sent,
                    answered=answered,
                )
    common: dict[str, Any] = dict(server=spec, address=address, sent=sent, answered=answered)
    if good:
        best = min(good, key=lambda s: s.delay)
        lost = sent - answered
        note = f"{len(good)} of {sent} samples used" + (f"; {lost} lost" if lost else "")
        if rejected or garbage:
            note += f"; {len(rejected) + len(garbage)} discarded ({(rejected + garbage)[0]})"
        return ServerResult(status="ok", best=best, reason=note, **common)
    if rejected:
        return ServerResult(status="rejected", reason=rejected[-1], **common)
    if garbage:
        return ServerResult(status="garbage", reason=garbage[-1], **common)
    if late:
        return ServerResult(
            status="timeout",
            reason=f"answers arrive later than the {SAMPLE_TIMEOUT:g} s a sample waits ({len(late)} late)",
            **common,
        )
    if strays:
        return ServerResult(
            status="garbage",
            reason=f"{len(strays)} replies did not answer our requests (origin timestamp not ours)",
            **common,
        )
    if refused:
        return ServerResult(
            status="unreachable", reason="port unreachable (ICMP): nothing listens on UDP " + str(port), **common
        )
    return ServerResult(
        status="timeout", reason=f"no answer to {sent} request(s) (UDP {port} blocked or server down)", **common
    )


def measure(ctx: Context, selection: Selection | None = None, *, samples: int = SAMPLES) -> Measurement:
    """Query the selected servers concurrently, bounded by ``BUDGET_SHARE`` of ``--timeout``."""
    started = time.monotonic()
    selection = selection or select_servers(ctx)
    if ctx.options.offline:
        return Measurement(selection=selection, skipped="--offline: no NTP query")
    deadline = started + max(ctx.options.timeout * BUDGET_SHARE, 0.05)
    servers = selection.servers[:MAX_SERVERS]
    results: dict[str, ServerResult] = {}

    def run(spec: str) -> None:
        try:
            results[spec] = query_server(spec, deadline, samples)
        except Exception as exc:  # noqa: BLE001 - a probe thread never raises
            results[spec] = ServerResult(server=spec, status="error", reason=f"{type(exc).__name__}: {exc}"[:200])

    threads = [threading.Thread(target=run, args=(s,), name=f"td-ntp-{s}", daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(deadline - time.monotonic() + 0.05, 0))
    out = tuple(
        results.get(s) or ServerResult(server=s, status="timeout", reason="no result before the deadline")
        for s in servers
    )
    ok = [r for r in out if r.status == "ok" and r.best is not None]
    best = min(ok, key=lambda r: r.best.delay) if ok else None  # type: ignore[union-attr]
    return Measurement(selection=selection, servers=out, best=best, elapsed_ms=int((time.monotonic() - started) * 1000))


def probe(ctx: Context) -> Measurement:
    """The NTP measurement for this run (computed once)."""
    return ctx.once("ntp", lambda: measure(ctx))
