"""Every promise holds under hostile input: the REAL CLI (``python -m tokendoctor`` in a subprocess) over a
matrix of hostile files, environments, loopback peers, flags and signals.

For every case: no traceback; an exit code from the documented table (0-3, or 128+N after signal N); the
run ends within ``--timeout`` plus :data:`SLACK` (interpreter start-up on a loaded 2-core machine; the
measured wall time is in the failure message); peak resident memory (``wait4``) under
:data:`MEMORY_BOUND_MB`; no secret marker in stdout or stderr; nothing written under HOME or the case's
temp tree; and no process it started left running.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import tokendoctor
from tests.servers.hostile import HostileServer
from tests.servers.ntp import NtpResponder
from tests.servers.sts import StsStub

SRC = str(Path(tokendoctor.__file__).resolve().parents[1])
MARK = "FAULT-MARKER-5e1d"
SECRET = f"secret-{MARK}-0001"
TOKEN = f"token-{MARK}-0002"
TIMEOUT = 2.0
#: Start-up of a Python interpreter and imports on a loaded shared machine, on top of --timeout + 1 s.
SLACK = 2.0
MEMORY_BOUND_MB = 200
EXIT_CODES = {0, 1, 2, 3}


@dataclass
class Result:
    rc: int
    out: str
    err: str
    seconds: float
    peak_mb: float

    def doc(self) -> dict[str, Any]:
        return dict(json.loads(self.out))


def _snapshot(*roots: Path) -> dict[str, tuple[int, int]]:
    seen = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            info = path.lstat()
            seen[str(path)] = (info.st_size, info.st_mtime_ns)
    return seen


#: Runs the CLI as its child and reports the child's peak RSS from wait4.  Linux carries the RSS high-water
#: mark of the image a process was forked from across exec, so a CLI forked straight from a large pytest
#: would report pytest's size; forked from this small launcher it reports its own.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, "-m", "tokendoctor", *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
os.write(2, b"\\n@@maxrss=%d\\n" % usage.ru_maxrss)
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
"""


