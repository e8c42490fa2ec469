"""The keys check through the real CLI: blank variables, a long-term key with a leftover token, a version 1
STS token in an opt-in region, placeholder keys; and the pure shape rules it uses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Machine
from tokendoctor.chain import keyshape
from tokendoctor.cli import main

V1_TOKEN = "FQoGZXIvYXdzEOL//////////wEaDKEYSMARKERv1tokenMARKER"
V2_TOKEN = "IQoJb3JpZ2luX2VjEGEaCXVzLWVhc3QtMSJIMEYCIQMARKERv2"
SECRET = "keys-secret-MARKER-51d0"


def run_cli(machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    for name, value in machine.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    rc = main(["check", "--json", "--offline"])
    out = capsys.readouterr()
    for marker in (SECRET, V1_TOKEN, V2_TOKEN):
        assert marker not in out.out + out.err
    doc: dict[str, Any] = json.loads(out.out)
    assert doc["exit_code"] == rc
    return doc


def codes(doc: dict[str, Any]) -> list[str]:
    return [c["code"] for c in doc["causes"]]


def cause(doc: dict[str, Any], code: str) -> dict[str, Any]:
    return next(c for c in doc["causes"] if c["code"] == code)


@pytest.mark.parametrize(
    ("key", "secret", "expected"),
    [
        ("   ", SECRET, {"AWS_ACCESS_KEY_ID": "whitespace-only"}),
        ("AKIAPADDEDPADDEDPADD\n", SECRET, {"AWS_ACCESS_KEY_ID": "padded with whitespace"}),
        ("AKIAPADDEDPADDEDPADD", " \t", {"AWS_SECRET_ACCESS_KEY": "whitespace-only"}),
    ],
)
def test_blank_or_padded_env_credentials_are_an_error(
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    key: str,
    secret: str,
    expected: dict[str, str],
) -> None:
    machine.env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=secret)
    doc = run_cli(machine, monkeypatch, capsys)
    assert doc["exit_code"] == 1 and codes(doc)[0] == "TD120"
    td120 = cause(doc, "TD120")
    assert td120["severity"] == "error" and td120["evidence"]["variables"] == sorted(expected)
    assert td120["evidence"]["problems"] == [f"{v} is {p}" for v, p in expected.items()]
    assert "unset " + next(iter(expected)) in td120["fix"]


def test_empty_access_key_is_skipped_by_botocore_so_no_td120(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY=SECRET)
    doc = run_cli(machine, monkeypatch, capsys)
    assert "TD120" not in codes(doc)
    assert doc["credentials"]["resolved"]["method"] is None  # botocore's EnvProvider skipped ""


def test_long_term_key_with_env_token_is_invalid_not_a_session(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(
        AWS_ACCESS_KEY_ID="AKIALONGTERMLONGTERM", AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=V2_TOKEN
    )
    doc = run_cli(machine, monkeypatch, capsys)
    ranked = codes(doc)
    assert ranked[0] == "TD121" and "TD101" not in ranked and doc["exit_code"] == 1
    td121 = cause(doc, "TD121")
    assert td121["evidence"]["token_variables"] == ["AWS_SESSION_TOKEN"]
    assert "`unset AWS_SESSION_TOKEN`" in td121["fix"] and "InvalidClientTokenId" in td121["fix"]
    assert doc["credentials"]["resolved"]["temporary"] is False


def test_long_term_key_with_leftover_file_token(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(
        f"[default]\naws_access_key_id = AKIALONGTERMLONGTERM\naws_secret_access_key = {SECRET}\n"
        f"aws_session_token = {V1_TOKEN}\n"
    )
    doc = run_cli(machine, monkeypatch, capsys)
    ranked = codes(doc)
    assert ranked[0] == "TD240" and "TD204" not in ranked
    td240 = cause(doc, "TD240")
    assert td240["evidence"]["profile"] == "default" and td240["evidence"]["file"].endswith(".aws/credentials")
    assert "aws_session_token" in td240["fix"]


@pytest.mark.parametrize("region", ["ap-east-1", "me-south-1", "af-south-1"])
def test_v1_token_with_opt_in_region(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], region: str
) -> None:
    machine.env.update(
        AWS_ACCESS_KEY_ID="ASIASESSIONSESSION12", AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=V1_TOKEN
    )
    machine.config(f"[default]\nregion = {region}\n")
    doc = run_cli(machine, monkeypatch, capsys)
    assert codes(doc)[0] == "TD122"
    td122 = cause(doc, "TD122")
    assert td122["evidence"] == {
        "method": "env",
        "access_key_id": td122["evidence"]["access_key_id"],
        "token_version": "v1",
        "region": region,
    }
    assert f"https://sts.{region}.amazonaws.com" in td122["fix"]
    assert "--global-endpoint-token-version v2Token" in td122["fix"]


@pytest.mark.parametrize(
    ("token", "region"),
    [(V2_TOKEN, "ap-east-1"), (V1_TOKEN, "eu-west-1")],
    ids=["v2-token-opt-in-region", "v1-token-default-region"],
)
def test_no_td122_when_the_token_works_there(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], token: str, region: str
) -> None:
    machine.env.update(
        AWS_ACCESS_KEY_ID="ASIASESSIONSESSION12",
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_SESSION_TOKEN=token,
        AWS_DEFAULT_REGION=region,
    )
    doc = run_cli(machine, monkeypatch, capsys)
    assert "TD122" not in codes(doc)
    assert doc["keys"]["region"] == region
    assert doc["keys"]["token_version"] == ("v2" if token == V2_TOKEN else "v1")


@pytest.mark.parametrize("key", ["test", "testing", "FOOBARKEY", "AKIAIOSFODNN7EXAMPLE"])
def test_placeholder_keys_without_endpoint_override_warn(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], key: str
) -> None:
    machine.env.update(AWS_ACCESS_KEY_ID=key, AWS_SECRET_ACCESS_KEY=SECRET)
    doc = run_cli(machine, monkeypatch, capsys)
    assert codes(doc)[0] == "TD241"
    td241 = cause(doc, "TD241")
    assert td241["severity"] == "warning" and "AWS_ENDPOINT_URL=http://localhost:4566" in td241["fix"]


@pytest.mark.parametrize(
    ("env", "config"),
    [
        ({"AWS_ENDPOINT_URL": "http://localhost:4566"}, ""),
        ({"AWS_ENDPOINT_URL_S3": "http://localhost:5000"}, ""),
        ({}, "[default]\nendpoint_url = http://localhost:4566\n"),
    ],
    ids=["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "endpoint_url"],
)
def test_placeholder_keys_with_an_emulator_endpoint_are_fine(
    machine: Machine,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    config: str,
) -> None:
    machine.env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", **env)
    if config:
        machine.config(config)
    doc = run_cli(machine, monkeypatch, capsys)
    assert "TD241" not in codes(doc)
    assert doc["keys"]["endpoint_override"]


def test_placeholder_keys_in_a_profile(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials("[default]\naws_access_key_id = test\naws_secret_access_key = test\n")
    doc = run_cli(machine, monkeypatch, capsys)
    assert codes(doc)[0] == "TD241"
    assert "replace the keys in profile 'default'" in cause(doc, "TD241")["fix"]


def test_keys_check_skips_refreshable_sources(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(
        "[default]\naws_access_key_id = AKIALONGTERMLONGTERM\naws_secret_access_key = s\n"
        "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = default\n"
    )
    machine.env["AWS_PROFILE"] = "job"
    doc = run_cli(machine, monkeypatch, capsys)
    keys = next(c for c in doc["checks"] if c["name"] == "keys")
    assert keys["status"] == "skipped" and "assume-role" in keys["detail"]


def test_token_versions_from_their_prefixes() -> None:
    assert keyshape.sts_token_version("FQoGZXIvYXdzEOL//////////wEa") == "v1"
    assert keyshape.sts_token_version("FwoGZXIvYXdzEB0aDPk") == "v1"
    assert keyshape.sts_token_version("IQoJb3JpZ2luX2VjEGEaCXVz") == "v2"
    assert keyshape.sts_token_version("not base64 at all!") is None
    assert keyshape.sts_token_version("AQoDYXdzEJr") is None  # another format: no claim either way
    assert keyshape.key_kind("AKIAX") == "long-term" and keyshape.key_kind("ASIAX") == "temporary"
    assert keyshape.key_kind("test") is None
