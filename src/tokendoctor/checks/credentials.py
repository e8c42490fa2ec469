"""Which credentials the program really uses: botocore's own chain, statically.

Entry point: :func:`check`.

The provider list comes from ``botocore.credentials.create_credential_resolver``
so its order and method names are always the installed botocore's.  Each
provider is then asked with its own ``load()``, except that every path that
would reach the network or start a process is refused (instance attributes
replaced on this resolver only): STS, SSO and web-identity calls are deferred
by botocore anyway, while ``credential_process``, the container endpoint and
instance metadata are reported as ``not-checked`` instead of being run.
"""

from __future__ import annotations

import configparser
import datetime as _dt
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokendoctor.checks import expiry as _expiry
from tokendoctor.context import Context
from tokendoctor.models import CheckResult, Finding, ProviderStatus
from tokendoctor.limits import NOT_REFRESHABLE_METHODS
from tokendoctor.redact import mask_key
from tokendoctor.sdkenv import botocore_environment
from tokendoctor.timefmt import iso

NAME = "credentials"

#: Files larger than this are not handed to botocore (it reads them whole).
MAX_CONFIG_BYTES = 4 * 1024 * 1024

_FILE_METHODS = {"shared-credentials-file", "config-file"}
_ROLE_METHODS = {"container-role", "iam-role"}


class _Refused(Exception):
    """Raised instead of a side effect (subprocess, network) during analysis."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


@dataclass
class ProviderState:
    method: str
    status: ProviderStatus = "absent"
    detail: str = ""
    creds: Any = None
    would_use: bool = False  # botocore would stop here, but we did not run it
    error: BaseException | None = None

    @property
    def found(self) -> bool:
        return self.creds is not None or self.would_use

    def row(self) -> dict[str, str]:
        return {"provider": self.method, "status": self.status, "detail": self.detail}


@dataclass
class ChainAnalysis:
    profile: str
    profile_source: str
    explicit: bool
    providers: list[ProviderState] = field(default_factory=list)
    winner: ProviderState | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    full_config: dict[str, Any] = field(default_factory=dict)
    credentials_file: str = ""
    config_file: str = ""

    @property
    def method(self) -> str | None:
        if self.winner is None or self.winner.status == "error":
            return None
        return self.winner.method


# --------------------------------------------------------------------------- files


def _file_problem(path: str) -> str | None:
    """A reason botocore cannot use ``path``, or None when it can (or it is absent)."""
    p = Path(path)
    try:
        if not p.exists():
            return None
        if p.is_dir():
            return "is a directory"
        info = p.stat()
        if not stat.S_ISREG(info.st_mode):
            return "is not a regular file (a FIFO or device would block botocore)"
        size = info.st_size
        if size > MAX_CONFIG_BYTES:
            return f"is {size // (1024 * 1024)} MiB, too large to be an AWS config file"
        with p.open("rb") as fh:
            data = fh.read()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or type(exc).__name__})"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return f"is not valid UTF-8 (line {line})"
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(p))
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        line = getattr(exc, "lineno", None)
        if line is None and getattr(exc, "errors", None):
            line = exc.errors[0][0]  # type: ignore[attr-defined]
        where = f" (line {line})" if line else ""
        return f"cannot be parsed{where}: {first[:160]}"
    return None


# ----------------------------------------------------------------------- analysis


def _refuse(what: str) -> Any:
    def _raise(*_args: object, **_kwargs: object) -> Any:
        raise _Refused(what)

    return _raise


def _guard(providers: list[Any]) -> None:
    """Make every side-effecting path of this resolver raise :class:`_Refused`."""
    from botocore.credentials import ProcessProvider

    for provider in providers:
        method = provider.METHOD
        if method == "iam-role":
            provider.load = _refuse(method)
        elif method == "container-role":
            provider._retrieve_or_fail = _refuse(method)
        elif method == "custom-process":
            provider._popen = _refuse(method)
        elif method == "assume-role":
            builder = getattr(provider, "_profile_provider_builder", None)
            if builder is not None:
                load_config = provider._load_config

                def _safe_process(profile_name: str, _lc: Any = load_config) -> Any:
                    return ProcessProvider(profile_name=profile_name, load_config=_lc, popen=_refuse("custom-process"))

                builder._create_process_provider = _safe_process


def _selected_profile(ctx: Context, session: Any) -> tuple[str, str]:
    if ctx.options.profile is not None:
        return ctx.options.profile, "--profile"
    for var in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
        if ctx.env.get(var):
            return ctx.env[var], var
    return (session.get_config_variable("profile") or "default"), "default"


def analyse(ctx: Context) -> ChainAnalysis:
    """Work out, without side effects, what botocore's default chain would do."""
    with botocore_environment(ctx.env):
        return _analyse(ctx)


