"""``tokendoctor run -- COMMAND`` with real child processes, real botocore and a loopback STS.

tokendoctor runs as a real subprocess (``python -m tokendoctor run ...``), so the
passthrough is checked byte for byte on real pipes and signals reach a real process.
Every run gets ``TOKENDOCTOR_FS_ROOT`` pointing at an empty directory, so the preflight
never reads this machine's clock state; the conftest gives a temp HOME and no AWS_*.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.servers.expiring import SECRET_MARKER, TOKEN_MARKER, ExpiringSts
from tokendoctor import supervise
from tokendoctor.explain import explain

REPO = Path(__file__).resolve().parent.parent
JOB = REPO / "tests" / "jobs" / "sts_job.py"
CORPUS = REPO / "tests" / "corpus" / "explain"
RUN_SCHEMA = json.loads(files("tokendoctor").joinpath("resources/run.schema.json").read_text(encoding="utf-8"))
CHECK_SCHEMA = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text(encoding="utf-8"))
LONG_TERM = (
    "[default]\naws_access_key_id = AKIALONGTERMLONGTERM\naws_secret_access_key = longtermSECRETmarker0042\n"
    "[profile job]\nrole_arn = arn:aws:iam::123456789012:role/job\nsource_profile = default\n"
)
MARKERS = (SECRET_MARKER, TOKEN_MARKER, "longtermSECRETmarker0042")
BLOCK_START = "[tokendoctor] ──── tokendoctor: diagnosis ────"


@pytest.fixture
def fs_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(root))
    return root


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[ExpiringSts]:
    with ExpiringSts(calls_per_key=3) as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stub.url)
        yield stub


def td_run(
    *args: str, cmd: list[str], input: bytes | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[bytes]:
    environ = {**os.environ, **env}
    return subprocess.run(
        [sys.executable, "-m", "tokendoctor", "run", *args, "--", *cmd],
        input=input,
        capture_output=True,
        env=environ,
        timeout=timeout,
        check=False,
    )


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def blocks(stderr: str) -> int:
    return stderr.count(BLOCK_START)


def load_report(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    jsonschema.validate(doc, RUN_SCHEMA)
    if doc["preflight"] is not None:
        jsonschema.validate(doc["preflight"], CHECK_SCHEMA)
    return doc


# ---------------------------------------------------------------- passthrough


def test_stdin_stdout_and_exit_status_pass_through(fs_root: Path) -> None:
    payload = bytes(range(256)) * 64 + b"\nlast line without newline"
    proc = td_run(
        "--no-preflight",
        cmd=py("import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d[::-1]); sys.exit(7)"),
        input=payload,
    )
    assert proc.returncode == 7
    assert proc.stdout == payload[::-1]
    assert proc.stderr == b""


@pytest.mark.parametrize(("signo", "expected"), [(signal.SIGTERM, 143), (signal.SIGKILL, 137), (signal.SIGINT, 130)])
def test_a_signal_that_ends_the_command_is_128_plus_n(fs_root: Path, signo: int, expected: int) -> None:
    reset = f"signal.signal({int(signo)}, signal.SIG_DFL); " if signo != signal.SIGKILL else ""
    proc = td_run("--no-preflight", cmd=py(f"import os, signal; {reset}os.kill(os.getpid(), {int(signo)})"))
    assert proc.returncode == expected


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_sent_to_tokendoctor_reach_the_command(fs_root: Path, signo: int) -> None:
    child = py(
        """
        import os, signal, sys, time
        def handler(n, _):
            sys.stdout.write(f"got {n}\\n"); sys.stdout.flush(); sys.exit(40 + n)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, handler)
        sys.stdout.write("ready\\n"); sys.stdout.flush()
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokendoctor", "run", "--no-preflight", "--", *child],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # like `kill PID` from elsewhere: only tokendoctor gets the signal
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        proc.send_signal(signo)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert out == f"got {int(signo)}\n".encode()  # exactly once: the handler exits on the first
    assert proc.returncode == 40 + int(signo), err


