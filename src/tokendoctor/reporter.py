"""Turn check results into a ranked, deduplicated list of causes.  Pure: no I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence

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


def derive(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Pure step before ranking: data and findings that need several checks' results
    (the clock's offset applied to the credentials' expiry, the IMDS Date header as a clock reference)."""
    from tokendoctor.checks.clock import combine
    from tokendoctor.checks.sdk import adjust

    return adjust(combine(results))


def rank(results: Sequence[CheckResult], *, fail_on: FailOn = "error") -> Report:
    results = derive(results)
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
