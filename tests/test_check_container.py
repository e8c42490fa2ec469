"""The container credentials endpoint (ECS task role, EKS Pod Identity) against a loopback container server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import Machine, codes
from tests.instance_helpers import botocore_creds, by_code, container_ctx, ctx_for, emu_auth, now, row
from tests.servers.container import ContainerServer
from tokendoctor.checks import container as container_check
from tokendoctor.checks import credentials
from tokendoctor.pipeline import rank


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
    [
        ("status", 500, "http-500"),
        ("require_auth", "another-token-value", "http-401"),
        ("body", b"nope", "not-json"),
        ("body", b"{}", "incomplete"),
    ],
)
def test_container_failures_are_td306_errors(
    machine: Machine, task: ContainerServer, knob: str, value: Any, status: str
) -> None:
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
    # botocore's own allow-list refuses it: its own cause (TD332), not the generic endpoint failure TD306
    assert result.data["status"] == "host-not-allowed" and codes(result) == ["TD332"]
    assert "Unsupported host 'example.invalid'" in result.findings[0].evidence["problem"]
