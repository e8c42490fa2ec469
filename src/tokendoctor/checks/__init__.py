"""The registry of checks.  Each module has one entry point ``check(ctx) -> CheckResult``."""

from __future__ import annotations

from tokendoctor.checks import credentials
from tokendoctor.runner import Check

ALL_CHECKS: tuple[Check, ...] = (
    Check(credentials.NAME, credentials.check, "Which credentials botocore's default chain uses, and when they expire"),
)