def _analyse(ctx: Context) -> ChainAnalysis:
    import botocore.exceptions
    import botocore.session
    from botocore.credentials import create_credential_resolver

    session = botocore.session.Session(profile=ctx.options.profile)
    profile, source = _selected_profile(ctx, session)
    result = ChainAnalysis(profile=profile, profile_source=source, explicit=ctx.options.profile is not None)
    config_file = os.path.expanduser(session.get_config_variable("config_file"))
    creds_file = os.path.expanduser(session.get_config_variable("credentials_file"))
    result.config_file, result.credentials_file = config_file, creds_file

    for var, path in (("AWS_CONFIG_FILE", config_file), ("AWS_SHARED_CREDENTIALS_FILE", creds_file)):
        if ctx.env.get(var) and not Path(path).exists():
            result.findings.append(
                Finding(
                    code="TD108",
                    evidence={"variable": var, "path": path},
                    fix=f"{var} points to {path}, which does not exist. Fix the path or `unset {var}`.",
                )
            )
    blocking = False
    for path in (config_file, creds_file):
        problem = _file_problem(path)
        if problem:
            result.findings.append(
                Finding(
                    code="TD205",
                    evidence={"path": path, "problem": problem},
                    fix=f"{path} {problem}. Fix or remove it; botocore cannot use it.",
                )
            )
            blocking = True
    if blocking:
        result.error = "config-unreadable"
        return result

    try:
        result.full_config = session.full_config
        resolver = create_credential_resolver(session)
    except botocore.exceptions.ProfileNotFound:
        result.error = "profile-not-found"
        result.findings.append(_profile_not_found(result))
        return result
    except (botocore.exceptions.BotoCoreError, ValueError, UnicodeError) as exc:
        result.error = "config-unreadable"
        result.findings.append(
            Finding(code="TD205", evidence={"path": config_file, "problem": type(exc).__name__}, fix=str(exc)[:200])
        )
        return result

    providers = list(resolver.providers)
    _guard(providers)
    methods = [p.METHOD for p in providers]
    if "env" not in methods:  # an explicit profile drops the env provider
        result.providers.append(
            ProviderState(method="env", status="absent", detail="skipped: an explicit profile drops environment credentials")
        )
    for provider in providers:
        state = _evaluate(provider, ctx)
        result.providers.append(state)
        if result.winner is None and (state.found or state.status == "error"):
            result.winner = state
    _assign_statuses(result)
    return result


def _evaluate(provider: Any, ctx: Context) -> ProviderState:
    state = ProviderState(method=provider.METHOD)
    try:
        state.creds = provider.load()
    except _Refused as refused:
        state.status = "not-checked"
        if refused.what == "iam-role" and provider.METHOD == "iam-role":
            state.detail = "instance metadata not queried"
        elif refused.what == "container-role" and provider.METHOD == "container-role":
            state.would_use = True
            state.detail = "container credentials endpoint configured; not called"
        elif refused.what == "custom-process" and provider.METHOD == "custom-process":
            state.would_use = True
            state.detail = "credential_process configured; not run (use --allow-process)"
        else:
            # assume-role whose source would need a process or the network
            state.would_use = True
            state.detail = f"role source needs {refused.what}; not called"
        return state
    except Exception as exc:  # noqa: BLE001 - botocore would raise this to the program
        state.status = "error"
        state.error = exc
        state.detail = ctx.redactor.redact(_describe(exc))
        return state
    return state


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:240]


def _assign_statuses(result: ChainAnalysis) -> None:
    winner = result.winner
    passed = False
    for state in result.providers:
        if state is winner:
            passed = True
            if state.status != "error":
                state.status = "used"
                if not state.detail:
                    state.detail = "credentials found"
            continue
        if state.status in ("error", "not-checked"):
            continue
        if state.found:
            state.status = "shadowed" if passed else "used"
            state.detail = state.detail or f"has credentials, but {winner.method if winner else '?'} comes first"
        else:
            state.status = "absent"


def _profile_not_found(result: ChainAnalysis) -> Finding:
    return Finding(
        code="TD105",
        evidence={"profile": result.profile, "selected_by": result.profile_source},
        fix=(
            f"Profile '{result.profile}' (from {result.profile_source}) is not in {result.config_file} "
            f"or {result.credentials_file}. Fix the name, or add `[profile {result.profile}]` to the config."
        ),
    )


# ------------------------------------------------------------------ the check


def _peek(creds: Any) -> tuple[str | None, str | None, _dt.datetime | None]:
    """Access key, token and expiry of a botocore credentials object, without refreshing it."""
    if creds is None:
        return None, None, None
    values = vars(creds)
    if "_access_key" in values or "_refresh_using" in values:
        return values.get("_access_key"), values.get("_token"), values.get("_expiry_time")
    return values.get("access_key"), values.get("token"), None


