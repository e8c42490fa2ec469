"""The lifetime check and model (issue 10), through the real CLI on described machines, and one horizon
proved against real botocore: a loopback STS that stops accepting the source key at the predicted instant."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from tests.conftest import Machine
from tests.servers.sts import StsStub
from tests.test_ranking import (
    BASE_SESSION,
    LONG_TERM,
    ROLE_PROFILE,
    SESSION_ENV,
    Setup,
    _check,
    iso,
    now,
)
from tokendoctor.cli import main

UTC = dt.timezone.utc
JOB = "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = base\n"
SECRETS = (
    "base-secret-MARKER-9e0d",
    "base-token-MARKER-5a5a",
    "rank-secret-MARKER-3c1f",
    "rank-token-MARKER-77ab",
    "proc-secret-MARKER-7777",
    "proc-token-MARKER-8888",
    "leaked-MARKER-abcdef",
    "sso-refresh-MARKER-2222",
    "sso-client-secret-MARKER",
)


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[Setup]:
    with ExitStack() as stack:
        yield Setup(stack=stack, monkeypatch=monkeypatch)


def run(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    setup.args += list(args)
    rc, doc, output = _check(machine, setup, capsys)
    for secret in SECRETS:
        assert secret not in output
    return rc, doc


def codes(doc: dict[str, Any]) -> list[str]:
    return [c["code"] for c in doc["causes"]]


def life(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["credentials"]["lifetime"]


def _text(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    mp = setup.monkeypatch
    for name, value in machine.env.items():
        mp.setenv(name, value)
    mp.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    rc = main(["check", "--offline", "--no-color", *args])
    return rc, capsys.readouterr().out


# ------------------------------------------------------------------ a role over a pasted source session


def test_role_over_source_session_ending_soon_shows_its_horizon_and_fails_a_longer_job(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    ends = now() + dt.timedelta(minutes=30)
    machine.credentials(BASE_SESSION.format(expires=iso(ends)))
    machine.config(JOB)
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    lt = life(doc)
    assert rc == 0 and not codes(doc)  # botocore says refreshable; nothing is wrong *yet*
    assert lt["horizon"] == iso(ends) and lt["horizon_kind"] == "instant"
    assert [link["kind"] for link in lt["links"]] == ["role-session", "file-session"]
    assert lt["limiting_link"] == 1 and lt["limited_by"] == "profile base's pasted session"
    assert "x_security_token_expires" in lt["summary"]

    setup.args.clear()
    rc, doc = run(machine, setup, capsys, "--for", "6h")
    assert rc == 1 and codes(doc)[0] == "TD220"
    fix = doc["causes"][0]["fix"]
    assert "profile base's pasted session" in fix and "Fix the source" in fix
    assert life(doc)["enough"] is False and life(doc)["for_seconds"] == 6 * 3600


def test_pasted_session_in_the_selected_profile_names_its_own_fix(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(BASE_SESSION.format(expires=iso(now() + dt.timedelta(hours=2))).replace("[base]", "[default]"))
    rc, doc = run(machine, setup, capsys, "--for", "3h")
    assert rc == 1 and codes(doc)[0] == "TD220" and "TD204" in codes(doc)
    fix = doc["causes"][0]["fix"]
    assert "Replace profile default's pasted session" in fix and "Fix the source" not in fix
    assert life(doc)["links"][0]["expiry_source"] == "x_security_token_expires in profile default"


def test_role_over_expired_source_session_is_an_error_now(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(BASE_SESSION.format(expires=iso(now() - dt.timedelta(hours=3))))
    machine.config(JOB)
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc) == ["TD221"]
    assert doc["causes"][0]["evidence"]["source"] == "profile base's pasted session"
    assert "ago" in doc["causes"][0]["fix"]
    assert life(doc)["links"][1]["stale"] is True


def test_role_over_source_session_found_in_the_cli_cache(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    """No expiry key beside the pasted keys: the session's key id matches an AWS CLI cache entry."""
    machine.credentials(BASE_SESSION.split("x_security_token_expires")[0])
    machine.config(JOB)
    machine.env["AWS_PROFILE"] = "job"
    cache = machine.home / ".aws" / "cli" / "cache"
    cache.mkdir(parents=True)
    ends = now() - dt.timedelta(minutes=5)
    (cache / "abc.json").write_text(
        json.dumps({"Credentials": {"AccessKeyId": "ASIABASEBASEBASE1234", "Expiration": iso(ends)}})
    )
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc) == ["TD221"]
    assert life(doc)["links"][1]["expiry_source"] == "~/.aws/cli/cache/abc.json"