def test_no_zombie_is_left_behind(fs_root: Path) -> None:
    pid_file = fs_root / "pid"
    outcome = supervise.run(
        [sys.executable, "-c", f"import os; open({str(pid_file)!r}, 'w').write(str(os.getpid())); raise SystemExit(3)"],
        os.environ,
        on_output=lambda _: None,
        on_idle=lambda: None,
        on_close=lambda: None,
    )
    assert outcome.exit_code == 3
    pid = int(pid_file.read_text())
    with pytest.raises(ChildProcessError):  # already reaped: not our child any more
        os.waitpid(pid, os.WNOHANG)
    status = Path(f"/proc/{pid}/stat")
    assert not status.exists() or status.read_text().split(")")[-1].split()[0] != "Z"


def test_command_not_found_is_127_with_one_line(fs_root: Path) -> None:
    proc = td_run("--no-preflight", cmd=["/nonexistent/tokendoctor-no-such-command"])
    assert proc.returncode == 127
    assert (
        proc.stderr.decode().strip()
        == "tokendoctor: error: /nonexistent/tokendoctor-no-such-command: command not found"
    )


def test_run_needs_a_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tokendoctor", "run"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_megabytes_of_stderr_pass_through_unchanged(fs_root: Path, tmp_path: Path) -> None:
    """8 MiB in lines, one 2 MiB line without a newline inside, binary junk: byte for byte, in order."""
    report = tmp_path / "run.json"
    child = py(
        """
        import os, sys
        w = sys.stderr.buffer
        for i in range(100_000):
            w.write(b"log line %06d token=refresh expired? no, just chatty output\\n" % i)
        w.write(b"x" * (2 * 1024 * 1024) + b"\\n")
        w.write(bytes(range(256)) * 100)
        w.write(b"\\nend")
        w.flush()
        """
    )
    proc = td_run("--no-preflight", "--report", str(report), cmd=child)
    expected = b"".join(b"log line %06d token=refresh expired? no, just chatty output\n" % i for i in range(100_000))
    expected += b"x" * (2 * 1024 * 1024) + b"\n" + bytes(range(256)) * 100 + b"\nend"
    assert proc.returncode == 0
    assert proc.stderr == expected  # nothing added: no AWS error in there
    doc = load_report(report)
    assert doc["errors"] == [] and doc["diagnosis"] is None
    # 100 000 log lines, the 2 MiB line (once), the junk's 100 newlines (byte 10 of each range) plus its
    # tail, and "end" at the close
    assert doc["stderr_lines"] == 100_000 + 1 + 100 + 1 + 1


def test_a_forking_command(fs_root: Path) -> None:
    """The fork's stderr is passed through; the exit status is the command's, not the fork's."""
    child = py(
        """
        import os, sys
        pid = os.fork()
        if pid == 0:
            sys.stderr.write("from the fork\\n"); sys.stderr.flush(); os._exit(9)
        os.waitpid(pid, 0)
        sys.stderr.write("from the parent\\n")
        sys.exit(5)
        """
    )
    proc = td_run("--no-preflight", cmd=child)
    assert proc.returncode == 5
    assert proc.stderr == b"from the fork\nfrom the parent\n"


def test_a_background_process_holding_stderr_does_not_keep_run_alive(fs_root: Path) -> None:
    child = py(
        """
        import os, subprocess, sys
        # inherits stderr (tokendoctor's pipe); stdout would be the test's own capture pipe
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], stdout=subprocess.DEVNULL)
        sys.stderr.write("parent done\\n")
        """
    )
    started = time.monotonic()
    proc = td_run("--no-preflight", cmd=child, timeout=25)  # would hang ~30 s if run waited for EOF
    assert proc.returncode == 0
    assert proc.stderr == b"parent done\n"
    assert time.monotonic() - started < 25


# ---------------------------------------------------------------- diagnosis from stderr


