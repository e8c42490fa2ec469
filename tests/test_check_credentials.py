"""The credential-chain check: one test per cause, each showing the cause ranks first."""

from __future__ import annotations

import base64
import json
import os
import sys

import pytest

from tests.conftest import NOW, Machine, codes
from tokendoctor.chain.resolve import MAX_CONFIG_BYTES
from tokendoctor.checks import credentials
from tokendoctor.pipeline import rank

ROLE_PROFILE = "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = default\n"
STATIC_DEFAULT = (
    "[default]\naws_access_key_id = AKIADEFAULTDEFAULT12\naws_secret_access_key = defaultsecretdefaultsecret\n"
)


def _first(machine: Machine, **options: object) -> str:
    report = rank([credentials.check(machine.context(**options))])
    assert report.causes, "expected at least one cause"
    return report.causes[0].code


def _session_env(machine: Machine, expires: str | None = None) -> None:
    machine.env.update(
        AWS_ACCESS_KEY_ID="ASIAEXAMPLEEXAMPLEWXYZ",
        AWS_SECRET_ACCESS_KEY="sessionsecretsessionsecret",
        AWS_SESSION_TOKEN="sessiontokensessiontoken",
    )
    if expires:
        machine.env["AWS_CREDENTIAL_EXPIRATION"] = expires


