"""The web identity token file: claims, expiry and rotation, never printing the token."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from tests.conftest import Machine, codes
from tests.instance_helpers import by_code, ctx_for, now
from tokendoctor.checks import credentials, web_identity
from tokendoctor.probes.platform import detect


def _jwt(claims: dict[str, Any]) -> str:
    import base64

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJlLU1BUktFUi0wMDA3"


def test_web_identity_token_not_rotated_is_reported_without_the_token(machine: Machine) -> None:
    issued = now() - dt.timedelta(hours=23)
    token = _jwt(
        {
            "iss": "https://oidc.eks.eu-west-1.amazonaws.com/id/ABC",
            "aud": "sts.amazonaws.com",
            "iat": int(issued.timestamp()),
            "exp": int((issued + dt.timedelta(hours=24)).timestamp()),
        }
    )
    path = machine.base / "token"
    path.write_text(token)
    machine.env.update(
        AWS_WEB_IDENTITY_TOKEN_FILE=str(path),
        AWS_ROLE_ARN="arn:aws:iam::123456789012:role/irsa",
        KUBERNETES_SERVICE_HOST="10.0.0.1",
    )
    ctx = ctx_for(machine, offline=True)
    data = web_identity.check(ctx).data
    assert data["iss"].startswith("https://oidc.eks") and data["aud"] == "sts.amazonaws.com"
    assert data["role_arn"].endswith("role/irsa") and data["used"]
    assert data["not_rotated"] and 55 * 60 < data["seconds_remaining"] <= 3600
    cred = credentials.check(ctx)
    finding = by_code(cred, "TD207")
    assert finding.severity == "warning" and "80%" in finding.fix
    assert finding.evidence["role_arn"].endswith("role/irsa")
    assert token not in json.dumps([data, finding.evidence, cred.data])
    assert detect(ctx).kind == "eks-irsa"


def test_fresh_web_identity_token_is_fine(machine: Machine) -> None:
    issued = now() - dt.timedelta(hours=1)
    path = machine.base / "token"
    path.write_text(
        _jwt(
            {
                "iss": "x",
                "aud": "sts.amazonaws.com",
                "iat": int(issued.timestamp()),
                "exp": int((issued + dt.timedelta(hours=24)).timestamp()),
            }
        )
    )
    machine.env.update(AWS_WEB_IDENTITY_TOKEN_FILE=str(path), AWS_ROLE_ARN="arn:aws:iam::123456789012:role/irsa")
    ctx = ctx_for(machine, offline=True)
    assert web_identity.check(ctx).data["not_rotated"] is None
    assert "TD207" not in codes(credentials.check(ctx))