def check(ctx: Context) -> CheckResult:
    from tokendoctor.checks.roles import chain

    analysis = chain(ctx)  # analyse(ctx), completed by the IMDS/container probes when they ran
    findings = list(analysis.findings)
    resolved = _resolved(ctx, analysis, findings)
    if analysis.error is None:
        findings.extend(_trap_findings(ctx, analysis, resolved))
    data = {
        "profile": analysis.profile,
        "profile_source": analysis.profile_source,
        "config_file": analysis.config_file,
        "credentials_file": analysis.credentials_file,
        "resolved": resolved,
        "chain": [s.row() for s in analysis.providers],
    }
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _resolved(ctx: Context, analysis: ChainAnalysis, findings: list[Finding]) -> dict[str, Any]:
    winner = analysis.winner
    out: dict[str, Any] = {
        "method": analysis.method,
        "access_key_id": None,
        "temporary": None,
        "refreshable": None,
        "expires_at": None,
        "seconds_remaining": None,
        "expiry_source": None,
    }
    if analysis.error is not None:
        out["error"] = analysis.error
        return out
    if winner is None:
        return out
    if winner.status == "error":
        out["error"] = winner.detail
        if winner.method == "env":
            findings.append(
                Finding(
                    code="TD104",
                    evidence={"error": winner.detail},
                    fix="The credential variables are incomplete: " + winner.detail + ". Export a complete set, or none.",
                )
            )
        elif winner.method not in _ROLE_METHODS:  # role endpoint failures: TD301-TD307 (checks/imds, container)
            findings.append(
                Finding(
                    code="TD205",
                    evidence={"provider": winner.method, "problem": winner.detail},
                    fix=f"botocore stops at {winner.method}: {winner.detail}. Fix that profile's settings.",
                )
            )
        return out
    key, token, expiry = _peek(winner.creds)
    for value in (token,):
        ctx.redactor.add(value)
    out["access_key_id"] = mask_key(key)
    if key is not None:
        out["temporary"] = bool(token) or key.startswith("ASIA")
    out["refreshable"] = winner.method not in NOT_REFRESHABLE_METHODS
    found = _expiry.for_winner(ctx, analysis, winner, expiry)
    if found is not None:
        out["expires_at"] = iso(found.at)
        out["seconds_remaining"] = int((found.at - ctx.now()).total_seconds())
        out["expiry_source"] = found.source
    findings.extend(_expiry.findings(ctx, analysis, winner, out))
    return out


