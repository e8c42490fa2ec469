"""No secret ever reaches the output.

Unique markers are seeded into every place a secret can come from (environment
variables, the credentials and config files, the AWS CLI and SSO caches, the web
identity and container token files, instance metadata) and then ``check`` runs in
every format, with --verbose and --debug, on the normal and the error paths.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.imds import ImdsServer
from tokendoctor.cli import main
from tokendoctor.models import CheckResult
from tokendoctor.runner import Check

MARK = {
    "env_secret": "envSECRETmarker0001envSECRET",
    "env_token": "envTOKENmarker0002envTOKEN",
    "env_security_token": "envSECURITYmarker0003",
    "container_token": "containerTOKENmarker0004",
    "file_secret": "fileSECRETmarker0005fileSECRET",
    "file_token": "fileTOKENmarker0006fileTOKEN",
    "other_profile_secret": "otherSECRETmarker0007",
    "config_secret": "configSECRETmarker0008",
    "cli_cache_secret": "cliCacheSECRETmarker0009",
    "cli_cache_token": "cliCacheTOKENmarker0010",
    "sso_access": "ssoACCESSmarker0011",
    "sso_refresh": "ssoREFRESHmarker0012",
    "sso_client_secret": "ssoCLIENTSECRETmarker0013",
    "malformed_line": "malformedSECRETmarker0014",
}
FORMATS = (
    ["--format", "github"],
    ["--format", "junit", "-v"],
    ["--json"],
    ["--format", "text"],
    ["-v"],
    ["--debug"],
    ["-v", "--debug", "--json"],
)


def _jwt(marker: str) -> str:
    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    exp = int(dt.datetime.now(dt.timezone.utc).timestamp()) - 60
    return f"{enc({'alg': 'RS256'})}.{enc({'exp': exp, 'iss': 'https://oidc.example', 'sub': 'x'})}.{marker}"


def _assert_clean(text: str, extra: tuple[str, ...] = ()) -> None:
    for name, marker in [*MARK.items(), *(("extra", e) for e in extra)]:
        assert marker not in text, f"{name} leaked"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(list(argv))
    out = capsys.readouterr()
    assert "Traceback" not in out.err or "--debug" in argv
    return out.out + out.err


@pytest.fixture
def seeded(monkeypatch: pytest.MonkeyPatch) -> Path:
    from botocore.credentials import AssumeRoleCredentialFetcher

    home = Path(os.environ["HOME"])
    aws = home / ".aws"
    aws.mkdir(exist_ok=True)
    (aws / "credentials").write_text(
        "[default]\naws_access_key_id = AKIAFILEFILEFILE1234\n"
        f"aws_secret_access_key = {MARK['file_secret']}\naws_session_token = {MARK['file_token']}\n"
        f"[other]\naws_access_key_id = AKIAOTHEROTHEROTH123\naws_secret_access_key = {MARK['other_profile_secret']}\n"
    )
    start = "https://example.awsapps.com/start"
    role = "arn:aws:iam::123456789012:role/job"
    (aws / "config").write_text(
        f"[profile cfg]\naws_access_key_id = AKIACONFIGCONFIGC123\naws_secret_access_key = {MARK['config_secret']}\n"
        f"[profile job]\nrole_arn = {role}\nsource_profile = other\n"
        f"[profile sso]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n"
    )
    fetcher = AssumeRoleCredentialFetcher(client_creator=None, source_credentials=None, role_arn=role)  # type: ignore[arg-type]
    cli_cache = aws / "cli" / "cache"
    cli_cache.mkdir(parents=True)
    (cli_cache / f"{fetcher._cache_key}.json").write_text(
        json.dumps(
            {
                "Credentials": {
                    "AccessKeyId": "ASIACLICACHECLICACH1",
                    "SecretAccessKey": MARK["cli_cache_secret"],
                    "SessionToken": MARK["cli_cache_token"],
                    "Expiration": "2020-01-01T00:00:00Z",
                }
            }
        )
    )
    sso_cache = aws / "sso" / "cache"
    sso_cache.mkdir(parents=True)
    (sso_cache / (hashlib.sha1(start.encode()).hexdigest() + ".json")).write_text(
        json.dumps(
            {
                "accessToken": MARK["sso_access"],
                "refreshToken": MARK["sso_refresh"],
                "clientSecret": MARK["sso_client_secret"],
                "expiresAt": "2020-01-01T00:00:00Z",
            }
        )
    )
    token_file = home / "web-identity-token"
    token_file.write_text(_jwt("webIDENTITYsignaturemarker0015"))
    container_token = home / "container-token"
    container_token.write_text(MARK["container_token"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAENVENVENVENV1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", MARK["env_secret"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", MARK["env_token"])
    monkeypatch.setenv("AWS_SECURITY_TOKEN", MARK["env_security_token"])
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(container_token))
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:9/creds")
    return home


WEB_IDENTITY_SIGNATURE = "webIDENTITYsignaturemarker0015"


@pytest.fixture
def imds() -> Iterator[ImdsServer]:
    with ImdsServer() as server:
        yield server


@pytest.mark.parametrize("profile", [None, "default", "cfg", "job", "sso", "other", "missing"])
def test_no_marker_in_any_format_or_profile(
    seeded: Path, capsys: pytest.CaptureFixture[str], profile: str | None
) -> None:
    # The whole JWT is a secret too: its signature part must never appear.
    token = (seeded / "web-identity-token").read_text()
    seen = ""
    for fmt in FORMATS:
        argv = ["check", "--offline", "--timeout", "5", *fmt] + (["--profile", profile] if profile else [])
        seen = _run(capsys, *argv)
        _assert_clean(seen, extra=(WEB_IDENTITY_SIGNATURE, token))
    # The seeded sources were really read (the last run is JSON): not a vacuous pass.
    expected = {"job": "AWS CLI cache", "sso": "TD206", "cfg": "AKIA…C123", None: "ASIA…1234", "missing": "TD105"}
    doc = json.loads(seen)
    assert expected.get(profile, '"schema_version": 1') in json.dumps(doc, ensure_ascii=False)
    import jsonschema

    from tests.test_cli import SCHEMA

    jsonschema.validate(doc, SCHEMA)


def test_no_marker_when_config_is_malformed(seeded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (seeded / ".aws" / "credentials").write_text(f"[default\naws_secret_access_key = {MARK['malformed_line']}\n")
    (seeded / ".aws" / "config").write_text(f"[profile x]\n  aws_secret_access_key {MARK['config_secret']}\n=\n")
    for fmt in FORMATS:
        _assert_clean(_run(capsys, "check", "--offline", *fmt))


def test_no_marker_when_a_check_crashes_with_debug(
    seeded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(ctx: object) -> CheckResult:
        raise ValueError(f"bad value {MARK['env_secret']} and aws_session_token={MARK['file_token']}")

    from tokendoctor import checks

    monkeypatch.setattr("tokendoctor.checks.ALL_CHECKS", (*checks.ALL_CHECKS, Check("boom", boom, "crashes")))
    for fmt in FORMATS:
        out = _run(capsys, "check", "--offline", *fmt)
        _assert_clean(out)
        assert "TD901" in out


def test_no_marker_in_top_level_internal_error(
    seeded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> object:
        raise RuntimeError(f"renderer failed on {MARK['env_token']}")

    monkeypatch.setattr("tokendoctor.render.get_renderer", lambda fmt: explode)
    for fmt in (["--debug"], []):
        main(["check", "--offline", *fmt])
        out = capsys.readouterr()
        _assert_clean(out.out + out.err)
        assert "tokendoctor: internal error: RuntimeError" in out.err
        assert ("Traceback" in out.err) == bool(fmt)


def test_no_marker_from_instance_metadata(
    imds: ImdsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.servers import imds as emu

    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    for fmt in FORMATS:
        text = _run(capsys, "check", "--imds", "--timeout", "5", *fmt)
        for secret in (emu.SECRET, emu.SESSION_TOKEN, emu.TOKEN):
            assert secret not in text
        assert "iam-role" in text


def test_no_marker_from_run_its_diagnosis_report_or_hook(seeded: Path, tmp_path: Path) -> None:
    """``tokendoctor run`` with every seeded secret in the environment and files: its preflight lines,
    its diagnosis block and its --report never show one.  The command itself prints an ExpiredToken
    error (and nothing secret), so the diagnosis path runs; the Python command's own hook record
    carries the env secrets' masked key only."""
    import subprocess
    import sys

    report = tmp_path / "run.json"
    root = tmp_path / "root"
    root.mkdir()
    child = (
        "import sys, boto3\n"
        "s = boto3.Session(region_name='us-east-1')\n"  # resolves the seeded env credentials
        "sys.stderr.write('An error occurred (ExpiredToken) when calling the GetObject operation: expired\\n')\n"
    )
    env = {**os.environ, "TOKENDOCTOR_FS_ROOT": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "tokendoctor", "run", "--report", str(report), "--", sys.executable, "-c", child],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[tokendoctor] ──── tokendoctor: diagnosis ────" in proc.stderr and "[tokendoctor] preflight:" in proc.stderr
    doc = json.loads(report.read_text())
    assert doc["diagnosis"]["causes"] and doc["preflight"]["causes"]  # not a vacuous pass
    _assert_clean(proc.stderr + proc.stdout + report.read_text(), extra=(WEB_IDENTITY_SIGNATURE,))


def test_no_marker_in_the_command_line_shown_by_run(tmp_path: Path) -> None:
    import subprocess
    import sys

    report = tmp_path / "run.json"
    root = tmp_path / "root"
    root.mkdir()
    argv = ["true", f"--aws-secret-access-key={MARK['env_secret']}", f"aws_session_token={MARK['env_token']}"]
    env = {**os.environ, "TOKENDOCTOR_FS_ROOT": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "tokendoctor", "run", "--no-preflight", "--report", str(report), "--", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0
    doc = json.loads(report.read_text())
    assert doc["command"][0] == "true" and len(doc["command"]) == 3
    _assert_clean(report.read_text())
