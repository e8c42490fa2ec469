"""Instance metadata against real loopback servers (the IMDS emulator and moto).

Every endpoint here is a server the tests start on 127.0.0.1 / ::1; the
autouse fixture keeps AWS_EC2_METADATA_DISABLED=true for anything else.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
from typing import Any

import pytest

from tests.conftest import Machine, codes
from tests.instance_helpers import DMI, botocore_creds, by_code, ctx_for, now, row
from tests.servers import imds as emu
from tests.servers.imds import Blackhole, ImdsServer
from tests.servers.moto import moto_server
from tokendoctor.chain import analyse as chain
from tokendoctor.checks import credentials
from tokendoctor.checks import imds as imds_check
from tokendoctor.pipeline import rank
from tokendoctor.probes import imds as probe_imds


@pytest.mark.parametrize(
    ("options", "env", "reason"),
    [
        ({"imds": False}, {}, "--no-imds"),
        ({"offline": True}, {}, "--offline"),
        ({}, {"AWS_EC2_METADATA_DISABLED": "true"}, "AWS_EC2_METADATA_DISABLED=true"),
        ({"imds": True}, {"AWS_EC2_METADATA_DISABLED": "TRUE"}, "AWS_EC2_METADATA_DISABLED=true"),
    ],
)
def test_switches_that_stop_the_probe(
    machine: Machine, imds: ImdsServer, options: dict[str, Any], env: dict[str, str], reason: str
) -> None:
    machine.file(DMI + "sys_vendor", "Amazon EC2\n")
    machine.env.update(env)
    ctx = ctx_for(machine, imds.url, **options)
    result = imds_check.check(ctx)
    assert result.status == "skipped" and result.data["reason"] == reason
    assert imds.count() == 0
    if "DISABLED" in reason:
        cause = by_code(result, "TD305")
        assert cause.severity == "error"  # nothing else in the chain has credentials
        assert row(ctx, "iam-role")["status"] == "absent"


def test_ec2_platform_probes_the_configured_endpoint(machine: Machine, imds: ImdsServer) -> None:
    machine.file("/sys/hypervisor/uuid", "ec2abcd\n")
    ctx = ctx_for(machine, imds.url)
    assert probe_imds.probe(ctx).reason == "endpoint configured explicitly"
    assert imds.count() > 0


def test_endpoint_in_the_config_file_is_read_through_botocore(machine: Machine, imds: ImdsServer) -> None:
    machine.config(f"[default]\nec2_metadata_service_endpoint = {imds.url}\nmetadata_service_num_attempts = 2\n")
    ctx = ctx_for(machine)
    probe = probe_imds.probe(ctx)
    assert probe.ran and probe.settings is not None
    assert probe.settings.endpoint == imds.url and probe.settings.num_attempts == 2
    assert probe.role_name == "app-role"


def test_imds_flag_forces_the_probe_and_the_probe_runs_once(machine: Machine, imds: ImdsServer) -> None:
    ctx = ctx_for(machine, imds.url, imds=True)
    imds_check.check(ctx)
    credentials.check(ctx)
    assert probe_imds.probe(ctx).reason == "--imds"
    assert imds.count("PUT") == 1


# ------------------------------------------------------------------ outcomes


def test_healthy_instance_role_is_used_and_reported(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.date_offset = -100.0
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    assert codes(result) == []
    data = result.data
    assert data["token"] == "ok" and data["role_name"] == "app-role"
    assert data["instance_profile_arn"].endswith("instance-profile/app-profile")
    assert (data["region"], data["instance_id"], data["account_id"]) == (
        "eu-west-1",
        "i-0emulator0000001",
        "123456789012",
    )
    assert data["credentials"]["code"] == "Success" and data["credentials"]["type"] == "AWS-HMAC"
    assert 99 <= data["date_header_offset_seconds"] <= 102  # local minus server
    assert probe_imds.probe(ctx).date_offset_seconds == data["date_header_offset_seconds"]
    cred = credentials.check(ctx)
    assert codes(cred) == []  # no TD201: the instance role provides credentials
    resolved = cred.data["resolved"]
    assert resolved["method"] == "iam-role" and resolved["access_key_id"] == "ASIA…1234"
    assert resolved["refreshable"] and resolved["temporary"] and resolved["seconds_remaining"] > 5 * 3600
    assert row(ctx, "iam-role")["status"] == "used"
    assert botocore_creds(ctx).method == chain(ctx).method == "iam-role"


def test_hop_limit_put_hangs_while_get_works(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.token_hang = True
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    finding = by_code(result, "TD301")
    assert finding.severity == "warning"  # botocore falls back to IMDSv1
    assert "--http-put-response-hop-limit 2" in finding.fix and "i-0emulator0000001" in finding.fix
    assert result.data["token"] == "timeout" and result.data["v1"] == "ok"
    assert row(ctx, "iam-role")["status"] == "used"


def test_hop_limit_with_v1_disabled_on_the_instance_means_no_credentials(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.token_hang = True
    imds.knobs.require_token = True
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    assert by_code(result, "TD301").severity == "error"
    assert row(ctx, "iam-role")["status"] == "absent"
    cred = credentials.check(ctx)
    assert "TD201" in codes(cred)
    assert rank([cred, result]).exit_code == 1


def test_hop_limit_with_v1_disabled_in_config_makes_botocore_raise(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.token_hang = True
    machine.env["AWS_EC2_METADATA_V1_DISABLED"] = "true"
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    assert by_code(result, "TD301").severity == "error"
    assert result.data["botocore_outcome"] == "error"
    assert row(ctx, "iam-role")["status"] == "error"
    assert "TD205" not in codes(credentials.check(ctx))


def test_token_refused_is_imdsv1_only_and_still_works(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.token_status = 405
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    assert codes(result) == []
    assert (result.data["token"], result.data["v1"], result.data["role_name"]) == ("refused", "ok", "app-role")
    assert botocore_creds(ctx).method == chain(ctx).method == "iam-role"


def test_token_refused_and_v1_disabled_is_unreachable(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.token_status = 403
    imds.knobs.require_token = True
    result = imds_check.check(ctx_for(machine, imds.url))
    assert codes(result) == ["TD302"]


def test_no_role(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.role = None
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    finding = by_code(result, "TD303")
    assert finding.severity == "error" and "associate-iam-instance-profile" in finding.fix
    assert row(ctx, "iam-role")["status"] == "absent"
    cred = credentials.check(ctx)
    assert "TD201" in codes(cred)
    assert rank([cred, result]).causes[0].code == "TD303"  # the root cause ranks above no-credentials
    assert botocore_creds(ctx) is None


def test_code_other_than_success(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.code = "AssumeRoleUnauthorizedAccess"
    imds.knobs.message = "EC2 cannot assume the role app-role."
    imds.knobs.drop_fields = ("AccessKeyId", "SecretAccessKey", "Token", "Expiration")
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    finding = by_code(result, "TD307")
    assert "AssumeRoleUnauthorizedAccess" in finding.fix and "trust policy" in finding.fix
    assert result.data["credentials_status"] == "not-success"
    assert botocore_creds(ctx) is None and chain(ctx).method is None


@pytest.mark.parametrize(
    ("minutes", "title_word"),
    [(-3, "EXPIRED"), (2, "rotation window")],
)
def test_stale_instance_credentials(machine: Machine, imds: ImdsServer, minutes: int, title_word: str) -> None:
    imds.knobs.expiration = now() + dt.timedelta(minutes=minutes)
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    finding = by_code(result, "TD304")
    assert finding.severity == "error" and title_word in finding.title
    report = rank([credentials.check(ctx), result])
    assert report.exit_code == 1 and report.causes[0].code == "TD304"


def test_botocore_extended_expiry_does_not_fool_the_report(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.expiration = now() - dt.timedelta(minutes=30)
    ctx = ctx_for(machine, imds.url)
    creds = botocore_creds(ctx)
    # real botocore: "static stability" pushes the expiry 15-25 minutes into the future
    assert creds.method == "iam-role"
    assert creds._expiry_time > now() + dt.timedelta(minutes=10)
    cred = credentials.check(ctx)
    assert cred.data["resolved"]["method"] == "iam-role"
    assert cred.data["resolved"]["seconds_remaining"] < -25 * 60
    result = imds_check.check(ctx)
    assert by_code(result, "TD304").severity == "error"
    assert rank([cred, result]).exit_code == 1


def test_stale_instance_credentials_are_only_a_warning_when_env_wins(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.expiration = now() - dt.timedelta(minutes=3)
    machine.env.update(AWS_ACCESS_KEY_ID="AKIAENVKEY0000000001", AWS_SECRET_ACCESS_KEY="env-secret-MARKER-0006")
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    assert by_code(result, "TD304").severity == "warning"
    shadow = by_code(result, "TD103")
    assert shadow.evidence["role_name"] == "app-role" and shadow.evidence["used"] == "env"
    assert "app-role" in shadow.fix
    assert row(ctx, "iam-role")["status"] == "shadowed"


@pytest.mark.parametrize(
    ("knob", "value", "status"),
    [
        ("creds_body", b"<html>captive portal</html>", "not-json"),
        ("creds_body", b"[1, 2]", "not-json"),
        ("drop_fields", ("Token",), "incomplete"),
        ("expiration", "next tuesday", "incomplete"),
        ("status", {"security-credentials/app-role": 500}, "http-500"),
        ("redirect", {"security-credentials/app-role": "http://127.0.0.1:9/elsewhere"}, "redirect"),
        ("huge", {"security-credentials/app-role"}, "too-large"),
    ],
)
def test_garbage_credential_documents_become_findings(
    machine: Machine, imds: ImdsServer, knob: str, value: Any, status: str
) -> None:
    setattr(imds.knobs, knob, value)
    ctx = ctx_for(machine, imds.url)
    result = imds_check.check(ctx)
    assert result.data["credentials_status"] == status
    assert codes(result) == ["TD307"]
    assert by_code(result, "TD307").severity == "error"  # nothing else provides credentials
    assert chain(ctx).method is None


def test_garbage_around_the_credentials_is_noted_not_fatal(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.huge = {"iam/info"}
    imds.knobs.status = {"instance-identity/document": 500}
    imds.knobs.send_date = False
    result = imds_check.check(ctx_for(machine, imds.url))
    assert codes(result) == []
    assert result.data["instance_profile_arn"] is None and result.data["region"] is None
    assert result.data["date_header_offset_seconds"] is None
    assert {p["path"] for p in result.data["problems"]} == {probe_imds.INFO_PATH, probe_imds.IDENTITY_PATH}


def test_slow_credential_document_is_a_timeout(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.slow = {"security-credentials/app-role": 5.0}
    ctx = ctx_for(machine, imds.url, timeout=1.0)
    result = imds_check.check(ctx)
    assert result.data["credentials_status"] == "timeout"
    assert codes(result) == ["TD302"]


def test_endpoint_that_accepts_and_never_answers(machine: Machine, imds: ImdsServer) -> None:
    imds.knobs.hang_all = True
    result = imds_check.check(ctx_for(machine, imds.url, timeout=1.0))
    assert result.data["token"] == "timeout" and result.data["v1"] == "timeout"
    assert codes(result) == ["TD302"]


def test_blackhole_socket_and_closed_port_are_unreachable(machine: Machine) -> None:
    with Blackhole() as hole:
        result = imds_check.check(ctx_for(machine, hole.url, timeout=1.0))
        assert codes(result) == ["TD302"] and not result.data["reachable"]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    other = Machine(machine.base / "closed")
    result = imds_check.check(ctx_for(other, f"http://127.0.0.1:{port}/"))
    assert result.data["token"] == "unreachable"
    assert codes(result) == ["TD302"]


def test_ipv6_loopback_endpoint(machine: Machine) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = ImdsServer(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    with server:
        probe = probe_imds.probe(ctx_for(machine, server.url))
        assert probe.role_name == "app-role" and probe.token == "ok"


def test_invalid_endpoint_mode_is_reported_not_raised(machine: Machine, imds: ImdsServer) -> None:
    machine.env["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"] = "ipv5"
    probe = probe_imds.probe(ctx_for(machine, imds.url))
    assert probe.settings is not None and "endpoint mode" in (probe.settings.problem or "")


def test_moto_server_as_a_second_imds_peer(machine: Machine) -> None:
    with moto_server() as url:
        ctx = ctx_for(machine, f"{url}/")
        result = imds_check.check(ctx)
        data = result.data
        # moto serves a token, the role "default-role" and a day-long credential document
        # without Code/Type/LastUpdated; it has no iam/info or identity document.
        assert (data["token"], data["role_name"], data["credentials_status"]) == ("ok", "default-role", "ok")
        assert data["credentials"]["seconds_remaining"] > 20 * 3600
        assert codes(result) == []
        assert botocore_creds(ctx).method == chain(ctx).method == "iam-role"


# --------------------------------------------------------------------- CLI


def test_cli_json_never_prints_imds_secrets(
    machine: Machine, imds: ImdsServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tokendoctor.cli import main

    imds.knobs.expiration = now() - dt.timedelta(minutes=3)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.url)
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    for fmt in (["--json"], ["-v"]):
        rc = main(["check", "--timeout", "3", *fmt])
        out = capsys.readouterr()
        assert rc == 1
        for secret in (emu.SECRET, emu.SESSION_TOKEN, emu.TOKEN, emu.ACCESS_KEY):
            assert secret not in out.out + out.err
    doc_rc = main(["check", "--json", "--timeout", "3"])
    doc = json.loads(capsys.readouterr().out)
    assert doc_rc == 1 and doc["platform"]["kind"] == "none"
    assert doc["imds"]["role_name"] == "app-role" and doc["causes"][0]["code"] == "TD304"
    assert doc["credentials"]["resolved"]["method"] == "iam-role"
    from importlib.resources import files

    import jsonschema

    schema = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text())
    jsonschema.validate(doc, schema)
