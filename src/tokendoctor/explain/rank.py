"""Turn the facts of one pasted error into catalogue causes, most likely first (explain's own scoring, not check's)."""

from __future__ import annotations

from typing import Any

from tokendoctor import catalogue
from tokendoctor.explain.model import Category, ErrorFacts
from tokendoctor.models import RankedCause

# Base likelihood of each cause per category; clues add to it.  Higher = more likely.
_BASE: dict[Category, dict[str, int]] = {
    "expired": {"TD202": 100, "TD101": 80, "TD504": 75, "TD204": 60, "TD401": 40, "TD304": 30, "TD505": 20},
    "invalid": {"TD104": 90, "TD208": 60, "TD102": 55, "TD202": 50, "TD502": 45, "TD401": 20},
    "clock": {"TD503": 100, "TD401": 90, "TD402": 80},
    "no-credentials": {"TD201": 100, "TD105": 30, "TD108": 25, "TD302": 20, "TD303": 20},
    "sso": {"TD206": 100},
    "other": {},
}
_CLUE_BOOST: dict[str, dict[str, int]] = {
    "instance-metadata": {"TD304": 120, "TD301": 60, "TD302": 50, "TD303": 40, "TD401": 30},
    "container": {"TD306": 120},
    "web-identity": {"TD207": 130},
    "sso": {"TD206": 130},
    "assume-role": {"TD505": 70, "TD209": 20},
    "environment": {"TD101": 40, "TD504": 40, "TD104": 20},
    "profile-file": {"TD204": 50, "TD208": 20},
    "metadata-disabled": {"TD305": 140},
    "mfa": {"TD209": 130},
    "temporary-key": {"TD101": 10, "TD504": 10},
}
# Credential-provider failures: chain messages name every provider they tried, so the provider
# names are no clue there; what failed and how is.
_NO_CREDS_CLUES: dict[str, dict[str, int]] = {
    "instance-metadata": {"TD302": 10, "TD303": 10},
    "metadata-disabled": {"TD305": 140},
    "not-found-404": {"TD303": 90},
    "timeout": {"TD301": 100, "TD302": 60},
    "unreachable": {"TD302": 60},
}
_FAMILY_BOOST: dict[str, dict[str, int]] = {
    "PartialCredentials": {"TD104": 200},
    "ProfileNotFound": {"TD105": 200},
    "RefreshedCredentialsExpired": {"TD304": 130, "TD306": 60, "TD401": 90},
    "MFARequired": {"TD209": 200},
    "RequestExpired": {"TD401": 30},
    "SignatureDoesNotMatch": {"TD401": 20},
    "InvalidSignatureException": {"TD401": 20},
    "AuthFailure": {"TD401": 20},
    "InvalidIdentityToken": {"TD207": 150},
    # issue 11 (tests/corpus/explain/SOURCES.md has the real texts)
    # STS's "Token expired: current date/time ... must be before the expiration date/time" is about the
    # web identity token (AssumeRoleWithWebIdentity's own check of the JWT's exp), not the session.
    "WebIdentityTokenExpired": {"TD207": 250},
    # .NET's RefreshingAWSCredentials: the source handed back credentials already expired by the local
    # clock: the same situation as botocore's "refreshed credentials are still expired".
    "RetrievedCredentialsExpired": {"TD304": 130, "TD306": 60, "TD401": 90},
    "RoleChainingSessionLimit": {"TD505": 200},
    "MaxSessionDurationExceeded": {"TD522": 200},
    "EKSExecCredentialsFailed": {"TD520": 200},
    "EKSUnauthorized": {"TD521": 200, "TD401": 20},
    "SSOCacheUnreadable": {"TD525": 200},
    # S3 "Request has expired" with <Expires>: the URL's own X-Amz-Expires passed (expired credentials
    # give ExpiredToken instead); ExpiredToken on a presigned URL: the signing session ended first.
    "PresignedUrlExpired": {"TD523": 200, "TD401": 30},
    "PresignedUrlSessionExpired": {"TD524": 200},
}
# The catalogue's severity is the default; a text that says the call failed raises a warning-level
# cause to an error (role chaining is a warning in `check`, where nothing has failed yet).
_RAISED: dict[str, frozenset[str]] = {"RoleChainingSessionLimit": frozenset({"TD505"})}
# Signs in a text that credentials (not the request's timestamp) expired.
_CREDENTIAL_SIGNS = frozenset(
    {"instance-metadata", "container", "web-identity", "sso", "assume-role", "environment", "profile-file", "mfa"}
)


