"""--pid and --env-file: a real child process read through the real /proc, described processes
under a fake root (controlled start time and clock), env-file formats, bad inputs, and TD504."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pwd
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW, Machine, codes
from tokendoctor.checks import credentials, process
from tokendoctor.cli import main
from tokendoctor.context import Context, Options
from tokendoctor.pipeline import rank
from tokendoctor.target import TargetError, live_context, load_process, parse_env_file, redact_cmdline, start_time

KEY = "ASIAPROCESSTESTKEYWXYZ"
SECRET_MARKER = "proc-secret-MARKER-51a7c3"
TOKEN_MARKER = "proc-token-MARKER-9e21bb"
ARG_SECRET = "argv-secret-MARKER-44d0"
JAVA_SECRET = "java-prop-MARKER-7f3e"
MARKERS = (SECRET_MARKER, TOKEN_MARKER, ARG_SECRET, JAVA_SECRET)
SLEEPER = "import time; time.sleep(120)"


def _schema() -> dict[str, Any]:
    return json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text())


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=10)


def _spawn(children: list[subprocess.Popen[bytes]], env: dict[str, str], *args: str, cwd: Path | None = None) -> int:
    # Popen returns after exec(), so /proc/PID/environ is already the child's own.
    child = subprocess.Popen([sys.executable, "-c", SLEEPER, *args], env=env, cwd=cwd)
    children.append(child)
    return child.pid


def _session_env(machine: Machine, **extra: str) -> dict[str, str]:
    return {
        "HOME": str(machine.home),
        "PATH": os.environ.get("PATH", ""),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_MARKER,
        "AWS_SESSION_TOKEN": TOKEN_MARKER,
        **extra,
    }


# ------------------------------------------------------------------ a real child process


def test_real_child_environment_is_diagnosed_and_no_secret_is_printed(
    machine: Machine, children: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    pid = _spawn(children, _session_env(machine), "--secret", ARG_SECRET, f"-Daws.secretKey={JAVA_SECRET}")
    outputs = []
    for flags in (["--json"], [], ["-v"], ["-v", "--debug"]):
        rc = main(["check", "--offline", "--timeout", "10", "--pid", str(pid), *flags])
        out = capsys.readouterr()
        assert rc == 0, out.err  # TD101 is a warning; the child is seconds old
        outputs.append(out.out + out.err)
        for marker in MARKERS:
            assert marker not in out.out + out.err
    doc = json.loads(outputs[0])
    import jsonschema

    jsonschema.validate(doc, _schema())
    proc = doc["process"]
    assert proc["pid"] == pid and proc["source"] == "pid"
    assert proc["user"] == pwd.getpwuid(os.getuid()).pw_name
    assert proc["home"] == str(machine.home)
    assert 0 <= proc["age_seconds"] < 600
    assert proc["cmdline"] == [sys.executable, "-c", SLEEPER, "--secret", "****", "-Daws.secretKey=****"]
    # the credentials check describes the child's environment and HOME, not this test's
    assert doc["credentials"]["resolved"]["method"] == "env"
    assert doc["credentials"]["resolved"]["access_key_id"] == "ASIA…WXYZ"
    assert doc["credentials"]["config_file"] == str(machine.home / ".aws" / "config")
    assert [c["code"] for c in doc["causes"] if c["code"].startswith("TD1")] == ["TD101"]
    assert "TD504" not in [c["code"] for c in doc["causes"]]
    text = outputs[1]
    assert f"Process: pid {pid}" in text and "running" in text


def test_real_child_without_home_gets_its_users_home(machine: Machine, children: list[subprocess.Popen[bytes]]) -> None:
    pid = _spawn(children, {"PATH": os.environ.get("PATH", "")})
    env, info, _ = load_process(pid, Path("/"))
    assert info.home == pwd.getpwuid(os.getuid()).pw_dir
    assert env["HOME"] == info.home  # so ~/.aws/config resolves for that user
    assert (
        info.started_at is not None and abs((dt.datetime.now(dt.timezone.utc) - info.started_at).total_seconds()) < 600
    )


def test_real_child_relative_config_path_is_resolved_against_its_cwd(
    machine: Machine, children: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    workdir = tmp_path / "job"
    workdir.mkdir()
    pid = _spawn(children, {"HOME": str(machine.home), "AWS_CONFIG_FILE": "conf/aws.ini"}, cwd=workdir)
    env, _, _ = load_process(pid, Path("/"))
    assert env["AWS_CONFIG_FILE"] == str(workdir / "conf" / "aws.ini")


def test_pid_that_does_not_exist(children: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]) -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    rc = main(["check", "--pid", str(child.pid)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err == f"tokendoctor: error: --pid {child.pid}: no such process\n"


def test_pid_of_an_exited_unreaped_process(
    children: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    pid = _spawn(children, {"PATH": os.environ.get("PATH", "")})
    os.kill(pid, signal.SIGKILL)
    status = Path(f"/proc/{pid}/status")
    deadline = time.monotonic() + 20
    while "State:\tZ" not in status.read_text() and time.monotonic() < deadline:
        time.sleep(0.02)
    rc = main(["check", "--pid", str(pid)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith(f"tokendoctor: error: --pid {pid}: ") and len(err.splitlines()) == 1
    assert "exited" in err


def _load_as(uid: int | None, pid: int) -> str:
    """load_process(pid) in a forked child running as ``uid``: its TargetError message (or 'ok')."""
    import select

    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        message = "ok"
        try:
            os.close(read_fd)
            if uid is not None:
                os.setgid(uid)
                os.setuid(uid)
            load_process(pid, Path("/"))
        except TargetError as exc:
            message = str(exc)
        except BaseException as exc:  # noqa: BLE001
            message = f"unexpected {type(exc).__name__}"
        finally:
            os.write(write_fd, message.encode())
            os._exit(0)
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        message = os.read(read_fd, 4096).decode() if ready else "timeout"
    finally:
        os.close(read_fd)
        if not ready:
            os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    return message


def test_pid_of_another_user_is_permission_denied(machine: Machine, children: list[subprocess.Popen[bytes]]) -> None:
    """Read a process of another user: the kernel refuses /proc/PID/environ (ptrace access check)."""
    if os.geteuid() == 0:
        pid = _spawn(children, _session_env(machine))  # root's process, read as nobody
        uid: int | None = pwd.getpwnam("nobody").pw_uid
        assert _load_as(None, pid) == "ok"  # root itself may
    else:
        if os.access("/proc/1/environ", os.R_OK):
            pytest.skip("pid 1 is readable: no process of another user to try")
        pid, uid = 1, None
    message = _load_as(uid, pid)
    owner = pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    assert message == (
        f"--pid {pid}: permission denied reading /proc/{pid}/environ (the process belongs to user {owner}); "
        "run tokendoctor as that user or as root"
    )
    for marker in MARKERS:
        assert marker not in message


def test_pid_and_env_file_together_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["check", "--pid", "1", "--env-file", str(tmp_path / "x")])
    assert rc == 2 and "give one of them" in capsys.readouterr().err


def test_without_pid_the_process_check_is_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["check", "--offline", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc in (0, 1) and "process" not in doc
    assert {"name": "process", "status": "skipped"}.items() <= next(
        c for c in doc["checks"] if c["name"] == "process"
    ).items()


# ------------------------------------------------------------------ a described process (fake /proc)


def _describe(
    machine: Machine,
    env: dict[str, str],
    *,
    started: dt.datetime,
    pid: int = 4242,
    uid: int = 1000,
    cmdline: list[str] | None = None,
    boot: dt.datetime = NOW,
) -> int:
    btime = int(boot.timestamp()) - 7 * 86400
    ticks = round((started.timestamp() - btime) * 100)
    machine.file("proc/stat", f"cpu  1 2 3 4\nbtime {btime}\nprocesses 99\n")
    after = ["S", "1", pid, pid, "0", "-1", "4194560", *["0"] * 12, str(ticks), "1000", "200"]
    machine.file(f"proc/{pid}/stat", f"{pid} (my job) (x) S " + " ".join(map(str, after[1:])) + "\n")
    machine.file(
        f"proc/{pid}/status", f"Name:\tpython3\nState:\tS (sleeping)\nPid:\t{pid}\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n"
    )
    machine.file(f"proc/{pid}/environ", b"".join(f"{k}={v}".encode() + b"\0" for k, v in env.items()))
    machine.file(
        f"proc/{pid}/cmdline",
        b"".join(a.encode() + b"\0" for a in (["python3", "job.py"] if cmdline is None else cmdline)),
    )
    machine.file("etc/passwd", f"root:x:0:0:root:/root:/bin/sh\njobuser:x:{uid}:{uid}::{machine.home}:/bin/sh\n")
    return pid


def _ctx(machine: Machine, pid: int = 4242) -> Context:
    ctx = live_context(Options(offline=True, pid=pid), {"TOKENDOCTOR_FS_ROOT": str(machine.root), "HOME": "/elsewhere"})
    return dataclasses.replace(ctx, now=lambda: NOW)


def _td504(ctx: Context) -> Any:
    found = [f for f in process.check(ctx).findings if f.code == "TD504"]
    assert len(found) <= 1
    return found[0] if found else None


def test_start_time_from_stat_and_btime() -> None:
    stat = b"77 (a) b) c) S 1 77 77 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 360000 1000 200\n"
    assert start_time(stat, b"btime 1700000000\n", 100) == dt.datetime.fromtimestamp(1700003600, dt.timezone.utc)
    assert start_time(b"77 (a) S 1", b"btime 1700000000\n", 100) is None
    assert start_time(stat, b"", 100) is None


def test_described_process_user_home_and_section(machine: Machine) -> None:
    started = NOW - dt.timedelta(hours=6, minutes=2)
    env = _session_env(machine)
    del env["HOME"]
    _describe(machine, env, started=started, cmdline=["java", "-Daws.sessionToken=" + TOKEN_MARKER, "-jar", "job.jar"])
    ctx = _ctx(machine)
    assert ctx.process is not None and ctx.process.user == "jobuser"
    assert ctx.env["HOME"] == str(machine.home)  # from root/etc/passwd, not this shell's HOME
    result = process.check(ctx)
    data = result.data
    assert data["started_at"] == "2026-06-18T05:58:00Z" and data["age_seconds"] == 6 * 3600 + 120
    assert data["cmdline"] == ["java", "-Daws.sessionToken=****", "-jar", "job.jar"]
    assert data["summary"] == "pid 4242 (jobuser), running 6 h 2 min (started 2026-06-18T05:58:00Z)"
    assert ctx.redactor.redact(f"x {TOKEN_MARKER} {SECRET_MARKER}") == "x **** ****"


def test_TD504_seed_story_six_hour_job_on_a_default_session(machine: Machine) -> None:
    started = NOW - dt.timedelta(hours=6)
    _describe(machine, _session_env(machine), started=started)
    ctx = _ctx(machine)
    finding = _td504(ctx)
    assert finding is not None and finding.severity == "warning"
    ev = finding.evidence
    assert ev["age_seconds"] == 6 * 3600 and ev["likely_expired_by"] == "2026-06-18T07:00:00Z"
    assert ev["access_key_id"] == "ASIA…WXYZ" and ev["expires_at"] is None
    assert "role_arn" in finding.fix and "restart the process (pid 4242)" in finding.fix
    report = rank([credentials.check(ctx), process.check(ctx)])
    assert [c.code for c in report.causes] == ["TD504", "TD101"]
    assert report.exit_code == 0  # a longer session may have been requested: warning


def test_TD504_is_an_error_beyond_the_longest_assume_role_session(machine: Machine) -> None:
    _describe(machine, _session_env(machine), started=NOW - dt.timedelta(hours=13))
    finding = _td504(_ctx(machine))
    assert finding is not None and finding.severity == "error" and "12 h" in finding.fix
    _describe(machine, _session_env(machine), started=NOW - dt.timedelta(hours=40))
    finding = _td504(_ctx(machine))
    assert finding is not None and finding.severity == "error" and "longer than any STS session" in finding.fix


def test_no_TD504_within_the_default_session_or_for_long_term_keys(machine: Machine) -> None:
    _describe(machine, _session_env(machine), started=NOW - dt.timedelta(minutes=50))
    assert _td504(_ctx(machine)) is None
    env = _session_env(machine, AWS_ACCESS_KEY_ID="AKIALONGTERMKEY00001")
    del env["AWS_SESSION_TOKEN"]
    _describe(machine, env, started=NOW - dt.timedelta(days=3))
    assert _td504(_ctx(machine)) is None


def test_TD504_known_expiry_passed_while_the_process_runs(machine: Machine) -> None:
    _describe(
        machine,
        _session_env(machine, AWS_CREDENTIAL_EXPIRATION="2026-06-18T07:00:00Z"),
        started=NOW - dt.timedelta(hours=6),
    )
    ctx = _ctx(machine)
    finding = _td504(ctx)
    assert finding is not None and finding.severity is None  # the catalogue's: error
    ev = finding.evidence
    assert ev["expires_at"] == "2026-06-18T07:00:00Z" and ev["expiry_source"] == "AWS_CREDENTIAL_EXPIRATION"
    assert ev["expired_seconds_ago"] == 5 * 3600
    assert "5 h ago, after 1 h of running" in finding.fix  # timefmt.span, the one duration format
    report = rank([credentials.check(ctx), process.check(ctx)])
    assert [c.code for c in report.causes][:2] == ["TD504", "TD202"] and report.exit_code == 1


def test_TD504_started_with_already_expired_credentials(machine: Machine) -> None:
    _describe(
        machine,
        _session_env(machine, AWS_CREDENTIAL_EXPIRATION="2026-06-18T09:00:00Z"),
        started=NOW - dt.timedelta(hours=2),
    )
    finding = _td504(_ctx(machine))
    assert finding is not None and "had already expired" in finding.fix


def test_no_TD504_while_the_known_expiry_is_ahead(machine: Machine) -> None:
    _describe(
        machine,
        _session_env(machine, AWS_CREDENTIAL_EXPIRATION="2026-06-18T14:00:00Z"),
        started=NOW - dt.timedelta(hours=6),
    )
    assert _td504(_ctx(machine)) is None


def test_TD504_expiry_and_issue_time_from_the_aws_cli_cache(machine: Machine) -> None:
    cache = machine.home / ".aws" / "cli" / "cache"
    cache.mkdir(parents=True)
    other = cache / "0000.json"
    other.write_text(
        json.dumps({"Credentials": {"AccessKeyId": "ASIAOTHEROTHEROTHER1", "Expiration": "2026-06-18T20:00:00Z"}})
    )
    entry = cache / "abcd.json"
    entry.write_text(
        json.dumps(
            {
                "Credentials": {
                    "AccessKeyId": KEY,
                    "SecretAccessKey": SECRET_MARKER,
                    "SessionToken": TOKEN_MARKER,
                    "Expiration": "2026-06-18T07:00:00Z",
                }
            }
        )
    )
    issued = dt.datetime(2026, 6, 18, 6, 0, tzinfo=dt.timezone.utc).timestamp()
    os.utime(entry, (issued, issued))
    _describe(machine, _session_env(machine), started=NOW - dt.timedelta(hours=5, minutes=55))
    finding = _td504(_ctx(machine))
    assert finding is not None and finding.severity is None
    ev = finding.evidence
    assert ev["expiry_source"] == "AWS CLI cache (abcd.json)" and ev["expires_at"] == "2026-06-18T07:00:00Z"
    assert ev["issued_at"] == "2026-06-18T06:00:00Z" and ev["session_seconds"] == 3600


def test_TD504_credentials_file_rewritten_after_the_process_started(machine: Machine) -> None:
    path = machine.credentials(
        f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET_MARKER}\naws_session_token = "
        f"{TOKEN_MARKER}\n"
    )
    rewritten = (NOW - dt.timedelta(minutes=20)).timestamp()
    os.utime(path, (rewritten, rewritten))
    env = {"HOME": str(machine.home), "AWS_EC2_METADATA_DISABLED": "true"}
    _describe(machine, env, started=NOW - dt.timedelta(hours=3))
    ctx = _ctx(machine)
    finding = _td504(ctx)
    assert finding is not None and finding.severity == "warning"
    assert finding.evidence["file_modified_at"] == "2026-06-18T11:40:00Z" and finding.evidence["file"] == str(path)
    assert "2 h 40 min after process 4242 started" in finding.fix
    assert set(codes(credentials.check(ctx))) >= {"TD204"}
    # written before the process started: it read the current copy
    before = (NOW - dt.timedelta(hours=4)).timestamp()
    os.utime(path, (before, before))
    assert _td504(_ctx(machine)) is None


def test_cli_on_a_described_process_validates_and_ranks_TD504_first(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    expired = (now - dt.timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pid = _describe(
        machine,
        _session_env(machine, AWS_CREDENTIAL_EXPIRATION=expired),
        started=now - dt.timedelta(hours=5),
        pid=5151,
        boot=now,
    )
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    rc = main(["check", "--offline", "--json", "--pid", str(pid)])
    out = capsys.readouterr()
    doc = json.loads(out.out)
    import jsonschema

    jsonschema.validate(doc, _schema())
    assert rc == 1
    assert doc["causes"][0]["code"] == "TD504" and doc["causes"][0]["evidence"]["expired_seconds_ago"] >= 4 * 3600
    assert 5 * 3600 - 5 <= doc["process"]["age_seconds"] <= 5 * 3600 + 600
    for marker in MARKERS:
        assert marker not in out.out + out.err


def test_described_process_errors(machine: Machine) -> None:
    with pytest.raises(TargetError, match=r"^--pid 77: no such process$"):
        load_process(77, machine.root)
    _describe(machine, {}, started=NOW, pid=78, cmdline=[])
    with pytest.raises(TargetError, match="kernel thread"):
        load_process(78, machine.root)
    _describe(machine, {"A": "1"}, started=NOW, pid=79)
    machine.file("proc/79/status", "Name:\tx\nState:\tZ (zombie)\nUid:\t0\t0\t0\t0\n")
    with pytest.raises(TargetError, match="zombie"):
        load_process(79, machine.root)
    _describe(machine, {"A": "1"}, started=NOW, pid=80)
    (machine.root / "proc" / "80" / "environ").unlink()
    with pytest.raises(TargetError, match=r"/proc/80/environ is missing"):
        load_process(80, machine.root)


def test_environ_quirks_are_read_like_getenv(machine: Machine) -> None:
    _describe(machine, {}, started=NOW, pid=81)
    machine.file("proc/81/environ", b"HOME=/h\0NOEQUALS\0A=first\0A=second\0B=caf\xe9\0")
    env, _, _ = load_process(81, machine.root, ticks_per_second=100)
    assert env["A"] == "first" and "NOEQUALS" not in env and env["HOME"] == "/h"
    assert env["B"] == os.fsdecode(b"caf\xe9")


# ------------------------------------------------------------------ env files


def test_env_file_lines() -> None:
    data = (
        b"# exported by the startup script\n"
        b"\n"
        b"export AWS_ACCESS_KEY_ID=" + KEY.encode() + b"\r\n"
        b'AWS_SECRET_ACCESS_KEY="quoted \\" value"\n'
        b"AWS_SESSION_TOKEN='single quoted'\n"
        b"  AWS_REGION = eu-west-1  \n"
        b"EMPTY=\n"
        b"LITERAL=a # not a comment\n"
    )
    env = parse_env_file(data)
    assert env == {
        "AWS_ACCESS_KEY_ID": KEY,
        "AWS_SECRET_ACCESS_KEY": 'quoted " value',
        "AWS_SESSION_TOKEN": "single quoted",
        "AWS_REGION": "eu-west-1",
        "EMPTY": "",
        "LITERAL": "a # not a comment",
    }


def test_env_file_nul_separated_like_proc_environ() -> None:
    assert parse_env_file(b"A=1\0B=x=y\0\0") == {"A": "1", "B": "x=y"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"A=1\n" + SECRET_MARKER.encode() + b"\n", "line 2 is not KEY=VALUE (no '=')"),
        (b"A=1\nB=\xff" + SECRET_MARKER.encode() + b"\n", "line 2 is not valid UTF-8"),
        (b"1A=" + SECRET_MARKER.encode() + b"\n", "line 1 does not start with a variable name"),
        (b'\n\nA="' + SECRET_MARKER.encode() + b"\n", 'line 3 has an unterminated " quote'),
        (b"A=1\0" + SECRET_MARKER.encode() + b"\0", "entry 2 is not KEY=VALUE"),
        (b"A=\xff\0", "entry 1 is not valid UTF-8"),
    ],
)
def test_env_file_malformed_names_the_line_never_the_value(data: bytes, message: str) -> None:
    with pytest.raises(TargetError) as err:
        parse_env_file(data, "--env-file f")
    assert str(err.value) == f"--env-file f: {message}"
    assert SECRET_MARKER not in str(err.value)


def test_cli_env_file(machine: Machine, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "job.env"
    path.write_text(
        f"export AWS_ACCESS_KEY_ID={KEY}\nexport AWS_SECRET_ACCESS_KEY={SECRET_MARKER}\n"
        "export "
        f"AWS_SESSION_TOKEN='{TOKEN_MARKER}'\nAWS_CREDENTIAL_EXPIRATION=2020-01-01T00:00:00Z\nHOME={machine.home}\n"
    )
    for flags in (["--json"], ["-v", "--debug"]):
        rc = main(["check", "--offline", "--env-file", str(path), *flags])
        out = capsys.readouterr()
        assert rc == 1
        for marker in MARKERS:
            assert marker not in out.out + out.err
    rc = main(["check", "--offline", "--json", "--env-file", str(path)])
    doc = json.loads(capsys.readouterr().out)
    import jsonschema

    jsonschema.validate(doc, _schema())
    assert (
        doc["process"]["source"] == "env-file"
        and doc["process"]["pid"] is None
        and doc["process"]["env_file"] == str(path)
    )
    assert doc["process"]["home"] == str(machine.home) and doc["process"]["age_seconds"] is None
    assert doc["credentials"]["resolved"]["method"] == "env"
    assert doc["causes"][0]["code"] == "TD202"  # no process age: the expiry itself
    assert "TD504" not in [c["code"] for c in doc["causes"]]


def test_cli_env_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.env"
    assert main(["check", "--env-file", str(missing)]) == 2
    assert capsys.readouterr().err == f"tokendoctor: error: --env-file {missing}: no such file\n"
    assert main(["check", "--env-file", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    bad = tmp_path / "bad.env"
    bad.write_bytes(b"OK=1\n" + SECRET_MARKER.encode() + b"\n")
    assert main(["check", "--env-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"tokendoctor: error: --env-file {bad}: line 2 is not KEY=VALUE (no '=')\n"
    big = tmp_path / "big.env"
    with big.open("wb") as fh:
        fh.truncate(5 * 1024 * 1024)
    assert main(["check", "--env-file", str(big)]) == 2
    assert "larger than 4 MiB" in capsys.readouterr().err


def test_env_file_without_home_uses_this_shells_home(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "job.env"
    path.write_text("AWS_REGION=eu-west-1\n")
    ctx = live_context(
        Options(offline=True, env_file=str(path)), {"HOME": "/home/me", "TOKENDOCTOR_NTP_LOOPBACK_ONLY": "1"}
    )
    assert ctx.env == {"AWS_REGION": "eu-west-1", "HOME": "/home/me", "TOKENDOCTOR_NTP_LOOPBACK_ONLY": "1"}
    assert ctx.process is not None and ctx.process.home == "/home/me"


# ------------------------------------------------------------------ command lines


def test_redact_cmdline() -> None:
    shown, removed = redact_cmdline(
        [
            "java",
            f"-Daws.secretKey={JAVA_SECRET}",
            f"-Daws.secretAccessKey={JAVA_SECRET}x",
            "-Daws.accessKeyId=" + KEY,
            "--token",
            ARG_SECRET,
            "--password=hunter2hunter2",
            f"AWS_SESSION_TOKEN={TOKEN_MARKER}",
            "--secret-file",
            "--verbose",
            "job.jar",
        ]
    )
    assert shown == (
        "java",
        "-Daws.secretKey=****",
        "-Daws.secretAccessKey=****",
        "-Daws.accessKeyId=ASIA…WXYZ",
        "--token",
        "****",
        "--password=****",
        "AWS_SESSION_TOKEN=****",
        "--secret-file",
        "--verbose",
        "job.jar",
    )
    assert set(removed) == {JAVA_SECRET, JAVA_SECRET + "x", ARG_SECRET, "hunter2hunter2", TOKEN_MARKER}


def test_process_in_another_mount_namespace_is_read_through_its_root(machine: Machine) -> None:
    """A container's process seen from the host: HOME, config paths and /etc/passwd are its own."""
    pid = _describe(
        machine,
        {"AWS_CONFIG_FILE": "conf/aws", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/token"},
        started=NOW - dt.timedelta(hours=2),
        uid=1000,
    )
    proc = machine.root / "proc" / str(pid)
    (machine.root / "proc" / "self" / "ns").mkdir(parents=True)
    (proc / "ns").mkdir()
    os.symlink("mnt:[4026531840]", machine.root / "proc" / "self" / "ns" / "mnt")
    os.symlink("mnt:[4026532999]", proc / "ns" / "mnt")
    os.symlink("/app", proc / "cwd")
    container = proc / "root"
    (container / "etc").mkdir(parents=True)
    (container / "etc" / "passwd").write_text("app:x:1000:1000::/home/app:/bin/sh\n")
    env, info, _ = load_process(pid, machine.root, ticks_per_second=100)
    assert info.fs_root == str(container) and info.user == "app" and info.home == "/home/app"
    assert env["HOME"] == f"{container}/home/app"
    assert env["AWS_CONFIG_FILE"] == f"{container}/app/conf/aws"
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == f"{container}/var/run/token"
    ctx = _ctx(machine, pid)
    data = process.check(ctx).data
    assert data["fs_root"] == str(container) and "another mount namespace" in data["summary"]


def test_long_command_lines_are_bounded(machine: Machine) -> None:
    _describe(machine, {"HOME": "/h"}, started=NOW, cmdline=["java", "-cp", "x" * 5000, *[f"a{i}" for i in range(100)]])
    shown = process.check(_ctx(machine)).data["cmdline"]
    assert len(shown) == 65 and shown[-1] == "…(+39 more arguments)"
    assert shown[2] == "x" * 300 + "…(+4700 chars)"


def test_the_target_is_diagnosed_not_this_shell(
    machine: Machine,
    children: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shell_secret = "shell-secret-MARKER-0c1d"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIASHELLSHELLSHELL1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", shell_secret)
    monkeypatch.setenv("AWS_PROFILE", "shell-profile")
    pid = _spawn(children, _session_env(machine))
    rc = main(["check", "--offline", "--json", "-v", "--pid", str(pid)])
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert rc == 0
    assert doc["credentials"]["resolved"]["access_key_id"] == "ASIA…WXYZ"
    assert doc["credentials"]["profile"] == "default"  # the child has no AWS_PROFILE
    td101 = next(c for c in doc["causes"] if c["code"] == "TD101")
    assert td101["evidence"]["access_key_id"] == "ASIA…WXYZ"
    assert "TD102" not in [c["code"] for c in doc["causes"]]
    for marker in (*MARKERS, shell_secret):
        assert marker not in out.out + out.err
    # without --pid the same shell is diagnosed: its long-term key and profile
    main(["check", "--offline", "--json"])
    shell = json.loads(capsys.readouterr().out)
    assert (
        shell["credentials"]["profile"] == "shell-profile" and shell["causes"][0]["code"] == "TD105"
    )  # no such profile here
    assert "process" not in shell
