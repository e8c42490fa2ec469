"""Where am I: EC2, a container, Lambda, CI, or a plain machine (offline: env and /sys only).

Entry point: :func:`check`.  Reports ``platform`` {``kind``, ``evidence``, ``ci``} in
the JSON; no causes of its own (the imds check uses the platform to decide
whether to probe).  In GitLab CI, ``id_tokens:`` variables are recognised by their
issuer (decoded, never verified or shown, and registered with the redactor).
"""

from __future__ import annotations

from typing import Any

from tokendoctor.chain.expiry import decode_jwt_claims
from tokendoctor.context import Context
from tokendoctor.models import CheckResult
from tokendoctor.probes.platform import detect

NAME = "platform"
#: An ID token is a few KiB; longer values are not looked at.
_MAX_TOKEN = 16 * 1024


def _gitlab_id_tokens(ctx: Context) -> list[dict[str, Any]] | None:
    """``id_tokens:`` variables (name and audience): JWTs issued by this job's GitLab (``CI_SERVER_URL``)."""
    server = (ctx.env.get("CI_SERVER_URL") or "").rstrip("/")
    if not server:
        return None
    found = []
    for name, value in sorted(ctx.env.items()):
        if len(value) > _MAX_TOKEN or not value.startswith("eyJ") or value.count(".") != 2:
            continue
        claims = decode_jwt_claims(value)
        if not claims or str(claims.get("iss", "")).rstrip("/") != server:
            continue
        ctx.redactor.add(value)
        aud = claims.get("aud")
        found.append({"variable": name, "aud": aud if isinstance(aud, (str, list)) else None})
    return found


def check(ctx: Context) -> CheckResult:
    plat = detect(ctx)
    data = plat.to_dict()
    ci = data.get("ci")
    if ci is not None and ci["kind"] == "gitlab-ci":
        tokens = _gitlab_id_tokens(ctx)
        if tokens is not None:
            ci["id_tokens"] = tokens
            ci["oidc"] = bool(tokens)
            for token in tokens:
                aud = token["aud"] if isinstance(token["aud"], str) else ", ".join(map(str, token["aud"] or []))
                ci["evidence"].append(f"id_tokens: {token['variable']} (aud {aud or '?'})")
    data["summary"] = plat.kind + (f" ({'; '.join(plat.evidence)})" if plat.evidence else "")
    return CheckResult(name=NAME, data=data)