def _jwt(claims: dict) -> str:
    def enc(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{enc({'alg': 'RS256'})}.{enc(claims)}.c2lnbmF0dXJl"


def test_TD101_seed_story_exported_session_is_static(machine: Machine) -> None:
    _session_env(machine)
    result = credentials.check(machine.context())
    resolved = result.data["resolved"]
    assert resolved["method"] == "env"
    assert resolved["access_key_id"] == "ASIA…WXYZ"
    assert resolved["temporary"] is True and resolved["refreshable"] is False
    assert codes(result) == ["TD101"]
    assert _first(machine) == "TD101"
    fix = result.findings[0].fix
    assert "role_arn" in fix and "source_profile" in fix


def test_TD101_fix_names_an_existing_role_profile(machine: Machine) -> None:
    _session_env(machine)
    machine.config(STATIC_DEFAULT + ROLE_PROFILE)
    result = credentials.check(machine.context())
    td101 = next(f for f in result.findings if f.code == "TD101")
    assert "AWS_PROFILE=job" in td101.fix


def test_TD202_expired_env_session_ranks_before_its_root_cause(machine: Machine) -> None:
    _session_env(machine, expires="2026-06-18T11:00:00Z")
    result = credentials.check(machine.context())
    assert result.data["resolved"]["seconds_remaining"] == -3600
    assert result.data["resolved"]["expiry_source"] == "AWS_CREDENTIAL_EXPIRATION"
    assert set(codes(result)) == {"TD101", "TD202"}
    assert _first(machine) == "TD202"
    assert rank([result]).exit_code == 1


def test_TD203_near_expiry_inside_min_ttl(machine: Machine) -> None:
    _session_env(machine, expires="2026-06-18T12:10:00Z")
    assert _first(machine) == "TD203"
    # with a smaller --min-ttl it is only the TD101 warning: exit 0
    report = rank([credentials.check(machine.context(min_ttl=300))])
    assert [c.code for c in report.causes] == ["TD101"]
    assert report.exit_code == 0
    assert rank([credentials.check(machine.context(min_ttl=300))], fail_on="warning").exit_code == 1


def test_TD102_env_credentials_beat_AWS_PROFILE(machine: Machine) -> None:
    machine.config(STATIC_DEFAULT + ROLE_PROFILE)
    machine.env.update(
        AWS_ACCESS_KEY_ID="AKIAENVENVENVENV1234", AWS_SECRET_ACCESS_KEY="envsecretenvsecret", AWS_PROFILE="job"
    )
    result = credentials.check(machine.context())
    assert result.data["resolved"]["method"] == "env"
    assert codes(result) == ["TD102"]
    assert _first(machine) == "TD102"
    chain = {row["provider"]: row["status"] for row in result.data["chain"]}
    assert chain["env"] == "used" and chain["assume-role"] == "shadowed"


def test_explicit_profile_drops_env_credentials(machine: Machine) -> None:
    machine.config(STATIC_DEFAULT + ROLE_PROFILE)
    machine.env.update(AWS_ACCESS_KEY_ID="AKIAENVENVENVENV1234", AWS_SECRET_ACCESS_KEY="envsecretenvsecret")
    result = credentials.check(machine.context(profile="job"))
    assert result.data["resolved"]["method"] == "assume-role"
    assert result.data["resolved"]["refreshable"] is True
    assert result.data["chain"][0]["provider"] == "env"
    assert result.data["chain"][0]["status"] == "absent"
    assert codes(result) == []


def test_TD103_env_credentials_hide_the_container_role(machine: Machine) -> None:
    machine.env.update(
        AWS_ACCESS_KEY_ID="AKIAENVENVENVENV1234",
        AWS_SECRET_ACCESS_KEY="envsecretenvsecret",
        AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:9/never-called",
    )
    assert _first(machine) == "TD103"


def test_TD104_key_without_secret(machine: Machine) -> None:
    machine.env["AWS_ACCESS_KEY_ID"] = "AKIAENVENVENVENV1234"
    result = credentials.check(machine.context())
    assert codes(result) == ["TD104"]
    assert result.data["resolved"]["method"] is None
    assert "AWS_SECRET_ACCESS_KEY" in result.findings[0].fix
    assert _first(machine) == "TD104"


def test_TD104_security_token_shadows_session_token(machine: Machine) -> None:
    _session_env(machine)
    machine.env["AWS_SECURITY_TOKEN"] = "stalestalestalestale"
    result = credentials.check(machine.context())
    assert "TD104" in codes(result)
    assert _first(machine) == "TD104"


def test_TD104_temporary_key_without_token(machine: Machine) -> None:
    machine.env.update(AWS_ACCESS_KEY_ID="ASIAEXAMPLEEXAMPLEWXYZ", AWS_SECRET_ACCESS_KEY="secretsecretsecret")
    assert _first(machine) == "TD104"


def test_TD105_profile_not_found(machine: Machine) -> None:
    machine.config(STATIC_DEFAULT)
    machine.env["AWS_PROFILE"] = "prod"
    result = credentials.check(machine.context())
    assert codes(result) == ["TD105"]
    assert result.findings[0].evidence == {"profile": "prod", "selected_by": "AWS_PROFILE"}
    assert _first(machine) == "TD105"


def test_TD106_AWS_DEFAULT_PROFILE_wins_over_AWS_PROFILE(machine: Machine) -> None:
    machine.config(
        STATIC_DEFAULT.replace("[default]", "[profile a]") + STATIC_DEFAULT.replace("[default]", "[profile b]")
    )
    machine.env.update(AWS_DEFAULT_PROFILE="a", AWS_PROFILE="b")
    result = credentials.check(machine.context())
    assert result.data["profile"] == "a"
    assert result.data["profile_source"] == "AWS_DEFAULT_PROFILE"
    assert _first(machine) == "TD106"


def test_TD107_env_web_identity_overrides_profile(machine: Machine) -> None:
    token = machine.base / "tok"
    token.write_text(_jwt({"exp": int(NOW.timestamp()) + 3600}))
    machine.config(f"[default]\nrole_arn = arn:aws:iam::1:role/profile-role\nweb_identity_token_file = {token}\n")
    machine.env.update(AWS_ROLE_ARN="arn:aws:iam::1:role/env-role", AWS_WEB_IDENTITY_TOKEN_FILE=str(token))
    result = credentials.check(machine.context())
    assert result.data["resolved"]["method"] == "assume-role-with-web-identity"
    assert _first(machine) == "TD107"


def test_TD108_AWS_CONFIG_FILE_points_nowhere(machine: Machine) -> None:
    machine.credentials(STATIC_DEFAULT)
    machine.env["AWS_CONFIG_FILE"] = str(machine.base / "missing" / "config")
    result = credentials.check(machine.context())
    assert result.data["resolved"]["method"] == "shared-credentials-file"
    assert _first(machine) == "TD108"


def test_TD201_nothing_anywhere(machine: Machine) -> None:
    assert _first(machine) == "TD201"


def test_TD202_expired_file_session_from_login_tool(machine: Machine) -> None:
    machine.credentials(
        "[default]\naws_access_key_id = ASIAFILEFILEFILE1234\naws_secret_access_key = filesecretfilesecret\n"
        "aws_session_token = filetokenfiletoken\nx_security_token_expires = 2026-06-18T10:00:00Z\n"
    )
    result = credentials.check(machine.context())
    assert result.data["resolved"]["expiry_source"] == "x_security_token_expires in profile default"
    assert set(codes(result)) == {"TD202", "TD204"}
    assert _first(machine) == "TD202"


def test_TD204_session_pasted_into_credentials_file(machine: Machine) -> None:
    machine.credentials(
        "[default]\naws_access_key_id = ASIAFILEFILEFILE1234\naws_secret_access_key = filesecretfilesecret\n"
        "aws_session_token = filetokenfiletoken\n"
    )
    result = credentials.check(machine.context())
    assert result.data["resolved"]["method"] == "shared-credentials-file"
    assert codes(result) == ["TD204"]
    assert _first(machine) == "TD204"


def test_TD205_malformed_config_names_file_and_line(machine: Machine) -> None:
    path = machine.config("[default]\nregion = us-east-1\nthis line is not ini\n")
    result = credentials.check(machine.context())
    assert codes(result) == ["TD205"]
    evidence = result.findings[0].evidence
    assert evidence["path"] == str(path)
    assert "line 3" in evidence["problem"]
    assert _first(machine) == "TD205"


def test_TD205_non_utf8_and_directory_and_huge(machine: Machine) -> None:
    machine.config("")
    (machine.home / ".aws" / "config").write_bytes(b"[default]\nregion = \xff\xfe\n")
    assert "UTF-8" in credentials.check(machine.context()).findings[0].evidence["problem"]
    (machine.home / ".aws" / "config").unlink()
    (machine.home / ".aws" / "config").mkdir()
    assert "directory" in credentials.check(machine.context()).findings[0].evidence["problem"]
    (machine.home / ".aws" / "config").rmdir()
    with (machine.home / ".aws" / "config").open("wb") as fh:
        fh.truncate(MAX_CONFIG_BYTES + 1)
    assert "too large" in credentials.check(machine.context()).findings[0].evidence["problem"]


def test_TD205_fifo_is_not_opened(machine: Machine) -> None:
    """A FIFO (or device) where the config should be would block a reader forever."""
    import os

    path = machine.home / ".aws" / "config"
    os.mkfifo(path)
    result = credentials.check(machine.context())
    assert codes(result) == ["TD205"]
    assert "not a regular file" in result.findings[0].evidence["problem"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can read a mode-000 file")
def test_TD205_unreadable_file(machine: Machine) -> None:
    path = machine.config("[default]\nregion = us-east-1\n")
    path.chmod(0)
    try:
        result = credentials.check(machine.context())
        assert codes(result)[0] == "TD205"
        assert "cannot be read" in result.findings[0].evidence["problem"]
    finally:
        path.chmod(0o600)


def test_TD206_sso_login_expired(machine: Machine) -> None:
    import hashlib

    start = "https://example.awsapps.com/start"
    machine.config(
        f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n"
    )
    cache = machine.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / (hashlib.sha1(start.encode()).hexdigest() + ".json")).write_text(
        json.dumps({"accessToken": "ssoaccesstokenssoaccesstoken", "expiresAt": "2026-06-18T08:00:00Z"})
    )
    result = credentials.check(machine.context())
    assert result.data["resolved"]["method"] == "sso"
    assert codes(result) == ["TD206"]
    assert _first(machine) == "TD206"


def test_TD242_never_logged_in_is_not_an_expired_login(machine: Machine) -> None:
    machine.config(
        "[default]\nsso_start_url = https://x/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n"
    )
    result = credentials.check(machine.context())
    assert codes(result) == ["TD242"]  # was TD206 "login has expired": there never was a login here
    assert "never logged in" in result.findings[0].evidence["problem"]
    assert "`aws sso login --profile default`" in result.findings[0].fix


def test_TD207_expired_web_identity_token(machine: Machine) -> None:
    token = machine.base / "tok"
    token.write_text(
        _jwt({"exp": int(NOW.timestamp()) - 600, "iss": "https://oidc.example", "aud": "sts.amazonaws.com"})
    )
    machine.config(f"[default]\nrole_arn = arn:aws:iam::1:role/web\nweb_identity_token_file = {token}\n")
    result = credentials.check(machine.context())
    assert codes(result) == ["TD207"]
    evidence = result.findings[0].evidence
    assert evidence["iss"] == "https://oidc.example" and evidence["exp"] == "2026-06-18T11:50:00Z"
    assert _first(machine) == "TD207"


def test_TD208_conflicting_file_tokens(machine: Machine) -> None:
    machine.credentials(
        "[default]\naws_access_key_id = AKIAFILEFILEFILE1234\naws_secret_access_key = filesecretfilesecret\n"
        "aws_security_token = oldtokenoldtoken\naws_session_token = newtokennewtoken\n"
    )
    result = credentials.check(machine.context())
    assert "TD208" in codes(result)


def test_TD209_mfa_role_cannot_refresh_unattended(machine: Machine) -> None:
    machine.config(STATIC_DEFAULT + ROLE_PROFILE + "mfa_serial = arn:aws:iam::123456789012:mfa/me\n")
    machine.env["AWS_PROFILE"] = "job"
    assert _first(machine) == "TD209"


def test_credential_process_is_never_run(machine: Machine) -> None:
    marker = machine.base / "ran"
    script = machine.base / "p.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    machine.config(f"[default]\ncredential_process = {sys.executable} {script}\n")
    result = credentials.check(machine.context())
    assert result.data["resolved"]["method"] == "custom-process"
    row = next(r for r in result.data["chain"] if r["provider"] == "custom-process")
    assert row["status"] == "used" and "not run" in row["detail"]
    assert not marker.exists()


def test_assume_role_sourced_from_process_runs_nothing(machine: Machine) -> None:
    marker = machine.base / "ran"
    script = machine.base / "p.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    machine.config(
        f"[profile src]\ncredential_process = {sys.executable} {script}\n"
        + ROLE_PROFILE.replace("source_profile = default", "source_profile = src")
    )
    result = credentials.check(machine.context(profile="job"))
    assert result.data["resolved"]["method"] == "assume-role"
    assert not marker.exists()


