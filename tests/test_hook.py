"""The in-process hook and the Python API, with real botocore against a loopback STS.

The hook is installed in a child interpreter where it matters that nothing else is loaded
(inert without botocore) and in this process where a test needs to break it on purpose;
those tests uninstall it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.credentials
import botocore.exceptions
import botocore.session
import pytest

import tokendoctor
from tests.servers.expiring import ExpiringSts
from tokendoctor import hook, inprocess

SECRET = "hookSECRETmarker0001hookSECRET"
TOKEN = "hookTOKENmarker0002hookTOKEN"


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[ExpiringSts]:
    with ExpiringSts(calls_per_key=2) as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stub.url)
        yield stub


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    log = tmp_path / "hook.jsonl"
    monkeypatch.setenv(hook.ENV_LOG, str(log))
    assert hook.install() is True
    try:
        yield log
    finally:
        hook.uninstall()


def static_client(key: str = "ASIAHOOKHOOKHOOK0001") -> Any:
    session = boto3.Session(
        aws_access_key_id=key, aws_secret_access_key=SECRET, aws_session_token=TOKEN, region_name="us-east-1"
    )
    return session.client("sts")


def calls_until_error(client: Any, n: int = 5) -> botocore.exceptions.ClientError:
    for _ in range(n):
        try:
            client.get_caller_identity()
        except botocore.exceptions.ClientError as exc:
            return exc
    raise AssertionError("the stub never answered ExpiredToken")


# ---------------------------------------------------------------- the hook in this process


def test_one_masked_record_per_client_and_the_error_is_untouched(installed: Path, sts: ExpiringSts) -> None:
    client = static_client()
    error = calls_until_error(client)
    assert error.response["Error"]["Code"] == "ExpiredToken"
    for _ in range(3):  # later errors: counted in the process, not sent again
        with pytest.raises(botocore.exceptions.ClientError):
            client.get_caller_identity()
    text = installed.read_text()
    records = inprocess.read_records(installed)
    assert len(records) == 1
    record = records[0]
    assert record["trigger"] == "call-failed"
    assert record["client"]["service"] == "sts" and record["client"]["created_pid"] == os.getpid()
    assert record["credentials"]["kind"] == "static" and record["credentials"]["method"] == "explicit"
    assert record["credentials"]["access_key_id"] == "ASIA…0001" and record["credentials"]["session_token"] is True
    assert record["error"]["code"] == "ExpiredToken" and record["error"]["operation"] == "GetCallerIdentity"
    assert SECRET not in text and TOKEN not in text and "ASIAHOOKHOOKHOOK0001" not in text
    assert sts.expired_answers == 4, "every call reached the stub once: no retry, no extra call"


@pytest.mark.parametrize("broken", ["_send", "_environment_fingerprint", "_refreshes_for"])
def test_the_hook_never_raises_into_the_program(
    broken: str, installed: Path, sts: ExpiringSts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in the hook (here: raising where it sends, watches a new client, or wraps a refresher) never
    reaches the program: it gets botocore's own ExpiredToken error, as without the hook."""

    def bug(*_: Any, **__: Any) -> None:
        raise RuntimeError("hook bug")

    monkeypatch.setattr(hook, broken, bug)
    client = static_client("ASIAHOOKHOOKHOOK0002")
    error = calls_until_error(client)
    assert isinstance(error, botocore.exceptions.ClientError)
    assert error.response["Error"]["Code"] == "ExpiredToken"
    assert sts.uses["ASIAHOOKHOOKHOOK0002"] == 3


