"""``--format github`` and ``--format junit`` through the real CLI.

GitHub lines are parsed back with the runner's own rules (a ``::name props::message`` line,
properties split on ``,`` and ``=``, then ``%0D %0A %3A %2C %25`` unescaped); the JUnit XML is
validated against the Jenkins/Ant JUnit schema in tests/junit/.
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import xmlschema

from tests.conftest import Machine
from tokendoctor.cli import main
from tokendoctor.models import CheckResult, Finding, RankedCause, Report
from tokendoctor.render.github import command, escape_data, escape_property, md_text, render, summary
from tokendoctor.render.junit import render as render_junit

XSD = xmlschema.XMLSchema(str(Path(__file__).parent / "junit" / "jenkins-junit.xsd"))
SESSION_ENV = {
    "AWS_ACCESS_KEY_ID": "ASIACIRENDERSESSWXYZ",
    "AWS_SECRET_ACCESS_KEY": "ci-secret-MARKER-91ab",
    "AWS_SESSION_TOKEN": "ci-token-MARKER-5e2d",
}
MARKERS = ("ci-secret-MARKER-91ab", "ci-token-MARKER-5e2d")
_LINE = re.compile(r"^::(?P<name>[a-z-]+)(?: (?P<props>[^:]*))?::(?P<message>.*)$")
_UNESCAPE = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))


def _unescape(value: str) -> str:
    # The runner's order (actions/runner ActionCommand.cs): %25 last, so "%253A" stays "%3A".
    for escaped, raw in _UNESCAPE:
        value = value.replace(escaped, raw)
    return value


def parse_github(text: str) -> list[dict[str, Any]]:
    """Every workflow command in ``text``; asserts each line is one command or plain text."""
    commands = []
    for line in text.splitlines():
        if not line.startswith("::"):
            continue
        match = _LINE.match(line)
        assert match, f"not a workflow command: {line!r}"
        props = {}
        for pair in (match["props"] or "").split(","):
            if pair:
                key, _, value = pair.partition("=")
                props[key] = _unescape(value)
        commands.append({"name": match["name"], "props": props, "message": _unescape(match["message"])})
    return commands


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _run(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    for name, value in machine.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
    rc = main(["check", "--offline", *args])
    out = capsys.readouterr()
    for marker in MARKERS:
        assert marker not in out.out and marker not in out.err
    return rc, out.out, out.err


# ------------------------------------------------------------------ escaping


def test_escaping_follows_githubs_rules() -> None:
    assert escape_data("50% done\r\nnext: a, b") == "50%25 done%0D%0Anext: a, b"
    assert escape_property("a: b, c%\n") == "a%3A b%2C c%25%0A"
    line = command("error", "x\ny::z", title="T:1,2")
    assert line == "::error title=T%3A1%2C2::x%0Ay::z"
    assert parse_github(line) == [{"name": "error", "props": {"title": "T:1,2"}, "message": "x\ny::z"}]


def test_markdown_text_cannot_inject_html_or_break_a_table() -> None:
    assert md_text("<img src=x onerror=1> | `x`\nnext") == r"\<img src=x onerror=1\> \| \`x\` next"


# ------------------------------------------------------------------ github through the CLI


def test_github_warning_then_error_with_fail_on(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(SESSION_ENV)  # TD101: a warning
    rc, out, _ = _run(machine, monkeypatch, capsys, "--format", "github")
    commands = parse_github(out)
    assert rc == 0
    assert commands[0]["name"] == "warning"
    assert commands[0]["props"]["title"] == "TD101 static-temporary-env"
    assert "fix: These are a copy of one STS session" in commands[0]["message"]
    assert out.splitlines()[-1].startswith("tokendoctor: WARNING")
    rc, out, _ = _run(machine, monkeypatch, capsys, "--format", "github", "--fail-on", "warning")
    assert rc == 1  # the exit-code contract does not depend on the format


def test_github_error_and_step_summary(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    machine.env.update(
        SESSION_ENV, AWS_CREDENTIAL_EXPIRATION=(_now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    summary_file = tmp_path / "step_summary.md"
    summary_file.write_text("earlier step\n")
    machine.env["GITHUB_STEP_SUMMARY"] = str(summary_file)
    rc, out, err = _run(machine, monkeypatch, capsys, "--format", "github")
    assert rc == 1 and not err
    commands = parse_github(out)
    assert commands[0]["name"] == "error" and commands[0]["props"]["title"] == "TD202 credentials-expired"
    assert {c["props"]["title"].split()[0] for c in commands} >= {"TD202", "TD101"}
    md = summary_file.read_text()
    assert md.startswith("earlier step\n## ❌ tokendoctor")  # appended, never truncated
    assert "### 1. ERROR TD202 credentials-expired: " in md
    assert "| credentials | ok |" in md
    for marker in MARKERS:
        assert marker not in md


def test_github_summary_path_that_is_not_a_file_is_a_warning_not_a_failure(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    machine.env.update(SESSION_ENV, GITHUB_STEP_SUMMARY=str(tmp_path))  # a directory
    rc, out, err = _run(machine, monkeypatch, capsys, "--format", "github")
    assert rc == 0 and parse_github(out)
    assert err.startswith("tokendoctor: warning: could not write the job summary")


def test_no_summary_without_the_variable(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    machine.env.update(SESSION_ENV)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    _rc, out, _ = _run(machine, monkeypatch, capsys, "--format", "github")
    assert parse_github(out) and list(cwd.iterdir()) == []


def test_github_hostile_values_stay_on_one_line(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = "job,x:y%0A::error::injected\r\n::warning::also"
    machine.env["AWS_PROFILE"] = hostile  # a profile that does not exist: its name is in the evidence and fix
    machine.config("[default]\nregion = us-east-1\n")
    _rc, out, _ = _run(machine, monkeypatch, capsys, "--format", "github", "-v")
    commands = parse_github(out)
    assert commands, out
    assert not any("injected" in c["message"].split("\n")[0][:9] for c in commands)
    assert all(c["name"] in ("error", "warning", "notice") for c in commands)
    assert sum(1 for line in out.splitlines() if line.startswith("::")) == len(commands)
    assert any(hostile in c["message"] for c in commands), "the hostile name must round-trip intact"


# ------------------------------------------------------------------ junit


def _junit(out: str) -> ET.Element:
    XSD.validate(out)
    return ET.fromstring(out)


def test_junit_failure_per_error_cause_and_warnings_as_system_out(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(
        SESSION_ENV, AWS_CREDENTIAL_EXPIRATION=(_now() - dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    rc, out, _ = _run(machine, monkeypatch, capsys, "--format", "junit")
    assert rc == 1
    root = _junit(out)
    suite = root.find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert "credentials" in cases and "clock" in cases
    failures = cases["credentials"].findall("failure")
    assert [f.get("type") for f in failures] == ["TD202 credentials-expired"]
    assert "fix:" in (failures[0].text or "")
    assert "TD101 static-temporary-env" in (cases["credentials"].findtext("system-out") or "")
    assert suite.get("failures") == root.get("failures") == "1"
    assert suite.get("tests") == str(len(cases))
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["exit_code"] == "1" and props["status"] == "error"


def test_junit_fail_on_warning_makes_warnings_failures(
    machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    machine.env.update(SESSION_ENV)
    rc, out, _ = _run(machine, monkeypatch, capsys, "--format", "junit")
    assert rc == 0 and _junit(out).get("failures") == "0"
    rc, out, _ = _run(machine, monkeypatch, capsys, "--format", "junit", "--fail-on", "warning")
    root = _junit(out)
    assert rc == 1 and root.get("failures") == "1"
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None and failure.get("type") == "TD101 static-temporary-env"


def test_junit_skipped_crashed_and_timed_out_checks() -> None:
    checks = (
        CheckResult(name="ok", duration_ms=12),
        CheckResult(name="skip", status="skipped", detail="not on EC2"),
        CheckResult(
            name="boom",
            status="error",
            detail="ValueError: x",
            findings=(Finding(code="TD901", evidence={"check": "boom"}),),
        ),
        CheckResult(
            name="slow",
            status="timeout",
            detail="did not finish within 5s",
            findings=(Finding(code="TD902", evidence={"check": "slow"}),),
        ),
    )
    causes = tuple(
        RankedCause(code=code, name=name, severity="error", title=name, why="w", evidence={"check": check}, fix="f")
        for code, name, check in (("TD901", "check-crashed", "boom"), ("TD902", "check-timed-out", "slow"))
    )
    report = Report(status="error", exit_code=3, causes=causes, checks=checks, sections={})
    root = _junit(render_junit(report))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["skip"].find("skipped") is not None
    assert cases["boom"].find("error") is not None and cases["slow"].find("error") is not None
    assert cases["boom"].find("failure") is None  # the crash is an <error>, not also a failure
    assert root.get("errors") == "2" and root.get("failures") == "0"
    assert cases["ok"].get("time") == "0.012"


def test_renderers_apply_the_redactor_before_escaping() -> None:
    secret = "sec%ret&<MARK>\nline2"
    cause = RankedCause(
        code="TD101",
        name="static-temporary-env",
        severity="error",
        title=f"t {secret}",
        why="w",
        evidence={"x": secret},
        fix=f"f {secret}",
    )
    check = CheckResult(name="credentials", findings=(Finding(code="TD101", evidence={"x": secret}),))
    report = Report(status="error", exit_code=1, causes=(cause,), checks=(check,), sections={})

    def redact(text: str) -> str:
        return text.replace(secret, "****")

    for text in (render(report, redact=redact), render_junit(report, redact=redact), summary(report, redact=redact)):
        assert "sec%" not in text and "MARK" not in text and "****" in text
    XSD.validate(render_junit(report, redact=redact))


def test_junit_drops_characters_xml_cannot_carry() -> None:
    cause = RankedCause(
        code="TD205", name="n", severity="error", title="bad \x00\x1b byte", why="w", evidence={}, fix="f"
    )
    report = Report(
        status="error",
        exit_code=1,
        causes=(cause,),
        checks=(CheckResult(name="credentials", findings=(Finding(code="TD205"),)),),
        sections={},
    )
    root = _junit(render_junit(report))
    assert root.find("testsuite/testcase/failure").get("message") == "bad  byte"  # type: ignore[union-attr]


def test_the_job_summary_is_bounded_and_never_cuts_a_code_block() -> None:
    fix = "```\n" + "x" * 3000 + "\n```"  # backticks inside the fix: the fence must be longer
    causes = tuple(
        RankedCause(
            code="TD101",
            name="static-temporary-env",
            severity="warning",
            title=f"t{i}",
            why="w",
            evidence={"i": i},
            fix=fix,
        )
        for i in range(100)
    )
    report = Report(
        status="warning", exit_code=0, causes=causes, checks=(CheckResult(name="credentials"),), sections={}
    )
    md = summary(report)
    assert len(md) <= 64 * 1024
    assert "more cause(s) left out to fit the summary" in md and md.endswith("Exit code 0.\n")
    shown = md.count("### ")
    assert 10 < shown < 100
    assert md.count("````text\n") == shown and md.count("\n````\n") == shown  # every block closed
