"""The process being diagnosed (``--pid`` / ``--env-file``): who it is, how old, and TD504.

Entry point: :func:`check`.  Skipped unless ``--pid`` or ``--env-file`` was
given (then :attr:`Context.process` is set and ``ctx.env`` is that process's
environment, so every other check describes it too).

TD504 ``process-outlived-credentials``: botocore reads environment credentials
once and never again, so a process started with a temporary session fails with
ExpiredToken from the moment that session ends, whatever the shell holds now.

* expiry known (``AWS_CREDENTIAL_EXPIRATION`` in the process's environment, or
  an AWS CLI cache entry for the same access key) and past while the process
  still runs: **error**, with the expiry and how long ago;
* expiry unknown, but the process is older than the default session (1 h for
  AssumeRole, role chaining and most login tools): **warning** up to 12 h,
  because the session may have been requested longer (DurationSeconds up to
  the role's MaxSessionDuration); **error** beyond 12 h, the longest an
  AssumeRole session can last (only GetSessionToken/GetFederationToken
  sessions reach 36 h, and nothing lasts longer);
* the credentials botocore reads from a shared file were rewritten after the
  process started (file modification time): the process still holds the copy
  it read at startup (warning; error beyond 12 h).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

from tokendoctor.chain import expiry as _expiry
from tokendoctor.chain.advice import refreshable_role_fix
from tokendoctor.chain.botocore_private import peek
from tokendoctor.context import Context, ProcessInfo
from tokendoctor.limits import ASSUME_ROLE_DEFAULT, ASSUME_ROLE_MAX, SESSION_TOKEN_MAX
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import Redactor, mask_key, mask_then_truncate
from tokendoctor.timefmt import iso, parse_time, span

NAME = "process"


MAX_CACHE_FILES = 200
_FILE_METHODS = {"shared-credentials-file": "credentials_file", "config-file": "config_file"}


def _shown_cmdline(redactor: Redactor, argv: tuple[str, ...], max_args: int = 64, max_len: int = 300) -> list[str]:
    """The (already redacted) command line, masked again whole and then bounded: a JVM classpath can be 100 KiB."""
    shown = [mask_then_truncate(redactor, a, max_len, count=True) for a in argv[:max_args]]
    if len(argv) > max_args:
        shown.append(f"…(+{len(argv) - max_args} more arguments)")
    return shown


def section(ctx: Context, proc: ProcessInfo) -> dict[str, Any]:
    now = ctx.now()
    age = int((now - proc.started_at).total_seconds()) if proc.started_at else None
    data: dict[str, Any] = {
        "pid": proc.pid,
        "source": proc.source,
        "env_file": ctx.options.env_file if proc.source == "env-file" else None,
        "started_at": iso(proc.started_at),
        "age_seconds": age,
        "user": proc.user,
        "home": proc.home,
        "cmdline": _shown_cmdline(ctx.redactor, proc.cmdline),
    }
    if proc.fs_root:
        data["fs_root"] = proc.fs_root
    if proc.source == "pid":
        who = f"pid {proc.pid}" + (f" ({proc.user})" if proc.user else "")
        if age is not None:
            data["summary"] = f"{who}, running {span(age)} (started {data['started_at']})"
        else:
            data["summary"] = f"{who}, start time unknown"
        if proc.fs_root:
            data["summary"] += f"; in another mount namespace: its files are read under {proc.fs_root}"
    else:
        data["summary"] = f"environment from --env-file {ctx.options.env_file} (no process: age unknown)"
    return data


def check(ctx: Context) -> CheckResult:
    proc = ctx.process
    if proc is None:
        return CheckResult(name=NAME, status="skipped", detail="no --pid or --env-file: the current shell is diagnosed")
    from tokendoctor.chain import analyse as chain

    data = section(ctx, proc)
    analysis = chain(ctx)
    findings: list[Finding] = []
    winner = analysis.winner
    if analysis.error is None and winner is not None and winner.status != "error" and proc.started_at is not None:
        if winner.method == "env":
            findings.extend(_env_session(ctx, proc, analysis, winner))
        elif winner.method in _FILE_METHODS:
            findings.extend(_file_rewritten(ctx, proc, analysis, winner))
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


# ------------------------------------------------------------------ environment sessions


def _env_session(ctx: Context, proc: ProcessInfo, analysis: Any, winner: Any) -> list[Finding]:

    key, token, from_env = peek(winner.creds)
    if not key or not (token or key.startswith("ASIA")):
        return []  # long-term keys do not expire
    assert proc.started_at is not None
    now = ctx.now()
    age = int((now - proc.started_at).total_seconds())
    evidence: dict[str, Any] = {
        "pid": proc.pid,
        "started_at": iso(proc.started_at),
        "age_seconds": age,
        "access_key_id": mask_key(key),
    }
    restart = (
        f"\nThen restart the process (pid {proc.pid}): a running program never re-reads its environment, "
        "so nothing short of a restart gives it new credentials."
    )
    fix_source = refreshable_role_fix(analysis) + restart
    known = None
    if from_env is not None:
        known = _expiry.Expiry(from_env.astimezone(_dt.timezone.utc), "AWS_CREDENTIAL_EXPIRATION")
    cached = _cli_cache_entry(ctx, key)
    if known is None and cached is not None:
        known = cached[0]
    if cached is not None:
        evidence["issued_at"] = iso(cached[1])
        evidence["session_seconds"] = int((cached[0].at - cached[1]).total_seconds())

    if known is not None:
        if known.at > now:
            return []  # still valid; TD203 warns when it is close
        ago = int((now - known.at).total_seconds())
        evidence.update(expires_at=iso(known.at), expiry_source=known.source, expired_seconds_ago=ago)
        if known.at >= proc.started_at:
            story = (
                f"Process {proc.pid} started at {evidence['started_at']} with a temporary session that expired at "
                f"{evidence['expires_at']} ({span(ago)} ago, after "
                f"{span((known.at - proc.started_at).total_seconds())} "
                "of running); it is still running, so every AWS call it makes now fails with ExpiredToken."
            )
        else:
            story = (
                f"Process {proc.pid} started at {evidence['started_at']} with a session that had already expired at "
                f"{evidence['expires_at']}: every AWS call it makes fails with ExpiredToken."
            )
        return [Finding(code="TD504", evidence=evidence, fix=story + "\n" + fix_source)]

    if age <= ASSUME_ROLE_DEFAULT:
        return []
    likely = proc.started_at + _dt.timedelta(seconds=ASSUME_ROLE_DEFAULT)
    evidence.update(
        expires_at=None,
        expiry_source=None,
        likely_expired_by=iso(likely),
        default_session_seconds=ASSUME_ROLE_DEFAULT,
    )
    if age > SESSION_TOKEN_MAX:
        severity, limit = "error", f"longer than any STS session can last ({SESSION_TOKEN_MAX // 3600} h)"
    elif age > ASSUME_ROLE_MAX:
        severity, limit = (
            "error",
            (
                f"longer than any AssumeRole session can last ({ASSUME_ROLE_MAX // 3600} h; only GetSessionToken and "
                f"GetFederationToken sessions reach {SESSION_TOKEN_MAX // 3600} h)"
            ),
        )
    else:
        severity, limit = (
            "warning",
            (
                f"longer than a default session ({ASSUME_ROLE_DEFAULT // 3600} h for AssumeRole, and at most 1 h when "
                "a role assumed another role); a longer DurationSeconds may have been requested, up to the role's "
                "MaxSessionDuration"
            ),
        )
    story = (
        f"Process {proc.pid} has run for {span(age)} (since {evidence['started_at']}) on temporary credentials "
        f"from its environment, {limit}. The session was issued before the process started, so with the default "
        f"duration it expired by {evidence['likely_expired_by']} at the latest. Its expiry is not recorded "
        "(no AWS_CREDENTIAL_EXPIRATION in its environment, no AWS CLI cache entry for the key)."
    )
    return [Finding(code="TD504", severity=severity, evidence=evidence, fix=story + "\n" + fix_source)]  # type: ignore[arg-type]


def _cli_cache_entry(ctx: Context, key: str) -> tuple[_expiry.Expiry, _dt.datetime] | None:
    """The AWS CLI's cached session for this access key: (expiry, when it was written ~ issued)."""
    cache = ctx.home / ".aws" / "cli" / "cache"
    try:
        files = sorted(cache.glob("*.json"))[:MAX_CACHE_FILES]
    except OSError:
        return None
    for path in files:
        doc = _expiry.read_json(path, ctx)
        creds = (doc or {}).get("Credentials")
        if not isinstance(creds, dict) or creds.get("AccessKeyId") != key:
            continue
        at = parse_time(creds.get("Expiration"))
        if at is None:
            continue
        try:
            written = _dt.datetime.fromtimestamp(path.stat().st_mtime, tz=_dt.timezone.utc)
        except OSError:
            continue
        return _expiry.Expiry(at, f"AWS CLI cache ({path.name})"), written
    return None


