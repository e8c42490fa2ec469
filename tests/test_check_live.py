"""``--live``: GetCallerIdentity against moto's server and a loopback STS stub, through real botocore.

Every endpoint is on 127.0.0.1 (AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL /
``endpoint_url`` in the config); the autouse fixture sets
TOKENDOCTOR_LIVE_LOOPBACK_ONLY=1, so a request to anything else is refused
before a socket is opened (one test below proves it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
import stat
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import NOW, Machine, codes
from tests.servers.imds import Blackhole
from tests.servers.moto import moto_server
from tests.servers.sts import StsStub
from tokendoctor.chain import live as probe_sts
from tokendoctor.checks import clock, live
from tokendoctor.context import Context, utc_now
from tokendoctor.pipeline import rank

AKIA = "AKIALIVETEST00001234"
SECRET = "live-secret-MARKER-do-not-print-0101"
TOKEN = "live-session-token-MARKER-do-not-print-0202"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def stub() -> Iterator[StsStub]:
    with StsStub() as server:
        yield server


def moto_client(url: str, service: str, creds: dict[str, str] | None = None) -> Any:
    import botocore.session

    creds = creds or {"AccessKeyId": AKIA, "SecretAccessKey": SECRET}
    return botocore.session.Session().create_client(
        service,
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
    )


def make_role(url: str, name: str, max_session: int = 3600) -> str:
    iam = moto_client(url, "iam")
    try:
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])
    except iam.exceptions.NoSuchEntityException:
        return str(
            iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}", MaxSessionDuration=max_session)["Role"]["Arn"]
        )


def ctx_for(machine: Machine, *, real_clock: bool = False, **options: Any) -> Context:
    ctx = machine.context(**{"offline": False, "live": True, "timeout": 3.0, **options})
    return dataclasses.replace(ctx, now=utc_now) if real_clock else ctx


def env_keys(machine: Machine, **extra: str) -> None:
    machine.env.update(AWS_ACCESS_KEY_ID=AKIA, AWS_SECRET_ACCESS_KEY=SECRET, **extra)


def by_code(result: Any, code: str) -> Any:
    return next(f for f in result.findings if f.code == code)


# ------------------------------------------------------------------ basics


def test_skipped_without_live(machine: Machine) -> None:
    env_keys(machine)
    result = live.check(machine.context())
    assert result.status == "skipped" and result.data == {} and result.findings == ()


def test_offline_and_live_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    from tokendoctor.cli import main

    assert main(["check", "--offline", "--live"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokendoctor: error: --offline and --live") and len(err.strip().splitlines()) == 1


def test_guard_refuses_a_real_aws_endpoint(machine: Machine) -> None:
    env_keys(machine)  # no endpoint override: botocore would go to sts.amazonaws.com
    data = live.check(ctx_for(machine)).data
    assert data["status"] == "error" and "not loopback" in data["message"] and "sts.amazonaws.com" in data["message"]


# ---------------------------------------------------------------- ok (moto)


def test_ok_env_keys(machine: Machine, moto_url: str) -> None:
    env_keys(machine, AWS_ENDPOINT_URL_STS=moto_url)
    result = live.check(ctx_for(machine, real_clock=True))
    data = result.data
    assert data["status"] == "ok" and data["stage"] == "call" and data["method"] == "env"
    assert data["account"] == "123456789012" and data["arn"].endswith(":user/moto")
    assert data["endpoint"] == moto_url and data["region"] == "us-east-1"
    assert data["role_name"] is None and data["role_chaining"] is None
    assert data["server_date"] and abs(data["clock_offset_seconds"]) < 5
    assert data["access_key_id"] == "AKIA…1234"
    assert result.findings == ()
    assert data["summary"].startswith(f"accepted by STS via {moto_url}")


def test_ok_assumed_role_profile_with_max_session(machine: Machine, moto_url: str) -> None:
    role = make_role(moto_url, "nightly-job", max_session=7200)
    machine.credentials(f"[base]\naws_access_key_id = {AKIA}\naws_secret_access_key = {SECRET}\n")
    machine.config(f"[profile job]\nrole_arn = {role}\nsource_profile = base\nrole_session_name = nightly\n")
    machine.env.update(
        AWS_PROFILE="job", AWS_ENDPOINT_URL=moto_url, AWS_DEFAULT_REGION="us-east-1"
    )  # STS AssumeRole, GetCallerIdentity and IAM
    result = live.check(ctx_for(machine))
    data = result.data
    assert data["status"] == "ok" and data["method"] == "assume-role"
    assert data["arn"] == "arn:aws:sts::123456789012:assumed-role/nightly-job/nightly"
    assert (data["role_name"], data["session_name"]) == ("nightly-job", "nightly")
    assert data["max_session_duration"] == 7200 and data["max_session_duration_note"] is None
    assert data["role_chaining"]["chained"] is False and "long-term keys of 'base'" in data["role_chaining"]["evidence"]
    assert "TD505" not in codes(result)
    assert data["access_key_id"].startswith("ASIA") and data["access_key_id"] != AKIA


def test_TD505_role_profile_sourced_from_a_role_profile(machine: Machine, moto_url: str) -> None:
    first, second = make_role(moto_url, "hop-one"), make_role(moto_url, "hop-two", max_session=14400)
    machine.credentials(f"[base]\naws_access_key_id = {AKIA}\naws_secret_access_key = {SECRET}\n")
    machine.config(
        f"[profile a]\nrole_arn = {first}\nsource_profile = base\n"
        f"[profile b]\nrole_arn = {second}\nsource_profile = a\nduration_seconds = 7200\n"
    )
    machine.env.update(AWS_PROFILE="b", AWS_ENDPOINT_URL=moto_url, AWS_DEFAULT_REGION="us-east-1")
    result = live.check(ctx_for(machine))
    assert result.data["status"] == "ok" and result.data["role_name"] == "hop-two"
    chaining = result.data["role_chaining"]
    assert chaining["chained"] is True and "itself a role profile" in chaining["evidence"]
    finding = by_code(result, "TD505")
    assert "14400" in finding.fix and "duration_seconds = 7200" in finding.fix
    assert rank([result]).causes[0].code == "TD505"


def test_TD505_exported_assumed_role_session_verified_with_sts(machine: Machine, moto_url: str) -> None:
    first, second = make_role(moto_url, "exported-one"), make_role(moto_url, "target-two")
    creds = moto_client(moto_url, "sts").assume_role(RoleArn=first, RoleSessionName="laptop")["Credentials"]
    machine.config(f"[profile job]\nrole_arn = {second}\ncredential_source = Environment\n")
    machine.env.update(
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_SESSION_TOKEN=creds["SessionToken"],
        AWS_ENDPOINT_URL=moto_url,
        AWS_DEFAULT_REGION="us-east-1",
    )
    result = live.check(ctx_for(machine, profile="job"))
    chaining = result.data["role_chaining"]
    assert result.data["method"] == "assume-role" and result.data["role_name"] == "target-two"
    assert chaining["chained"] is True and chaining["source_arn"].endswith(":assumed-role/exported-one/laptop")
    assert "TD505" in codes(result)


def test_environment_source_with_long_term_keys_is_not_chaining(machine: Machine, moto_url: str) -> None:
    machine.config(
        f"[profile job]\nrole_arn = {make_role(moto_url, 'plain-target')}\ncredential_source = Environment\n"
    )
    env_keys(machine, AWS_ENDPOINT_URL=moto_url, AWS_DEFAULT_REGION="us-east-1")
    result = live.check(ctx_for(machine, profile="job"))
    assert result.data["status"] == "ok" and result.data["role_chaining"]["chained"] is False
    assert "TD505" not in codes(result)


def test_TD505_from_config_even_when_the_source_is_not_reachable(machine: Machine) -> None:
    machine.config(
        "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/r\ncredential_source = Ec2InstanceMetadata\n"
    )
    result = live.check(ctx_for(machine, profile="job"))
    assert result.status == "skipped" and result.data["status"] == "skipped"
    assert "instance metadata" in result.data["message"]
    assert result.data["role_chaining"]["chained"] is True and "TD505" in codes(result)


# ------------------------------------------------------- errors (the stub)


@pytest.mark.parametrize(
    ("code", "message", "status", "cause"),
    [
        ("ExpiredToken", "The security token included in the request is expired", "expired", "TD501"),
        ("RequestExpired", "Request has expired.", "expired", "TD501"),
        ("InvalidClientTokenId", "The security token included in the request is invalid.", "invalid", "TD502"),
        (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
            "Access Key and signing method.",
            "signature",
            "TD502",
        ),
        (
            "SignatureDoesNotMatch",
            "Signature expired: 20260618T120000Z is now earlier than 20260618T121500Z (20260618T122000Z - 5 min.)",
            "skewed",
            "TD503",
        ),
        (
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
            "skewed",
            "TD503",
        ),
    ],
)
def test_stub_errors_are_classified(
    machine: Machine, stub: StsStub, code: str, message: str, status: str, cause: str
) -> None:
    stub.error(code, message, status=400 if code == "RequestExpired" else 403)
    stub.date = NOW.timestamp()  # the machine's clock and AWS's agree: only the code decides
    env_keys(machine, AWS_SESSION_TOKEN=TOKEN, AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="eu-west-1")
    result = live.check(ctx_for(machine))
    data = result.data
    assert (data["status"], data["error_code"], data["message"]) == (status, code, message)
    assert data["stage"] == "call" and data["endpoint"] == stub.url and data["http_status"] in (400, 403)
    assert cause in codes(result)
    assert rank([result]).exit_code == 1
    # botocore signed with the exported key and token, for the configured region
    request = stub.requests[-1]
    assert request.form["Action"] == "GetCallerIdentity" and request.security_token == TOKEN
    assert f"Credential={AKIA}/" in request.authorization and "/eu-west-1/sts/aws4_request" in request.authorization
    assert len(stub.requests) == 1  # no retries


def test_signature_expired_message_gives_the_skew(machine: Machine, stub: StsStub) -> None:
    stub.error(
        "SignatureDoesNotMatch",
        "Signature expired: 20260618T120000Z is now earlier than 20260618T121500Z (20260618T122000Z - 5 min.)",
    )
    stub.send_date = False
    env_keys(machine, AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="us-east-1")
    data = live.check(ctx_for(machine)).data
    assert data["request_time"] == "2026-06-18T12:00:00Z" and data["server_time"] == "2026-06-18T12:20:00Z"
    assert data["clock_offset_seconds"] == -1200.0 and data["clock_offset_source"] == "error-message"


def test_not_yet_current_message() -> None:
    request, server = probe_sts.parse_time_message(
        "Signature not yet current: 20260618T123000Z is still later than 20260618T121500Z (20260618T121000Z + 5 min.)"
    )
    assert request == dt.datetime(2026, 6, 18, 12, 30, tzinfo=dt.timezone.utc)
    assert server == dt.datetime(2026, 6, 18, 12, 10, tzinfo=dt.timezone.utc)
    assert (
        probe_sts.classify(
            "SignatureDoesNotMatch", "Signature not yet current: 20260618T123000Z is still later than 20260618T121500Z"
        )
        == "skewed"
    )


def test_date_header_feeds_the_clock_analysis(machine: Machine, stub: StsStub) -> None:
    stub.error("RequestTimeTooSkewed", "The difference between the request time and the current time is too large.")
    stub.date = NOW.timestamp() - 600  # AWS's clock reads 10 minutes before this machine's
    env_keys(machine, AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="us-east-1")
    result = live.check(ctx_for(machine))
    assert result.data["clock_offset_seconds"] == 599.5 and result.data["server_date"] == "2026-06-18T11:50:00Z"
    td503 = by_code(result, "TD503")
    assert "600 s ahead of AWS" in td503.fix and td503.evidence["clock_offset_seconds"] == 599.5
    clock_result = clock.check(machine.context(offline=True))  # no NTP: the STS Date header is the reference
    combined = {r.name: r for r in clock.combine([clock_result, result])}["clock"]
    assert combined.data["source_kind"] == "sts-date" and combined.data["offset_seconds"] == 599.5
    assert any(r["kind"] == "sts-date" for r in combined.data["references"])
    assert "TD401" in codes(combined)


def test_expired_with_a_skewed_clock_also_reports_the_clock(machine: Machine, stub: StsStub) -> None:
    stub.error("ExpiredToken", "The security token included in the request is expired")
    stub.date = NOW.timestamp() + 900
    env_keys(machine, AWS_SESSION_TOKEN=TOKEN, AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="us-east-1")
    result = live.check(ctx_for(machine))
    assert codes(result) == ["TD501", "TD503"] and "900 s behind AWS" in by_code(result, "TD503").fix


def test_invalid_token_hints(machine: Machine, stub: StsStub) -> None:
    stub.error("InvalidClientTokenId", "The security token included in the request is invalid.")
    env_keys(machine, AWS_SESSION_TOKEN=TOKEN, AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="af-south-1")
    fix = by_code(live.check(ctx_for(machine)), "TD502").fix
    assert "long-term (AKIA) key is exported together with AWS_SESSION_TOKEN" in fix
    assert "af-south-1 is an opt-in region" in fix
    assert "/af-south-1/sts/aws4_request" in stub.requests[-1].authorization


def test_expired_source_of_a_role_profile_is_reported_at_resolution(machine: Machine, stub: StsStub) -> None:
    stub.error("ExpiredToken", "The security token included in the request is expired")
    machine.credentials(
        f"[base]\naws_access_key_id = ASIALIVETEST00005678\naws_secret_access_key = {SECRET}\naws_session_token = "
        f"{TOKEN}\n"
    )
    machine.config("[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = base\n")
    machine.env.update(AWS_PROFILE="job", AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="us-east-1")
    result = live.check(ctx_for(machine))
    assert result.data["stage"] == "resolve" and result.data["status"] == "expired"
    assert stub.requests[-1].form["Action"] == "AssumeRole"
    assert "SOURCE credentials the role profile 'job'" in by_code(result, "TD501").fix
    assert result.data["role_chaining"]["chained"] is None  # the pasted session could not be checked


def test_role_chaining_refusal_from_sts(machine: Machine, stub: StsStub) -> None:
    stub.error(
        "ValidationError",
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        status=400,
    )
    machine.credentials(f"[base]\naws_access_key_id = {AKIA}\naws_secret_access_key = {SECRET}\n")
    machine.config(
        "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = base\nduration_seconds = 7200\n"
    )
    machine.env.update(AWS_PROFILE="job", AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="us-east-1")
    result = live.check(ctx_for(machine))
    finding = by_code(result, "TD505")
    assert finding.severity == "error" and "lower duration_seconds" in finding.fix
    assert rank([result]).exit_code == 1


# ---------------------------------------------------------- endpoints


def test_endpoint_url_from_the_config_file_is_honoured(machine: Machine, stub: StsStub) -> None:
    machine.config(
        f"[default]\nregion = ca-central-1\nservices = here\n[services here]\nsts =\n  endpoint_url = {stub.url}\n"
    )
    env_keys(machine)
    data = live.check(ctx_for(machine)).data
    assert data["status"] == "ok" and data["endpoint"] == stub.url and data["region"] == "ca-central-1"
    assert (data["role_name"], data["session_name"]) == ("stub-role", "stub-session")
    assert data["max_session_duration"] is None and "not loopback" in data["max_session_duration_note"]


def test_get_role_access_denied_is_only_a_note(machine: Machine, stub: StsStub) -> None:
    env_keys(machine, AWS_ENDPOINT_URL=stub.url, AWS_DEFAULT_REGION="eu-west-1")  # STS and IAM on the stub
    result = live.check(ctx_for(machine))
    data = result.data
    assert data["status"] == "ok" and data["role_name"] == "stub-role"
    assert data["max_session_duration"] is None
    assert data["max_session_duration_note"] == "iam:GetRole not permitted for these credentials"
    assert [r.form["Action"] for r in stub.requests] == ["GetCallerIdentity", "GetRole"]
    assert result.findings == ()


def test_connection_refused_is_a_network_error(machine: Machine) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env_keys(machine, AWS_ENDPOINT_URL_STS=f"http://127.0.0.1:{port}")
    result = live.check(ctx_for(machine))
    assert result.data["status"] == "network" and result.data["message"].startswith("EndpointConnectionError")
    assert codes(result) == ["TD510"] and rank([result]).exit_code == 0
    assert rank([result], fail_on="warning").exit_code == 1


def test_blackhole_is_a_network_error_within_the_timeout(machine: Machine) -> None:
    with Blackhole() as hole:
        env_keys(machine, AWS_ENDPOINT_URL_STS=hole.url.rstrip("/"))
        result = live.check(ctx_for(machine, timeout=1.0))
    assert result.data["status"] == "network" and "Timeout" in result.data["message"]
    assert codes(result) == ["TD510"]


@pytest.mark.parametrize("mode", ["garbage", "empty", "json", "redirect", "nested-xml"])
def test_an_answer_that_is_not_stss_is_a_finding_not_silence(machine: Machine, mode: str) -> None:
    """A proxy or a wrong endpoint answering for STS: the live verdict is 'not verified', and says why (TD510)."""
    from tests.servers.hostile import HostileServer

    with HostileServer(mode) as server:
        env_keys(machine, AWS_ENDPOINT_URL_STS=server.url.rstrip("/"), AWS_DEFAULT_REGION="us-east-1")
        result = live.check(ctx_for(machine))
    assert result.data["status"] == "error" and not result.data["error_code"], result.data
    finding = by_code(result, "TD510")
    assert "not an AWS answer" in finding.title and "endpoint" in finding.fix
    assert rank([result], fail_on="warning").exit_code == 1


# ---------------------------------------------------- nothing interactive


def test_mfa_profile_is_never_prompted(machine: Machine, stub: StsStub) -> None:
    machine.credentials(f"[base]\naws_access_key_id = {AKIA}\naws_secret_access_key = {SECRET}\n")
    machine.config(
        "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = base\nmfa_serial = "
        "arn:aws:iam::123456789012:mfa/me\n"
    )
    machine.env.update(AWS_PROFILE="job", AWS_ENDPOINT_URL_STS=stub.url, AWS_DEFAULT_REGION="us-east-1")
    result = live.check(ctx_for(machine))
    assert result.data["status"] == "skipped" and "MFA" in result.data["message"]
    assert stub.requests == []


def _process_script(machine: Machine) -> tuple[str, Any]:
    marker = machine.base / "process-ran"
    script = machine.base / "creds.py"
    script.write_text(
        "import json, pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text('x')\n"
        f"print(json.dumps({{'Version': 1, 'AccessKeyId': {AKIA!r}, 'SecretAccessKey': {SECRET!r}}}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return f"{sys.executable} {script}", marker


def test_credential_process_needs_allow_process(machine: Machine, stub: StsStub) -> None:
    command, marker = _process_script(machine)
    machine.config(f"[default]\ncredential_process = {command}\n")
    machine.env["AWS_ENDPOINT_URL_STS"] = stub.url
    refused = live.check(ctx_for(machine))
    assert refused.data["status"] == "skipped" and "--allow-process" in refused.data["message"]
    assert not marker.exists() and stub.requests == []
    allowed = live.check(ctx_for(machine, allow_process=True))
    assert allowed.data["status"] == "ok" and allowed.data["method"] == "custom-process" and marker.exists()


def test_sso_refresh_is_never_written_to_the_token_cache(machine: Machine, stub: StsStub) -> None:
    import hashlib

    machine.config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n"
    )
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cache = machine.home / ".aws" / "sso" / "cache" / (hashlib.sha1(b"corp").hexdigest() + ".json")
    cache.parent.mkdir(parents=True)
    cache.write_text(
        json.dumps(
            {
                "startUrl": "https://corp.awsapps.com/start",
                "region": "eu-west-1",
                "accessToken": "cached-sso-access-token",
                "expiresAt": soon,
                "clientId": "client",
                "clientSecret": "client-secret-MARKER-0505",
                "registrationExpiresAt": "2099-01-01T00:00:00Z",
                "refreshToken": "cached-refresh-token",
            }
        )
    )
    before = cache.read_bytes()
    machine.env.update(AWS_PROFILE="dev", AWS_ENDPOINT_URL=stub.url)  # STS, SSO portal and SSO OIDC all on the stub
    result = live.check(ctx_for(machine))
    assert result.data["status"] == "ok" and result.data["method"] == "sso"
    assert ("POST", "/token") in stub.paths  # botocore refreshed the near-expiry token...
    assert cache.read_bytes() == before  # ...and the refreshed token was not written back
    assert sorted(p.name for p in cache.parent.iterdir()) == [cache.name]
    assert result.data["access_key_id"] == "ASIA…1234"


# ------------------------------------------------------------------- CLI


@pytest.mark.parametrize("flags", [["--json"], [], ["-v"], ["--debug", "-v"]])
def test_cli_never_prints_secrets(
    stub: StsStub, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    from tokendoctor.cli import main

    # A hostile endpoint that echoes the secrets back: they are still masked.
    stub.error("InvalidClientTokenId", f"bad token {TOKEN} for secret {SECRET}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKIA)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stub.url)
    rc = main(["check", "--live", "--timeout", "3", *flags])
    out = capsys.readouterr()
    assert rc == 1
    text = out.out + out.err
    for secret in (SECRET, TOKEN, AKIA):
        assert secret not in text
    assert "TD502" in text
    if flags == ["--json"]:
        doc = json.loads(out.out)
        assert doc["live"]["status"] == "invalid" and doc["live"]["message"] == "bad token **** for secret ****"
        # The key is an IAM user's (AKIA) sent with a session token: TD121 names why STS rejects it (unset the
        # token) and ranks before the live confirmation TD502, whose fix is generic.
        assert [c["code"] for c in doc["causes"]][:2] == ["TD121", "TD502"]
        _validate(doc)
    else:
        assert "Live: REJECTED by STS via " in out.out


def test_cli_ok_against_moto(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tokendoctor.cli import main

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AKIA)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_url)
    rc = main(["check", "--live", "--json", "--timeout", "4"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["live"]["status"] == "ok" and doc["live"]["account"] == "123456789012"
    assert any(r["kind"] == "sts-date" for r in doc["clock"]["references"])
    assert rc == doc["exit_code"] and not any(c["code"].startswith("TD5") for c in doc["causes"])
    _validate(doc)
    main(["check", "--timeout", "4", "--json"])
    assert "live" not in json.loads(capsys.readouterr().out)


def _validate(doc: dict[str, Any]) -> None:
    from importlib.resources import files

    import jsonschema

    schema = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text())
    jsonschema.validate(doc, schema)