def test_java_stack_trace_from_a_non_python_command_gets_the_explain_diagnosis_once(
    fs_root: Path, tmp_path: Path
) -> None:
    trace = (CORPUS / "java-v1-s3-expired-token.txt").read_text()
    (tmp_path / "trace.txt").write_text(trace)
    report = tmp_path / "run.json"
    script = f"for i in 1 2 3; do cat {tmp_path / 'trace.txt'} >&2; done; echo done; exit 1"
    proc = td_run("--report", str(report), cmd=["/bin/sh", "-c", script])
    err = proc.stderr.decode()
    assert proc.returncode == 1 and proc.stdout == b"done\n"
    assert err.count(trace.splitlines()[1]) == 3, "the command's own lines are all passed through"
    assert blocks(err) == 1, "one diagnosis, however often the error repeats"
    expected = explain(trace)
    block = err[err.index(BLOCK_START) :]
    assert f"1. {expected.causes[0].severity.upper()} {expected.causes[0].code} {expected.causes[0].name}" in block
    assert "The command got ExpiredToken from s3 PutObject, java-v1 SDK." in block
    doc = load_report(report)
    assert doc["diagnosis"]["source"] == "stderr"
    assert doc["diagnosis"]["error"]["sdk"] == "java-v1" and doc["diagnosis"]["error"]["code"] == "ExpiredToken"
    assert [c["code"] for c in doc["diagnosis"]["causes"]][:1] == [expected.causes[0].code]
    assert [(e["family"], e["count"]) for e in doc["errors"]] == [("ExpiredToken", 3)]
    assert doc["exit_code"] == 1 and doc["started"] is True


# ---------------------------------------------------------------- the hook, end to end


def test_static_session_built_in_code_is_named_with_its_creation_time(
    fs_root: Path, sts: ExpiringSts, tmp_path: Path
) -> None:
    Path(os.environ["HOME"], ".aws").mkdir(exist_ok=True)
    Path(os.environ["HOME"], ".aws", "config").write_text(LONG_TERM)
    report = tmp_path / "run.json"
    proc = td_run("--report", str(report), cmd=[sys.executable, str(JOB), "static", "10"])
    err = proc.stderr.decode()
    assert proc.returncode == 1, err
    assert "botocore.exceptions.ClientError: An error occurred (ExpiredToken)" in err  # the program's own traceback
    assert blocks(err) == 1
    assert "1. ERROR TD511 static-session-in-code" in err
    doc = load_report(report)
    top = doc["diagnosis"]["causes"][0]
    assert top["code"] == "TD511" and top["name"] == "static-session-in-code"
    assert top["evidence"]["client"] == "sts (us-east-1)"
    assert top["evidence"]["access_key_id"] == "ASIA…0001"
    created = top["evidence"]["client_created_at"]
    assert created and created[11:19] in top["evidence"]["summary"]
    assert "from explicit keys with a session token; nothing refreshes them" in top["evidence"]["summary"]
    assert "TD101" not in [c["code"] for c in doc["diagnosis"]["causes"]], "the hook saw explicit keys, not env"
    assert sts.expired_answers == 1, "the hook made no call of its own and retried nothing"
    for marker in MARKERS:
        assert marker not in err and marker not in report.read_text()


def test_role_profile_that_refreshes_gives_no_false_alarm(fs_root: Path, sts: ExpiringSts, tmp_path: Path) -> None:
    Path(os.environ["HOME"], ".aws").mkdir(exist_ok=True)
    Path(os.environ["HOME"], ".aws", "config").write_text(LONG_TERM)
    report = tmp_path / "run.json"
    proc = td_run("--report", str(report), cmd=[sys.executable, str(JOB), "profile", "10"])
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"done 10 calls\n"
    assert blocks(proc.stderr.decode()) == 0
    doc = load_report(report)
    assert doc["diagnosis"] is None and doc["errors"] == [] and doc["inprocess"] == []
    assert len(sts.issued) >= 2, "botocore refreshed the role session (the stub wears keys out after 3 calls)"


