"""Issue 11's misread states through the real CLI (temp HOME, loopback peers): role sources that fail,
checks that need no network under --offline, and causes that used to carry a misleading label."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from contextlib import ExitStack
from typing import Any

import pytest

from tests.conftest import Machine
from tests.test_ranking import DMI_VENDOR, Setup, _check, iso, jwt, now

ROLE_FROM_INSTANCE = (
    "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\ncredential_source = Ec2InstanceMetadata\n"
)


def run(
    machine: Machine,
    setup: Setup,
    capsys: pytest.CaptureFixture[str],
) -> tuple[int, dict[str, Any]]:
    rc, doc, _ = _check(machine, setup, capsys)
    return rc, doc


def codes(doc: dict[str, Any]) -> list[str]:
    return [c["code"] for c in doc["causes"]]


def cause(doc: dict[str, Any], code: str) -> dict[str, Any]:
    return next(c for c in doc["causes"] if c["code"] == code)


def row(doc: dict[str, Any], provider: str) -> dict[str, str]:
    return next(r for r in doc["credentials"]["chain"] if r["provider"] == provider)


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> Any:
    with ExitStack() as stack:
        yield Setup(stack=stack, monkeypatch=monkeypatch)


# ------------------------------------------------------------------ item 3: role sourced from instance metadata


@pytest.mark.parametrize(
    "knobs",
    [{"role": None}, {"token_hang": True, "require_token": True}],
    ids=["instance-without-role", "token-request-fails-and-imdsv1-off"],
)
def test_role_profile_from_instance_metadata_fails_like_botocore(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str], knobs: dict[str, Any]
) -> None:
    setup.imds(machine, **knobs)
    machine.config(ROLE_FROM_INSTANCE)
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD330"
    assert row(doc, "assume-role")["status"] == "error"
    assert "CredentialRetrievalError" in row(doc, "assume-role")["detail"]
    assert doc["credentials"]["resolved"]["method"] is None
    td330 = cause(doc, "TD330")
    assert td330["evidence"]["credential_source"] == "Ec2InstanceMetadata"
    expected = "associate-iam-instance-profile" if "role" in knobs else "--http-put-response-hop-limit 2"
    assert expected in td330["fix"]


def test_role_profile_from_a_working_instance_role_is_used(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.imds(machine)
    machine.config(ROLE_FROM_INSTANCE)
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    assert "TD330" not in codes(doc)
    assert row(doc, "assume-role")["status"] == "used"


def test_role_profile_from_container_without_endpoint(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config("[default]\nrole_arn = arn:aws:iam::123456789012:role/job\ncredential_source = EcsContainer\n")
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD330"
    assert "container endpoint" in cause(doc, "TD330")["fix"]


# ------------------------------------------------------------------ item 4: offline checks


def test_metadata_disabled_on_ec2_is_reported_offline(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.file(DMI_VENDOR, "Amazon EC2\n")
    machine.env["AWS_EC2_METADATA_DISABLED"] = "true"
    rc, doc = run(machine, setup, capsys)  # --offline: setup.online stays False
    assert "TD305" in codes(doc)
    assert cause(doc, "TD305")["evidence"]["switched_off_by"] == "AWS_EC2_METADATA_DISABLED=true"


def test_container_token_file_missing_offline(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(
        AWS_CONTAINER_CREDENTIALS_FULL_URI="http://169.254.170.23/v1/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(machine.base / "absent-token"),
    )
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD331"
    assert "does not exist" in cause(doc, "TD331")["evidence"]["problem"]


def test_container_token_expired_offline(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    token = machine.base / "eks-pod-identity-token"
    token.write_text(jwt({"exp": int((now() - dt.timedelta(hours=2)).timestamp()), "aud": "pods.eks.amazonaws.com"}))
    machine.env.update(
        AWS_CONTAINER_CREDENTIALS_FULL_URI="http://169.254.170.23/v1/credentials",
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=str(token),
    )
    rc, doc = run(machine, setup, capsys)
    assert codes(doc)[0] == "TD331"
    td331 = cause(doc, "TD331")
    assert td331["evidence"]["expired_at"] and "restart the pod" in td331["fix"]
    assert token.read_text() not in json.dumps(doc)


@pytest.mark.parametrize(
    ("uri", "refused"),
    [
        ("http://creds-sidecar:8080/role", True),
        ("http://169.254.170.23/v1/credentials", False),
        ("http://127.0.0.1:9/creds", False),
        ("https://creds.example.com/role", False),
    ],
)
def test_container_uri_judged_by_botocores_allow_list_offline(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str], uri: str, refused: bool
) -> None:
    machine.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = uri
    rc, doc = run(machine, setup, capsys)
    assert ("TD332" in codes(doc)) is refused
    if refused:
        assert "Unsupported host 'creds-sidecar'" in cause(doc, "TD332")["evidence"]["problem"]
        assert rc == 1


def test_credential_process_not_executable(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    helper = machine.base / "helper"
    helper.write_text("#!/bin/sh\necho '{}'\n")
    os.chmod(helper, 0o644)
    machine.config(f"[default]\ncredential_process = {helper} --arg\n")
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD245"
    td245 = cause(doc, "TD245")
    assert td245["evidence"]["problem"] == "is not an executable file" and f"chmod +x {helper}" in td245["fix"]


def test_credential_process_of_a_role_source_profile_not_on_path(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(
        "[profile src]\ncredential_process = no-such-helper-td11 --json\n"
        "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = src\n"
    )
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    td245 = cause(doc, "TD245")
    assert td245["evidence"] == {"profile": "src", "command": "no-such-helper-td11", "problem": "is not on the PATH"}


def test_credential_process_that_exists_is_not_reported_and_not_run(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = machine.base / "ran"
    helper = machine.base / "helper"
    helper.write_text(f"#!/bin/sh\ntouch {marker}\n")
    os.chmod(helper, 0o755)
    machine.config(f"[default]\ncredential_process = {helper}\n")
    rc, doc = run(machine, setup, capsys)
    assert "TD245" not in codes(doc) and not marker.exists()


# ------------------------------------------------------------------ item 5: labels that misled


def test_missing_web_identity_token_file_is_not_expired(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(AWS_ROLE_ARN="arn:aws:iam::1:role/irsa", AWS_WEB_IDENTITY_TOKEN_FILE=str(machine.base / "nope"))
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD333" and "TD207" not in codes(doc)
    assert "is missing or not a regular file" in cause(doc, "TD333")["fix"]


def test_sso_session_token_cached_under_the_legacy_start_url(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    start = "https://example.awsapps.com/start"
    machine.config(
        "[default]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Dev\n"
        f"[sso-session corp]\nsso_start_url = {start}\nsso_region = us-east-1\n"
    )
    cache = machine.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(start.encode()).hexdigest() + ".json")).write_text(
        json.dumps({"accessToken": "ssoaccesstokenssoaccesstoken", "expiresAt": iso(now() + dt.timedelta(hours=4))})
    )
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD243" and "TD206" not in codes(doc)
    td243 = cause(doc, "TD243")
    assert td243["evidence"]["looked_up"] == "sso_session 'corp'"
    assert "legacy profile" in td243["evidence"]["found_under"]
    assert "ssoaccesstokenssoaccesstoken" not in json.dumps(doc)


def test_expired_sso_login_is_still_td206(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    start = "https://example.awsapps.com/start"
    machine.config(
        f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n"
    )
    cache = machine.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(start.encode()).hexdigest() + ".json")).write_text(
        json.dumps({"accessToken": "ssoaccesstokenssoaccesstoken", "expiresAt": iso(now() - dt.timedelta(hours=4))})
    )
    rc, doc = run(machine, setup, capsys)
    assert codes(doc)[0] == "TD206" and not {"TD242", "TD243"} & set(codes(doc))


def test_sso_cache_entry_that_is_a_fifo_or_huge_is_not_read(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    start = "https://example.awsapps.com/start"
    machine.config(
        f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n"
    )
    cache = machine.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    os.mkfifo(cache / (hashlib.sha1(start.encode()).hexdigest() + ".json"))  # botocore's open() would block
    (cache / (hashlib.sha1((start + "/").encode()).hexdigest() + ".json")).write_text(" " * (1024 * 1024) + "{}")
    rc, doc = run(machine, setup, capsys)
    assert codes(doc)[0] == "TD242"  # neither entry is a token this profile can use


def test_oversized_sso_cache_entry_is_unreadable_not_a_crash(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    start = "https://example.awsapps.com/start"
    machine.config(
        f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n"
    )
    cache = machine.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(start.encode()).hexdigest() + ".json")).write_text(" " * (1024 * 1024) + "{}")
    rc, doc = run(machine, setup, capsys)
    assert "TD901" not in codes(doc)
    assert "SSO token cache unreadable" in cause(doc, codes(doc)[0])["evidence"]["problem"]
