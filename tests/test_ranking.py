"""Every cause ranks first in the machine state where it is THE root problem.

The checklist: "Every cause has a stable ID, an entry in the docs, and a test
that makes it rank first."  One row per catalogue code: the row builds a
realistic machine (HOME, env, ~/.aws files, a fake filesystem root, and when
needed real loopback IMDS / container / NTP servers from tests/servers), runs
the real CLI (``tokendoctor check --json``: all real checks, the real runner,
the real pure ranker) and asserts the cause is ``causes[0]``.

Every run sets ``TOKENDOCTOR_FS_ROOT`` to the machine's fake root, so the clock
check never reads this machine's kernel (``adjtimex``) or its chronyc /
timedatectl: TD402 clock-unsynchronized appears only where a row puts a fake
``chronyc`` under the root.  The orderings asserted here are therefore
machine-independent; nothing is filtered out of ``causes`` before the
assertion.

Causes that need a live STS answer are in :data:`DEFERRED`; a catalogue code
that is neither in the table nor deferred fails the suite.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import os
import socket
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import jsonschema
import pytest

from tests.conftest import Machine
from tests.servers.container import AUTH, ContainerServer
from tests.servers.imds import ImdsServer
from tests.servers.moto import moto_server
from tests.servers.ntp import NtpResponder
from tests.servers.sts import StsStub
from tests.test_check_process import _describe, _session_env
from tokendoctor import catalogue
from tokendoctor.cli import main
from tokendoctor.models import CheckResult
from tokendoctor.runner import Check

UTC = dt.timezone.utc
SCHEMA = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text(encoding="utf-8"))

#: Codes not covered here, and why.  Everything else in the catalogue must have a row.
DEFERRED: dict[str, str] = {}


def _deferred(code: str) -> bool:
    return code in DEFERRED


LONG_TERM = (
    "[default]\naws_access_key_id = AKIALONGTERMLONGTERM\naws_secret_access_key = longtermsecretlongtermsecret\n"
)
ROLE_PROFILE = "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = default\n"
SESSION_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIARANKINGSESSIONWXYZ",
    "AWS_SECRET_ACCESS_KEY": "rank-secret-MARKER-3c1f",
    "AWS_SESSION_TOKEN": "rank-token-MARKER-77ab",
}
MARKERS = (
    "rank-secret-MARKER-3c1f",
    "rank-token-MARKER-77ab",
    "longtermsecretlongtermsecret",
    "base-secret-MARKER-9e0d",
    "base-token-MARKER-5a5a",
)
DMI_VENDOR = "/sys/devices/virtual/dmi/id/sys_vendor"
CHRONY_UNSYNCED = "00000000,,0,0.000000000,0.000000000,0.000000000,0.000000000,0.000,0.000,0.000,1.000000000,1.000000000,0.0,Not synchronised"


def now() -> dt.datetime:
    """The CLI runs on the real clock, so expiries are set relative to it."""
    return dt.datetime.now(UTC).replace(microsecond=0)


def iso(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJlLXJhbms"


@dataclass
class Setup:
    """What a row's builder may ask for besides the machine's env and files."""

    stack: ExitStack
    monkeypatch: pytest.MonkeyPatch
    args: list[str] = field(default_factory=list)
    unset: set[str] = field(default_factory=set)
    online: bool = False

    def imds(self, machine: Machine, **knobs: Any) -> ImdsServer:
        """A loopback IMDS on an EC2-looking machine; metadata switched back on for the SDK."""
        server = self.stack.enter_context(ImdsServer())
        for name, value in knobs.items():
            setattr(server.knobs, name, value)
        machine.file(DMI_VENDOR, "Amazon EC2\n")
        machine.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url
        self.unset.add("AWS_EC2_METADATA_DISABLED")
        self.online = True
        return server

    def ntp(self, **knobs: Any) -> NtpResponder:
        responder = NtpResponder(**knobs).start()
        self.stack.callback(responder.stop)
        self.args += ["--ntp-server", responder.address]
        self.online = True
        return responder

    def sts(self, machine: Machine, code: str | None, message: str = "", status: int = 403) -> None:
        """--live against the loopback STS stub answering ``code`` (or a closed port when ``code`` is None)."""
        if code is None:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                url = f"http://127.0.0.1:{sock.getsockname()[1]}"  # closed once the with-block ends
        else:
            stub = self.stack.enter_context(StsStub())
            stub.error(code, message, status=status)
            url = stub.url
        machine.env.update(AWS_ENDPOINT_URL_STS=url, AWS_DEFAULT_REGION="us-east-1")
        self.args.append("--live")
        self.online = True

    def add_check(self, check: Check) -> None:
        from tokendoctor import checks

        self.monkeypatch.setattr(checks, "ALL_CHECKS", (*checks.ALL_CHECKS, check))


Builder = Callable[[Machine, Setup], None]


# ------------------------------------------------------------------ TD1xx environment


def td101(m: Machine, s: Setup) -> None:
    m.env.update(SESSION_ENV)  # the seed story: `aws sts assume-role` output exported into the shell


def td102(m: Machine, s: Setup) -> None:
    m.config(LONG_TERM + ROLE_PROFILE)
    m.env.update(
        AWS_ACCESS_KEY_ID="AKIAENVENVENVENV1234", AWS_SECRET_ACCESS_KEY="envsecretenvsecret", AWS_PROFILE="job"
    )


def td103(m: Machine, s: Setup) -> None:
    # On EC2 with an instance profile, but keys in the environment come first.
    s.imds(m)
    m.env.update(AWS_ACCESS_KEY_ID="AKIAENVENVENVENV1234", AWS_SECRET_ACCESS_KEY="envsecretenvsecret")


def td104(m: Machine, s: Setup) -> None:
    m.env["AWS_ACCESS_KEY_ID"] = "AKIAENVENVENVENV1234"  # the secret was never exported


def td105(m: Machine, s: Setup) -> None:
    m.config(LONG_TERM)
    m.env["AWS_PROFILE"] = "prod"


def td106(m: Machine, s: Setup) -> None:
    m.config(LONG_TERM.replace("[default]", "[profile a]") + LONG_TERM.replace("[default]", "[profile b]"))
    m.env.update(AWS_DEFAULT_PROFILE="a", AWS_PROFILE="b")


def td107(m: Machine, s: Setup) -> None:
    token = m.base / "tok"
    token.write_text(
        jwt(
            {
                "iat": int((now() - dt.timedelta(minutes=5)).timestamp()),
                "exp": int((now() + dt.timedelta(hours=1)).timestamp()),
            }
        )
    )
    m.config(f"[default]\nrole_arn = arn:aws:iam::1:role/profile-role\nweb_identity_token_file = {token}\n")
    m.env.update(AWS_ROLE_ARN="arn:aws:iam::1:role/env-role", AWS_WEB_IDENTITY_TOKEN_FILE=str(token))


def td108(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    m.env["AWS_CONFIG_FILE"] = str(m.base / "missing" / "config")


def td120(m: Machine, s: Setup) -> None:
    # A CI step exported an empty-looking secret (a masked variable that expanded to spaces).
    m.credentials(LONG_TERM)
    m.env.update(AWS_ACCESS_KEY_ID="   ", AWS_SECRET_ACCESS_KEY="rank-secret-MARKER-3c1f", AWS_PROFILE="default")


def td121(m: Machine, s: Setup) -> None:
    # The user's long-term key exported, with AWS_SESSION_TOKEN left over from an earlier `aws sts` session.
    m.env.update(SESSION_ENV, AWS_ACCESS_KEY_ID="AKIALONGTERMLONGTERM")


def td122(m: Machine, s: Setup) -> None:
    # A session from the global STS endpoint (version 1 token) exported, with an opt-in region configured.
    m.env.update(SESSION_ENV, AWS_SESSION_TOKEN="FQoGZXIvYXdzEOL//////////wEaDrank-token-MARKER-77ab")
    m.config("[default]\nregion = ap-east-1\n")


# ------------------------------------------------------------------ TD2xx credentials and files


def td201(m: Machine, s: Setup) -> None:
    s.args.append("--no-imds")  # nothing anywhere


def td202(m: Machine, s: Setup) -> None:
    m.env.update(SESSION_ENV, AWS_CREDENTIAL_EXPIRATION=iso(now() - dt.timedelta(hours=1)))


def td203(m: Machine, s: Setup) -> None:
    m.env.update(SESSION_ENV, AWS_CREDENTIAL_EXPIRATION=iso(now() + dt.timedelta(minutes=10)))  # --min-ttl 15m


def td204(m: Machine, s: Setup) -> None:
    m.credentials(
        "[default]\naws_access_key_id = ASIAFILEFILEFILE1234\naws_secret_access_key = filesecretfilesecret\n"
        "aws_session_token = filetokenfiletoken\n"
    )


def td205(m: Machine, s: Setup) -> None:
    m.config("[default]\nregion = us-east-1\nthis line is not ini\n")


def td206(m: Machine, s: Setup) -> None:
    start = "https://example.awsapps.com/start"
    m.config(f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n")
    cache = m.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(start.encode()).hexdigest() + ".json")).write_text(
        json.dumps({"accessToken": "ssoaccesstokenssoaccesstoken", "expiresAt": iso(now() - dt.timedelta(hours=4))})
    )


def td250(m: Machine, s: Setup) -> None:
    """A login helper wrote an SSO cache whose expiresAt is no instant: when the session ends is unknown."""
    start = "https://example.awsapps.com/start"
    m.config(f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n")
    cache = m.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(start.encode()).hexdigest() + ".json")).write_text(
        json.dumps({"accessToken": "ssoaccesstokenssoaccesstoken", "expiresAt": "1e20"})
    )


def td207(m: Machine, s: Setup) -> None:
    token = m.base / "tok"
    token.write_text(
        jwt(
            {
                "exp": int((now() - dt.timedelta(minutes=10)).timestamp()),
                "iss": "https://oidc.example",
                "aud": "sts.amazonaws.com",
            }
        )
    )
    m.config(f"[default]\nrole_arn = arn:aws:iam::1:role/web\nweb_identity_token_file = {token}\n")


def td208(m: Machine, s: Setup) -> None:
    # A login tool rewrote aws_session_token; the stale aws_security_token line still wins in botocore.
    m.credentials(
        "[default]\naws_access_key_id = ASIAFILEFILEFILE1234\naws_secret_access_key = filesecretfilesecret\n"
        "aws_security_token = oldtokenoldtoken\naws_session_token = newtokennewtoken\n"
    )


def td209(m: Machine, s: Setup) -> None:
    m.config(LONG_TERM + ROLE_PROFILE + "mfa_serial = arn:aws:iam::123456789012:mfa/me\n")
    m.env["AWS_PROFILE"] = "job"


# ------------------------------------------------------------------ TD22x lifetime (issue 10)

BASE_SESSION = (
    "[base]\naws_access_key_id = ASIABASEBASEBASE1234\naws_secret_access_key = base-secret-MARKER-9e0d\n"
    "aws_session_token = base-token-MARKER-5a5a\nx_security_token_expires = {expires}\n"
)


def td220(m: Machine, s: Setup) -> None:
    m.env.update(SESSION_ENV)  # the seed: a 6-hour job started on an exported AssumeRole session
    s.args += ["--for", "6h"]


def td221(m: Machine, s: Setup) -> None:
    # The seed's fix applied on top of pasted keys: the role's source session ended 3 hours ago.
    m.credentials(BASE_SESSION.format(expires=iso(now() - dt.timedelta(hours=3))))
    m.config("[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = base\n")
    m.env["AWS_PROFILE"] = "job"


def td222(m: Machine, s: Setup) -> None:
    # A role assumed from another role: STS refuses more than 3600 s.
    m.credentials(LONG_TERM)
    m.config(
        ROLE_PROFILE + "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/next\nsource_profile = job\n"
        "duration_seconds = 7200\n"
    )
    m.env["AWS_PROFILE"] = "chained"


def td223(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    m.config(ROLE_PROFILE + "duration_seconds = 86400\n")
    m.env["AWS_PROFILE"] = "job"


def td224(m: Machine, s: Setup) -> None:
    script = m.base / "creds.py"
    script.write_text("import sys\nsys.stderr.write('login required: run `corp-login`\\n')\nsys.exit(3)\n")
    m.config(f"[default]\ncredential_process = {sys.executable} {script}\n")
    s.args.append("--allow-process")


def td240(m: Machine, s: Setup) -> None:
    # `aws configure` wrote new long-term keys and left the old session's aws_session_token in place.
    m.credentials(LONG_TERM + "aws_session_token = rank-token-MARKER-77ab\n")


def td241(m: Machine, s: Setup) -> None:
    # LocalStack's defaults exported in a shell that no longer points at LocalStack.
    m.env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")


def _sso_profile(m: Machine, start: str) -> None:
    m.config(f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n")


def td242(m: Machine, s: Setup) -> None:
    # A new machine (or another user): the profile is copied, `aws sso login` never ran here.
    _sso_profile(m, "https://example.awsapps.com/start")


def td243(m: Machine, s: Setup) -> None:
    # The login was made with the portal URL as the browser shows it (trailing "#/"); the profile has it bare.
    _sso_profile(m, "https://example.awsapps.com/start")
    cache = m.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(b"https://example.awsapps.com/start#/").hexdigest() + ".json")).write_text(
        json.dumps({"accessToken": "ssoaccesstokenssoaccesstoken", "expiresAt": iso(now() + dt.timedelta(hours=4))})
    )


def td244(m: Machine, s: Setup) -> None:
    # `aws login` wrote a login_session profile; the program's Python environment has no botocore[crt].
    # botocore decides that with `EC is None` (its import of awscrt.crypto.EC failed); set it so, so the row
    # holds whether or not this test environment has awscrt.
    s.monkeypatch.setattr("botocore.credentials.EC", None)
    m.config("[default]\nlogin_session = arn:aws:iam::123456789012:user/me\nregion = us-east-1\n")


def td247(m: Machine, s: Setup) -> None:
    # botocore[crt] is installed and the profile says login_session, but `aws login` never ran on this machine
    # (the profile was copied from a laptop): botocore raises LoginTokenLoadError.  The row stands for an
    # environment with botocore[crt]: botocore only checks `EC is not None` before reading its cache, and
    # awscrt is not a test dependency (installed, it moves SigV4 signing to the CRT's own clock, which the
    # lifetime proofs in test_check_lifetime.py cannot move forward).
    s.monkeypatch.setattr("botocore.credentials.EC", object())
    m.config("[default]\nlogin_session = arn:aws:iam::123456789012:user/me\nregion = us-east-1\n")


def td245(m: Machine, s: Setup) -> None:
    # A profile copied from a laptop whose credential helper is not installed on this machine.
    m.config("[default]\ncredential_process = /opt/sso-helper/bin/get-creds --account 123456789012\n")


def td246(m: Machine, s: Setup) -> None:
    # This shell's keys work; `aws eks update-kubeconfig --profile eks` wrote an exec plugin for an SSO profile
    # nobody logged in to on this machine: kubectl says "You must be logged in to the server (Unauthorized)".
    m.credentials(LONG_TERM)
    m.config(
        "[profile eks]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n"
        "sso_account_id = 123456789012\nsso_role_name = Dev\n"
    )
    kube = m.home / ".kube" / "config"
    kube.parent.mkdir()
    kube.write_text(
        "apiVersion: v1\nkind: Config\ncontexts:\n- context: {cluster: prod, user: prod}\n  name: prod\n"
        "current-context: prod\nusers:\n- name: prod\n  user:\n    exec:\n      command: aws\n"
        "      args: [--region, eu-west-1, eks, get-token, --cluster-name, prod, --output, json]\n"
        "      env:\n      - {name: AWS_PROFILE, value: eks}\n"
    )


# ------------------------------------------------------------------ TD3xx metadata and containers


def td301(m: Machine, s: Setup) -> None:
    # Hop limit 1 from a container: the token PUT never answers, and IMDSv1 is off (HttpTokens=required).
    s.imds(m, token_hang=True, require_token=True)


def td302(m: Machine, s: Setup) -> None:
    # EC2, but nothing listens on the metadata endpoint (metadata disabled / a firewall rejects it).
    s.imds(m)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    m.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = f"http://127.0.0.1:{port}/"


def td303(m: Machine, s: Setup) -> None:
    s.imds(m, role=None)


def td304(m: Machine, s: Setup) -> None:
    s.imds(m, expiration=now() - dt.timedelta(minutes=3))


def td305(m: Machine, s: Setup) -> None:
    # EC2 (DMI says so) and AWS_EC2_METADATA_DISABLED=true (kept from conftest): the role is never asked.
    m.file(DMI_VENDOR, "Amazon EC2\n")
    m.env["AWS_EC2_METADATA_DISABLED"] = "true"
    s.online = True  # the imds check reports TD305 only when not --offline (the probe's reason is then "--offline")


def td306(m: Machine, s: Setup) -> None:
    task = s.stack.enter_context(ContainerServer())
    task.knobs.status = 500
    m.env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=task.url, AWS_CONTAINER_AUTHORIZATION_TOKEN=AUTH)
    s.online = True


def td307(m: Machine, s: Setup) -> None:
    s.imds(
        m,
        code="AssumeRoleUnauthorizedAccess",
        message="EC2 cannot assume the role app-role.",
        drop_fields=("AccessKeyId", "SecretAccessKey", "Token", "Expiration"),
    )


def td330(m: Machine, s: Setup) -> None:
    # A role profile sourced from the instance role, on an instance launched without an instance profile.
    s.imds(m, role=None)
    m.config("[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\ncredential_source = Ec2InstanceMetadata\n")
    m.env["AWS_PROFILE"] = "job"


def td331(m: Machine, s: Setup) -> None:
    # EKS Pod Identity variables set, but the projected token volume is not mounted (checked offline).
    m.env.update(
        AWS_CONTAINER_CREDENTIALS_FULL_URI="http://169.254.170.23/v1/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(m.base / "serviceaccount" / "eks-pod-identity-token"),
    )


def td332(m: Machine, s: Setup) -> None:
    # A sidecar credentials server addressed by its service name over plain http (checked offline).
    m.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://creds-sidecar:8080/role"


def td333(m: Machine, s: Setup) -> None:
    # IRSA variables copied into a pod whose service account has no role annotation: no token file.
    m.env.update(
        AWS_ROLE_ARN="arn:aws:iam::123456789012:role/irsa",
        AWS_WEB_IDENTITY_TOKEN_FILE=str(m.base / "no-such-dir" / "token"),
    )


# ------------------------------------------------------------------ TD4xx the clock


def td401(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    s.ntp(offset=-120.0)  # the reference is 2 minutes behind: local clock 120 s ahead, far beyond --max-skew 5 s


def _fake_command(m: Machine, name: str, script: str) -> None:
    path = m.file(f"/usr/bin/{name}", "#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def td402(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    _fake_command(m, "chronyc", f"echo '{CHRONY_UNSYNCED}'")


def td403(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    s.ntp(drop="all")
    s.args += ["--timeout", "2"]  # 1 s left the credentials analysis too little time on a loaded machine (TD903)


# ------------------------------------------------------------------ TD5xx the process and SDKs


def td504(m: Machine, s: Setup) -> None:
    started = now()
    env = _session_env(m, AWS_CREDENTIAL_EXPIRATION=iso(started - dt.timedelta(hours=4)))
    pid = _describe(m, env, started=started - dt.timedelta(hours=5), pid=5151, boot=started)
    s.args += ["--pid", str(pid)]


def td506(m: Machine, s: Setup) -> None:
    # JS v3 skips exported keys when AWS_PROFILE is set: the program uses the profile, the CLI the keys.
    m.config("[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = default\n")
    m.credentials(LONG_TERM)
    m.env.update(SESSION_ENV, AWS_PROFILE="dev")
    s.args += ["--sdk", "js-v3"]


def td507(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    m.env["JAVA_TOOL_OPTIONS"] = (
        "-Xss2m -Daws.accessKeyId=ASIAPROPPROPPROP5678 -Daws.secretAccessKey=rank-secret-MARKER-3c1f "
        "-Daws.sessionToken=rank-token-MARKER-77ab"
    )
    s.args += ["--sdk", "java-v2"]


def td508(m: Machine, s: Setup) -> None:
    m.config(
        "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev\nsource_profile = default\n"
        "[profile other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = othersecretothersecret\n"
    )
    m.credentials(LONG_TERM)
    m.env.update(AWS_DEFAULT_PROFILE="other", AWS_PROFILE="dev")
    s.args += ["--sdk", "java-v2"]


def td509(m: Machine, s: Setup) -> None:
    # A fresh key pair exported, plus a stale AWS_SECRET_KEY that Java 1.x prefers.
    m.env.update(
        AWS_ACCESS_KEY_ID="AKIAENVENVENVENV1234",
        AWS_SECRET_ACCESS_KEY="freshsecretfreshsecret",
        AWS_SECRET_KEY="stalesecretstalesecret",
    )
    s.args += ["--sdk", "java-v1"]


# ------------------------------------------------------------------ TD5xx live verification (--live)


def td501(m: Machine, s: Setup) -> None:
    m.env.update(SESSION_ENV)  # the seed's exported session, and STS says it is over
    s.sts(m, "ExpiredToken", "The security token included in the request is expired")


def td502(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)  # a deleted or mistyped key
    s.sts(m, "InvalidClientTokenId", "The security token included in the request is invalid.")


def td503(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    s.sts(m, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")


def td505(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    m.config(
        ROLE_PROFILE
        + "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/next\nsource_profile = job\nregion = "
        "us-east-1\n"
    )
    m.env["AWS_PROFILE"] = "chained"
    s.stack.enter_context(_moto(m))
    s.args.append("--live")
    s.online = True


def td510(m: Machine, s: Setup) -> None:
    m.credentials(LONG_TERM)
    s.sts(m, None)


@contextlib.contextmanager
def _moto(m: Machine) -> Iterator[None]:
    with moto_server() as url:
        m.env.update(AWS_ENDPOINT_URL=url, AWS_DEFAULT_REGION="us-east-1")
        yield


# ------------------------------------------------------------------ TD9xx tokendoctor itself


def td901(m: Machine, s: Setup) -> None:
    def boom(ctx: Any) -> CheckResult:
        raise RuntimeError("probe exploded")

    m.credentials(LONG_TERM)  # a healthy machine: nothing else is wrong
    s.add_check(Check("boom", boom, "a check that crashes"))


def td902(m: Machine, s: Setup) -> None:
    release = threading.Event()
    s.stack.callback(release.set)  # let the parked thread end when the test does

    def hang(ctx: Any) -> CheckResult:
        release.wait(60)
        return CheckResult(name="hang")

    m.credentials(LONG_TERM)
    s.add_check(Check("hang", hang, "a check that blocks past the deadline"))
    s.args += ["--timeout", "2"]  # the real checks must finish; only the hanging one may not


def td903(m: Machine, s: Setup) -> None:
    """A config of 100,000 profiles: botocore cannot parse it within --timeout 1."""
    m.config("".join(f"[profile p{i}]\nregion = us-east-1\n" for i in range(100_000)))
    m.env["AWS_PROFILE"] = "p7"
    s.args += ["--timeout", "1"]


@dataclass(frozen=True)
class Row:
    build: Builder
    after: tuple[str, ...] = ()
    """Symptoms the same state also raises, which must rank below the root cause (pins the order, not just a lone finding)."""


TABLE: dict[str, Row] = {
    "TD101": Row(td101),
    "TD102": Row(td102),
    "TD103": Row(td103),
    "TD104": Row(td104),
    "TD105": Row(td105),
    "TD106": Row(td106),
    "TD107": Row(td107),
    "TD108": Row(td108),
    # TD120 (priority 4) over TD102 env-shadows-profile: the blank key is what botocore signs with, so it
    # is why every call fails; that it also hides the profile is the consequence.
    "TD120": Row(td120, after=("TD102",)),
    # TD121 replaces TD101 for an AKIA key: AWS rejects an IAM user key with a token (InvalidClientTokenId),
    # so this is not a temporary session and TD101 must not be raised at all.
    "TD121": Row(td121),
    # TD122 (error) over TD101 (warning): AWS rejects the v1 token in the opt-in region now, before the
    # session would expire.
    "TD122": Row(td122, after=("TD101",)),
    "TD201": Row(td201),
    "TD202": Row(td202, after=("TD101",)),
    "TD203": Row(td203, after=("TD101",)),
    "TD204": Row(td204),
    "TD205": Row(td205),
    "TD206": Row(td206),
    "TD207": Row(td207),
    # catalogue priority 20 -> 9: every TD208 state also raises TD204 (a session in the file), and the
    # stale aws_security_token is the specific reason a freshly written session still gets ExpiredToken.
    "TD208": Row(td208, after=("TD204",)),
    "TD209": Row(td209),
    "TD220": Row(td220, after=("TD101",)),
    "TD221": Row(td221),
    "TD222": Row(td222),
    "TD223": Row(td223),
    "TD224": Row(td224),
    "TD240": Row(td240),
    "TD241": Row(td241),
    # TD242/TD243 are what TD206 used to report for these states: no token was ever cached under this key.
    "TD242": Row(td242),
    "TD243": Row(td243),
    "TD244": Row(td244),
    "TD247": Row(td247),
    "TD245": Row(td245),
    "TD246": Row(td246),
    "TD301": Row(td301, after=("TD201",)),
    "TD302": Row(td302, after=("TD201",)),
    "TD303": Row(td303, after=("TD201",)),
    "TD304": Row(td304),
    # catalogue priority 8 -> 4 (as TD301-TD303, TD307): metadata switched off on EC2 is why there are
    # no credentials; before, TD201 (priority 5) ranked above its own root cause.
    "TD305": Row(td305, after=("TD201",)),
    "TD306": Row(td306),
    "TD307": Row(td307, after=("TD201",)),
    # TD330 (error) over TD303 (a warning here, as the chain's winner is the role profile): botocore raises
    # CredentialRetrievalError for the profile because the instance has no role; TD303 says why.
    "TD330": Row(td330, after=("TD303",)),
    "TD331": Row(td331),
    "TD332": Row(td332),
    "TD333": Row(td333),
    "TD401": Row(td401),
    "TD402": Row(td402),
    "TD403": Row(td403),
    "TD504": Row(td504, after=("TD202", "TD101")),
    "TD506": Row(td506),
    "TD507": Row(td507, after=("TD506",)),
    # catalogue priority 21 -> 11: when the SDK selects another profile it also uses another source, so
    # TD506 always comes with TD508 and is its consequence; before, TD508 could never rank first.
    "TD508": Row(td508, after=("TD506",)),
    "TD509": Row(td509),
    "TD501": Row(td501, after=("TD101",)),
    "TD502": Row(td502),
    "TD503": Row(td503),
    "TD505": Row(td505),
    "TD510": Row(td510),
    "TD250": Row(td250),
    "TD903": Row(td903, after=("TD902",)),
    "TD901": Row(td901),
    "TD902": Row(td902),
}


#: Causes only the in-process hook can see: they rank first through ``tokendoctor run`` (below).
RUN_ROWS: frozenset[str] = frozenset({"TD511"})


def test_every_cause_is_covered_or_deferred() -> None:
    from tests.test_explain import EXPLAIN_RANKING  # explain-only causes rank first through `explain --json`

    codes = set(catalogue.CAUSES)
    explain_only = {c for c, cause in catalogue.CAUSES.items() if cause.check == "explain"}
    assert explain_only <= set(EXPLAIN_RANKING), f"explain-only causes with no explain row: {explain_only}"
    missing = sorted(
        c for c in codes if c not in TABLE and c not in RUN_ROWS and c not in EXPLAIN_RANKING and not _deferred(c)
    )
    assert not missing, f"causes with no rank-first row and no DEFERRED reason: {missing}"
    assert not set(TABLE) & set(DEFERRED), "a code is both covered and deferred"
    assert not set(TABLE) & RUN_ROWS, "a code is covered twice"
    assert set(TABLE) | RUN_ROWS <= codes, f"rows for codes not in the catalogue: {sorted(set(TABLE) - codes)}"
    assert set(DEFERRED) <= codes


@pytest.fixture
def stack() -> Iterator[ExitStack]:
    with ExitStack() as s:
        yield s


def _check(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    mp = setup.monkeypatch
    for name in setup.unset:
        mp.delenv(name, raising=False)
    for name, value in machine.env.items():
        mp.setenv(name, value)
    mp.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    if setup.online and "--ntp-server" not in setup.args:
        setup.ntp()  # a healthy loopback time source, so the clock check has a reference and stays quiet
    if setup.online and "--timeout" not in setup.args:
        setup.args += ["--timeout", "4"]
    argv = ["check", "--json", *([] if setup.online else ["--offline"]), *setup.args]
    rc = main(argv)
    out = capsys.readouterr()
    doc = json.loads(out.out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["exit_code"] == rc, out.err
    return rc, doc, out.out + out.err


@pytest.mark.parametrize("code", sorted(TABLE))
def test_cause_ranks_first_where_it_is_the_root_problem(
    code: str, machine: Machine, stack: ExitStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    row = TABLE[code]
    setup = Setup(stack=stack, monkeypatch=monkeypatch)
    row.build(machine, setup)
    rc, doc, output = _check(machine, setup, capsys)
    ranked = [c["code"] for c in doc["causes"]]
    assert ranked and ranked[0] == code, f"{code} should rank first; got {ranked}"
    assert doc["causes"][0]["name"] == catalogue.get(code).name
    for symptom in row.after:
        assert symptom in ranked[1:], f"the {code} state should also raise {symptom}; got {ranked}"
    # the exit code follows the top cause's severity (warnings exit 0, a lone TD901 is a tool failure)
    top = doc["causes"][0]["severity"]
    assert rc == (3 if code in ("TD901", "TD903") else 1 if top == "error" else 0)
    for marker in MARKERS:
        assert marker not in output


def test_TD511_static_session_in_code_ranks_first_through_run(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The seed's job, written as many are: it assumes the role once and hands the keys to
    boto3.Session().  Outside the process everything looks healthy (a role profile over long-term
    keys); ``tokendoctor run`` with the in-process hook names the frozen copy when STS starts
    answering ExpiredToken."""
    import subprocess
    import sys
    from pathlib import Path

    from tests.servers.expiring import ExpiringSts

    job = Path(__file__).resolve().parent / "jobs" / "sts_job.py"
    schema = json.loads(files("tokendoctor").joinpath("resources/run.schema.json").read_text(encoding="utf-8"))
    machine.config(LONG_TERM + ROLE_PROFILE)
    report = tmp_path / "run.json"
    with ExpiringSts(calls_per_key=3) as sts:
        env = {**os.environ, **machine.env, "TOKENDOCTOR_FS_ROOT": str(machine.root), "AWS_ENDPOINT_URL_STS": sts.url}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tokendoctor",
                "run",
                "--report",
                str(report),
                "--",
                sys.executable,
                str(job),
                "static",
                "10",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    doc = json.loads(report.read_text())
    jsonschema.validate(doc, schema)
    ranked = [c["code"] for c in doc["diagnosis"]["causes"]]
    assert ranked[0] == "TD511", f"TD511 should rank first; got {ranked}"
    assert doc["diagnosis"]["causes"][0]["name"] == catalogue.get("TD511").name
    assert "TD202" in ranked[1:], "the expired session is its symptom"
    assert doc["preflight"]["causes"] == [] or doc["preflight"]["status"] != "error", (
        "outside the process it looks fine"
    )
    assert proc.returncode == 1  # the job's own exit status
    for marker in MARKERS:
        assert marker not in proc.stderr and marker not in report.read_text()
