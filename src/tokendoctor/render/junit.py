"""``--format junit``: JUnit XML for CI test reports (GitLab, Jenkins, Azure DevOps, CircleCI).

One ``<testcase>`` per check.  A cause that fails the run (error level, or warning level under
``--fail-on warning``) is a ``<failure>`` of the check that found it; other causes go to that
test case's ``<system-out>``.  A check that crashed or timed out is an ``<error>``, a skipped
check ``<skipped>``.  The shape follows the Jenkins/Ant JUnit schema (tests/junit/jenkins-junit.xsd).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

from tokendoctor import __version__
from tokendoctor.models import CheckResult, RankedCause, Report

#: Characters XML 1.0 cannot carry at all (escaping does not help): dropped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
SUITE = "tokendoctor check"
#: Causes that mean "tokendoctor could not check" (a crash, a timeout): an <error>, not a <failure>.
_TOOL_CODES = ("TD901", "TD902")


def _same(text: str) -> str:
    return text


def _ident(code: str, evidence: dict[str, Any]) -> tuple[str, str]:
    return code, json.dumps(evidence, sort_keys=True, default=str)


def _by_check(report: Report) -> dict[str, list[RankedCause]]:
    """The ranked causes of each check, in ranked order (a cause two checks found goes to the first)."""
    origin: dict[tuple[str, str], str] = {}
    for check in report.checks:
        for finding in check.findings:
            origin.setdefault(_ident(finding.code, finding.evidence), check.name)
    grouped: dict[str, list[RankedCause]] = {c.name: [] for c in report.checks}
    for cause in report.causes:
        grouped.setdefault(origin.get(_ident(cause.code, cause.evidence), "causes"), []).append(cause)
    return grouped


def _text(cause: RankedCause, redact: Callable[[str], str]) -> str:
    evidence = ", ".join(f"{k}={v}" for k, v in cause.evidence.items() if v not in (None, "", []))
    lines = [f"{cause.severity.upper()} {cause.code} {cause.name}: {cause.title}", f"why: {cause.why}"]
    if evidence:
        lines.append(f"seen: {evidence}")
    lines.append(f"fix: {cause.fix}")
    return _NOT_XML.sub("", redact("\n".join(lines)))


def _clean(value: str, redact: Callable[[str], str]) -> str:
    return _NOT_XML.sub("", redact(value))


def _case(
    suite: ET.Element,
    check: CheckResult | None,
    name: str,
    causes: Sequence[RankedCause],
    failing: set[str],
    redact: Callable[[str], str],
) -> tuple[int, int, int]:
    case = ET.SubElement(suite, "testcase", name=name, classname="tokendoctor.check")
    case.set("time", f"{(check.duration_ms if check else 0) / 1000:.3f}")
    skipped = errors = failures = 0
    # Element order is the schema's: skipped, error*, failure*, system-out*.
    if check is not None and check.status == "skipped":
        ET.SubElement(case, "skipped").text = _clean(check.detail or "skipped", redact)
        skipped = 1
    if check is not None and check.status in ("error", "timeout"):
        own = next((c for c in causes if c.code in _TOOL_CODES), None)
        kind = f"{own.code} {own.name}" if own else check.status
        err = ET.SubElement(case, "error", type=kind, message=_clean(check.detail or check.status, redact))
        err.text = _text(own, redact) if own else _clean(check.detail or check.status, redact)
        errors = 1
    quiet = []
    for cause in causes:
        if cause.severity in failing and cause.code not in _TOOL_CODES:
            fail = ET.SubElement(
                case, "failure", type=f"{cause.code} {cause.name}", message=_clean(cause.title, redact)
            )
            fail.text = _text(cause, redact)
            failures += 1
        elif not (errors and cause.code in _TOOL_CODES):
            quiet.append(_text(cause, redact))
    if quiet:
        ET.SubElement(case, "system-out").text = "\n\n".join(quiet)
    return skipped, errors, failures


def render(report: Report, *, fail_on: str = "error", redact: Callable[[str], str] = _same, **_: Any) -> str:
    failing = {"error", "warning"} if fail_on == "warning" else {"error"}
    root = ET.Element("testsuites", name="tokendoctor")
    suite = ET.SubElement(root, "testsuite", name=SUITE)
    hostname = (report.sections.get("host") or {}).get("hostname")
    if hostname:
        suite.set("hostname", _clean(str(hostname), redact))
    props = ET.SubElement(suite, "properties")
    method = ((report.sections.get("credentials") or {}).get("resolved") or {}).get("method") or "none"
    facts = (
        ("tool_version", __version__),
        ("status", report.status),
        ("exit_code", str(report.exit_code)),
        ("fail_on", fail_on),
        ("credentials_method", method),
    )
    for key, value in facts:
        ET.SubElement(props, "property", name=key, value=_clean(value, redact))
    grouped = _by_check(report)
    totals = [0, 0, 0]
    cases = 0
    checks = {c.name: c for c in report.checks}
    for name, causes in grouped.items():
        counts = _case(suite, checks.get(name), name, causes, failing, redact)
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        cases += 1
    seconds = f"{sum(c.duration_ms for c in report.checks) / 1000:.3f}"
    suite.set("tests", str(cases))
    suite.set("skipped", str(totals[0]))
    suite.set("errors", str(totals[1]))
    suite.set("failures", str(totals[2]))
    suite.set("time", seconds)
    for key, value in (("tests", cases), ("errors", totals[1]), ("failures", totals[2])):
        root.set(key, str(value))
    root.set("time", seconds)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
