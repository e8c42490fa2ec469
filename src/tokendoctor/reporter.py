"""Turn check results into a ranked, deduplicated list of causes.  Pure: no I/O.

Steps that need several checks' results (the clock's offset applied to the credentials' expiry, the
SDK adjustment) are handed in as ``post_steps``; the registry declares them
(:data:`tokendoctor.checks.POST_STEPS`), so the ranker knows no check by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from tokendoctor import catalogue
from tokendoctor.exitcodes import FailOn, exit_code
from tokendoctor.models import SEVERITY_ORDER, CheckResult, Finding, RankedCause, Report, ReportStatus


def _join(finding: Finding) -> RankedCause:
    cause = catalogue.get(finding.code)
    return RankedCause(
        code=cause.code,
        name=cause.name,
        severity=finding.severity or cause.severity,
        title=finding.title or cause.title,
        why=cause.why,
        evidence=dict(finding.evidence),
        fix=finding.fix or cause.fix,
    )


def _key(cause: RankedCause) -> tuple[int, int, str]:
    return (SEVERITY_ORDER[cause.severity], catalogue.get(cause.code).priority, cause.code)


PostStep = Callable[[Sequence[CheckResult]], list[CheckResult]]


def derive(results: Sequence[CheckResult], post_steps: Sequence[PostStep] = ()) -> list[CheckResult]:
    """Apply the post-steps in order (pure)."""
    out = list(results)
    for step in post_steps:
        out = step(out)
    return out


def rank(results: Sequence[CheckResult], *, fail_on: FailOn = "error", post_steps: Sequence[PostStep] = ()) -> Report:
    results = derive(results, post_steps)
    seen: set[tuple[str, str]] = set()
    causes: list[RankedCause] = []
    for result in results:
        for finding in result.findings:
            ident = (finding.code, json.dumps(finding.evidence, sort_keys=True, default=str))
            if ident in seen:
                continue
            seen.add(ident)
            causes.append(_join(finding))
    causes.sort(key=_key)
    severities = {c.severity for c in causes}
    status: ReportStatus = "error" if "error" in severities else "warning" if "warning" in severities else "ok"
    return Report(
        status=status,
        exit_code=exit_code(causes, results, fail_on),
        causes=tuple(causes),
        checks=tuple(results),
        sections={r.name: r.data for r in results if r.data},
    )
