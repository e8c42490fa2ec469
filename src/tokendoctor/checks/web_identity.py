"""Web identity (EKS IRSA, GitHub/CI OIDC token files): what the token file holds.

Entry point: :func:`check`.  Offline.  Reports the token file, whether it can be
read, its ``iss``/``aud``/``exp``/``iat`` claims (decoded, never verified, the
raw token never shown) and the role ARN, under ``web_identity`` in the JSON.
The causes (TD207 expired, or near expiry because nothing rotates the file)
are raised by the credentials check when web identity is what the program uses.
"""

from __future__ import annotations

from typing import Any

from tokendoctor.chain import expiry as _expiry
from tokendoctor.context import Context
from tokendoctor.models import CheckResult
from tokendoctor.timefmt import parse_time, relative, span

NAME = "web_identity"


def check(ctx: Context) -> CheckResult:
    from tokendoctor.chain import analyse as chain

    analysis = chain(ctx)
    path, role_arn = _expiry.web_identity_settings(ctx, analysis)
    if not path:
        return CheckResult(name=NAME, status="skipped", detail="no web identity token file configured")
    now = ctx.now()
    info: dict[str, Any] = {**_expiry.web_identity_token(ctx, path), "role_arn": role_arn}
    exp = parse_time(info.get("exp"))
    info["seconds_remaining"] = int((exp - now).total_seconds()) if exp else None
    info["not_rotated"] = _expiry.token_not_rotated(info, now)
    info["used"] = analysis.method == "assume-role-with-web-identity"
    if info.get("problem"):
        info["summary"] = f"{path}: {info['problem']}"
    else:
        left = info["seconds_remaining"]
        when = (
            "no exp claim"
            if left is None
            else (f"expires {relative(left)}" if left > 0 else f"EXPIRED {span(left)} ago")
        )
        info["summary"] = f"{path} ({when}), iss {info.get('iss')}, role {role_arn}"
    return CheckResult(name=NAME, data=info)
