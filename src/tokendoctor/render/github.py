"""``--format github``: GitHub Actions workflow commands, and the job summary in Markdown.

One ``::error``/``::warning``/``::notice`` line per ranked cause (title, why and fix in the
message), then one plain verdict line.  Escaping follows GitHub's toolkit
(actions/toolkit packages/core/src/command.ts): data ``%`` ``\\r`` ``\\n`` -> ``%25`` ``%0D``
``%0A``; properties additionally ``:`` ``,`` -> ``%3A`` ``%2C``.  The Markdown for
``$GITHUB_STEP_SUMMARY`` comes from :func:`summary`; the CLI writes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tokendoctor.models import RankedCause, Report

_COMMAND = {"error": "error", "warning": "warning", "info": "notice"}
_VERDICT = {
    "ok": "tokendoctor: OK, no cause for ExpiredToken found",
    "warning": "tokendoctor: WARNING, these credentials will (or may) fail with ExpiredToken",
    "error": "tokendoctor: PROBLEM, this is why AWS calls fail",
}
#: A step summary may hold 1 MiB; stay well below.
MAX_SUMMARY_CHARS = 64 * 1024


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    """One workflow command line: ``::name key=value,key=value::message``."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items() if value)
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _same(text: str) -> str:
    return text


def _message(cause: RankedCause, redact: Callable[[str], str]) -> str:
    return redact(f"{cause.title}\nwhy: {cause.why}\nfix: {cause.fix}")


def render(report: Report, *, redact: Callable[[str], str] = _same, **_: Any) -> str:
    lines = []
    for cause in report.causes:
        title = redact(f"{cause.code} {cause.name}")
        lines.append(command(_COMMAND[cause.severity], _message(cause, redact), title=title))
    checks = ", ".join(f"{c.name} {c.status}" for c in report.checks)
    method = ((report.sections.get("credentials") or {}).get("resolved") or {}).get("method") or "none"
    facts = f"credentials: {method}; {len(report.causes)} cause(s); checks: {checks}; exit code {report.exit_code}"
    lines.append(f"{_VERDICT[report.status]} ({facts})")
    return "\n".join(lines) + "\n"


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>&~])")


def md_text(value: str) -> str:
    """Inline Markdown text: backslash-escape markup, no raw HTML, one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(value.split()))


def _fence(value: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{value}\n{fence}"


def summary(report: Report, *, redact: Callable[[str], str] = _same) -> str:
    """The job summary: verdict, the causes with why and fix, the checks table."""
    icon = {"ok": "✅", "warning": "⚠️", "error": "❌"}[report.status]
    out = [f"## {icon} tokendoctor: {md_text(_VERDICT[report.status].split(': ', 1)[1])}", ""]
    for i, cause in enumerate(report.causes, 1):
        out.append(
            f"### {i}. {cause.severity.upper()} {cause.code} {md_text(cause.name)}: {md_text(redact(cause.title))}"
        )
        out.append("")
        out.append(f"**Why:** {md_text(redact(cause.why))}")
        out.append("")
        out.append("**Fix:**")
        out.append("")
        out.append(_fence(redact(cause.fix)))
        out.append("")
    out += ["| check | status | ms |", "|---|---|---|"]
    for check in report.checks:
        out.append(f"| {md_text(check.name)} | {md_text(check.status)} | {check.duration_ms} |")
    out += ["", f"Exit code {report.exit_code}.", ""]
    text = "\n".join(out)
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 40].rsplit("\n", 1)[0] + "\n\n(summary shortened)\n"
    return text