def _evidence(facts: ErrorFacts, code: str) -> dict[str, Any]:
    ev: dict[str, Any] = {"error": facts.code or facts.family}
    if facts.request_id:
        ev["request_id"] = facts.request_id
    if code in ("TD523", "TD524"):
        ev.update({k: v for k, v in (facts.presigned or {}).items() if v is not None})
        if facts.expires_at:
            ev["url_expires_at"] = facts.expires_at
        if facts.server_time:
            ev["server_time"] = facts.server_time
    if code in ("TD503", "TD401") and facts.skew_seconds is not None:
        ev["skew_seconds"] = facts.skew_seconds
        ev["request_time"] = facts.request_time
        ev["server_time"] = facts.server_time
    table = _NO_CREDS_CLUES if facts.category == "no-credentials" else _CLUE_BOOST
    clues = [c for c in facts.clues if code in table.get(c, {})]
    if clues:
        ev["clues"] = clues
    if facts.access_key_id and code in ("TD101", "TD504", "TD204", "TD104", "TD202"):
        ev["access_key_id"] = facts.access_key_id
    return ev


# The catalogue's titles describe what `check` measured on this machine; explain reads a message
# that may come from another machine, so a few titles are worded for that.
_TITLES = {
    "TD401": "The clock of the machine that signed the request is (or was) off",
    "TD503": "AWS rejected the request because of the signing machine's clock",
}


def _title(code: str) -> str:
    return _TITLES.get(code) or catalogue.get(code).title.replace(" (checked live)", "")


def rank(facts: ErrorFacts) -> list[RankedCause]:
    """The (at most six) catalogue causes the facts point at, most likely first."""
    if facts.category is None:
        return []
    scores: dict[str, int] = dict(_BASE[facts.category])
    table = _NO_CREDS_CLUES if facts.category == "no-credentials" else _CLUE_BOOST
    boosts = [table.get(c, {}) for c in facts.clues]
    if facts.category != "clock":
        boosts.append(_FAMILY_BOOST.get(facts.family or "", {}))
    if facts.category != "clock" and facts.skew_seconds is not None:
        boosts.append({"TD503": 100, "TD401": 90, "TD402": 80})
    if facts.family == "PresignedUrl":  # a URL alone: its own lifetime, and the session that signed it
        temporary = (facts.presigned or {}).get("signed_with") == "temporary-session"
        boosts.append({"TD524": 150, "TD523": 100} if temporary else {"TD523": 100})
    if facts.family == "RequestExpired" and not _CREDENTIAL_SIGNS.intersection(facts.clues):
        # AWS documents RequestExpired first as a request timestamp outside the allowed window (the clock,
        # or a request held too long); with no sign of expired credentials in the text, the clock leads.
        boosts.append({"TD401": 100})
    if "long-term-key" in facts.clues:  # AKIA keys carry no session: they cannot be the exported session
        boosts.append({"TD101": -100, "TD504": -100, "TD204": -100})
    for boost in boosts:
        for code, value in boost.items():
            scores[code] = scores.get(code, 0) + value
    ordered = sorted((c for c, s in scores.items() if s > 0), key=lambda c: (-scores[c], catalogue.get(c).priority, c))
    causes = []
    for code in ordered[:6]:
        entry = catalogue.get(code)
        causes.append(
            RankedCause(
                code=code,
                name=entry.name,
                severity="error" if code in _RAISED.get(facts.family or "", ()) else entry.severity,
                title=_title(code),
                why=entry.why,
                evidence=_evidence(facts, code),
                fix=entry.fix,
            )
        )
    return causes


__all__ = ["rank"]
