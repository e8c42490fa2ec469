"""Instance metadata, the container endpoint and platform detection, against real loopback servers.

Every endpoint here is a server this file starts on 127.0.0.1 / ::1; the
autouse fixture keeps AWS_EC2_METADATA_DISABLED=true for anything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Machine, codes
from tests.servers import imds as emu
from tests.servers.container import ContainerServer
from tests.servers.imds import Blackhole, ImdsServer
from tokendoctor.botocore_env import botocore_environment
from tokendoctor.chain import analyse as chain
from tokendoctor.checks import container as container_check
from tokendoctor.checks import credentials, web_identity
from tokendoctor.checks import imds as imds_check
from tokendoctor.context import Context, utc_now
from tokendoctor.pipeline import rank
from tokendoctor.probes import http as probe_http
from tokendoctor.probes import imds as probe_imds
from tokendoctor.probes.platform import detect

UTC = dt.timezone.utc
DMI = "/sys/devices/virtual/dmi/id/"


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


@pytest.fixture
def imds() -> Iterator[ImdsServer]:
    with ImdsServer() as server:
        yield server


def ctx_for(machine: Machine, endpoint: str | None = None, **options: Any) -> Context:
    """A live-clock context on the described machine, IMDS pointed at ``endpoint``."""
    if endpoint:
        machine.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = endpoint
    ctx = machine.context(**{"offline": False, "timeout": 2.0, **options})
    return dataclasses.replace(ctx, now=utc_now)


def by_code(result: Any, code: str) -> Any:
    return next(f for f in result.findings if f.code == code)


def row(ctx: Context, method: str) -> dict[str, str]:
    return next(r.row() for r in chain(ctx).providers if r.method == method)


def botocore_creds(ctx: Context) -> Any:
    import botocore.session

    with botocore_environment(ctx.env):
        return botocore.session.Session().get_credentials()


# ------------------------------------------------------------------ platform


@pytest.mark.parametrize(
    ("files", "env", "kind"),
    [
        ({}, {}, "none"),
        ({DMI + "sys_vendor": "Amazon EC2\n"}, {}, "ec2"),
        ({DMI + "board_vendor": "Amazon EC2\n"}, {}, "ec2"),
        ({"/sys/hypervisor/uuid": "ec2e1916-9099-7caf-fd21-012345abcdef\n"}, {}, "ec2"),
        ({DMI + "product_uuid": "EC2E1916-9099-7CAF-FD21-012345ABCDEF\n"}, {}, "ec2"),
        ({DMI + "sys_vendor": "Xen\n", DMI + "bios_version": "4.11.amazon\n"}, {}, "ec2"),
        ({DMI + "sys_vendor": "QEMU\n", "/sys/hypervisor/uuid": "4c4c4544-0000\n"}, {}, "none"),
        ({DMI + "sys_vendor": "Amazon EC2\n", "/.dockerenv": ""}, {}, "container-on-ec2"),
        ({DMI + "sys_vendor": "Amazon EC2\n", "/proc/1/cgroup": "0::/kubepods/burstable/pod1\n"}, {}, "container-on-ec2"),
        ({}, {"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/abc"}, "ecs"),
        ({}, {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/x"}, "ecs"),
        (
            {},
            {
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
            },
            "eks-pod-identity",
        ),
        ({}, {"AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", "KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "eks-irsa"),
        ({}, {"AWS_LAMBDA_FUNCTION_NAME": "fn"}, "lambda"),
        ({}, {"CODEBUILD_BUILD_ID": "b:1"}, "codebuild"),
        ({}, {"GITHUB_ACTIONS": "true", "ACTIONS_ID_TOKEN_REQUEST_URL": "https://example.invalid"}, "github-actions"),
    ],
)
def test_platform_detection_from_a_fake_sysfs_root(machine: Machine, files: dict[str, str], env: dict[str, str], kind: str) -> None:
    for path, content in files.items():
        machine.file(path, content)
    machine.env.update(env)
    plat = detect(machine.context())
    assert plat.kind == kind
    assert plat.on_ec2 == (kind in ("ec2", "container-on-ec2"))
    assert bool(plat.evidence) == (kind != "none")


def test_ecs_on_an_ec2_node_is_ecs_but_on_ec2(machine: Machine) -> None:
    machine.file(DMI + "sys_vendor", "Amazon EC2\n")
    machine.env["ECS_CONTAINER_METADATA_URI_V4"] = "http://169.254.170.2/v4/abc"
    plat = detect(machine.context())
    assert (plat.kind, plat.on_ec2) == ("ecs", True)
    assert any("sys_vendor" in e for e in plat.evidence)


# ------------------------------------------------------------- when to probe


def test_a_machine_that_is_not_ec2_never_opens_a_connection(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("the default path must not connect anywhere")

    monkeypatch.setattr(probe_http, "request", refuse)
    ctx = ctx_for(machine)  # online, no --imds, no endpoint, no EC2 evidence
    probe = probe_imds.probe(ctx)
    assert not probe.ran and probe.requests == 0
    assert "not on EC2" in probe.reason
    result = imds_check.check(ctx)
    assert result.status == "skipped" and codes(result) == []
    assert row(ctx, "iam-role")["status"] == "not-checked"


@pytest.mark.parametrize(
    ("options", "env", "reason"),
    [
        ({"imds": False}, {}, "--no-imds"),
        ({"offline": True}, {}, "--offline"),
        ({}, {"AWS_EC2_METADATA_DISABLED": "true"}, "AWS_EC2_METADATA_DISABLED=true"),
        ({"imds": True}, {"AWS_EC2_METADATA_DISABLED": "TRUE"}, "AWS_EC2_METADATA_DISABLED=true"),
    ],
)
def test_switches_that_stop_the_probe(machine: Machine, imds: ImdsServer, options: dict[str, Any], env: dict[str, str], reason: str) -> None:
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
    assert (data["region"], data["instance_id"], data["account_id"]) == ("eu-west-1", "i-0emulator0000001", "123456789012")
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
def test_garbage_credential_documents_become_findings(machine: Machine, imds: ImdsServer, knob: str, value: Any, status: str) -> None:
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
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        ctx = ctx_for(machine, f"http://{host}:{port}/")
        result = imds_check.check(ctx)
        data = result.data
        # moto serves a token, the role "default-role" and a day-long credential document
        # without Code/Type/LastUpdated; it has no iam/info or identity document.
        assert (data["token"], data["role_name"], data["credentials_status"]) == ("ok", "default-role", "ok")
        assert data["credentials"]["seconds_remaining"] > 20 * 3600
        assert codes(result) == []
        assert botocore_creds(ctx).method == chain(ctx).method == "iam-role"
    finally:
        server.stop()


# ------------------------------------------------------------------ container


@pytest.fixture
def task() -> Iterator[ContainerServer]:
    with ContainerServer() as server:
        yield server


def container_ctx(machine: Machine, server: ContainerServer, **options: Any) -> Context:
    machine.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url
    machine.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = emu_auth()
    return ctx_for(machine, **options)


def emu_auth() -> str:
    from tests.servers.container import AUTH

    return AUTH


def test_container_role_is_used_with_its_expiry(machine: Machine, task: ContainerServer) -> None:
    ctx = container_ctx(machine, task)
    result = container_check.check(ctx)
    assert codes(result) == []
    assert result.data["status"] == "ok" and result.data["authorization"] == "token"
    assert result.data["role_arn"].endswith("role/task-role")
    cred = credentials.check(ctx)
    assert cred.data["resolved"]["method"] == "container-role"
    assert 50 * 60 < cred.data["resolved"]["seconds_remaining"] <= 3600
    assert botocore_creds(ctx).method == "container-role"


def test_container_token_file(machine: Machine, task: ContainerServer) -> None:
    token_file = machine.base / "pod-identity-token"
    token_file.write_text(emu_auth())
    machine.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = task.url
    machine.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = str(token_file)
    result = container_check.check(ctx_for(machine))
    assert result.data["status"] == "ok" and result.data["authorization"] == "token-file"


@pytest.mark.parametrize(
    ("knob", "value", "status"),
    [("status", 500, "http-500"), ("require_auth", "another-token-value", "http-401"), ("body", b"nope", "not-json"), ("body", b"{}", "incomplete")],
)
def test_container_failures_are_td306_errors(machine: Machine, task: ContainerServer, knob: str, value: Any, status: str) -> None:
    setattr(task.knobs, knob, value)
    ctx = container_ctx(machine, task)
    result = container_check.check(ctx)
    assert result.data["status"] == status
    assert by_code(result, "TD306").severity == "error"
    assert row(ctx, "container-role")["status"] == "error"
    assert "TD205" not in codes(credentials.check(ctx))


def test_container_serving_expired_credentials(machine: Machine, task: ContainerServer) -> None:
    task.knobs.expiration = now() - dt.timedelta(minutes=1)
    ctx = container_ctx(machine, task)
    result = container_check.check(ctx)
    finding = by_code(result, "TD306")
    assert finding.severity == "error" and "EXPIRED" in finding.title
    assert rank([credentials.check(ctx), result]).exit_code == 1


def test_container_not_probed_offline_or_for_disallowed_hosts(machine: Machine, task: ContainerServer) -> None:
    result = container_check.check(container_ctx(machine, task, offline=True))
    assert result.status == "skipped" and task.requests == []
    other = Machine(machine.base / "other")
    other.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://example.invalid/creds"
    result = container_check.check(ctx_for(other))
    assert result.data["status"] == "host-not-allowed" and codes(result) == ["TD306"]


# --------------------------------------------------------------- web identity


def _jwt(claims: dict[str, Any]) -> str:
    import base64

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJlLU1BUktFUi0wMDA3"


def test_web_identity_token_not_rotated_is_reported_without_the_token(machine: Machine) -> None:
    issued = now() - dt.timedelta(hours=23)
    token = _jwt({"iss": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC", "aud": "sts.amazonaws.com", "iat": int(issued.timestamp()), "exp": int((issued + dt.timedelta(hours=24)).timestamp())})
    path = machine.base / "token"
    path.write_text(token)
    machine.env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(path), AWS_ROLE_ARN="arn:aws:iam::123456789012:role/irsa", KUBERNETES_SERVICE_HOST="10.0.0.1")
    ctx = ctx_for(machine, offline=True)
    data = web_identity.check(ctx).data
    assert data["iss"].startswith("https://oidc.eks") and data["aud"] == "sts.amazonaws.com"
    assert data["role_arn"].endswith("role/irsa") and data["used"]
    assert data["not_rotated"] and 55 * 60 < data["seconds_remaining"] <= 3600
    cred = credentials.check(ctx)
    finding = by_code(cred, "TD207")
    assert finding.severity == "warning" and "80%" in finding.fix
    assert finding.evidence["role_arn"].endswith("role/irsa")
    assert token not in json.dumps([data, finding.evidence, cred.data])
    assert detect(ctx).kind == "eks-irsa"


def test_fresh_web_identity_token_is_fine(machine: Machine) -> None:
    issued = now() - dt.timedelta(hours=1)
    path = machine.base / "token"
    path.write_text(_jwt({"iss": "x", "aud": "sts.amazonaws.com", "iat": int(issued.timestamp()), "exp": int((issued + dt.timedelta(hours=24)).timestamp())}))
    machine.env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(path), AWS_ROLE_ARN="arn:aws:iam::123456789012:role/irsa")
    ctx = ctx_for(machine, offline=True)
    assert web_identity.check(ctx).data["not_rotated"] is None
    assert "TD207" not in codes(credentials.check(ctx))


# --------------------------------------------------------------------- CLI


def test_cli_json_never_prints_imds_secrets(machine: Machine, imds: ImdsServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
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
