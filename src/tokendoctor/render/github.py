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
    """The job summary: verdict, the causes with why and fix, the checks table.

    At most :data:`MAX_SUMMARY_CHARS`: causes that do not fit are left out whole (never a cut code
    block) and counted; the annotations on stdout still carry every cause."""
    icon = {"ok": "✅", "warning": "⚠️", "error": "❌"}[report.status]
    head = f"## {icon} tokendoctor: {md_text(_VERDICT[report.status].split(': ', 1)[1])}\n\n"
    lasts = ((report.sections.get("credentials") or {}).get("lifetime") or {}).get("summary")
    if lasts:
        head += f"Lasts: {md_text(redact(lasts))}\n\n"
    table = ["| check | status | ms |", "|---|---|---|"]
    table += [f"| {md_text(c.name)} | {md_text(c.status)} | {c.duration_ms} |" for c in report.checks]
    tail = "\n".join(table) + f"\n\nExit code {report.exit_code}.\n"
    budget = MAX_SUMMARY_CHARS - len(head) - len(tail) - 80
    blocks: list[str] = []
    for i, cause in enumerate(report.causes, 1):
        block = (
            f"### {i}. {cause.severity.upper()} {cause.code} {md_text(cause.name)}: {md_text(redact(cause.title))}\n\n"
            f"**Why:** {md_text(redact(cause.why))}\n\n**Fix:**\n\n{_fence(redact(cause.fix))}\n\n"
        )
        if len(block) > budget:
            blocks.append(
                f"({len(report.causes) - i + 1} more cause(s) left out to fit the summary; see the annotations.)\n\n"
            )
            break
        budget -= len(block)
        blocks.append(block)
    return head + "".join(blocks) + tail
