"""The command line as users and CI see it: exit codes, the JSON contract, bad flags, the catalogue."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tokendoctor import catalogue
from tokendoctor.cli import main
from tokendoctor.models import CheckResult
from tokendoctor.runner import Check

REPO = Path(__file__).resolve().parents[1]
SCHEMA = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text(encoding="utf-8"))
LONG_TERM = (
    "[default]\naws_access_key_id = AKIALONGTERMLONGTERM\naws_secret_access_key = longtermsecretlongtermsecret\n"
)


def _home() -> Path:
    import os

    return Path(os.environ["HOME"])


def _write(relative: str, text: str) -> Path:
    path = _home() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _session_env(monkeypatch: pytest.MonkeyPatch, expires: str | None = None) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIASESSIONSESSION12")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "sessionsecretsessionsecret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "sessiontokensessiontoken")
    if expires:
        monkeypatch.setenv("AWS_CREDENTIAL_EXPIRATION", expires)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    rc, out, err = _run(capsys, "check", "--offline", "--json", *argv)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["exit_code"] == rc, err
    return rc, doc


# --- exit codes (README table) ----------------------------------------------------------------


def test_exit_0_long_term_keys_have_no_error(capsys: pytest.CaptureFixture[str]) -> None:
    _write(".aws/credentials", LONG_TERM)
    rc, doc = _json(capsys)
    assert rc == 0
    assert doc["credentials"]["resolved"]["method"] == "shared-credentials-file"
    assert doc["credentials"]["resolved"]["temporary"] is False
    assert all(c["severity"] != "error" for c in doc["causes"])


def test_exit_1_expired_credentials(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _session_env(monkeypatch, "2020-01-01T00:00:00Z")
    rc, doc = _json(capsys)
    assert rc == 1 and doc["status"] == "error"
    assert doc["causes"][0]["code"] == "TD202" and doc["causes"][0]["name"] == "credentials-expired"
    resolved = doc["credentials"]["resolved"]
    assert resolved["expires_at"] == "2020-01-01T00:00:00Z" and resolved["seconds_remaining"] < 0
    assert resolved["access_key_id"] == "ASIA…ON12"


def test_exit_1_near_expiry_follows_min_ttl(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _session_env(monkeypatch, soon)
    rc, doc = _json(capsys, "--min-ttl", "1h")
    assert rc == 1 and "TD203" in [c["code"] for c in doc["causes"]]
    rc, doc = _json(capsys, "--min-ttl", "10m")
    assert rc == 0 and "TD203" not in [c["code"] for c in doc["causes"]]


def test_fail_on_warning_turns_warnings_into_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _session_env(monkeypatch)  # the seed: TD101, a warning while the session is still unknown-expiry
    rc, doc = _json(capsys)
    assert rc == 0 and doc["status"] == "warning" and doc["causes"][0]["code"] == "TD101"
    rc, doc = _json(capsys, "--fail-on", "warning")
    assert rc == 1 and doc["exit_code"] == 1


def test_exit_1_no_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = _json(capsys, "--no-imds")
    assert rc == 1 and doc["causes"][0]["code"] == "TD201"
    assert doc["credentials"]["resolved"]["method"] is None


def test_exit_3_when_a_check_crashes_and_nothing_else_failed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(ctx: Any) -> CheckResult:
        raise RuntimeError("probe exploded with sessiontokensessiontoken inside")

    monkeypatch.setenv("AWS_SESSION_TOKEN", "sessiontokensessiontoken")
    monkeypatch.setattr("tokendoctor.checks.ALL_CHECKS", (Check("boom", boom, "crashes"),))
    rc, out, err = _run(capsys, "check", "--offline", "--json")
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert rc == 3 and doc["exit_code"] == 3
    assert doc["causes"][0]["code"] == "TD901" and doc["checks"][0]["status"] == "error"
    assert "sessiontokensessiontoken" not in out + err and "Traceback" not in out + err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["check", "--timeout", "abc"], "--timeout"),
        (["check", "--timeout", "0"], "--timeout"),
        (["check", "--min-ttl", "5 parsecs"], "--min-ttl"),
        (["check", "--max-skew", "-3"], "--max-skew"),
        (["check", "--format", "yaml"], "--format"),
        (["check", "--fail-on", "info"], "--fail-on"),
        (["check", "--nope"], "--nope"),
        (["check", "--pid", "0"], "--pid"),
        (["check", "--sdk", "cobol"], "--sdk"),
        (["frobnicate"], "frobnicate"),
    ],
)
def test_bad_flags_are_one_line_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    rc, out, err = _run(capsys, *argv)
    assert rc == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tokendoctor: error:") and needle in lines[0]
    assert "Traceback" not in err


def test_format_json_is_the_same_document_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    _write(".aws/credentials", LONG_TERM)
    _, a = _json(capsys)
    rc, out, _ = _run(capsys, "check", "--offline", "--format", "json")
    b = json.loads(out)
    for doc in (a, b):
        for check in doc["checks"]:
            check.pop("duration_ms")
        doc.get("clock", {}).pop("measured_at", None)
    assert a["credentials"] == b["credentials"] and a["causes"] == b["causes"] and a["checks"] == b["checks"]


def test_json_contract_fields(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _session_env(monkeypatch)
    _write(".aws/credentials", LONG_TERM)
    _, doc = _json(capsys)
    assert doc["schema_version"] == 1 and re.match(r"^\d+\.\d+", doc["tool_version"])
    chain = {row["provider"]: row["status"] for row in doc["credentials"]["chain"]}
    assert chain["env"] == "used" and chain["shared-credentials-file"] == "shadowed"
    assert list(chain)[:1] == ["env"] and list(chain)[-1] == "iam-role"
    cause = doc["causes"][0]
    assert set(cause) == {"code", "name", "severity", "title", "evidence", "fix"}
    assert {c["name"] for c in doc["checks"]} >= {"credentials", "clock"}


def test_malformed_config_is_a_finding_not_a_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    _write(".aws/config", "[default\nregion = us-east-1\n")
    rc, doc = _json(capsys)
    assert rc == 1
    td205 = next(c for c in doc["causes"] if c["code"] == "TD205")
    assert td205["evidence"]["path"].endswith("config") and "line 1" in td205["evidence"]["problem"]
    rc, out, err = _run(capsys, "check", "--offline")
    assert "TD205" in out and "Traceback" not in out + err


def test_text_report_verdict_first_then_causes_then_chain(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _session_env(monkeypatch, "2020-01-01T00:00:00Z")
    rc, out, err = _run(capsys, "check", "--offline")
    assert rc == 1
    lines = out.splitlines()
    assert lines[0].startswith("PROBLEM")
    assert out.index("TD202") < out.index("Credential chain") and "\x1b[" not in out  # NO_COLOR / not a TTY
    assert "ASIA…ON12" in out and "sessionsecretsessionsecret" not in out


def test_profile_flag_drops_env_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _session_env(monkeypatch)
    _write(".aws/credentials", LONG_TERM)
    _, doc = _json(capsys, "--profile", "default")
    assert doc["credentials"]["resolved"]["method"] == "shared-credentials-file"
    _, doc = _json(capsys, "--profile", "missing")
    assert doc["causes"][0]["code"] == "TD105" and doc["exit_code"] == 1


# --- the catalogue -----------------------------------------------------------------------------


def test_catalogue_codes_and_names_are_unique_and_complete() -> None:
    codes = [c.code for c in catalogue.CAUSES.values()]
    names = [c.name for c in catalogue.CAUSES.values()]
    assert len(set(codes)) == len(codes) and len(set(names)) == len(names)
    for cause in catalogue.CAUSES.values():
        assert re.fullmatch(r"TD[1-9]\d\d", cause.code)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", cause.name)
        assert cause.severity in ("error", "warning", "info")
        assert cause.why.strip() and cause.fix.strip() and cause.title.strip()
    # The codes issue 2 names are a contract.
    contract = {
        "TD101": "static-temporary-env",
        "TD102": "env-shadows-profile",
        "TD103": "env-shadows-instance-role",
        "TD104": "partial-env-credentials",
        "TD105": "profile-not-found",
        "TD201": "no-credentials",
        "TD202": "credentials-expired",
        "TD203": "credentials-near-expiry",
        "TD204": "static-temporary-file",
        "TD205": "config-unreadable",
        "TD206": "sso-session-expired",
        "TD207": "web-identity-token-expired",
    }
    for code, name in contract.items():
        assert catalogue.CAUSES[code].name == name


def test_causes_command_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, "causes")
    assert rc == 0
    for cause in catalogue.CAUSES.values():
        assert re.search(rf"^{cause.code}\s+{re.escape(cause.name)}\s", out, re.M)
    rc, out, _ = _run(capsys, "causes", "--json")
    rows = json.loads(out)
    assert [r["code"] for r in rows] == list(catalogue.CAUSES)
    assert all(r["why"] and r["fix"] for r in rows)


def test_every_cause_is_documented() -> None:
    docs = (REPO / "docs" / "causes.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for cause in catalogue.CAUSES.values():
        assert f"{cause.code}" in docs and cause.name in docs, cause.code
        assert cause.code in readme, cause.code


def test_readme_quick_start_has_exactly_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = [
        line.strip()
        for line in re.findall(r"```(?:sh|bash|console)?\n(.*?)```", quick, re.S)
        for line in line.splitlines()
        if line.strip()
    ]
    assert commands == [
        "python -m pip install . && tokendoctor check",
        "python -m pip install -e '.[test]' && python -m pytest",
    ]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pip install -e '.[test]'" in ci and "python -m pytest" in ci


def test_readme_exit_code_table_matches_exitcodes() -> None:
    from tokendoctor import exitcodes

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for code in (exitcodes.OK, exitcodes.FAILED, exitcodes.USAGE, exitcodes.TOOL_ERROR):
        assert re.search(rf"^\|\s*`?{code}`?\s*\|", readme, re.M), code


def test_python_dash_m_entry_point() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tokendoctor", "--version"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.startswith("tokendoctor, version ")


def test_shipped_schema_is_a_valid_json_schema() -> None:
    validator = jsonschema.validators.validator_for(SCHEMA)
    validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"]["const"] == 1
