"""``tokendoctor.diagnose()``: the ``check`` report as data, optionally for a session's own credentials.

Stable within a major version: the function's signature, the keyword options (the fields of
:class:`tokendoctor.context.Options`), and the :class:`tokendoctor.models.Report` fields it returns.
See docs/python-api.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tokendoctor import inprocess
from tokendoctor.chain.botocore_private import botocore_session_of, inspect_credentials, session_credentials
from tokendoctor.exitcodes import FailOn
from tokendoctor.models import CheckResult, Report

SESSION_CHECK = "session"


def session_check(session: Any) -> CheckResult:
    """What a boto3/botocore session's own credentials object is, read without resolving or refreshing it."""
    core = botocore_session_of(session)
    creds = session_credentials(core)
    seen = inspect_credentials(creds)
    if seen is None:
        detail = (
            "the session has not resolved credentials yet"
            if creds is None
            else f"not a botocore credentials object: {type(creds).__name__}"
        )
        return CheckResult(name=SESSION_CHECK, data={"resolved": False, "detail": detail})
    facts = inprocess.describe(seen)
    record = {
        "event": "aws-error",
        "client": {"service": "session", "region": None, "created_at": None},
        "credentials": facts,
        "error": {},
    }
    finding = inprocess.finding_for(record)
    if finding is not None:
        evidence = {k: v for k, v in finding.evidence.items() if k not in ("client", "client_created_at", "error")}
        if finding.code == "TD511":
            evidence["summary"] = "the session holds explicit keys with a session token; nothing refreshes them"
        finding = replace(finding, evidence=evidence)
    data = {"resolved": True, **{k: v for k, v in facts.items() if k not in ("clients", "refresh")}}
    return CheckResult(name=SESSION_CHECK, findings=(finding,) if finding else (), data=data)


def diagnose(
    session: Any = None, *, env: Mapping[str, str] | None = None, fail_on: FailOn = "error", **options: Any
) -> Report:
    """Run every check (as ``tokendoctor check``) and return the ranked :class:`Report`.

    ``options`` are :class:`tokendoctor.context.Options` fields (``offline=True``, ``profile="job"``,
    ``min_ttl=900``, ...); ``env`` replaces ``os.environ`` as the environment diagnosed.  With a
    boto3 or botocore ``session``, its resolved credentials object is diagnosed too (section
    ``session``): a static session built in code is TD511 static-session-in-code.  Never calls AWS
    unless ``live=True``; raises ``TypeError`` for an unknown option.
    """
    from tokendoctor import pipeline
    from tokendoctor.checks import ALL_CHECKS
    from tokendoctor.context import Options
    from tokendoctor.runner import run_checks
    from tokendoctor.target import live_context

    if session is not None and options.get("profile") is None:
        # only a profile given to the session itself (profile_name=...), not AWS_PROFILE: that one the
        # environment's diagnosis already follows, and an explicit profile changes botocore's chain
        variables = getattr(botocore_session_of(session), "instance_variables", None)
        explicit = variables().get("profile") if callable(variables) else None
        if explicit:
            options["profile"] = explicit
    opts = Options(**options)
    ctx = live_context(opts, env)
    results = run_checks(ctx, ALL_CHECKS, deadline=opts.timeout)
    if session is not None:
        own = session_check(session)
        if own.data.get("resolved"):
            # the session holds credentials of its own: "none found in the chain" is not its problem
            results = [replace(r, findings=tuple(f for f in r.findings if f.code != "TD201")) for r in results]
        results.append(own)
    return pipeline.rank(results, fail_on=fail_on)


__all__ = ["diagnose", "session_check"]