# ------------------------------------------------------------------ files rewritten later


def _file_rewritten(ctx: Context, proc: ProcessInfo, analysis: Any, winner: Any) -> list[Finding]:

    key, token, _ = peek(winner.creds)
    if not key or not (token or key.startswith("ASIA")):
        return []
    assert proc.started_at is not None
    path = Path(getattr(analysis, _FILE_METHODS[winner.method]))
    try:
        written = _dt.datetime.fromtimestamp(path.stat().st_mtime, tz=_dt.timezone.utc)
    except OSError:
        return []
    if written <= proc.started_at:
        return []
    age = int((ctx.now() - proc.started_at).total_seconds())
    evidence = {
        "pid": proc.pid,
        "started_at": iso(proc.started_at),
        "age_seconds": age,
        "file": str(path),
        "file_modified_at": iso(written),
        "access_key_id_in_file": mask_key(key),
    }
    fix = (
        f"{path} was rewritten at {evidence['file_modified_at']}, {span((written - proc.started_at).total_seconds())} "
        f"after process {proc.pid} started ({evidence['started_at']}). botocore reads a profile's keys once, when the "
        "session is created, so the process still signs with the session it read at startup and never saw the newer "
        "one. "
        f"Restart it to pick up the new keys; better, replace the pasted session in profile '{analysis.profile}' with "
        "`role_arn` + `source_profile` (or `credential_source`), `sso_session` or `credential_process`, which the SDK "
        "refreshes."
    )
    severity = "error" if age > ASSUME_ROLE_MAX else "warning"
    return [Finding(code="TD504", severity=severity, evidence=evidence, fix=fix)]  # type: ignore[arg-type]
