"""deploy/ssm/tokendoctor-check.json: its structure (the parts of the SSM document schema 2.2 that
can be checked offline) and its exact command lines, executed with ``sh`` against the installed
tokendoctor (NTP on loopback; the conftest guards keep every probe on loopback)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.servers.ntp import NtpResponder
from tokendoctor.cli import main

DOC_PATH = Path(__file__).resolve().parent.parent / "deploy" / "ssm" / "tokendoctor-check.json"
DOC: dict[str, Any] = json.loads(DOC_PATH.read_text(encoding="utf-8"))
REPORT_SCHEMA = json.loads(files("tokendoctor").joinpath("resources/report.schema.json").read_text(encoding="utf-8"))
PARAMETER_TYPES = {"String", "StringList", "Boolean", "Integer", "MapList", "StringMap"}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}")


def _lines() -> list[str]:
    (step,) = DOC["mainSteps"]
    return list(step["inputs"]["runCommand"])


def render(values: dict[str, str]) -> str:
    """What Run Command does with the document: replace every {{ Name }} by the parameter's value."""
    params = {name: spec.get("default", "") for name, spec in DOC["parameters"].items()} | values
    for name, value in params.items():
        spec = DOC["parameters"][name]
        assert (
            re.search(spec["allowedPattern"], value) if "allowedPattern" in spec else value in spec["allowedValues"]
        ), (name, value)
    return "\n".join(PLACEHOLDER.sub(lambda m: params[m[1]], line) for line in _lines()) + "\n"


def test_structure_of_a_schema_2_2_command_document() -> None:
    assert DOC["schemaVersion"] == "2.2"
    assert isinstance(DOC["description"], str) and DOC["description"]
    assert set(DOC) <= {"schemaVersion", "description", "parameters", "mainSteps"}
    names = [step["name"] for step in DOC["mainSteps"]]
    assert len(set(names)) == len(names)
    for step in DOC["mainSteps"]:
        assert step["action"] == "aws:runShellScript"
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,128}", step["name"])
        assert step["precondition"] == {"StringEquals": ["platformType", "Linux"]}
        assert set(step["inputs"]) <= {"runCommand", "workingDirectory", "timeoutSeconds"}
        assert all(isinstance(line, str) for line in step["inputs"]["runCommand"])
        assert 1 <= int(step["inputs"]["timeoutSeconds"]) <= 172800
    used = {m for line in _lines() for m in PLACEHOLDER.findall(line)}
    assert used == set(DOC["parameters"]), "every parameter is used and every placeholder declared"
    for name, spec in DOC["parameters"].items():
        assert re.fullmatch(r"[A-Za-z0-9]+", name)
        assert spec["type"] in PARAMETER_TYPES and spec.get("description")
        assert "allowedPattern" in spec or "allowedValues" in spec, (
            f"{name}: Run Command pastes values into a shell script"
        )
        if "allowedPattern" in spec:
            assert re.search(spec["allowedPattern"], spec["default"]), name
        else:
            assert spec["default"] in spec["allowedValues"]


@pytest.mark.parametrize(
    "hostile", ["x'; touch /tmp/pwned; '", "$(id)", "`id`", "a\nb", "a;b", "a|b", "a&b", "~root/x' '"]
)
def test_parameters_cannot_break_out_of_the_script(hostile: str) -> None:
    for name, spec in DOC["parameters"].items():
        if "allowedPattern" in spec:
            assert not re.search(spec["allowedPattern"], hostile), (name, hostile)
        else:
            assert hostile not in spec["allowedValues"]


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A VenvDir where tokendoctor is already installed: a launcher for the tokendoctor under test."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    launcher = bin_dir / "tokendoctor"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m tokendoctor "$@"\n')
    launcher.chmod(0o755)
    return tmp_path / "venv"


def _execute(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    sh = shutil.which("sh") or "/bin/sh"
    return subprocess.run([sh, "-c", script], capture_output=True, text=True, timeout=120, cwd=cwd, check=False)


def test_the_documents_command_lines_run_the_real_tokendoctor(
    venv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with NtpResponder() as ntp, NtpResponder() as ntp2:
        script = render(
            {
                "VenvDir": str(venv),
                "NtpServers": f"{ntp.address} {ntp2.address}",
                "MaxSkew": "7",
                "MinTtl": "2h",
                "Timeout": "8",
            }
        )
        (tmp_path / "[1]").write_text("")  # a file a glob of "[1]" would match: `set -f` keeps server names literal
        proc = _execute(script, tmp_path)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)  # stdout is exactly one JSON document: what S3 output collects
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["exit_code"] == proc.returncode
    assert report["clock"]["max_skew_seconds"] == 7.0
    assert report["clock"]["source"] in (ntp.address, ntp2.address) and report["clock"]["offset_seconds"] is not None
    assert report["clock"]["ntp"]["servers"] == [ntp.address, ntp2.address]
    # ...and Run Command's S3 layout is what summarize reads
    out = tmp_path / "runs" / "cmd-1" / "i-0123456789abcdef0" / "awsrunShellScript" / "tokendoctor"
    out.mkdir(parents=True)
    (out / "stdout").write_text(proc.stdout)
    (out / "stderr").write_text(proc.stderr)
    rc = main(["summarize", "--json", str(tmp_path / "runs")])
    summary = json.loads(capsys.readouterr().out)
    assert summary["reports"] == 1 and summary["unreadable"]["count"] == 0 and rc == report["exit_code"]


def test_default_parameters_run_too(venv: Path, tmp_path: Path) -> None:
    proc = _execute(render({"VenvDir": str(venv), "Timeout": "6"}), tmp_path)  # NtpServers empty: an empty `for` list
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    jsonschema.validate(report, REPORT_SCHEMA)
    assert report["clock"]["max_skew_seconds"] == 5.0


def test_a_bad_value_is_tokendoctors_usage_error(venv: Path, tmp_path: Path) -> None:
    # "0" passes the allowedPattern; tokendoctor itself rejects it (exit 2, nothing on stdout), not the shell
    proc = _execute(render({"VenvDir": str(venv), "Timeout": "0"}), tmp_path)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.startswith("tokendoctor: error:")