def _run(args: list[str], env: dict[str, str], *, on_start: Callable[[int], None] | None = None) -> Result:
    """Run the CLI (through :data:`_LAUNCHER`, except when a signal must reach it directly)."""
    direct = on_start is not None
    argv = [sys.executable, "-m", "tokendoctor", *args] if direct else [sys.executable, "-c", _LAUNCHER, *args]
    proc = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    started = time.monotonic()
    streams: dict[str, bytes] = {}

    def read(name: str, stream: Any) -> None:
        streams[name] = stream.read()

    readers = [threading.Thread(target=read, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for reader in readers:
        reader.start()
    if on_start is not None:
        on_start(proc.pid)
    try:
        proc.wait(timeout=TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    seconds = time.monotonic() - started
    for reader in readers:
        reader.join(5)
    err = streams.get("err", b"").decode("utf-8", "replace")
    peak_kb = 0.0
    if not direct:
        err, _, rss = err.rpartition("\n@@maxrss=")
        peak_kb = float(rss.strip() or 0)
    return Result(
        rc=proc.returncode if proc.returncode >= 0 else 128 - proc.returncode,
        out=streams.get("out", b"").decode("utf-8", "replace"),
        err=err,
        seconds=seconds,
        peak_mb=peak_kb / 1024,
    )


@dataclass
class World:
    """One case's machine: a temp HOME and root, loopback peers, and the CLI's environment."""

    base: Path
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    checks: list[Callable[[Result], object]] = field(default_factory=list)
    """Extra assertions a case adds about its result."""
    pids: Path = field(init=False)

    def __post_init__(self) -> None:
        self.home = self.base / "home"
        (self.home / ".aws").mkdir(parents=True)
        self.root = self.base / "root"
        self.root.mkdir()
        self.pids = self.base.parent / f"{self.base.name}-pids"  # outside the snapshot: written by the children
        self.pids.mkdir()
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "NO_COLOR": "1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "TOKENDOCTOR_NTP_LOOPBACK_ONLY": "1",
            "TOKENDOCTOR_LIVE_LOOPBACK_ONLY": "1",
            "TOKENDOCTOR_FS_ROOT": str(self.root),
            "PYTHONPATH": os.pathsep.join((SRC, str(Path(__file__).resolve().parents[1]))),
        }

    def session(self) -> None:
        self.env.update(AWS_ACCESS_KEY_ID="ASIAFAULTFAULTFAULT1", AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)

    def fifo(self, name: str) -> str:
        path = self.base / name
        os.mkfifo(path)
        return str(path)

    def file(self, rel: str, text: str) -> Path:
        path = self.home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def children_alive(self) -> list[int]:
        alive = []
        for pidfile in self.pids.glob("*.pid"):
            pid = int(pidfile.read_text().split()[0])
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state != "Z":
                alive.append(pid)
        return alive


Setup = Callable[[World, "Peers"], None]


class Peers:
    """Loopback peers a case may start (stopped when the case ends)."""

    def __init__(self) -> None:
        self._exits: list[Callable[[], None]] = []

    def hostile(self, mode: str) -> HostileServer:
        server = HostileServer(mode, echo=TOKEN).__enter__()
        self._exits.append(lambda: server.__exit__())
        return server

    def sts(self) -> StsStub:
        stub = StsStub().__enter__()
        self._exits.append(lambda: stub.__exit__())
        return stub

    def live(self, world: World, url: str) -> None:
        """--live against ``url`` as STS, with a loopback NTP server for the clock check."""
        ntp = NtpResponder().start()
        self._exits.append(ntp.stop)
        world.env["AWS_ENDPOINT_URL_STS"] = url
        world.env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        world.args += ["--live", "--ntp-server", ntp.address]

    def close(self) -> None:
        for stop in reversed(self._exits):
            stop()


# ------------------------------------------------------------------ the matrix: files


def creds_dev_zero(w: World, p: Peers) -> None:
    w.env["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/zero"


def legacy_creds_dev_zero(w: World, p: Peers) -> None:
    w.session()
    w.env["AWS_CREDENTIAL_FILE"] = "/dev/zero"


def creds_fifo(w: World, p: Peers) -> None:
    w.env["AWS_SHARED_CREDENTIALS_FILE"] = w.fifo("credentials")


def config_fifo(w: World, p: Peers) -> None:
    w.env["AWS_CONFIG_FILE"] = w.fifo("config")


def boto_config_dev_zero(w: World, p: Peers) -> None:
    w.env["BOTO_CONFIG"] = "/dev/zero"


def sparse_config(w: World, p: Peers) -> None:
    with (w.home / ".aws" / "config").open("wb") as fh:
        fh.truncate(200 * 1024 * 1024)


def env_file_fifo(w: World, p: Peers) -> None:
    w.args += ["--env-file", w.fifo("env")]


def env_file_dev_zero(w: World, p: Peers) -> None:
    w.args += ["--env-file", "/dev/zero"]


def web_identity_dev_zero(w: World, p: Peers) -> None:
    w.env.update(AWS_WEB_IDENTITY_TOKEN_FILE="/dev/zero", AWS_ROLE_ARN="arn:aws:iam::123456789012:role/r")


def _sso(w: World, body: str) -> None:
    import hashlib

    start = "https://fault.awsapps.com/start"
    w.file(".aws/config", f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\n"
           "sso_role_name = Dev\n")  # fmt: skip
    w.file(f".aws/sso/cache/{hashlib.sha1(start.encode()).hexdigest()}.json", body)


def sso_cache_corrupt(w: World, p: Peers) -> None:
    _sso(w, "{nope")


def sso_cache_nested(w: World, p: Peers) -> None:
    _sso(w, "[" * 65536 + "]" * 65536)


def sso_cache_fifo(w: World, p: Peers) -> None:
    import hashlib

    _sso(w, "{}")
    path = w.home / ".aws/sso/cache" / f"{hashlib.sha1(b'https://fault.awsapps.com/start').hexdigest()}.json"
    path.unlink()
    os.mkfifo(path)
    p.live(w, p.sts().url)


def _expiry(value: str) -> Setup:
    def setup(w: World, p: Peers) -> None:
        w.file(
            ".aws/credentials",
            f"[default]\naws_access_key_id = ASIAFAULTFAULTFAULT1\naws_secret_access_key = {SECRET}\n"
            f"aws_session_token = {TOKEN}\nx_security_token_expires = {value}\n",
        )

    return setup


def kubeconfig_dev_zero(w: World, p: Peers) -> None:
    w.env["KUBECONFIG"] = "/dev/zero"


def kubeconfig_nested(w: World, p: Peers) -> None:
    w.file(".kube/config", "[" * 20000 + "]" * 20000)


def escapes_in_profile(w: World, p: Peers) -> None:
    w.file(".aws/config", "[profile evil\x1b[31mred]\nregion = us-east-1\n")
    w.args += ["--profile", "evil\x1b]0;pwned\x07"]


# ------------------------------------------------------------------ environment


def expiration_inf(w: World, p: Peers) -> None:
    w.session()
    w.env["AWS_CREDENTIAL_EXPIRATION"] = "inf"


def token_with_crlf(w: World, p: Peers) -> None:
    w.session()
    w.env["AWS_SESSION_TOKEN"] = f"{TOKEN}\r\nX-Injected: {TOKEN}"
    p.live(w, p.sts().url)


def imds_attempts(w: World, p: Peers) -> None:
    server = p.hostile("redirect")
    w.env.pop("AWS_EC2_METADATA_DISABLED")
    w.env.update(AWS_EC2_METADATA_SERVICE_ENDPOINT=server.url, AWS_METADATA_SERVICE_NUM_ATTEMPTS="999999")
    w.args += ["--imds"]
    w.checks.append(lambda r: server.requests <= 25 or pytest.fail(f"{server.requests} IMDS requests"))


def container_token_dev_zero(w: World, p: Peers) -> None:
    server = p.hostile("empty")
    w.env.update(
        AWS_CONTAINER_CREDENTIALS_FULL_URI=server.url + "/creds", AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="/dev/zero"
    )
    w.args.remove("--offline")


# ------------------------------------------------------------------ loopback peers


def _sts_mode(mode: str) -> Setup:
    def setup(w: World, p: Peers) -> None:
        w.session()
        p.live(w, p.hostile(mode).url)

    return setup


def _sso_portal(mode: str) -> Setup:
    """--live on an SSO profile with a valid cached token, the SSO portal (GetRoleCredentials) misbehaving."""

    def setup(w: World, p: Peers) -> None:
        _sso(w, json.dumps({"accessToken": TOKEN, "expiresAt": "2099-01-01T00:00:00Z"}))
        w.file(
            ".aws/config",
            (w.home / ".aws/config").read_text().replace("sso_account_id = 1", "sso_account_id = 123456789012"),
        )
        server = p.hostile(mode)
        w.env["AWS_ENDPOINT_URL_SSO"] = server.url
        p.live(w, server.url)

    return setup


def imds_evil(w: World, p: Peers) -> None:
    server = p.hostile("imds-evil")
    w.env.pop("AWS_EC2_METADATA_DISABLED")
    w.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url
    w.args.remove("--offline")
    w.args += ["--imds", "--ntp-server", "127.0.0.1:9"]
    w.checks.append(lambda r: "\x1b" not in r.out or pytest.fail("an escape sequence reached the text report"))


def _imds_mode(mode: str) -> Setup:
    def setup(w: World, p: Peers) -> None:
        server = p.hostile(mode)
        w.env.pop("AWS_EC2_METADATA_DISABLED")
        w.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url
        w.args.remove("--offline")
        w.args += ["--imds", "--ntp-server", "127.0.0.1:9"]

    return setup


def _container_mode(mode: str) -> Setup:
    def setup(w: World, p: Peers) -> None:
        w.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = p.hostile(mode).url + "/creds"
        w.args.remove("--offline")
        w.args += ["--ntp-server", "127.0.0.1:9"]

    return setup


def seed_story_live(w: World, p: Peers) -> None:
    """The seed: an exported session whose AWS_CREDENTIAL_EXPIRATION has passed, verified with --live."""
    w.session()
    w.env["AWS_CREDENTIAL_EXPIRATION"] = "2020-01-01T00:00:00Z"
    p.live(w, p.sts().url)
    w.checks.append(_top_is("TD202", rc=1))


def _process(w: World, p: Peers, command: str) -> None:
    w.file(".aws/config", f"[profile proc]\ncredential_process = {command}\n")
    w.env["AWS_PROFILE"] = "proc"
    p.live(w, p.sts().url)
    w.args += ["--allow-process"]


def process_hangs(w: World, p: Peers) -> None:
    _process(w, p, f"sh -c 'sleep 60 & echo $! > {w.pids}/grandchild.pid; echo $$ > {w.pids}/child.pid; wait'")


def process_floods(w: World, p: Peers) -> None:
    _process(w, p, f"sh -c 'echo $$ > {w.pids}/child.pid; exec yes {TOKEN}'")


def process_expired(w: World, p: Peers) -> None:
    doc = json.dumps(
        {
            "Version": 1,
            "AccessKeyId": "ASIAFAULTFAULTFAULT1",
            "SecretAccessKey": SECRET,
            "SessionToken": TOKEN,
            "Expiration": "2020-01-01T00:00:00Z",
        }
    )
    script = w.base / "expired.sh"
    script.write_text(f"#!/bin/sh\ncat <<'EOF'\n{doc}\nEOF\n")
    script.chmod(0o755)
    _process(w, p, str(script))
    w.checks.append(_top_is("TD202", rc=1))


def _top_is(code: str, rc: int) -> Callable[[Result], None]:
    def check(result: Result) -> None:
        doc = result.doc()
        codes = [c["code"] for c in doc["causes"]]
        assert codes[:1] == [code] and "TD901" not in codes, doc["causes"]  # the diagnosis, not a crash
        assert result.rc == rc
        if "live" in doc:
            assert doc["live"]["status"] == "expired", doc["live"]

    return check


# ------------------------------------------------------------------ the table


@dataclass(frozen=True)
class Case:
    setup: Setup
    json: bool = True
    offline: bool = True
    codes: frozenset[int] = frozenset(EXIT_CODES)


CASES: dict[str, Case] = {
    "files/credentials-dev-zero": Case(creds_dev_zero),
    "files/legacy-credential-file-dev-zero": Case(legacy_creds_dev_zero),
    "files/credentials-fifo": Case(creds_fifo),
    "files/config-fifo": Case(config_fifo),
    "files/boto-config-dev-zero": Case(boto_config_dev_zero),
    "files/sparse-200MB-config": Case(sparse_config),
    "files/env-file-fifo": Case(env_file_fifo, codes=frozenset({2})),
    "files/env-file-dev-zero": Case(env_file_dev_zero, codes=frozenset({2})),
    "files/web-identity-token-dev-zero": Case(web_identity_dev_zero),
    "files/sso-cache-corrupt": Case(sso_cache_corrupt),
    "files/sso-cache-nested-json": Case(sso_cache_nested),
    "files/sso-cache-fifo-live": Case(sso_cache_fifo, offline=False),
    "files/expiry-13-digits": Case(_expiry("9999999999999")),
    "files/expiry-1e20": Case(_expiry("1e20")),
    "files/expiry-inf": Case(_expiry("inf")),
    "files/expiry-year-0": Case(_expiry("-62135596801")),
    "files/expiry-offset-99-99": Case(_expiry("2026-01-01T00:00:00+99:99")),
    "files/escapes-in-profile-text": Case(escapes_in_profile, json=False),
    "files/kubeconfig-dev-zero": Case(kubeconfig_dev_zero),
    "files/kubeconfig-nested-yaml": Case(kubeconfig_nested),
    "env/expiration-inf": Case(expiration_inf),
    "env/session-token-crlf-live": Case(token_with_crlf, offline=False),
    "env/imds-num-attempts-999999": Case(imds_attempts, offline=False),
    "env/container-token-file-dev-zero": Case(container_token_dev_zero),
    "peer/sts-huge": Case(_sts_mode("huge"), offline=False),
    "peer/sts-endless": Case(_sts_mode("endless"), offline=False),
    "peer/sts-drip": Case(_sts_mode("drip"), offline=False),
    "peer/sts-garbage": Case(_sts_mode("garbage"), offline=False),
    "peer/sts-empty-200": Case(_sts_mode("empty"), offline=False),
    "peer/sts-json": Case(_sts_mode("json"), offline=False),
    "peer/sts-302": Case(_sts_mode("redirect"), offline=False),
    "peer/sts-nested-xml": Case(_sts_mode("nested-xml"), offline=False),
    "peer/sso-portal-garbage": Case(_sso_portal("garbage"), offline=False),
    "peer/sso-portal-nested-json": Case(_sso_portal("nested-json"), offline=False),
    "peer/sso-portal-endless": Case(_sso_portal("endless"), offline=False),
    "peer/imds-evil-text": Case(imds_evil, json=False),
    "peer/imds-endless": Case(_imds_mode("endless")),
    "peer/imds-nested-json": Case(_imds_mode("nested-json")),
    "peer/container-nested-json": Case(_container_mode("nested-json")),
    "peer/container-huge": Case(_container_mode("huge")),
    "peer/seed-story-live": Case(seed_story_live, offline=False),
    "process/hangs": Case(process_hangs, offline=False),
    "process/floods-stdout": Case(process_floods, offline=False),
    "process/expired-document": Case(process_expired, offline=False),
}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield World(tmp_path / "case")


def _assert_promises(w: World, result: Result, codes: frozenset[int], before: dict[str, tuple[int, int]]) -> None:
    said = f"rc={result.rc} {result.seconds:.2f}s {result.peak_mb:.0f}MB\n"
    said += f"stdout: {result.out[-1500:]}\nstderr: {result.err[-1500:]}"
    assert "Traceback (most recent call last)" not in result.out + result.err, said
    assert result.rc in codes, said
    assert result.seconds <= TIMEOUT + 1 + SLACK, said
    assert result.peak_mb < MEMORY_BOUND_MB, said
    assert MARK not in result.out + result.err, said
    assert _snapshot(w.home, w.base) == before, "something was written under HOME or the temp tree"
    time.sleep(0.05)
    assert not w.children_alive(), f"processes left running: {w.children_alive()}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input(name: str, world: World) -> None:
    case = CASES[name]
    peers = Peers()
    try:
        world.args = ["check", "--timeout", str(TIMEOUT), *(["--json"] if case.json else [])]
        world.args += ["--offline"] if case.offline else []
        case.setup(world, peers)
        before = _snapshot(world.home, world.base)
        result = _run(world.args, world.env)
    finally:
        peers.close()
    _assert_promises(world, result, case.codes, before)
    for extra in world.checks:
        extra(result)


# ------------------------------------------------------------------ flags and signals


@pytest.mark.parametrize(
    "args",
    [
        ["check", "--timeout", "99999999999999999999999"],
        ["check", "--min-ttl", "1e400"],
        ["check", "--max-skew", "99999999999d"],
        ["check", "--timeout", "0"],
        ["check", "--profile", "x\x1b[2J", "--timeout", "nan"],
    ],
)
def test_flags_are_one_line_usage_errors(args: list[str], world: World) -> None:
    before = _snapshot(world.home, world.base)
    result = _run(args, world.env)
    _assert_promises(world, result, frozenset({2}), before)
    assert result.err.startswith("tokendoctor: error: ") and len(result.err.splitlines()) == 1, result.err
    assert "\x1b" not in result.err


def test_bare_command_is_a_short_hint(world: World) -> None:
    result = _run([], world.env)
    assert result.rc == 2 and 1 <= len(result.err.splitlines()) <= 4 and "tokendoctor check" in result.err
    assert "tokendoctor: error" not in result.err


def test_closed_stdout_is_not_an_internal_error(world: World) -> None:
    world.session()
    proc = subprocess.run(  # `tokendoctor check >&-`: the interpreter starts with file descriptor 1 closed
        [sys.executable, "-m", "tokendoctor", "check", "--offline"],
        env=world.env,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: os.close(1),  # noqa: PLW1509 - only closes a descriptor
        timeout=30,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr  # the diagnosis' code, not 3
    assert proc.stderr.startswith(b"tokendoctor: ") and len(proc.stderr.splitlines()) == 1, proc.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_kills_the_credential_process_too(sig: signal.Signals, world: World) -> None:
    peers = Peers()
    try:
        world.args = ["check", "--timeout", "20", "--json"]
        process_hangs(world, peers)
        child = world.pids / "child.pid"

        def interrupt(pid: int) -> None:
            end = time.monotonic() + 15
            while not child.exists() and time.monotonic() < end:
                time.sleep(0.02)
            time.sleep(0.1)
            os.kill(pid, sig)

        result = _run(world.args, world.env, on_start=interrupt)
    finally:
        peers.close()
    assert child.exists(), "the credential_process never started"
    assert result.rc == 128 + sig, result.err
    assert "Traceback" not in result.err and MARK not in result.out + result.err
    time.sleep(0.05)
    assert not world.children_alive(), f"processes left running: {world.children_alive()}"


def test_debug_shows_the_masked_traceback_of_a_crashed_check(world: World) -> None:
    """TD901's fix says to re-run with --debug: then the crashed check's traceback is on stderr."""
    world.session()
    boom = world.base / "boom"
    boom.mkdir()
    (boom / "sitecustomize.py").write_text(
        "import tokendoctor.checks.platform as p\n"
        "def _boom(ctx):\n"
        f"    raise RuntimeError('probe exploded near {TOKEN}')\n"
        "p.check = _boom\n"
        "import tokendoctor.checks as c, dataclasses\n"
        "c.ALL_CHECKS = tuple(dataclasses.replace(k, run=_boom) if k.name == 'platform' else k "
        "for k in c.ALL_CHECKS)\n"
    )
    world.env["PYTHONPATH"] = f"{boom}{os.pathsep}{world.env['PYTHONPATH']}"
    plain = _run(["check", "--offline", "--json"], world.env)
    debug = _run(["check", "--offline", "--json", "--debug"], world.env)
    assert "TD901" in plain.out and "Traceback" not in plain.err
    assert "Traceback (most recent call last)" in debug.err and "probe exploded near ****" in debug.err
    assert MARK not in debug.out + debug.err
