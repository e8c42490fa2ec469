"""Plain, frozen data passed between checks, the ranker and the renderers.

Nothing in this module does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
CheckStatus = Literal["ok", "skipped", "error", "timeout"]
ProviderStatus = Literal["used", "shadowed", "absent", "not-checked", "error"]
ReportStatus = Literal["ok", "warning", "error"]

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One observed cause, as produced by a check.

    ``evidence`` holds small JSON-ready facts (never a secret).  ``fix`` is the
    concrete remedy for what was found; when empty the catalogue's generic fix
    is used.  ``severity`` overrides the catalogue's default when set.
    """

    code: str
    evidence: dict[str, Any] = field(default_factory=dict)
    fix: str = ""
    severity: Severity | None = None
    title: str = ""


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """What one check module returned: its findings plus data for the report."""

    name: str
    status: CheckStatus = "ok"
    findings: tuple[Finding, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)
    duration_ms: int = 0
    detail: str = ""
    traceback: str = ""
    """The masked traceback of a crashed check, kept only with ``--debug`` (printed to stderr, never in a report)."""


@dataclass(frozen=True, kw_only=True)
class RankedCause:
    """A finding joined with its catalogue entry, in the order the ranker chose."""

    code: str
    name: str
    severity: Severity
    title: str
    why: str
    evidence: dict[str, Any]
    fix: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "severity": self.severity,
            "title": self.title,
            "evidence": self.evidence,
            "fix": self.fix,
        }


@dataclass(frozen=True, kw_only=True)
class Report:
    """Everything a renderer needs; built by :func:`tokendoctor.reporter.rank`."""

    status: ReportStatus
    exit_code: int
    causes: tuple[RankedCause, ...]
    checks: tuple[CheckResult, ...]
    sections: dict[str, Any]
    """Per-check data keyed by section name (``credentials``, ``platform``, ``clock``, ...)."""