def test_access_key_is_masked_and_secret_absent(machine: Machine) -> None:
    _session_env(machine)
    blob = json.dumps(credentials.check(machine.context()).data) + repr(credentials.check(machine.context()).findings)
    assert "sessionsecretsessionsecret" not in blob
    assert "sessiontokensessiontoken" not in blob
    assert "ASIAEXAMPLEEXAMPLEWXYZ" not in blob


@pytest.mark.parametrize(("source", "needs"), [("Ec2InstanceMetadata", "iam-role"), ("EcsContainer", "container-role")])
def test_role_with_credential_source_wins_without_querying_it(machine: Machine, source: str, needs: str) -> None:
    # botocore's AssumeRoleProvider wins for such a profile (it raises if the source has nothing);
    # the source is not queried offline, but the role is still the answer, not "no credentials".
    machine.config(f"[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\ncredential_source = {source}\n")
    if source == "EcsContainer":  # without it botocore's container source has nothing and the role errors
        machine.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/x"
    result = credentials.check(machine.context(profile="job"))
    resolved = result.data["resolved"]
    assert resolved["method"] == "assume-role" and resolved["refreshable"] is True
    row = next(r for r in result.data["chain"] if r["provider"] == "assume-role")
    assert row["status"] == "used" and needs in row["detail"]
    assert "TD201" not in codes(result)
