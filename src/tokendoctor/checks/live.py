"""``--live``: what AWS itself says about the resolved credentials, right now.

Entry point: :func:`check` (skipped unless ``--live``).  The probe
(:mod:`tokendoctor.chain.live`) calls STS ``GetCallerIdentity`` with the
credentials botocore's default chain resolves; this module classifies the
answer into the ``live`` JSON section and the causes:

* TD501 token-rejected-expired: ``ExpiredToken`` / ``RequestExpired``;
* TD502 token-invalid: ``InvalidClientTokenId``, or ``SignatureDoesNotMatch``
  without a time message (the secret does not belong to the key);
* TD503 request-time-skewed: ``RequestTimeTooSkewed``, or
  ``SignatureDoesNotMatch`` with "Signature expired"/"not yet current";
* TD505 role-chaining-cap: the role profile assumes its role from a role
  session (instance/container role, SSO, another role profile, or exported
  assumed-role keys verified with a second GetCallerIdentity);
* TD510 sts-unreachable (warning): no answer from the STS endpoint.

The response's ``Date`` header gives ``clock_offset_seconds`` (local minus
AWS), which :func:`tokendoctor.checks.clock.combine` uses as a clock reference.
"""

from __future__ import annotations

from typing import Any

from tokendoctor.chain import live as _sts
from tokendoctor.context import Context
from tokendoctor.limits import DATE_HEADER_UNCERTAINTY, OPT_IN_REGIONS, ROLE_CHAINING_MAX, SIGV4_TOLERANCE_SECONDS
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import mask_key
from tokendoctor.timefmt import iso

NAME = "live"
_STATUS = {"denied": "error", "refused": "skipped"}


def clock_offset(call: _sts.Call | None) -> tuple[float | None, str | None]:
    """Local minus AWS clock, seconds, and where it comes from (pure)."""
    if call is None:
        return None, None
    if call.server_date is not None and call.received_at is not None:
        return round(
            (call.received_at - call.server_date).total_seconds() - DATE_HEADER_UNCERTAINTY / 2, 3
        ), "date-header"
    if call.request_time is not None and call.server_time is not None:
        return round((call.request_time - call.server_time).total_seconds(), 3), "error-message"
    return None, None


def check(ctx: Context) -> CheckResult:
    if not ctx.options.live:
        return CheckResult(name=NAME, status="skipped", detail="--live not given")
    from tokendoctor.chain import analyse as chain

    probe = _sts.probe(ctx)  # first: its deadline starts now, while other checks build the chain analysis
    analysis = chain(ctx)
    data: dict[str, Any] = {
        "status": "skipped",
        "stage": probe.stage,
        "method": probe.method,
        "access_key_id": probe.access_key_id,
        "endpoint": None,
        "region": probe.region,
        "account": probe.account,
        "arn": probe.arn,
        "role_name": probe.role_name,
        "session_name": probe.session_name,
        "error_code": None,
        "message": None,
        "http_status": None,
        "server_date": None,
        "clock_offset_seconds": None,
        "clock_offset_source": None,
        "max_session_duration": probe.max_session_duration,
        "max_session_duration_note": probe.max_session_duration_note,
        "role_chaining": None,
    }
    if not probe.ran:
        data["message"] = probe.reason
        data["summary"] = f"not verified: {probe.reason}"
        chaining = role_chaining(ctx, analysis, probe)  # what the config alone shows
        data["role_chaining"] = chaining
        early = (_td505(analysis, probe, chaining),) if chaining and chaining.get("chained") else ()
        data["rows"] = _rows(data)
        return CheckResult(name=NAME, status="skipped", detail=probe.reason, data=data, findings=early)
    call = probe.call or _sts.Call(status="error")
    offset, offset_source = clock_offset(call)
    data.update(
        status=_STATUS.get(call.status, call.status),
        endpoint=call.endpoint,
        error_code=call.error_code,
        message=call.message or None,
        http_status=call.http_status,
        server_date=iso(call.server_date),
        clock_offset_seconds=offset,
        clock_offset_source=offset_source,
    )
    if call.request_time is not None:
        data["request_time"] = iso(call.request_time)
        data["server_time"] = iso(call.server_time)
    chaining = role_chaining(ctx, analysis, probe)
    data["role_chaining"] = chaining
    findings = _findings(ctx, analysis, probe, data)
    if chaining and chaining.get("chained"):
        findings.append(_td505(analysis, probe, chaining))
    data["summary"] = _summary(data, probe)
    data["rows"] = _rows(data)
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


