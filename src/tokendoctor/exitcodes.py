"""The exit-code policy, in one place (mirrored in README.md).

=====  =====================================================================
code   meaning
=====  =====================================================================
0      no error-level cause (warnings allowed unless ``--fail-on warning``)
1      at least one error-level cause: expired or near-expiry credentials,
       clock skew, no credentials, ... (or a warning with ``--fail-on warning``)
2      usage error: bad flag or argument
3      tokendoctor itself failed: a check crashed and nothing else failed,
       the credential chain could not be analysed in time (TD903),
       or the run could not start
=====  =====================================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from tokendoctor.models import CheckResult, RankedCause

OK = 0
FAILED = 1
USAGE = 2
TOOL_ERROR = 3

FailOn = Literal["error", "warning"]


def exit_code(causes: Iterable[RankedCause], checks: Iterable[CheckResult], fail_on: FailOn = "error") -> int:
    severities = {c.severity for c in causes if c.code != "TD901"}
    if "error" in severities or (fail_on == "warning" and "warning" in severities):
        return FAILED
    if any(c.status == "error" for c in checks) or any(c.code == "TD903" for c in causes):
        return TOOL_ERROR
    return OK