# ------------------------------------------------------------------ env sessions: more expiry sources


@pytest.mark.parametrize("var", ["AWS_SESSION_EXPIRATION", "AWSUME_EXPIRATION"])
def test_login_tool_expiry_variables_are_read(
    var: str, machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(SESSION_ENV, **{var: iso(now() - dt.timedelta(minutes=20))})
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD202"
    assert doc["credentials"]["resolved"]["expiry_source"] == var
    assert life(doc)["links"][0]["expiry_source"] == var


def test_env_session_matched_in_the_cli_cache(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(SESSION_ENV)
    cache = machine.home / ".aws" / "cli" / "cache"
    cache.mkdir(parents=True)
    (cache / "other.json").write_text(json.dumps({"Credentials": {"AccessKeyId": "ASIAOTHER", "Expiration": "x"}}))
    (cache / "mine.json").write_text(
        json.dumps(
            {
                "Credentials": {
                    "AccessKeyId": SESSION_ENV["AWS_ACCESS_KEY_ID"],
                    "Expiration": iso(now() - dt.timedelta(hours=1)),
                }
            }
        )
    )
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD202"
    assert doc["credentials"]["resolved"]["expiry_source"] == "~/.aws/cli/cache/mine.json"


def test_presigned_url_validity_follows_the_session(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(SESSION_ENV, AWS_CREDENTIAL_EXPIRATION=iso(now() + dt.timedelta(hours=2)))
    rc, doc = run(machine, setup, capsys)
    most = life(doc)["presigned_url_max_seconds"]
    assert 2 * 3600 - 120 <= most <= 2 * 3600
    rc, text = _text(machine, Setup(stack=setup.stack, monkeypatch=setup.monkeypatch), capsys, "-v")
    assert (
        "Presigned URLs signed now stay valid: 1 h 59 min" in text
        or "Presigned URLs signed now stay valid: 2 h" in text
    )
    assert "Lifetime: links from the program to AWS" in text


# ------------------------------------------------------------------ the seed story


def test_seed_story_exported_session_fails_a_six_hour_job_and_the_role_profile_passes(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    machine.env.update(SESSION_ENV)  # `aws sts assume-role` output exported before a 6-hour job
    rc, doc = run(machine, setup, capsys, "--for", "6h")
    assert rc == 1 and codes(doc)[0] == "TD220"
    fix = doc["causes"][0]["fix"]
    assert "role_arn" in fix and "unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN" in fix
    assert life(doc)["horizon_kind"] == "unknown"

    fixed = Machine(tmp_path / "fixed")
    fixed.credentials(LONG_TERM)
    fixed.config(ROLE_PROFILE)  # the seed's fix: role_arn + source_profile, refreshed by botocore
    fixed.env["AWS_PROFILE"] = "job"
    with ExitStack() as stack:
        again = Setup(stack=stack, monkeypatch=setup.monkeypatch, unset=set(SESSION_ENV))
        rc, doc = run(fixed, again, capsys, "--for", "6h")
    assert rc == 0 and codes(doc) == []
    assert life(doc)["horizon_kind"] == "unbounded" and life(doc)["enough"] is True


def test_seed_fix_on_ec2_with_credential_source(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.imds(machine)
    machine.config(
        "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\ncredential_source = Ec2InstanceMetadata\n"
    )
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys, "--for", "6h")
    assert rc == 0, codes(doc)
    assert [link["kind"] for link in life(doc)["links"]] == ["role-session", "instance-role"]
    assert life(doc)["enough"] is True and "TD222" not in codes(doc)


def test_credential_source_over_expired_instance_credentials_is_an_error(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    setup.imds(machine, expiration=now() - dt.timedelta(minutes=40))
    machine.config(
        "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\ncredential_source = Ec2InstanceMetadata\n"
    )
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[:2] == ["TD221", "TD304"], codes(doc)
    assert doc["causes"][0]["evidence"]["origin"] == "instance metadata"
    assert doc["causes"][1]["severity"] == "error"  # was a warning: the role's refresh needs these credentials


# ------------------------------------------------------------------ healthy chains stay quiet


def test_healthy_chains_stay_quiet(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    machine.env.update(AWS_ACCESS_KEY_ID="AKIALONGLONGLONG1234", AWS_SECRET_ACCESS_KEY="longlonglonglonglong")
    rc, doc = run(machine, setup, capsys, "--for", "30d")
    assert rc == 0 and codes(doc) == []
    assert life(doc)["horizon_kind"] == "unbounded" and life(doc)["presigned_url_max_seconds"] == 7 * 86400


def test_instance_role_stays_quiet(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    setup.imds(machine)
    rc, doc = run(machine, setup, capsys, "--for", "2d")
    assert rc == 0 and codes(doc) == []
    assert [link["kind"] for link in life(doc)["links"]] == ["instance-role"]
    assert life(doc)["horizon_kind"] == "unbounded"


def test_container_role_stays_quiet_and_a_stale_one_under_a_role_is_an_error(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.servers.container import AUTH, ContainerServer

    task = setup.stack.enter_context(ContainerServer())
    machine.env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=task.url, AWS_CONTAINER_AUTHORIZATION_TOKEN=AUTH)
    setup.online = True
    rc, doc = run(machine, setup, capsys, "--for", "1d")
    assert rc == 0 and codes(doc) == []
    assert [link["kind"] for link in life(doc)["links"]] == ["container-role"]
    assert life(doc)["links"][0]["expires_at"] is not None and life(doc)["horizon_kind"] == "unbounded"

    task.knobs.expiration = now() - dt.timedelta(minutes=30)
    machine.config("[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\ncredential_source = EcsContainer\n")
    machine.env["AWS_PROFILE"] = "job"
    setup.args.clear()
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD221", codes(doc)
    assert [link["kind"] for link in life(doc)["links"]] == ["role-session", "container-role"]


def _sso_cache(machine: Machine, key: str, doc: dict[str, Any]) -> None:
    cache = machine.home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    (cache / (hashlib.sha1(key.encode()).hexdigest() + ".json")).write_text(json.dumps(doc))


def test_sso_session_with_a_refresh_token_stays_quiet(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(
        "[default]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
    )
    registration = now() + dt.timedelta(days=80)
    _sso_cache(
        machine,
        "corp",
        {
            "accessToken": "sso-access-MARKER-1111",
            "expiresAt": iso(now() + dt.timedelta(hours=1)),
            "refreshToken": "sso-refresh-MARKER-2222",
            "clientId": "client",
            "clientSecret": "sso-client-secret-MARKER",
            "registrationExpiresAt": iso(registration),
        },
    )
    rc, doc = run(machine, setup, capsys, "--for", "6h")
    assert rc == 0 and codes(doc) == []
    lt = life(doc)
    assert [link["kind"] for link in lt["links"]] == ["sso-role", "sso-access-token", "sso-session"]
    assert lt["horizon_kind"] == "upper-bound" and lt["horizon"] == iso(registration)


def test_sso_session_whose_registration_ends_before_the_job(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.config(
        "[default]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
    )
    _sso_cache(
        machine,
        "corp",
        {
            "accessToken": "sso-access-MARKER-1111",
            "expiresAt": iso(now() + dt.timedelta(hours=1)),
            "refreshToken": "sso-refresh-MARKER-2222",
            "clientId": "client",
            "clientSecret": "sso-client-secret-MARKER",
            "registrationExpiresAt": iso(now() + dt.timedelta(hours=3)),
        },
    )
    rc, doc = run(machine, setup, capsys, "--for", "6h")
    assert rc == 1 and codes(doc) == ["TD220"]
    assert "aws sso login --sso-session corp" in doc["causes"][0]["fix"]
    assert "sso-refresh-MARKER-2222" not in json.dumps(doc)


def test_legacy_sso_token_limits_the_job(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    start = "https://legacy.awsapps.com/start"
    machine.config(
        f"[default]\nsso_start_url = {start}\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = Dev\n"
    )
    ends = now() + dt.timedelta(hours=2)
    _sso_cache(machine, start, {"accessToken": "sso-access-MARKER-3333", "expiresAt": iso(ends)})
    rc, doc = run(machine, setup, capsys)
    assert rc == 0 and life(doc)["horizon"] == iso(ends)
    assert "legacy SSO profile" in life(doc)["limited_by"]
    rc, doc = run(machine, setup, capsys, "--for", "6h")
    assert rc == 1 and codes(doc) == ["TD220"]
    assert "aws configure sso-session" in doc["causes"][0]["fix"]


def test_mfa_role_limits_an_unattended_job(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    machine.credentials(LONG_TERM)
    machine.config(ROLE_PROFILE + "mfa_serial = arn:aws:iam::123456789012:mfa/me\n")
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys, "--for", "6h")
    assert rc == 1 and codes(doc)[0] == "TD220"
    assert "mfa_serial" in doc["causes"][0]["fix"] and "TD209" in codes(doc)
    assert life(doc)["horizon_kind"] == "upper-bound"


def test_mfa_role_over_a_dead_source_session_is_an_error_now(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(BASE_SESSION.format(expires=iso(now() - dt.timedelta(hours=1))))
    machine.config(JOB + "mfa_serial = arn:aws:iam::123456789012:mfa/me\n")
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and codes(doc)[0] == "TD221", codes(doc)
    assert [link["kind"] for link in life(doc)["links"]] == ["role-session", "file-session"]
    assert life(doc)["limiting_link"] == 0 and life(doc)["links"][0]["stale"] is True


def test_web_identity_token_nothing_rotates_limits_the_job(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_ranking import jwt

    token = machine.base / "ci-token"
    ends = now() + dt.timedelta(minutes=50)
    token.write_text(jwt({"iat": int(now().timestamp()) - 600, "exp": int(ends.timestamp())}))
    machine.config(f"[default]\nrole_arn = arn:aws:iam::1:role/ci\nweb_identity_token_file = {token}\n")
    rc, doc = run(machine, setup, capsys, "--for", "2h")
    assert rc == 1 and codes(doc)[0] == "TD220"
    assert life(doc)["horizon"] == iso(ends)


# ------------------------------------------------------------------ role chaining and session limits


@pytest.mark.parametrize(
    ("duration", "code", "severity"),
    [(None, "TD222", "warning"), ("3600", "TD222", "warning"), ("7200", "TD222", "error")],
)
def test_chained_role(
    duration: str | None, code: str, severity: str, machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(LONG_TERM)
    extra = f"duration_seconds = {duration}\n" if duration else ""
    machine.config(
        ROLE_PROFILE
        + "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/next\nsource_profile = job\n"
        + extra
    )
    machine.env["AWS_PROFILE"] = "chained"
    rc, doc = run(machine, setup, capsys)
    assert codes(doc) == [code] and doc["causes"][0]["severity"] == severity
    assert rc == (1 if severity == "error" else 0)
    assert doc["causes"][0]["evidence"]["chained_from"] == "another role"
    assert life(doc)["horizon_kind"] == "unbounded"  # botocore re-assumes both roles from long-term keys


def test_role_from_sso_is_chained(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    machine.config(
        "[profile sso]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Dev\n"
        "[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n"
        "[profile job]\nrole_arn = arn:aws:iam::1:role/job\nsource_profile = sso\nduration_seconds = 14400\n"
    )
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    assert "TD222" in codes(doc) and rc == 1
    assert doc["causes"][codes(doc).index("TD222")]["evidence"]["chained_from"] == "an IAM Identity Center role"


@pytest.mark.parametrize("duration", ["600", "50000", "1h"])
def test_duration_outside_what_sts_accepts(
    duration: str, machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(LONG_TERM)
    machine.config(ROLE_PROFILE + f"duration_seconds = {duration}\n")
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys)
    assert rc == 1 and "TD223" in codes(doc), codes(doc)


def test_role_over_long_term_keys_with_a_valid_duration_is_quiet(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(LONG_TERM)
    machine.config(ROLE_PROFILE + "duration_seconds = 43200\n")
    machine.env["AWS_PROFILE"] = "job"
    rc, doc = run(machine, setup, capsys, "--for", "1d")
    assert rc == 0 and codes(doc) == []


# ------------------------------------------------------------------ credential_process with --allow-process


def _process(machine: Machine, body: str) -> None:
    script = machine.base / "creds.py"
    script.write_text(body)
    machine.config(f"[default]\ncredential_process = {sys.executable} {script}\n")


def test_process_returning_expired_credentials(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    past = iso(now() - dt.timedelta(minutes=30))
    _process(
        machine,
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'ASIAPROCPROCPROC1234', "
        "'SecretAccessKey': 'proc-secret-MARKER-7777', 'SessionToken': 'proc-token-MARKER-8888', "
        f"'Expiration': '{past}'}}))\n",
    )
    rc, doc = run(machine, setup, capsys)  # without --allow-process the process is never run
    assert rc == 0 and life(doc)["links"][0]["expiry_source"] == "not run (use --allow-process)"
    setup.args.clear()
    rc, doc = run(machine, setup, capsys, "--allow-process")
    assert rc == 1 and codes(doc)[0] == "TD224"
    assert "expired at" in doc["causes"][0]["fix"]
    assert "proc-secret-MARKER-7777" not in json.dumps(doc) and "proc-token-MARKER-8888" not in json.dumps(doc)


def test_process_with_a_fresh_expiration_is_renewed_and_quiet(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    ends = iso(now() + dt.timedelta(hours=1))
    _process(
        machine,
        "import json\nprint(json.dumps({'Version': 1, 'AccessKeyId': 'ASIAPROCPROCPROC1234', "
        "'SecretAccessKey': 'proc-secret-MARKER-7777', 'SessionToken': 'proc-token-MARKER-8888', "
        f"'Expiration': '{ends}'}}))\n",
    )
    rc, doc = run(machine, setup, capsys, "--allow-process", "--for", "6h")
    assert rc == 0 and codes(doc) == []
    link = life(doc)["links"][0]
    assert link["expires_at"] == ends and link["renewed"] is True and life(doc)["horizon_kind"] == "unbounded"
    row = next(r for r in doc["credentials"]["chain"] if r["provider"] == "custom-process")
    assert row["detail"] == f"credential_process ran (--allow-process): expires {ends}"
    assert "proc-secret-MARKER-7777" not in json.dumps(doc)


def test_failing_process_reports_its_own_error_masked(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _process(
        machine,
        "import sys\nsys.stderr.write('token expired; SessionToken=leaked-MARKER-abcdef run corp-login\\n')\n"
        "sys.exit(2)\n",
    )
    rc, doc = run(machine, setup, capsys, "--allow-process")
    assert rc == 1 and codes(doc)[0] == "TD224"
    error = doc["causes"][0]["evidence"]["error"]
    assert "run corp-login" in error and "leaked-MARKER-abcdef" not in json.dumps(doc)


def test_missing_process_is_td245_not_run(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    machine.config("[default]\ncredential_process = /opt/nowhere/get-creds --profile x\n")
    rc, doc = run(machine, setup, capsys, "--allow-process")
    assert rc == 1 and codes(doc)[0] == "TD245" and "TD224" not in codes(doc)
    link = life(doc)["links"][0]
    assert link["stale"] is True and link["expiry_source"] == "/opt/nowhere/get-creds does not exist"


def test_hanging_process_is_killed_at_the_deadline(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    _process(machine, "import time\ntime.sleep(60)\n")
    rc, doc = run(machine, setup, capsys, "--allow-process", "--timeout", "2")
    assert rc == 1 and codes(doc)[0] == "TD224"
    assert "did not finish" in doc["causes"][0]["evidence"]["error"]


def test_process_flooding_output_is_cut_off(machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]) -> None:
    _process(machine, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n")
    rc, doc = run(machine, setup, capsys, "--allow-process", "--timeout", "4")
    assert rc == 1 and "more than 65536 bytes" in doc["causes"][0]["evidence"]["error"]


# ------------------------------------------------------------------ output and bad input


def test_text_report_has_the_lasts_line_and_the_links_table(
    machine: Machine, setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.credentials(BASE_SESSION.format(expires=iso(now() + dt.timedelta(minutes=30))))
    machine.config(JOB)
    machine.env["AWS_PROFILE"] = "job"
    rc, text = _text(machine, setup, capsys, "--for", "6h")
    line = next(line for line in text.splitlines() if line.startswith("Lasts: "))
    assert (
        "limited by profile base's pasted session (x_security_token_expires in profile base); --for 6 h: NOT enough"
        in line
    )
    assert "Lifetime: links" not in text
    rc, text = _text(machine, setup, capsys, "-v")
    assert "Lifetime: links from the program to AWS" in text and "[limits]" in text


@pytest.mark.parametrize("value", ["0", "-1h", "abc", "400d"])
def test_bad_for_values_are_usage_errors(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--offline", "--for", value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tokendoctor: error:") and "Traceback" not in err


# ------------------------------------------------------------------ proof against real botocore


def _drive(
    monkeypatch: pytest.MonkeyPatch, start: dt.datetime, hours: float, step_minutes: int = 1, profile: str = "job"
) -> tuple[list[tuple[dt.datetime, str]], dt.datetime | None]:
    """Run botocore's own assume-role provider with its clock moved forward minute by minute; return every
    call's outcome and the first instant a call raised."""
    import boto3
    import botocore.auth
    import botocore.credentials

    clock = {"now": start}
    monkeypatch.setattr(botocore.credentials, "_local_now", lambda: clock["now"])
    monkeypatch.setattr(
        botocore.auth, "get_current_datetime", lambda remove_tzinfo=True: clock["now"].replace(tzinfo=None)
    )
    creds = boto3.Session(profile_name=profile).get_credentials()
    calls: list[tuple[dt.datetime, str]] = []
    first_failure = None
    t = start
    while t <= start + dt.timedelta(hours=hours):
        clock["now"] = t
        try:
            creds.get_frozen_credentials()
            calls.append((t, "ok"))
        except Exception as exc:  # noqa: BLE001 - botocore raises the refresh failure to the program
            calls.append((t, type(exc).__name__))
            first_failure = first_failure or t
        t += dt.timedelta(minutes=step_minutes)
    return calls, first_failure


def test_proof_first_failing_refresh_is_at_the_predicted_horizon(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    start = now()
    source_ends = start + dt.timedelta(hours=2, minutes=7)
    machine.credentials(BASE_SESSION.format(expires=iso(source_ends)))
    machine.config(JOB)
    machine.env.update(AWS_PROFILE="job", AWS_DEFAULT_REGION="us-east-1")
    with StsStub() as sts:
        sts.reject_key_after("ASIABASEBASEBASE1234", source_ends.timestamp())
        machine.env["AWS_ENDPOINT_URL_STS"] = sts.url
        with ExitStack() as stack:
            _, doc, _ = _check(machine, Setup(stack=stack, monkeypatch=monkeypatch), capsys)
        predicted = dt.datetime.strptime(life(doc)["horizon"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        assert predicted == source_ends
        calls, first_failure = _drive(monkeypatch, start, hours=4)
    refreshes = [(dt.datetime.fromtimestamp(at, UTC), outcome) for at, outcome in sts.assumed]
    assert len([r for r in refreshes if r[1] == "ok"]) >= 3  # botocore re-assumed the role before the horizon
    assert all(outcome == "ok" for at, outcome in refreshes if at < predicted)
    failing = [at for at, outcome in refreshes if outcome != "ok"]
    assert failing and failing[0] >= predicted
    # ...and it is the first refresh botocore attempted after the horizon (advisory window: 15 min before expiry)
    assert not [at for at, outcome in refreshes if predicted <= at < failing[0]]
    assert failing[0] - predicted < dt.timedelta(hours=1)
    # the program's calls fail when the last session enters the mandatory window, within one session of the horizon
    assert first_failure is not None and predicted < first_failure <= predicted + dt.timedelta(minutes=50)
    assert all(outcome == "ok" for at, outcome in calls if at < predicted)


@pytest.mark.parametrize("chained", [False, True], ids=["role", "chained-role"])
def test_proof_role_over_long_term_keys_never_stops(
    chained: bool, machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unbounded, shown: botocore re-assumes the role (and, chained, both roles) for 6 hours."""
    start = now()
    machine.credentials(LONG_TERM.replace("[default]", "[base]"))
    outer = "[profile outer]\nrole_arn = arn:aws:iam::123456789012:role/outer\nsource_profile = job\n"
    machine.config(JOB + (outer if chained else ""))
    machine.env.update(AWS_PROFILE="outer" if chained else "job", AWS_DEFAULT_REGION="us-east-1")
    with StsStub() as sts:
        machine.env["AWS_ENDPOINT_URL_STS"] = sts.url
        with ExitStack() as stack:
            _, doc, _ = _check(machine, Setup(stack=stack, monkeypatch=monkeypatch), capsys)
        assert life(doc)["horizon_kind"] == "unbounded"
        assert [r["chained_from"] for r in life(doc)["roles"]] == (["another role", None] if chained else [None])
        calls, first_failure = _drive(monkeypatch, start, hours=6, step_minutes=5, profile=machine.env["AWS_PROFILE"])
    assert first_failure is None and len(sts.assumed) >= (12 if chained else 6)
    assert all(outcome == "ok" for _, outcome in sts.assumed)


# ------------------------------------------------------------------ the horizon rule, alone


def test_horizon_is_set_by_the_first_stale_or_unrenewed_link() -> None:
    from tokendoctor.chain.lifetime import Link, horizon_of

    t0 = dt.datetime(2026, 6, 18, 12, tzinfo=UTC)
    later, earlier = t0 + dt.timedelta(hours=2), t0 - dt.timedelta(hours=1)
    role = Link(kind="role-session", label="r", origin="o", expiry="unknown", renewed=True)
    keys = Link(kind="file-keys", label="k", origin="o", expiry="unbounded")
    pasted = Link(kind="file-session", label="p", origin="o", expiry="instant", expires_at=later)
    dead = Link(kind="file-session", label="d", origin="o", expiry="instant", expires_at=earlier, stale=True)
    broken = Link(kind="process-output", label="x", origin="o", expiry="unknown", stale=True)
    unknown = Link(kind="env-session", label="e", origin="o", expiry="unknown")
    rotated = Link(kind="instance-role", label="i", origin="o", expiry="instant", expires_at=later, renewed=True)
    assert horizon_of((role, keys), t0) == (None, "unbounded", None)
    assert horizon_of((role, pasted), t0) == (1, "instant", later)
    assert horizon_of((role, dead), t0) == (1, "instant", earlier)
    assert horizon_of((broken,), t0) == (0, "instant", t0)
    assert horizon_of((unknown,), t0) == (0, "unknown", None)
    assert horizon_of((role, rotated), t0) == (None, "unbounded", None)
    assert horizon_of((), t0) == (None, "unbounded", None)


def test_python_api_and_github_summary_carry_the_lifetime(machine: Machine) -> None:
    import tokendoctor
    from tokendoctor.render.github import summary

    env = {**machine.env, **SESSION_ENV, "AWS_CREDENTIAL_EXPIRATION": iso(now() + dt.timedelta(hours=1))}
    report = tokendoctor.diagnose(env=env, offline=True, for_seconds=6 * 3600)
    assert report.causes[0].code == "TD220" and report.exit_code == 1
    lifetime = report.sections["credentials"]["lifetime"]
    assert lifetime["enough"] is False and lifetime["limited_by"] == "the exported session"
    md = summary(report)
    assert "Lasts: until " in md and "NOT enough" in md