def test_same_calls_with_and_without_the_hook(
    tmp_path: Path, sts: ExpiringSts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hook changes nothing the program does: the same requests reach AWS, in the same number."""
    calls_until_error(static_client("ASIAHOOKHOOKHOOK0003"))
    without = dict(sts.uses)
    monkeypatch.setenv(hook.ENV_LOG, str(tmp_path / "hook.jsonl"))
    hook.install()
    try:
        calls_until_error(static_client("ASIAHOOKHOOKHOOK0004"))
    finally:
        hook.uninstall()
    assert without == {"ASIAHOOKHOOKHOOK0003": 3}
    assert sts.uses["ASIAHOOKHOOKHOOK0004"] == 3


def test_without_a_parent_the_record_goes_to_the_log(sts: ExpiringSts, caplog: pytest.LogCaptureFixture) -> None:
    hook.install()
    try:
        with caplog.at_level("WARNING", logger="tokendoctor.hook"):
            calls_until_error(static_client("ASIAHOOKHOOKHOOK0005"))
    finally:
        hook.uninstall()
    messages = [r.getMessage() for r in caplog.records if r.name == "tokendoctor.hook"]
    assert len(messages) == 1 and messages[0].startswith("tokendoctor: {")
    record = json.loads(messages[0].split(": ", 1)[1])
    assert record["credentials"]["access_key_id"] == "ASIA…0005"
    assert SECRET not in messages[0] and TOKEN not in messages[0]


def test_install_before_botocore_is_imported_is_inert_until_it_is(tmp_path: Path, sts: ExpiringSts) -> None:
    log = tmp_path / "hook.jsonl"
    code = textwrap.dedent(
        """
        import sys, tokendoctor.hook
        assert tokendoctor.hook.install()
        heavy = [m for m in sys.modules if m.startswith(("botocore", "tokendoctor.explain", "rich", "click"))]
        print("loaded:", heavy)
        import boto3
        c = boto3.Session(aws_access_key_id="ASIALATELATELATE0001", aws_secret_access_key="late-secret-value",
                          aws_session_token="late-token-value", region_name="us-east-1").client("sts")
        for _ in range(3):
            try:
                c.get_caller_identity()
            except Exception as exc:
                print("error:", type(exc).__name__)
        """
    )
    env = {**os.environ, hook.ENV_LOG: str(log)}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["loaded: []", "error: ClientError"]
    assert [r["credentials"]["access_key_id"] for r in inprocess.read_records(log)] == ["ASIA…0001"]


def test_record_file_is_read_with_a_cap_and_only_if_regular(tmp_path: Path) -> None:
    path = tmp_path / "hook.jsonl"
    good = json.dumps({"event": "aws-error", "client": {}, "credentials": None, "error": {}})
    path.write_text("not json\n" + good + "\n" + "x" * 2_000_000 + "\n" + good + "\n")
    assert len(inprocess.read_records(path, limit=1_000_000)) == 1
    assert inprocess.read_records(tmp_path) == []  # a directory
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert inprocess.read_records(fifo) == []  # never blocks on a FIFO


# ---------------------------------------------------------------- the Python API


def test_diagnose_a_static_session_built_in_code() -> None:
    session = boto3.Session(
        aws_access_key_id="ASIAAPIAPIAPIAPI0001",
        aws_secret_access_key=SECRET,
        aws_session_token=TOKEN,
        region_name="us-east-1",
    )
    report = tokendoctor.diagnose(session, offline=True)
    assert report.causes[0].code == "TD511" and report.causes[0].name == "static-session-in-code"
    assert report.sections["session"]["kind"] == "static" and report.sections["session"]["access_key_id"] == "ASIA…0001"
    assert "TD201" not in [c.code for c in report.causes], "the session's own keys are credentials"
    assert report.exit_code == 1
    assert SECRET not in repr(report) and TOKEN not in repr(report)


def test_diagnose_without_a_session_is_the_check_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "AWS_ACCESS_KEY_ID": "ASIAAPIAPIAPIAPI0002",
        "AWS_SECRET_ACCESS_KEY": "x" * 20,
        "AWS_SESSION_TOKEN": "y" * 20,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(root))
    report = tokendoctor.diagnose(offline=True)
    cli = subprocess.run(
        [sys.executable, "-m", "tokendoctor", "check", "--offline", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert [c.code for c in report.causes] == [c["code"] for c in json.loads(cli.stdout)["causes"]]
    assert report.exit_code == cli.returncode
    assert "session" not in report.sections


def test_diagnose_a_session_that_has_not_resolved_credentials_does_not_resolve_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    core = botocore.session.Session()
    monkeypatch.setattr(
        core, "get_credentials", lambda: pytest.fail("diagnose must not resolve the session's credentials")
    )
    report = tokendoctor.diagnose(core, offline=True)
    assert report.sections["session"] == {"resolved": False, "detail": "the session has not resolved credentials yet"}


def test_diagnose_rejects_an_unknown_option() -> None:
    with pytest.raises(TypeError):
        tokendoctor.diagnose(no_such_option=True)


def test_diagnose_follows_a_profile_given_to_the_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = Path(os.environ["HOME"])
    (home / ".aws").mkdir(exist_ok=True)
    (home / ".aws" / "config").write_text("[profile other]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_PROFILE", "other")
    session = botocore.session.Session(profile="missing-profile")
    report = tokendoctor.diagnose(session, offline=True)
    assert report.causes[0].code == "TD105", [c.code for c in report.causes]  # the session's profile, not AWS_PROFILE
    report = tokendoctor.diagnose(botocore.session.Session(), offline=True)
    assert "TD105" not in [c.code for c in report.causes]


def test_a_client_created_before_the_profile_changed(
    installed: Path, sts: ExpiringSts, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = static_client("ASIAHOOKHOOKHOOK0006")
    monkeypatch.setenv("AWS_PROFILE", "switched-after-the-client-was-made")
    calls_until_error(client)
    (record,) = inprocess.read_records(installed)
    assert record["changed_since_created"] == ["AWS_PROFILE"]
    (finding,) = inprocess.check([record]).findings
    assert finding.code == "TD511" and finding.evidence["changed_since_client_created"] == ["AWS_PROFILE"]
    assert "switched-after" not in installed.read_text(), "only a digest of the value is kept"