def test_refresh_failure_is_reported_with_stss_answer(
    fs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A role profile whose source keys stop working: botocore's AssumeRole refresh fails."""
    Path(os.environ["HOME"], ".aws").mkdir(exist_ok=True)
    Path(os.environ["HOME"], ".aws", "config").write_text(LONG_TERM)
    report = tmp_path / "run.json"
    with ExpiringSts(calls_per_key=3, wear_long_term=True) as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stub.url)
        proc = td_run("--report", str(report), cmd=[sys.executable, str(JOB), "profile", "10"])
    assert proc.returncode == 1
    doc = load_report(report)
    top = doc["diagnosis"]["causes"][0]
    assert top["code"] == "TD202" and top["title"].startswith("The credentials expired because their refresh failed")
    assert top["evidence"]["credentials"] == "DeferredRefreshableCredentials (deferred, method assume-role)"
    assert top["evidence"]["refresh_failures"] >= 1
    assert "(ExpiredToken) when calling the AssumeRole operation" in top["evidence"]["refresh_error"]


def test_credentials_shared_across_a_fork(fs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path(os.environ["HOME"], ".aws").mkdir(exist_ok=True)
    Path(os.environ["HOME"], ".aws", "config").write_text(LONG_TERM)
    report = tmp_path / "run.json"
    with ExpiringSts(calls_per_key=1) as stub:
        monkeypatch.setenv("AWS_ENDPOINT_URL_STS", stub.url)
        proc = td_run("--report", str(report), cmd=[sys.executable, str(JOB), "static", "3"], JOB_FORK="1")
    assert proc.returncode == 1
    doc = load_report(report)
    assert {r["forked"] for r in doc["inprocess"]} == {True, False}
    top = doc["diagnosis"]["causes"][0]
    assert top["code"] == "TD511"
    assert "used in its fork" in top["evidence"]["shared_across_fork"]


def test_a_swallowed_error_is_still_diagnosed_from_the_hook(fs_root: Path, sts: ExpiringSts, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    child = py(
        """
        import boto3, botocore.exceptions
        s = boto3.Session(aws_access_key_id="ASIASWALLOWED0000001", aws_secret_access_key="swallowedSECRETmarker",
                          aws_session_token="swallowedTOKENmarker", region_name="us-east-1")
        c = s.client("sts")
        for _ in range(5):
            try:
                c.get_caller_identity()
            except botocore.exceptions.ClientError:
                pass  # a program that retries quietly
        """
    )
    proc = td_run("--no-preflight", "--report", str(report), cmd=child)
    err = proc.stderr.decode()
    assert proc.returncode == 0
    assert blocks(err) == 1 and "TD511 static-session-in-code" in err
    doc = load_report(report)
    assert doc["diagnosis"]["source"] == "hook" and doc["errors"] == []
    assert (
        "swallowedSECRETmarker" not in err + report.read_text()
        and "swallowedTOKENmarker" not in err + report.read_text()
    )


# ---------------------------------------------------------------- preflight


def test_strict_does_not_start_the_command_on_an_error_level_cause(fs_root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "started"
    report = tmp_path / "run.json"
    env = {
        "AWS_ACCESS_KEY_ID": "ASIAEXPIREDEXPIRED01",
        "AWS_SECRET_ACCESS_KEY": "strictSECRETmarker0001",
        "AWS_SESSION_TOKEN": "strictTOKENmarker0002",
        "AWS_CREDENTIAL_EXPIRATION": "2020-01-01T00:00:00Z",
    }
    cmd = py(f"open({str(marker)!r}, 'w').write('x')")
    proc = td_run("--strict", "--report", str(report), cmd=cmd, **env)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and not marker.exists()
    assert "[tokendoctor] preflight: ERROR" in err and "TD202 credentials-expired" in err
    assert "--strict: not starting" in err
    doc = load_report(report)
    assert doc["started"] is False and doc["preflight"]["status"] == "error"
    # without --strict the same state only warns, and the command runs
    proc = td_run(cmd=cmd, **env)
    assert proc.returncode == 0 and marker.exists()
    assert "[tokendoctor] preflight: ERROR" in proc.stderr.decode()
    for text in (err, proc.stderr.decode(), report.read_text()):
        assert "strictSECRETmarker0001" not in text and "strictTOKENmarker0002" not in text


def test_preflight_is_the_check_report_for_the_commands_environment(fs_root: Path, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    env = {
        "AWS_ACCESS_KEY_ID": "ASIASESSIONSESSION01",
        "AWS_SECRET_ACCESS_KEY": "x" * 20,
        "AWS_SESSION_TOKEN": "y" * 20,
    }
    proc = td_run("--report", str(report), cmd=["true"], **env)
    assert proc.returncode == 0
    doc = load_report(report)
    check = subprocess.run(
        [sys.executable, "-m", "tokendoctor", "check", "--offline", "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
        check=False,
    )
    assert [c["code"] for c in doc["preflight"]["causes"]] == [c["code"] for c in json.loads(check.stdout)["causes"]]
    assert "TD101" in [c["code"] for c in doc["preflight"]["causes"]]


def test_strict_and_no_preflight_contradict() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tokendoctor", "run", "--strict", "--no-preflight", "--", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "--strict needs the preflight" in proc.stderr


# ---------------------------------------------------------------- the sitecustomize


def test_sitecustomize_is_inert_without_botocore_and_leaves_sys_path_alone(fs_root: Path) -> None:
    code = "import sys, json; print(json.dumps({'botocore': 'botocore' in sys.modules, 'path': sys.path}))"
    plain = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    proc = td_run("--no-preflight", cmd=[sys.executable, "-c", code])
    hooked = json.loads(proc.stdout)
    assert hooked["botocore"] is False
    assert hooked["path"] == json.loads(plain.stdout)["path"]


def test_sitecustomize_chains_the_programs_own(fs_root: Path, tmp_path: Path, sts: ExpiringSts) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import sys\nsys.stderr.write('own sitecustomize ran\\n')\nMARK = 42\n")
    child = py(
        """
        import sitecustomize, boto3
        print(sitecustomize.MARK)
        c = boto3.Session(aws_access_key_id="ASIACHAINEDCHAINED01", aws_secret_access_key="chainedchainedchained",
                          aws_session_token="chainedtokenchainedtoken", region_name="us-east-1").client("sts")
        for _ in range(5):
            c.get_caller_identity()
        """
    )
    proc = td_run("--no-preflight", cmd=child, PYTHONPATH=str(own))
    err = proc.stderr.decode()
    assert err.startswith("own sitecustomize ran\n")
    assert proc.stdout == b"42\n"
    assert "TD511 static-session-in-code" in err, "the hook is active as well"


def test_for_in_the_preflight_is_the_seed_story(fs_root: Path, tmp_path: Path) -> None:
    """The seed: an exported one-hour session and a 6-hour job. With --strict --for 6h the job does not start."""
    marker = tmp_path / "started"
    env = {
        "AWS_ACCESS_KEY_ID": "ASIASEEDSEEDSEED0001",
        "AWS_SECRET_ACCESS_KEY": "forSECRETmarker0001",
        "AWS_SESSION_TOKEN": "forTOKENmarker0002",
    }
    cmd = py(f"open({str(marker)!r}, 'w').write('x')")
    proc = td_run("--strict", "--for", "6h", cmd=cmd, **env)
    err = proc.stderr.decode()
    assert proc.returncode == 1 and not marker.exists(), err
    assert "TD220 credentials-do-not-last" in err
    # the same job without --for only warns about the exported session, and starts
    proc = td_run("--strict", cmd=cmd, **env)
    assert proc.returncode == 0 and marker.exists()
    assert "forSECRETmarker0001" not in err and "forTOKENmarker0002" not in err


def test_for_is_bounded_and_needs_the_preflight() -> None:
    for args, text in ((["--for", "0"], "--for"), (["--for", "1h", "--no-preflight"], "drop --no-preflight")):
        proc = subprocess.run(
            [sys.executable, "-m", "tokendoctor", "run", *args, "--", "true"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 2 and text in proc.stderr
