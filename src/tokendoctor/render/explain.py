"""Renderers for ``tokendoctor explain``: the terminal text and the versioned JSON document.  Layout only."""

from __future__ import annotations

import dataclasses
import io
import json
import re
from typing import Any

from rich.console import Console
from rich.markup import escape

from tokendoctor import __version__, redact
from tokendoctor.explain.model import Explanation
from tokendoctor.render.text import print_causes
from tokendoctor.timefmt import span

SCHEMA_VERSION = 1
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "unrecognised": "bold"}
DEADLINE_NOTE = (
    "The --timeout deadline ran out before the whole text was read: this is what was found so far "
    "(give a longer --timeout, or paste only the lines around the error)."
)
# Beyond redact.neutralise's control characters: the Unicode bidirectional overrides, which reorder what
# a terminal shows; and tab/newline, since every field of a pasted text is shown on one line.
_EXTRA = re.compile(r"[\t\n\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), never sent to the terminal."""
    text = redact.neutralise(text)
    return _EXTRA.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}", text)


def _neutral(value: Any) -> Any:
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_neutral(v) for v in value)
    if isinstance(value, dict):
        return {k: _neutral(v) for k, v in value.items()}
    return value


def _neutral_explanation(explanation: Explanation) -> Explanation:
    """Every string that came from the pasted text, neutralised (the catalogue's own text is left alone)."""
    error = dataclasses.replace(
        explanation.error,
        **{f.name: _neutral(getattr(explanation.error, f.name)) for f in dataclasses.fields(explanation.error)},
    )
    causes = tuple(dataclasses.replace(c, evidence=_neutral(c.evidence)) for c in explanation.causes)
    return dataclasses.replace(explanation, error=error, causes=causes)


def document(explanation: Explanation) -> dict[str, Any]:
    """The JSON document (resources/explain.schema.json)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "explain",
        "tool_version": __version__,
        "status": explanation.status,
        "exit_code": explanation.exit_code,
        "error": explanation.error.to_dict(),
        "causes": [c.to_dict() for c in explanation.causes],
        "confirm": list(explanation.confirm),
        "deadline_reached": explanation.deadline_reached,
    }


def render_json(explanation: Explanation, **_: Any) -> str:
    return json.dumps(document(explanation), indent=2, default=str) + "\n"


def render_text(
    explanation: Explanation, *, color: bool = False, width: int = 100, verbose: bool = False, **_: Any
) -> str:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=color, no_color=not color, width=width, highlight=False, soft_wrap=True)
    out = console.print
    explanation = _neutral_explanation(explanation)
    err = explanation.error
    if explanation.deadline_reached:
        out(f"[yellow]{escape(DEADLINE_NOTE)}[/]")
    if not explanation.recognised:
        out("[bold]Not recognised:[/] no AWS credential, token or clock error found in this text.")
        out("Paste the whole message (the line with the error code and the request id), or run `tokendoctor check`.")
        out(f"[dim]exit code {explanation.exit_code}[/]")
        return buf.getvalue()
    where = " ".join(x for x in (err.service, err.operation) if x)
    head = f"{err.family} ({err.category})"
    if where:
        head += f" from {where}"
    if err.sdk:
        head += f", {err.sdk} SDK"
    out(f"[{_STYLE[explanation.status]}]{escape(head)}[/]")
    if err.code and err.code != err.family:
        out(escape(f"  error code: {err.code}"))
    if err.message:
        out(escape(f"  message: {err.message}"))
    facts = [
        f"request id {err.request_id}" if err.request_id else "",
        f"HTTP {err.http_status}" if err.http_status else "",
        f"key {err.access_key_id}" if err.access_key_id else "",
    ]
    if any(facts):
        out(escape("  " + ", ".join(f for f in facts if f)))
    if err.skew_seconds is not None:
        direction = {"ahead": "ahead of", "behind": "behind"}.get(err.skew_direction or "", "in step with")
        out(
            escape(
                f"  clock: request signed at {err.request_time}, AWS's time {err.server_time}: the signing machine's "
                "clock "
                f"was {span(err.skew_seconds, precise=True)} {direction} AWS (skew {err.skew_seconds:+d} s"
                + (f", AWS allows {err.max_skew_seconds} s)" if err.max_skew_seconds else ")")
            )
        )
    if err.expires_at and (not err.presigned or err.family == "PresignedUrlExpired"):
        out(escape(f"  expired at {err.expires_at}" + (f", AWS's time {err.server_time}" if err.server_time else "")))
    if err.presigned:
        url = err.presigned
        parts = [
            f"signed at {url['signed_at']}" if url.get("signed_at") else "",
            f"lifetime {span(url['lifetime_seconds'], precise=True)}" if url.get("lifetime_seconds") else "",
            f"valid until {url['expires_at']}" if url.get("expires_at") else "",
            f"signed with a {url['signed_with'].replace('-', ' ')}" if url.get("signed_with") else "",
        ]
        out(escape("  presigned URL: " + ", ".join(p for p in parts if p)))
    if verbose and err.clues:
        out(escape(f"  clues: {', '.join(err.clues)}"))
    out()
    print_causes(console, explanation.causes, verbose=verbose)
    if explanation.confirm:
        out(
            "[bold]Confirm on the machine that failed[/]"
            + (" (PID = the failing process's id)" if any("PID" in c for c in explanation.confirm) else "")
        )
        for command in explanation.confirm:
            out(f"  {escape(command)}")
    out(f"[dim]exit code {explanation.exit_code}[/]")
    return buf.getvalue()


def get_renderer(fmt: str) -> Any:
    return render_json if fmt == "json" else render_text
