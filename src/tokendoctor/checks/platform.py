"""Where am I: EC2, a container, Lambda, CI, or a plain machine (offline: env and /sys only).

Entry point: :func:`check`.  Reports ``platform`` {``kind``, ``evidence``} in
the JSON; no causes of its own (the imds check uses the platform to decide
whether to probe).
"""

from __future__ import annotations

from tokendoctor.context import Context
from tokendoctor.models import CheckResult
from tokendoctor.probes.platform import detect

NAME = "platform"


def check(ctx: Context) -> CheckResult:
    plat = detect(ctx)
    data = plat.to_dict()
    data["summary"] = plat.kind + (f" ({'; '.join(plat.evidence)})" if plat.evidence else "")
    return CheckResult(name=NAME, data=data)
