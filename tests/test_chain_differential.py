"""Differential test: tokendoctor's static winner == what real botocore resolves.

Each case is a generated machine state (env vars, ~/.aws/config, ~/.aws/credentials,
web identity token file, credential_process script, container endpoint).  The
oracle is ``botocore.session.Session(profile=...).get_credentials().method`` run
against the same state; the container endpoint it may call is a loopback server
this module starts, and instance metadata is disabled (conftest), so nothing
leaves 127.0.0.1.  tokendoctor must name the same method without running the
process, calling STS/SSO or touching the network.
"""

from __future__ import annotations

import itertools
import json
import random
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import Machine
from tokendoctor.botocore_env import botocore_environment
from tokendoctor.chain.resolve import analyse

ENV_CREDS = ("none", "static", "session", "key-only", "session-expiring")
PROFILE_VARS = (None, "dev", "nope")
DEFAULT_PROFILE_VARS = (None, "dev", "other")
EXPLICIT = (None, "dev")
DEV_KINDS = (
    "none",
    "static-config",
    "role-source",
    "role-mfa",
    "web-identity",
    "sso",
    "process",
    "session-creds",
    "role-ec2",
    "broken-role",
)
DEFAULT_CREDS = ("none", "static")
WEB_ENV = (False, True)
CONTAINER = (False, True)

_ALL = list(
    itertools.product(
        ENV_CREDS, PROFILE_VARS, DEFAULT_PROFILE_VARS, EXPLICIT, DEV_KINDS, DEFAULT_CREDS, WEB_ENV, CONTAINER
    )
)
# Hand-picked cases so every provider wins at least once, then a seeded random sample.
_PICKED = [
    ("none", None, None, None, "none", "static", False, False),  # shared-credentials-file
    ("none", "dev", None, None, "session-creds", "none", False, False),  # pasted session in a file
    ("session", "dev", None, None, "role-source", "static", False, False),  # env shadows a role profile
    ("none", None, None, "dev", "process", "none", False, False),  # credential_process
]
CASES = _PICKED + random.Random(20261123).sample(_ALL, 160)

JWT = "eyJhbGciOiJub25lIn0.eyJleHAiOjQxMDI0NDQ4MDAsImlzcyI6Imh0dHBzOi8vZXhhbXBsZSJ9.c2ln"