# ------------------------------------------------------------------ findings


def _where(probe: _sts.StsProbe, data: dict[str, Any]) -> str:
    if probe.stage == "resolve":
        return f"while botocore resolved the credentials ({probe.method or 'its chain'}, endpoint {data['endpoint']})"
    return f"GetCallerIdentity at {data['endpoint']}"


def _evidence(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    base = ("stage", "method", "access_key_id", "endpoint", "error_code", "message")
    return {k: data.get(k) for k in (*base, *keys) if data.get(k) is not None}


def _findings(ctx: Context, analysis: Any, probe: _sts.StsProbe, data: dict[str, Any]) -> list[Finding]:
    status = data["status"]
    out: list[Finding] = []
    where = _where(probe, data)
    offset = data["clock_offset_seconds"]
    skewed_clock = offset is not None and abs(offset) - DATE_HEADER_UNCERTAINTY > SIGV4_TOLERANCE_SECONDS
    if status == "expired" and data["error_code"] is None:
        # botocore itself refused: refreshing gave credentials that are already expired.  The static
        # analysis reports that for the sources it can read (TD202 from the credentials check); a
        # credential_process it may not run is known only here.
        winner = analysis.winner
        if winner is None or winner.creds is None:  # not read statically (credential_process is not run)
            out.append(
                Finding(
                    code="TD202",
                    evidence=_evidence(data),
                    fix=(
                        f"botocore refused the {data['method'] or 'resolved'} credentials: they expired, and "
                        "refreshing them gave expired ones again (credential_process printed an Expiration in the "
                        "past). Fix what the process returns, or use a source the SDK refreshes."
                    ),
                )
            )
    elif status == "expired":
        if probe.stage == "resolve":
            fix = (
                f"AWS answered {data['error_code']} {where}: the SOURCE credentials the role profile "
                f"'{analysis.profile}' assumes from are expired. Renew or replace that source (its exported or pasted "
                "session), then retry."
            )
        else:
            fix = (
                f"AWS answered {data['error_code']} to {where} for the {data['method']} credentials "
                f"({data['access_key_id']}): this is the failure the program sees. "
                + ("" if not skewed_clock else "The clock is also far off (see TD503). ")
                + "Replace the expired session with a refreshable source (a role profile, the instance or container "
                "role, SSO) and unset the exported/pasted one."
            )
        out.append(Finding(code="TD501", evidence=_evidence(data, "server_date", "clock_offset_seconds"), fix=fix))
    elif status in ("invalid", "signature"):
        out.append(Finding(code="TD502", evidence=_evidence(data), fix=_td502_fix(ctx, analysis, probe, data)))
    if status == "skewed" or (status in ("expired", "invalid", "signature") and skewed_clock):
        out.append(_td503(ctx, data, offset))
    if status == "error" and not data.get("error_code") and probe.stage == "call":
        out.append(
            Finding(
                code="TD510",
                title="STS's answer to the live check was not an AWS answer",
                evidence=_evidence(data, "region"),
                fix=(
                    f"The answer {where} could not be read as STS's: {data['message']}. Something other than STS "
                    "answers there (a proxy, a captive portal, a mistyped AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL / "
                    "endpoint_url): check the endpoint settings and HTTPS_PROXY/NO_PROXY."
                ),
            )
        )
    if status == "network":
        out.append(
            Finding(
                code="TD510",
                evidence=_evidence(data, "region"),
                fix=(
                    f"No answer {where}: {data['message']}. Check the endpoint settings (AWS_ENDPOINT_URL_STS, "
                    "AWS_ENDPOINT_URL, endpoint_url in the profile, AWS_STS_REGIONAL_ENDPOINTS, the region), a proxy "
                    "(HTTPS_PROXY/NO_PROXY), or allow outbound HTTPS to it; then rerun with a longer --timeout."
                ),
            )
        )
    return out


def _td503(ctx: Context, data: dict[str, Any], offset: float | None) -> Finding:
    from tokendoctor.checks.clock import CHRONY_TIME_SYNC_LINE
    from tokendoctor.probes.platform import detect

    if offset is not None:
        direction = f"{abs(offset):.0f} s {'ahead of' if offset > 0 else 'behind'} AWS"
        source = {"date-header": "Date header", "error-message": "error message"}.get(
            str(data["clock_offset_source"]), "answer"
        )
        head = f"The local clock is {direction} (from the {source} of the STS answer)"
    else:
        head = "AWS rejected the request's timestamp"
    server = CHRONY_TIME_SYNC_LINE if detect(ctx).on_ec2 else "server time.aws.com iburst"
    return Finding(
        code="TD503",
        evidence=_evidence(data, "server_date", "request_time", "server_time", "clock_offset_seconds"),
        fix=(
            f"{head}: {data['error_code']} ({data['message']}). SigV4 allows 5 minutes and botocore does not correct "
            "skew, so every call fails until the clock is right. Step it now and keep it synchronized:\n"
            "  sudo chronyc makestep      (or: sudo timedatectl set-ntp true)\n"
            f"  with chrony configured against a reachable server ({server}); the clock cause (TD401/TD402), "
            "when reported, has the full setup."
        ),
    )


def _td502_fix(ctx: Context, analysis: Any, probe: _sts.StsProbe, data: dict[str, Any]) -> str:
    env = ctx.env
    hints: list[str] = []
    if data["status"] == "signature":
        hints.append(
            "the secret key does not belong to the access key (a stale AWS_SECRET_ACCESS_KEY, or a key rotated in one "
            "file only)"
        )
    else:
        hints.append("the access key is wrong, deactivated or deleted, or the session it belongs to was revoked")
    if probe.method == "env":
        token_vars = [v for v in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN") if env.get(v)]
        key = env.get("AWS_ACCESS_KEY_ID", "")
        if key.startswith("ASIA") and not token_vars:
            hints.append("a temporary (ASIA) key is exported without its session token")
        elif key.startswith("AKIA") and token_vars:
            hints.append(
                f"a long-term (AKIA) key is exported together with {', '.join(token_vars)} from another session"
            )
        elif len(token_vars) == 2 and env.get("AWS_SESSION_TOKEN") != env.get("AWS_SECURITY_TOKEN"):
            hints.append(
                "AWS_SECURITY_TOKEN (which botocore reads first) belongs to another session than AWS_SESSION_TOKEN"
            )
        else:
            hints.append(
                "the key, secret and token may have been exported from different sessions; export all three from one"
            )
    region = data.get("region")
    if region in OPT_IN_REGIONS and data["status"] == "invalid":
        hints.append(
            f"{region} is an opt-in region: a session token issued by the global endpoint sts.amazonaws.com is only "
            "valid "
            "there if the account issues version 2 tokens (IAM > Account settings > Security Token Service: global "
            "endpoint valid in all regions), or get the session from the regional endpoint "
            "(AWS_STS_REGIONAL_ENDPOINTS=regional)"
        )
    where = _where(probe, data)
    return (
        f"AWS answered {data['error_code']} to {where} for {data['access_key_id'] or 'the credentials'}. Likely: "
        + "; ".join(hints)
        + ". Make the key, secret and token come from one source (unset the stale variable) and retry."
    )


# ------------------------------------------------------------- role chaining


def role_chaining(ctx: Context, analysis: Any, probe: _sts.StsProbe) -> dict[str, Any] | None:
    """Whether the role profile in use assumes its role from a role session (1-hour cap), and why we think so."""
    call = probe.call
    if call is not None and call.error_code == "ValidationError" and "role chaining" in call.message:
        return {"chained": True, "source": None, "source_arn": None, "evidence": f"AssumeRole refused: {call.message}"}
    if analysis.error is not None or not _uses_role_profile(analysis, probe):
        if probe.arn and probe.role_name:
            return {
                "chained": None,
                "source": analysis.method,
                "source_arn": None,
                "evidence": "assumed-role session from outside a role profile: how it was obtained is not visible here",
            }
        return None
    profiles = analysis.full_config.get("profiles", {})
    name = analysis.profile
    cfg = profiles.get(name, {})
    role = cfg.get("role_arn")
    source = cfg.get("credential_source")
    if source in ("Ec2InstanceMetadata", "EcsContainer"):
        kind = "instance" if source == "Ec2InstanceMetadata" else "container (task)"
        return _chained(
            True,
            f"credential_source = {source}",
            None,
            f"profile '{name}' assumes {role} with the {kind} role's session",
        )
    if source == "Environment":
        return _verify(
            ctx,
            probe,
            "credential_source = Environment",
            ctx.env.get("AWS_ACCESS_KEY_ID"),
            ctx.env.get("AWS_SECRET_ACCESS_KEY"),
            ctx.env.get("AWS_SESSION_TOKEN") or ctx.env.get("AWS_SECURITY_TOKEN"),
            f"profile '{name}' assumes {role} with the exported credentials",
        )
    src_name = cfg.get("source_profile")
    if not src_name:
        return None
    src = profiles.get(src_name, {})
    label = f"source_profile = {src_name}"
    if src_name != name and src.get("role_arn"):
        return _chained(
            True,
            label,
            None,
            f"profile '{name}' assumes {role} from profile '{src_name}', itself a role profile ({src.get('role_arn')})",
        )
    if src.get("sso_account_id") or src.get("sso_role_name") or src.get("sso_session"):
        return _chained(
            True,
            label,
            None,
            f"profile '{name}' assumes {role} from '{src_name}', an IAM Identity Center (SSO) role session",
        )
    if src.get("aws_session_token") or src.get("aws_security_token"):
        return _verify(
            ctx,
            probe,
            label,
            src.get("aws_access_key_id"),
            src.get("aws_secret_access_key"),
            src.get("aws_session_token") or src.get("aws_security_token"),
            f"profile '{name}' assumes {role} from the session pasted into '{src_name}'",
        )
    if src.get("credential_process"):
        return _chained(
            None,
            label,
            None,
            f"'{src_name}' uses credential_process: whether it returns a role session is not visible here",
        )
    return _chained(False, label, None, f"profile '{name}' assumes {role} from the long-term keys of '{src_name}'")


def _uses_role_profile(analysis: Any, probe: _sts.StsProbe) -> bool:
    if probe.method:
        return probe.method == "assume-role"
    if analysis.method:
        return bool(analysis.method == "assume-role")
    # the static analysis leaves a role profile whose source needs the network unresolved
    return any(s.method == "assume-role" and s.status == "not-checked" for s in analysis.providers)


def _chained(chained: bool | None, source: str, source_arn: str | None, evidence: str) -> dict[str, Any]:
    return {"chained": chained, "source": source, "source_arn": source_arn, "evidence": evidence}


def _verify(
    ctx: Context, probe: _sts.StsProbe, label: str, key: str | None, secret: str | None, token: str | None, what: str
) -> dict[str, Any]:
    if not key or not secret:
        return _chained(None, label, None, f"{what}, but they are incomplete")
    if not key.startswith("ASIA") and not token:
        return _chained(False, label, None, f"{what}: long-term key {mask_key(key)}")
    if probe.stage != "call":
        return _chained(
            None,
            label,
            None,
            f"{what} ({mask_key(key)}, temporary); not verified because the role could not be assumed",
        )
    call = _sts.identify(ctx, key, secret, token)
    arn = (call.body or {}).get("Arn") if call.status == "ok" else None
    if arn and ":assumed-role/" in arn:
        return _chained(True, label, arn, f"{what}, which are a session of {arn} (GetCallerIdentity)")
    if arn:
        return _chained(False, label, arn, f"{what}, which belong to {arn}, not to a role")
    return _chained(
        None, label, None, f"{what} ({mask_key(key)}); GetCallerIdentity on them: {call.error_code or call.status}"
    )


def _td505(analysis: Any, probe: _sts.StsProbe, chaining: dict[str, Any]) -> Finding:
    profile = analysis.profile
    cfg = analysis.full_config.get("profiles", {}).get(profile, {})
    refused = probe.call is not None and probe.call.error_code == "ValidationError"
    notes = []
    if probe.max_session_duration:
        notes.append(
            f"the role's MaxSessionDuration of {probe.max_session_duration} s does not apply to chained sessions"
        )
    duration = cfg.get("duration_seconds")
    if duration and str(duration).isdigit() and int(duration) > ROLE_CHAINING_MAX:
        notes.append(
            f"duration_seconds = {duration} in profile '{profile}' is more than AssumeRole allows when chaining (3600)"
        )
    fix = (
        f"{chaining['evidence']}. AWS caps a chained role session at 1 hour"
        + (": " + "; ".join(notes) if notes else "")
        + ". botocore re-assumes a role profile before it expires, so programs using the profile are fine; a session "
        "exported from it (aws configure export-credentials, assume-role into env vars) dies after 1 hour. For longer "
        "sessions assume the role directly from long-term or non-role credentials"
        + (", and lower duration_seconds to 3600 or less." if refused or notes else ".")
    )
    return Finding(
        code="TD505",
        severity="error" if refused else None,
        evidence={
            k: v for k, v in {"profile": profile, "role_arn": cfg.get("role_arn"), **chaining}.items() if v is not None
        },
        fix=fix,
    )


# -------------------------------------------------------------- presentation


def _summary(data: dict[str, Any], probe: _sts.StsProbe) -> str:
    status = data["status"]
    where = f" via {data['endpoint']}" if data.get("endpoint") else ""
    if status == "ok":
        who = data["arn"] or "?"
        extra = []
        if data.get("role_name"):
            extra.append(f"role {data['role_name']}, session {data['session_name']}")
        if data.get("max_session_duration"):
            extra.append(f"MaxSessionDuration {data['max_session_duration']} s")
        chaining = data.get("role_chaining") or {}
        if chaining.get("chained"):
            extra.append("role chaining: 1-hour cap")
        return f"accepted by STS{where}: {who}" + (f" ({'; '.join(extra)})" if extra else "")
    stage = " while resolving the credentials" if probe.stage == "resolve" else ""
    if status == "network":
        return f"STS unreachable{where}{stage}: {data['message']}"
    if status == "error" and not data.get("error_code"):
        return f"not verified{stage}: {data['message']}"
    if status == "expired" and not data.get("error_code"):
        return f"EXPIRED: botocore refused the credentials before calling STS: {data['message']}"
    return f"REJECTED by STS{where}{stage}: {data['error_code'] or status}: {data['message'] or ''}".rstrip(": ")


def _rows(data: dict[str, Any]) -> list[list[str]]:
    keys = (
        "status",
        "stage",
        "method",
        "access_key_id",
        "endpoint",
        "region",
        "account",
        "arn",
        "role_name",
        "session_name",
        "error_code",
        "message",
        "server_date",
        "clock_offset_seconds",
        "max_session_duration",
        "max_session_duration_note",
    )
    rows = [[k, str(data[k])] for k in keys if data.get(k) not in (None, "")]
    chaining = data.get("role_chaining")
    if chaining:
        rows.append(["role_chaining", f"{chaining.get('chained')}: {chaining.get('evidence')}"])
    return rows
