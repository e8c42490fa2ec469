"""The whole diagnosis, from a context to a ranked report: the registered checks, run under one
deadline, then the post-steps and the ranker.  What the CLI (and any other front end) calls."""

from __future__ import annotations

from collections.abc import Sequence

from tokendoctor import checks as registry
from tokendoctor import reporter
from tokendoctor.context import Context
from tokendoctor.exitcodes import FailOn
from tokendoctor.models import CheckResult, Report
from tokendoctor.runner import Check, run_checks


def derive(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The registered post-steps applied to ``results`` (pure)."""
    return reporter.derive(results, registry.POST_STEPS)


def rank(results: Sequence[CheckResult], *, fail_on: FailOn = "error") -> Report:
    """Rank ``results`` after the registered post-steps (pure)."""
    return reporter.rank(results, fail_on=fail_on, post_steps=registry.POST_STEPS)


def diagnose(
    ctx: Context, *, fail_on: FailOn = "error", checks: Sequence[Check] | None = None, deadline: float | None = None
) -> Report:
    """Run ``checks`` (default: every registered check) under ``deadline`` seconds (default ``--timeout``:
    the CLI passes what is left of it after loading ``--pid``/``--env-file``) and rank them."""
    budget = ctx.options.timeout if deadline is None else deadline
    results = run_checks(ctx, registry.ALL_CHECKS if checks is None else checks, deadline=budget)
    return rank(results, fail_on=fail_on)