class _ContainerCreds(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        body = json.dumps(
            {
                "AccessKeyId": "ASIACONTAINERCONTAINER",
                "SecretAccessKey": "containersecretcontainersecret",
                "Token": "containertokencontainertoken",
                "Expiration": "2099-01-01T00:00:00Z",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def container_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ContainerCreds)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/creds"
    server.shutdown()
    server.server_close()


def _build(machine: Machine, case: tuple, container_url: str) -> str | None:
    env_creds, profile_var, default_var, explicit, dev_kind, default_creds, web_env, container = case
    env = machine.env
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    if env_creds != "none":
        env["AWS_ACCESS_KEY_ID"] = "AKIAENVENVENVENV1234" if env_creds == "static" else "ASIAENVENVENVENV1234"
    if env_creds in ("static", "session", "session-expiring"):
        env["AWS_SECRET_ACCESS_KEY"] = "envsecretenvsecretenvsecret"
    if env_creds in ("session", "session-expiring"):
        env["AWS_SESSION_TOKEN"] = "envtokenenvtokenenvtoken"
    if env_creds == "session-expiring":
        env["AWS_CREDENTIAL_EXPIRATION"] = "2099-01-01T00:00:00Z"
    if profile_var:
        env["AWS_PROFILE"] = profile_var
    if default_var:
        env["AWS_DEFAULT_PROFILE"] = default_var
    token = machine.base / "token.jwt"
    token.write_text(JWT)
    if web_env:
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = str(token)
        env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/env-web"
    if container:
        env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = container_url

    config = ["[profile other]", "region = us-east-1", ""]
    creds = []
    if default_creds == "static":
        creds += [
            "[default]",
            "aws_access_key_id = AKIADEFAULTDEFAULT12",
            "aws_secret_access_key = defaultsecretdefaultsecret",
            "",
        ]
    script = machine.base / "proc.py"
    script.write_text(
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'ASIAPROCESSPROCESS12', "
        "'SecretAccessKey': 'processsecretprocesssecret', 'SessionToken': 'processtokenprocesstoken'}))\n"
    )
    dev = {
        "none": [],
        "static-config": [
            "aws_access_key_id = AKIACONFIGCONFIG1234",
            "aws_secret_access_key = configsecretconfigsecret",
        ],
        "role-source": ["role_arn = arn:aws:iam::123456789012:role/dev", "source_profile = default"],
        "role-mfa": [
            "role_arn = arn:aws:iam::123456789012:role/dev",
            "source_profile = default",
            "mfa_serial = arn:aws:iam::123456789012:mfa/me",
        ],
        "web-identity": ["role_arn = arn:aws:iam::123456789012:role/web", f"web_identity_token_file = {token}"],
        "sso": [
            "sso_start_url = https://example.awsapps.com/start",
            "sso_region = us-east-1",
            "sso_account_id = 123456789012",
            "sso_role_name = Dev",
        ],
        "process": [f"credential_process = {sys.executable} {script}"],
        "session-creds": [],
        "role-ec2": ["role_arn = arn:aws:iam::123456789012:role/dev", "credential_source = Environment"],
        "broken-role": ["role_arn = arn:aws:iam::123456789012:role/dev"],
    }[dev_kind]
    if dev_kind != "none":
        config += ["[profile dev]", *dev, ""]
    if dev_kind == "session-creds":
        config += ["[profile dev]", "region = us-east-1", ""]
        creds += [
            "[dev]",
            "aws_access_key_id = ASIAFILEFILEFILE1234",
            "aws_secret_access_key = filesecretfilesecret",
            "aws_session_token = filetokenfiletoken",
            "",
        ]
    machine.config("\n".join(config))
    if creds:
        machine.credentials("\n".join(creds))
    return explicit


def _botocore_says(env: dict[str, str], explicit: str | None) -> str | None:
    import botocore.session

    with botocore_environment(env):
        session = botocore.session.Session(profile=explicit)
        try:
            found = session.get_credentials()
        except Exception as exc:  # noqa: BLE001 - the oracle's error class is the answer
            return f"error:{type(exc).__name__}"
    return found.method if found is not None else None


def _tokendoctor_says(machine: Machine, explicit: str | None) -> str | None:
    analysis = analyse(machine.context(profile=explicit))
    if analysis.error is not None:
        return "error"
    if analysis.winner is not None and analysis.winner.status == "error":
        return "error"
    return analysis.method


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(str(x) for x in c))
def test_winner_matches_botocore(machine: Machine, case: tuple, container_url: str) -> None:
    explicit = _build(machine, case, container_url)
    expected = _botocore_says(machine.env, explicit)
    got = _tokendoctor_says(machine, explicit)
    if expected is not None and expected.startswith("error:"):
        assert got == "error", f"botocore raised {expected}, tokendoctor said {got}"
    else:
        assert got == expected


def test_the_sample_covers_every_kind_of_winner(tmp_path: Path, container_url: str) -> None:
    """Guard against a sample that only ever exercises one provider."""
    winners = set()
    for i, case in enumerate(CASES):
        m = Machine(tmp_path / str(i))
        explicit = _build(m, case, container_url)
        winners.add(_botocore_says(m.env, explicit))
    assert {
        "env",
        "assume-role",
        "assume-role-with-web-identity",
        "sso",
        "shared-credentials-file",
        "custom-process",
        "config-file",
        "container-role",
        None,
    } <= winners
    assert any(w and w.startswith("error:") for w in winners)
