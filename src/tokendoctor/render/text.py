"""The terminal report: verdict first, then ranked causes with fixes, then the chain table."""

from __future__ import annotations

import io
import shutil
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tokendoctor.models import CheckResult, RankedCause, Report
from tokendoctor.redact import neutralise
from tokendoctor.timefmt import relative, span

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "ok": "bold green"}
_VERDICT = {
    "ok": "OK: no cause for ExpiredToken found",
    "warning": "WARNING: these credentials will (or may) fail with ExpiredToken",
    "error": "PROBLEM: this is why AWS calls fail",
}


_LABELS = {"imds": "IMDS", "web_identity": "Web identity", "sdk": "SDK"}


def _label(section: str) -> str:
    return _LABELS.get(section, section.replace("_", " ").capitalize())


def print_causes(console: Console, causes: Sequence[RankedCause], *, verbose: bool = False) -> None:
    """The ranked causes with why and fix (shared by ``check`` and ``explain``)."""
    if not causes:
        return
    out = console.print
    out("[bold]Likely causes, most likely first[/]")
    for i, cause in enumerate(causes, 1):
        out(
            f"{i}. [{_STYLE[cause.severity]}]{cause.severity.upper()}[/] {cause.code} {cause.name}: "
            f"{escape(cause.title)}"
        )
        out(f"   [dim]why:[/] {escape(cause.why)}")
        if verbose and cause.evidence:
            ev = ", ".join(f"{k}={v}" for k, v in cause.evidence.items() if v not in (None, "", []))
            out(f"   [dim]seen:[/] {escape(ev)}")
        fix_lines = cause.fix.splitlines() or [""]
        out(f"   [bold]fix:[/] {escape(fix_lines[0])}")
        for line in fix_lines[1:]:
            out(f"        {escape(line)}")
    out()


def _links_table(console: Console, lifetime: dict[str, Any]) -> None:
    """-v: the links from the program to AWS, each with its expiry and what renews it."""
    table = Table(title="Lifetime: links from the program to AWS", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("link")
    table.add_column("expires")
    table.add_column("renewed by")
    limiting = lifetime.get("limiting_link")
    for i, link in enumerate(lifetime["links"]):
        expires = link["expires_at"] or link["expiry"]
        if link["expires_at"] and link["expiry"] == "upper-bound":
            expires = f"at most {expires}"
        if link.get("expiry_source"):
            expires += f" ({link['expiry_source']})"
        mark = " [limits]" if i == limiting else (" [stale]" if link.get("stale") else "")
        table.add_row(str(i + 1), escape(link["label"] + mark), escape(expires), escape(link["refresher"]))
    console.print(table, soft_wrap=False)
    if lifetime.get("presigned_url_basis"):
        most = lifetime.get("presigned_url_max_seconds")
        head = f"{span(most)}" if most is not None else "unknown"
        console.print(escape(f"Presigned URLs signed now stay valid: {head} ({lifetime['presigned_url_basis']})"))


def _neutral(value: Any) -> Any:
    """Every string in a report with its control characters neutralised (see :func:`redact.neutralise`)."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dict):
        return {_neutral(k): _neutral(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_neutral(v) for v in value)
    if isinstance(value, (RankedCause, CheckResult)):
        return replace(value, **{f.name: _neutral(getattr(value, f.name)) for f in fields(value)})
    return value


def render(report: Report, *, color: bool = False, width: int | None = None, verbose: bool = False, **_: Any) -> str:
    """Prose lines are soft-wrapped (a pipe or a CI log gets whole lines); tables fit ``width``
    (the terminal's when it is one, else 100 columns).  Text from outside never reaches the terminal
    raw: every string of the report is neutralised here, in one place."""
    report = replace(
        report, causes=_neutral(report.causes), checks=_neutral(report.checks), sections=_neutral(report.sections)
    )
    buf = io.StringIO()
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns if color else 100
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False, soft_wrap=True)
    out = console.print
    out(f"[{_STYLE[report.status]}]{_VERDICT[report.status]}[/]")
    creds = report.sections.get("credentials", {})
    resolved = creds.get("resolved") or {}
    if resolved.get("method"):
        facts = [f"source: {resolved['method']}"]
        if resolved.get("access_key_id"):
            facts.append(f"key {resolved['access_key_id']}")
        if resolved.get("temporary") is not None:
            facts.append("temporary" if resolved["temporary"] else "long-term")
        if resolved.get("refreshable") is not None:
            facts.append("refreshable" if resolved["refreshable"] else "NOT refreshable")
        if resolved.get("expires_at"):
            facts.append(f"expires {resolved['expires_at']} ({relative(resolved.get('seconds_remaining') or 0)})")
        out(escape("Credentials: " + ", ".join(facts) + f"  [profile {creds.get('profile')}]"))
    elif creds:
        out(escape(f"Credentials: none resolved  [profile {creds.get('profile')}]"))
    lifetime = creds.get("lifetime") or {}
    if lifetime.get("links"):
        out(escape(f"Lasts: {lifetime['summary']}"))
    for name, data in report.sections.items():
        summary = data.get("summary") if isinstance(data, dict) else None
        if summary and name != "credentials":
            out(escape(f"{_label(name)}: {summary}"))
    out()
    print_causes(console, report.causes, verbose=verbose)
    chain = creds.get("chain") or []
    if chain:
        table = Table(title="Credential chain (botocore order)", title_justify="left", show_lines=False)
        table.add_column("#", justify="right")
        table.add_column("provider")
        table.add_column("status")
        table.add_column("detail")
        for i, row in enumerate(chain, 1):
            style = {"used": "bold green", "shadowed": "yellow", "error": "red", "not-checked": "dim"}.get(
                row["status"], ""
            )
            table.add_row(
                str(i),
                row["provider"],
                f"[{style}]{row['status']}[/]" if style else row["status"],
                escape(row["detail"]),
            )
        console.print(table, soft_wrap=False)
    if verbose and lifetime.get("links"):
        _links_table(console, lifetime)
    sdk = report.sections.get("sdk") or {}
    if sdk.get("chain") and sdk.get("name") not in ("python", "cli-v2"):
        table = Table(
            title=f"Credential chain ({sdk['name']} order; refresh: {sdk['refresh_window']['summary']})",
            title_justify="left",
        )
        table.add_column("#", justify="right")
        table.add_column("provider")
        table.add_column("status")
        table.add_column("detail")
        for i, row in enumerate(sdk["chain"], 1):
            table.add_row(str(i), row["provider"], row["status"], escape(row["detail"]))
        console.print(table, soft_wrap=False)
    for name, data in report.sections.items():
        rows = data.get("rows") if isinstance(data, dict) else None
        if rows:
            table = Table(title=_label(name), title_justify="left")
            table.add_column("item")
            table.add_column("value")
            for key, value in rows:
                table.add_row(escape(str(key)), escape(str(value)))
            console.print(table, soft_wrap=False)
    checks = ", ".join(f"{c.name} {c.status} {c.duration_ms}ms" for c in report.checks)
    out(f"[dim]checks: {escape(checks)}; exit code {report.exit_code}[/]")
    return buf.getvalue()
