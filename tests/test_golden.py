"""Golden reports: the exact text and JSON output for a set of varied machine states.

Recorded before the issue-8 restructuring and kept since: a change in what users see must be a
deliberate edit of ``tests/golden/``, not a side effect of moving code.  The states reuse the
rank-first table's builders (``tests/test_ranking.py``); what legitimately varies between runs
(instants, relative durations, timings, temp paths, loopback ports) is normalised first.

Re-record after a deliberate output change with ``TOKENDOCTOR_RECORD_GOLDEN=1 pytest tests/test_golden.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.conftest import Machine
from tests.test_ranking import TABLE, Setup
from tokendoctor.cli import main

GOLDEN = Path(__file__).parent / "golden"
CORPUS = Path(__file__).parent / "corpus" / "explain"

#: Varied states: env sessions, shadowing, files, SSO, web identity, SDK tables, --pid, IMDS,
#: container, NTP, nothing at all.  Each is recorded as JSON and as the verbose text report.
STATES = (
    "TD101", "TD102", "TD104", "TD106", "TD107", "TD201", "TD202", "TD204", "TD205", "TD206",
    "TD207", "TD209", "TD304", "TD306", "TD401", "TD504", "TD506", "TD507", "TD509",
)  # fmt: skip
#: The clock table's wording depends on the sign of a live offset measurement against the IMDS Date header.
TEXT_VARIES = ("TD304",)
EXPLAINED = (
    "cli-s3-expired-token.txt",
    "java-v1-s3-expired-token.txt",
    "python-signature-expired.txt",
    "go-v2-imds-no-role.txt",
    "s3-raw-http-expired-token-with-secrets.txt",
)

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?"), "<TIME>"),
    (re.compile(r"\b\d\d:\d\d(:\d\d)?Z"), "<TIME>"),
    (re.compile(r'"([a-z_]*(seconds|_ms)[a-z_]*)": -?[\d.e+-]+'), r'"\1": <N>'),
    # how the clock's sign changes the SDK's refresh moment (a live offset against the IMDS Date header)
    (re.compile(r"\(AWS time\); (the clock is \S+ s \w+, so )?the SDK refreshes[^\"│\n]*"), "(AWS time); <REFRESH "
                                                                                            "EFFECT>"),
    (re.compile(r"-?\d+(\.\d+)?( ?)(ms|s|sec|min|h|d|days?|hours?|minutes?|seconds?)\b"), r"<N>\2\3"),
    (re.compile(r"(127\.0\.0\.1|localhost|\[::1\]):\d+"), r"\1:<PORT>"),
    (re.compile(r"\b([a-z_]+_(seconds|ms|ago))=[^,\s]+"), r"\1=<N>"),
    (re.compile(r"\b(seconds_[a-z_]+)=[^,\s]+"), r"\1=<N>"),
    (re.compile(r"\((ahead|behind)\)"), "(ahead/behind)"),
    (re.compile(r"/tmp/pytest-of-[^/\s]+/pytest-\d+/\S*"), "<TMP>"),
    (re.compile(r"(?<![\d.])-?\d+\.\d+(?![\d.])"), "<F>"),
    (re.compile(r"[━─]+"), "─"),
    (re.compile(r"[+-]?<N>(e-?\d+)?"), "<N>"),
    (re.compile(r" +"), " "),
)  # fmt: skip


def normalise(text: str, base: Path) -> str:
    text = text.replace(str(base), "<BASE>")
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    for pattern, repl in _RULES:
        text = pattern.sub(repl, text)
    return text


def _compare(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TOKENDOCTOR_RECORD_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"no golden file {path}; record it with TOKENDOCTOR_RECORD_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{name} differs from its golden copy"


def _run(code: str, machine: Machine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
         extra: list[str]) -> str:  # fmt: skip
    with ExitStack() as stack:
        setup = Setup(stack=stack, monkeypatch=monkeypatch)
        TABLE[code].build(machine, setup)
        for name in setup.unset:
            monkeypatch.delenv(name, raising=False)
        for name, value in machine.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("TOKENDOCTOR_FS_ROOT", str(machine.root))
        if setup.online and "--ntp-server" not in setup.args:
            setup.ntp()
        if setup.online and "--timeout" not in setup.args:
            setup.args += ["--timeout", "4"]
        argv = ["check", *extra, *([] if setup.online else ["--offline"]), *setup.args]
        capsys.readouterr()
        rc = main(argv)
        out = capsys.readouterr()
    return f"exit {rc}\n{out.out}" + (f"--- stderr\n{out.err}" if out.err else "")


@pytest.mark.parametrize("code", STATES)
def test_check_json_is_unchanged(code: str, machine: Machine, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    raw = _run(code, machine, monkeypatch, capsys, ["--json"])
    head, _, body = raw.partition("\n")
    doc = json.loads(body)
    doc.pop("tool_version", None)
    for check in doc.get("checks", []):
        check.pop("duration_ms", None)
    _compare(
        f"check-{code}.json", normalise(head + "\n" + json.dumps(doc, indent=1, sort_keys=True) + "\n", machine.base)
    )


@pytest.mark.parametrize("code", [c for c in STATES if c not in TEXT_VARIES])
def test_check_text_is_unchanged(code: str, machine: Machine, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    raw = _run(code, machine, monkeypatch, capsys, ["-v"])
    _compare(f"check-{code}.txt", normalise(raw, machine.base))


@pytest.mark.parametrize("name", EXPLAINED)
def test_explain_is_unchanged(name: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (CORPUS / name).read_text(encoding="utf-8")
    out = []
    for args in (["--json"], ["-v"]):
        rc = main(["explain", *args, text])
        out.append(f"exit {rc}\n{capsys.readouterr().out}")
    _compare(f"explain-{name}", normalise("".join(out), tmp_path))