def _trap_findings(ctx: Context, analysis: ChainAnalysis, resolved: dict[str, Any]) -> list[Finding]:
    env = ctx.env
    out: list[Finding] = []
    winner = analysis.method
    by_method = {s.method: s for s in analysis.providers}
    profile_cfg = analysis.full_config.get("profiles", {}).get(analysis.profile, {})

    if winner == "env":
        key = resolved["access_key_id"]
        if resolved["temporary"]:
            out.append(
                Finding(
                    code="TD101",
                    evidence={
                        "access_key_id": key,
                        "variables": [v for v in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN") if env.get(v)],
                        "expires_at": resolved["expires_at"],
                    },
                    fix=_td101_fix(analysis),
                )
            )
        if not analysis.explicit and analysis.profile_source in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            shadowed = [s.method for s in analysis.providers if s.status == "shadowed" and s.method not in _ROLE_METHODS]
            if shadowed:
                out.append(
                    Finding(
                        code="TD102",
                        evidence={"profile": analysis.profile, "selected_by": analysis.profile_source, "shadowed": shadowed},
                        fix=(
                            f"{analysis.profile_source}={analysis.profile} is ignored while AWS_ACCESS_KEY_ID is set. "
                            "`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN`, or pass the profile "
                            f"explicitly (boto3.Session(profile_name='{analysis.profile}'))."
                        ),
                    )
                )
        token_vars = {v: env.get(v) for v in ("AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN") if env.get(v)}
        if len(token_vars) == 2 and len(set(token_vars.values())) == 2:
            out.append(
                Finding(
                    code="TD104",
                    evidence={"variables": sorted(token_vars), "problem": "AWS_SECURITY_TOKEN and AWS_SESSION_TOKEN differ; botocore uses AWS_SECURITY_TOKEN"},
                    fix="`unset AWS_SECURITY_TOKEN` (botocore reads it before AWS_SESSION_TOKEN).",
                )
            )
        key_raw = env.get("AWS_ACCESS_KEY_ID", "")
        if key_raw.startswith("ASIA") and not token_vars:
            out.append(
                Finding(
                    code="TD104",
                    evidence={"access_key_id": mask_key(key_raw), "problem": "temporary (ASIA) key without a session token"},
                    fix="Export AWS_SESSION_TOKEN from the same session as the key, or stop exporting the key.",
                )
            )
    if winner in ("env", *_FILE_METHODS):
        container = by_method.get("container-role")
        if container is not None and container.would_use:
            out.append(
                Finding(
                    code="TD103",
                    evidence={"used": winner, "shadowed": "container-role"},
                    fix=f"Credentials from {winner} hide the container role this task/pod was given. Remove them.",
                )
            )
    if winner in _FILE_METHODS and resolved["temporary"]:
        out.append(
            Finding(
                code="TD204",
                evidence={"profile": analysis.profile, "file": analysis.credentials_file if winner == "shared-credentials-file" else analysis.config_file, "access_key_id": resolved["access_key_id"], "expires_at": resolved["expires_at"]},
                fix=(
                    f"Profile '{analysis.profile}' holds a pasted session (aws_session_token). Replace its keys with "
                    "`role_arn` + `source_profile`, `sso_session`, or `credential_process` so the SDK can refresh."
                ),
            )
        )
    if winner in _FILE_METHODS:
        section = _credentials_section(analysis) if winner == "shared-credentials-file" else profile_cfg
        a, b = section.get("aws_security_token"), section.get("aws_session_token")
        if a and b and a != b:
            out.append(Finding(code="TD208", evidence={"profile": analysis.profile}))
    if not analysis.explicit:
        default_p, plain_p = env.get("AWS_DEFAULT_PROFILE"), env.get("AWS_PROFILE")
        if default_p and plain_p and default_p != plain_p:
            out.append(
                Finding(
                    code="TD106",
                    evidence={"AWS_DEFAULT_PROFILE": default_p, "AWS_PROFILE": plain_p, "botocore_uses": default_p},
                    fix=f"botocore uses AWS_DEFAULT_PROFILE={default_p}; the AWS CLI uses AWS_PROFILE={plain_p}. `unset AWS_DEFAULT_PROFILE`.",
                )
            )
        overridden = {
            var: key
            for var, key in (("AWS_ROLE_ARN", "role_arn"), ("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file"))
            if env.get(var) and profile_cfg.get(key) and env[var] != profile_cfg[key]
        }
        if overridden:
            out.append(
                Finding(
                    code="TD107",
                    evidence={"profile": analysis.profile, "variables": sorted(overridden)},
                    fix="Profile '{}' sets {} but the environment overrides it. Unset {}.".format(
                        analysis.profile, ", ".join(sorted(overridden.values())), " ".join(sorted(overridden))
                    ),
                )
            )
    if winner is None and analysis.winner is None:
        imds = by_method.get("iam-role")
        out.append(
            Finding(
                code="TD201",
                evidence={"profile": analysis.profile, "instance_metadata": imds.status if imds else "absent"},
                fix=(
                    "Nothing in the chain has credentials"
                    + (" (instance metadata was not queried: on EC2 run with --imds)" if imds and imds.status == "not-checked" else "")
                    + ". Configure a profile the SDK can refresh (role_arn + source_profile, sso_session) or attach an instance role."
                ),
            )
        )
    if winner == "assume-role" and profile_cfg.get("mfa_serial"):
        out.append(Finding(code="TD209", evidence={"profile": analysis.profile, "mfa_serial": profile_cfg.get("mfa_serial")}))
    return out


def _credentials_section(analysis: ChainAnalysis) -> dict[str, str]:
    from botocore.configloader import raw_config_parse

    try:
        return dict(raw_config_parse(analysis.credentials_file).get(analysis.profile, {}))
    except Exception:  # noqa: BLE001 - already parsed once by the provider
        return {}


def _td101_fix(analysis: ChainAnalysis) -> str:
    profiles = analysis.full_config.get("profiles", {})
    roles = [name for name, cfg in profiles.items() if cfg.get("role_arn") and (cfg.get("source_profile") or cfg.get("credential_source"))]
    head = "These are a copy of one STS session: nothing refreshes them. "
    if roles:
        name = roles[0]
        return head + (
            f"Your config already has a refreshable role profile '{name}'. Run the job with "
            f"`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; AWS_PROFILE={name} <job>`."
        )
    return head + (
        "Add to ~/.aws/config:\n  [profile job]\n  role_arn = arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME\n"
        "  source_profile = default   # on EC2/ECS instead: credential_source = Ec2InstanceMetadata\n"
        "then `unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN` and start the job with AWS_PROFILE=job; "
        "botocore assumes the role and refreshes it 15 minutes before it expires."
    )
