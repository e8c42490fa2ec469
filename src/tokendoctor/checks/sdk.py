"""Which credentials another SDK would use on this machine, and where it disagrees with botocore.

Entry point: :func:`check`.  Statically (no network, no subprocess) walks the
chain table of the SDK chosen with ``--sdk`` (:mod:`tokendoctor.sdks`) over the
machine state: the environment (``ctx.env``), the shared config files (as
botocore parsed them), Java system properties from the diagnosed process's
command line (``ctx.process.cmdline``) and ``JAVA_TOOL_OPTIONS``, and what the
instance/container probes saw (through :func:`tokendoctor.checks.roles.chain`).
``python`` and ``cli-v2`` are botocore's chain itself.

:func:`adjust` is the pure step (called from :func:`tokendoctor.reporter.derive`)
that removes credentials-check findings which only hold under botocore's order.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tokendoctor import sdks
from tokendoctor.context import Context
from tokendoctor.models import CheckResult, Finding
from tokendoctor.redact import mask_key

NAME = "sdk"

_BOTOCORE_PROFILE_METHODS = {
    "assume-role",
    "shared-credentials-file",
    "config-file",
    "custom-process",
    "sso",
    "boto-config",
    "ec2-credentials-file",
}
_JVM_OPTIONS_WITH_VALUE = {"-cp", "-classpath", "--class-path", "-p", "--module-path", "--add-modules", "--upgrade-module-path"}
_JVM_OPTION_ENV = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")


# ----------------------------------------------------------------- Java properties


@dataclass(frozen=True)
class JavaProperties:
    values: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    known: bool = False
    """The JVM command line was available (``--pid``)."""


def _props_from_args(args: Sequence[str], origin: str, out: JavaProperties) -> None:
    for arg in args:
        if arg.startswith("-Daws.") and "=" in arg:
            name, value = arg[2:].split("=", 1)
            out.values.setdefault(name, value)
            out.origin.setdefault(name, origin)


def jvm_options(cmdline: Sequence[str]) -> list[str]:
    """The JVM options of a ``java`` command line: everything before the main class / ``-jar FILE`` / ``-m``."""
    options: list[str] = []
    i = 1
    while i < len(cmdline):
        arg = cmdline[i]
        if arg in ("-jar", "-m", "--module") or not arg.startswith("-"):
            break
        options.append(arg)
        if arg in _JVM_OPTIONS_WITH_VALUE:
            i += 1
        i += 1
    return options


def java_properties(cmdline: Sequence[str] | None, env: Mapping[str, str], pid: int | None = None) -> JavaProperties:
    """``-Daws.*`` system properties of the JVM: its command line (when known) and the JVM option variables.

    The command line wins over ``JAVA_TOOL_OPTIONS`` (the JVM applies the variable first)."""
    out = JavaProperties(known=bool(cmdline))
    if cmdline:
        _props_from_args(jvm_options(cmdline), f"command line of PID {pid}" if pid else "command line", out)
    for var in _JVM_OPTION_ENV:
        text = env.get(var)
        if not text:
            continue
        try:
            args = shlex.split(text)
        except ValueError:
            args = text.split()
        _props_from_args(args, var, out)
    return out


# ------------------------------------------------------------------ machine state


@dataclass
class State:
    env: Mapping[str, str]
    explicit_profile: str | None
    profiles: dict[str, dict[str, str]]
    config_ok: bool
    props: JavaProperties
    analysis: Any  # credentials.ChainAnalysis (boto3's botocore)
    cli_analysis: Any = None  # the same, with the AWS CLI v2's profile-variable order
    java_v1_profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    java_v1_file: str = ""


def _profiles(analysis: Any) -> dict[str, dict[str, str]]:
    from botocore.configloader import raw_config_parse

    merged: dict[str, dict[str, str]] = {name: dict(cfg) for name, cfg in (analysis.full_config.get("profiles") or {}).items()}
    try:
        creds = raw_config_parse(analysis.credentials_file) if analysis.credentials_file else {}
    except Exception:  # noqa: BLE001 - an unreadable file is already a TD205 of the credentials check
        creds = {}
    for name, section in creds.items():
        merged.setdefault(name, {}).update(section)
    return merged


def _java_v1_profiles(env: Mapping[str, str], home: Any) -> tuple[str, dict[str, dict[str, str]]]:
    """Java 1.x reads ONE profile file: AWS_CREDENTIAL_PROFILES_FILE, else ~/.aws/credentials, else ~/.aws/config."""
    from pathlib import Path

    from botocore.configloader import raw_config_parse

    override = env.get("AWS_CREDENTIAL_PROFILES_FILE")
    candidates = [Path(override)] if override else [Path(home) / ".aws" / "credentials", Path(home) / ".aws" / "config"]
    for path in candidates:
        if path.is_file():
            try:
                parsed = raw_config_parse(str(path))
            except Exception:  # noqa: BLE001 - unreadable: no profiles, the credentials check reports the file
                return str(path), {}
            profiles = {}
            for name, section in parsed.items():
                profiles[name.removeprefix("profile ")] = dict(section)
            return str(path), profiles
    return str(candidates[0]), {}


def _cli_analysis(ctx: Context, original: Any) -> Any:
    """botocore's analysis as the AWS CLI v2 sees it: its bundled botocore reads AWS_PROFILE first."""
    import copy
    import threading

    env = ctx.env
    plain, default = env.get("AWS_PROFILE"), env.get("AWS_DEFAULT_PROFILE")
    if ctx.options.profile is not None or not plain or not default or plain == default or original.error is not None:
        return original
    from tokendoctor.checks.credentials import _assign_statuses, analyse

    cli_env = {k: v for k, v in env.items() if k != "AWS_DEFAULT_PROFILE"}
    cli_ctx = Context(env=cli_env, root=ctx.root, now=ctx.now, options=ctx.options, redactor=ctx.redactor, process=ctx.process, _memo={}, _memo_lock=threading.Lock())
    result = analyse(cli_ctx)
    if result.error is None:
        probed = {s.method: s for s in original.providers if s.method in ("container-role", "iam-role")}
        result.providers = [copy.copy(probed[s.method]) if s.method in probed else s for s in result.providers]
        result.winner = next((s for s in result.providers if s.found or s.status == "error"), None)
        _assign_statuses(result)
    return result


def machine_state(ctx: Context) -> State:
    from tokendoctor.checks.roles import chain

    analysis = chain(ctx)
    process = ctx.process
    props = java_properties(process.cmdline if process is not None else None, ctx.env, process.pid if process is not None else None)
    for name in ("aws.secretKey", "aws.secretAccessKey", "aws.sessionToken"):
        ctx.redactor.add(props.values.get(name))
    config_ok = analysis.error is None
    java_v1_file, java_v1_profiles = _java_v1_profiles(ctx.env, ctx.home)
    return State(
        env=ctx.env,
        explicit_profile=ctx.options.profile,
        profiles=_profiles(analysis) if config_ok else {},
        config_ok=config_ok,
        props=props,
        analysis=analysis,
        cli_analysis=_cli_analysis(ctx, analysis),
        java_v1_profiles=java_v1_profiles,
        java_v1_file=java_v1_file,
    )


# --------------------------------------------------------------------- evaluation


@dataclass
class Row:
    provider: str
    status: str = "absent"
    detail: str = ""
    source_url: str = ""
    found: bool = False
    refreshes: bool | None = None
    category: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "status": self.status, "detail": self.detail, "source_url": self.source_url}


@dataclass
class Evaluation:
    sdk: str
    rows: list[Row]
    profile: str
    profile_selected_by: str
    winner: Row | None = None
    env_aliases: list[str] = field(default_factory=list)
    env_skipped_with_credentials: bool = False

    @property
    def source(self) -> str:
        """What the user can act on: ``env``, ``system-properties``, ``profile:NAME``, ... or ``none``."""
        if self.winner is None:
            return "none"
        if self.winner.status == "error":
            return f"error:{self.winner.provider}"
        return self.winner.category

    @property
    def refreshes(self) -> bool | None:
        return None if self.winner is None or self.winner.status == "error" else self.winner.refreshes


def _first(env: Mapping[str, str], names: Sequence[str]) -> tuple[str | None, str | None]:
    for name in names:
        value = env.get(name)
        if value:
            return name, value
    return None, None


def select_profile(chain: sdks.SdkChain, state: State) -> tuple[str, str]:
    if state.explicit_profile is not None:
        return state.explicit_profile, "--profile"
    prop = chain.profile_property
    prop_value = state.props.values.get(prop) if prop else None
    if prop and prop_value and chain.profile_property_first:
        return prop_value, f"-D{prop}"
    var, value = _first(state.env, chain.profile_vars)
    if var and value:
        return value, var
    if prop and prop_value:
        return prop_value, f"-D{prop}"
    return "default", "default"


_KIND_LABEL = {
    "source_profile": "role_arn + source_profile",
    "credential_source": "role_arn + credential_source",
    "web_identity": "role_arn + web_identity_token_file",
    "sso": "sso",
    "process": "credential_process",
    "static": "static keys",
}
_GO_ORDER = ("source_profile", "static", "credential_source", "web_identity", "sso", "process")
_GENERIC_ORDER = ("source_profile", "credential_source", "web_identity", "sso", "process", "static")


def profile_kinds(section: Mapping[str, str]) -> list[str]:
    kinds = []
    role = bool(section.get("role_arn"))
    if role and section.get("source_profile"):
        kinds.append("source_profile")
    if role and section.get("credential_source"):
        kinds.append("credential_source")
    if role and section.get("web_identity_token_file"):
        kinds.append("web_identity")
    if section.get("sso_session") or section.get("sso_start_url"):
        kinds.append("sso")
    if section.get("credential_process"):
        kinds.append("process")
    if section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
        kinds.append("static")
    return kinds


def _profile_row(row: Row, state: State, profile: str, order: Sequence[str], allowed: Sequence[str] | None = None, java_v1: bool = False) -> None:
    row.category = f"profile:{profile}"
    if not state.config_ok:
        row.status, row.detail = "not-checked", "the shared config files cannot be read (see the credentials check)"
        return
    profiles, where = (state.java_v1_profiles, state.java_v1_file) if java_v1 else (state.profiles, "the config or credentials file")
    section = profiles.get(profile)
    if section is None:
        row.detail = f"profile '{profile}' is not in {where}"
        return
    kinds = [k for k in order if k in profile_kinds(section)]
    if allowed is not None:
        kinds = [k for k in kinds if k in allowed]
    if not kinds:
        row.detail = f"profile '{profile}' has no credential settings" + (" for this provider" if allowed is not None else "")
        return
    kind = kinds[0]
    row.found = True
    pasted = kind == "static" and bool(section.get("aws_session_token"))
    row.refreshes = kind != "static"
    row.detail = f"profile '{profile}': {_KIND_LABEL[kind]}" + (" with a pasted aws_session_token (never refreshed)" if pasted else "")


def _env_row(row: Row, chain: sdks.SdkChain, state: State, ev: Evaluation) -> None:
    row.category = "env"
    key_var, key = _first(state.env, chain.access_key_vars)
    secret_var, secret = _first(state.env, chain.secret_key_vars)
    token_var, token = _first(state.env, chain.token_vars)
    if not (key and secret):
        present = [v for v in (*chain.access_key_vars, *chain.secret_key_vars) if state.env.get(v)]
        row.detail = f"incomplete ({', '.join(present)} only); skipped" if present else ""
        return
    row.found = True
    row.refreshes = False
    aliases = [v for v in (key_var, secret_var) if v not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")]
    ev.env_aliases = [v for v in aliases if v]
    temporary = bool(token) or (key or "").startswith("ASIA")
    row.detail = f"{key_var} {mask_key(key)} + {secret_var}" + (f" + {token_var}" if token else "") + (" (temporary, never refreshed)" if temporary else "")


def _sysprops_row(row: Row, chain: sdks.SdkChain, state: State) -> None:
    row.category = "system-properties"
    if chain.system_properties is None:
        return
    key_p, secret_p, token_p = chain.system_properties
    values = state.props.values
    key, secret, token = values.get(key_p), values.get(secret_p), values.get(token_p)
    if key and secret:
        row.found = True
        row.refreshes = False
        origin = state.props.origin.get(key_p, "")
        temporary = bool(token) or key.startswith("ASIA")
        row.detail = f"-D{key_p}={mask_key(key)} + -D{secret_p}" + (f" + -D{token_p}" if token else "") + f" ({origin}" + ("; temporary, never refreshed)" if temporary else ")")
        return
    other = {"aws.secretKey", "aws.secretAccessKey"} - {secret_p}
    if key and any(values.get(o) for o in other):
        row.detail = f"-D{key_p} is set with -D{other.pop()}, but this SDK reads -D{secret_p}; skipped"
        return
    if any(values.get(p) for p in (key_p, secret_p)):
        row.detail = "incomplete system properties; skipped"
        return
    if not state.props.known:
        row.status = "not-checked"
        row.detail = "JVM command line unknown: run with --pid PID of the java process"


def _web_identity_row(row: Row, state: State, props: bool = False) -> None:
    row.category = "web-identity"
    token_file = state.env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or (state.props.values.get("aws.webIdentityTokenFile") if props else None)
    role = state.env.get("AWS_ROLE_ARN") or (state.props.values.get("aws.roleArn") if props else None)
    if not token_file:
        return
    if not role:
        row.status = "error"
        row.detail = "AWS_WEB_IDENTITY_TOKEN_FILE is set without AWS_ROLE_ARN"
        return
    row.found = True
    row.refreshes = True
    row.detail = f"role {role} with the token in {token_file}; STS not called"


def _container_row(row: Row, state: State) -> None:
    row.category = "container"
    for var in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        if state.env.get(var):
            row.found = True
            row.refreshes = True
            botocore_row = _botocore_row(state, "container-role")
            seen = f"; botocore's probe: {botocore_row.detail}" if botocore_row is not None and botocore_row.detail else ""
            row.status = "not-checked"
            row.detail = f"{var} is set; endpoint not called by this check{seen}"
            return


def _botocore_row(state: State, method: str) -> Any:
    return next((p for p in state.analysis.providers if p.method == method), None)


def _imds_row(row: Row, state: State, chain: sdks.SdkChain) -> None:
    row.category = "instance-metadata"
    if chain.name == "js-v3" and state.env.get("AWS_EC2_METADATA_DISABLED"):
        row.detail = "AWS_EC2_METADATA_DISABLED is set"
        return
    botocore_row = _botocore_row(state, "iam-role")
    if botocore_row is None or botocore_row.status == "not-checked":
        row.status = "not-checked"
        row.detail = "instance metadata not queried"
        return
    if botocore_row.found:
        row.found = True
        row.refreshes = True
        row.detail = botocore_row.detail or "instance role credentials"
    elif botocore_row.status == "error":
        row.status = "error"
        row.detail = botocore_row.detail
    else:
        row.detail = botocore_row.detail


def evaluate(chain: sdks.SdkChain, state: State) -> Evaluation:
    """The chain of ``chain`` over ``state``: one row per source, statuses as botocore's analysis uses them."""
    if chain.uses_botocore:
        return _botocore_evaluation(chain, state)
    profile, selected_by = select_profile(chain, state)
    ev = Evaluation(sdk=chain.name, rows=[], profile=profile, profile_selected_by=selected_by)
    explicit = state.explicit_profile is not None
    for source in chain.sources:
        row = Row(provider=source.id, source_url=source.source_url)
        ev.rows.append(row)
        if source.id == "env":
            skip_reason = None
            if explicit and chain.explicit_profile_drops_env:
                skip_reason = "a profile given in code (--profile) drops environment credentials"
            elif chain.profile_var_drops_env and selected_by in chain.profile_vars:
                skip_reason = f"{selected_by}={profile} is set, so this SDK skips environment credentials"
            if skip_reason:
                probe = Row(provider="env")
                _env_row(probe, chain, state, Evaluation(sdk=chain.name, rows=[], profile=profile, profile_selected_by=selected_by))
                ev.env_skipped_with_credentials = probe.found
                row.category = "env"
                row.detail = "skipped: " + skip_reason
                continue
            _env_row(row, chain, state, ev)
        elif source.id == "system-properties":
            _sysprops_row(row, chain, state)
        elif source.id == "web-identity":
            if chain.name == "go-v2" and explicit:
                row.detail = "skipped: a profile given in code takes precedence"
                continue
            _web_identity_row(row, state, props=chain.name == "java-v2")
        elif source.id == "explicit-profile":
            if explicit:
                _profile_row(row, state, profile, _GO_ORDER)
            else:
                row.detail = "no profile given in code (--profile)"
        elif source.id == "profile":
            if chain.name == "go-v2" and explicit:
                row.detail = "see explicit-profile"
                continue
            _profile_row(row, state, profile, _GO_ORDER if chain.name == "go-v2" else _GENERIC_ORDER, java_v1=chain.name == "java-v1")
        elif source.id == "sso":
            _profile_row(row, state, profile, _GENERIC_ORDER, allowed=("sso",))
        elif source.id == "ini":
            _profile_row(row, state, profile, _GENERIC_ORDER, allowed=("source_profile", "credential_source", "web_identity", "static"))
        elif source.id == "process":
            _profile_row(row, state, profile, _GENERIC_ORDER, allowed=("process",))
        elif source.id == "container":
            _container_row(row, state)
        elif source.id == "instance-metadata":
            if any(r.provider == "container" and r.found for r in ev.rows) and chain.name in ("java-v1", "js-v3"):
                row.detail = "not consulted: the container endpoint is configured"
                continue
            _imds_row(row, state, chain)
    _assign(ev)
    return ev


def _assign(ev: Evaluation) -> None:
    for row in ev.rows:
        if ev.winner is None and (row.found or row.status == "error"):
            ev.winner = row
            if row.status != "error":
                row.status = "used"
            continue
        if row.found and row.status != "error":
            row.status = "shadowed"
            row.detail = f"{row.detail}; {ev.winner.provider if ev.winner else '?'} comes first"


def botocore_source(method: str | None, env: Mapping[str, str], profile: str) -> str:
    if method is None:
        return "none"
    if method == "env":
        return "env"
    if method == "assume-role-with-web-identity":
        return "web-identity" if env.get("AWS_WEB_IDENTITY_TOKEN_FILE") else f"profile:{profile}"
    if method == "container-role":
        return "container"
    if method == "iam-role":
        return "instance-metadata"
    if method in _BOTOCORE_PROFILE_METHODS:
        return f"profile:{profile}"
    return method


def _botocore_evaluation(chain: sdks.SdkChain, state: State) -> Evaluation:
    analysis = state.cli_analysis if chain.name == "cli-v2" and state.cli_analysis is not None else state.analysis
    ev = Evaluation(sdk=chain.name, rows=[], profile=analysis.profile, profile_selected_by=analysis.profile_source)
    for provider in analysis.providers:
        row = Row(provider=provider.method, status=provider.status, detail=provider.detail, source_url=sdks.BOTOCORE_CREDENTIALS)
        row.found = provider.found
        row.category = botocore_source(provider.method, state.env, analysis.profile)
        row.refreshes = provider.method not in ("env", "shared-credentials-file", "config-file", "boto-config", "ec2-credentials-file")
        ev.rows.append(row)
        if provider is analysis.winner:
            ev.winner = row
    if analysis.error is not None:
        ev.winner = Row(provider=analysis.error, status="error", detail=analysis.error)
    return ev


# ------------------------------------------------------------------------ the check


def check(ctx: Context) -> CheckResult:
    state = machine_state(ctx)
    chain = sdks.get(ctx.options.sdk)
    evaluations = {name: evaluate(sdks.get(name), state) for name in sdks.NAMES}
    selected = evaluations[chain.name]
    botocore = evaluations["python"]
    disagreements: list[dict[str, Any]] = [
        {"sdk": name, "winner": ev.winner.provider if ev.winner else None, "source": ev.source}
        for name, ev in evaluations.items()
        if name != chain.name and ev.source != selected.source
    ]
    window = chain.refresh_window
    data: dict[str, Any] = {
        "name": chain.name,
        "title": chain.title,
        "source_url": chain.source_url,
        "read_at": chain.read_at,
        "profile": selected.profile,
        "profile_selected_by": selected.profile_selected_by,
        "chain": [r.to_dict() for r in selected.rows],
        "winner": selected.winner.provider if selected.winner else None,
        "winner_source": selected.source,
        "winner_refreshes": selected.refreshes,
        "botocore_winner": botocore.winner.provider if botocore.winner else None,
        "botocore_source": botocore.source,
        "refresh_window": {
            "summary": window.summary,
            "advisory_seconds": window.advisory_seconds,
            "mandatory_seconds": window.mandatory_seconds,
            "source_url": window.source_url,
        },
        "disagreements": disagreements,
        "notes": list(chain.notes),
        "unconfirmed": list(chain.unconfirmed),
    }
    data["summary"] = _summary(chain, selected, botocore, [d["sdk"] for d in disagreements])
    findings = _findings(ctx, chain, state, selected, botocore)
    return CheckResult(name=NAME, findings=tuple(findings), data=data)


def _describe(ev: Evaluation) -> str:
    if ev.winner is None:
        return "no credentials"
    if ev.winner.status == "error":
        return f"an error at {ev.winner.provider} ({ev.winner.detail})"
    return f"{ev.winner.provider} ({ev.winner.detail})" if ev.winner.detail else ev.winner.provider


def _summary(chain: sdks.SdkChain, selected: Evaluation, botocore: Evaluation, disagreeing: Sequence[str]) -> str:
    if selected.winner is None:
        text = f"{chain.name} would find no credentials"
    elif selected.winner.status == "error":
        text = f"{chain.name} would fail at {selected.winner.provider}"
    else:
        text = f"{chain.name} would use {selected.winner.provider} ({selected.source})"
    if not chain.uses_botocore:
        text += "; botocore agrees" if selected.source == botocore.source else f"; botocore uses {botocore.winner.provider if botocore.winner else 'nothing'} ({botocore.source})"
    if disagreeing:
        text += f"; differs: {', '.join(disagreeing)}"
    window = chain.refresh_window.advisory_seconds
    return text + (f"; refreshes {window // 60} min before expiry" if window else "")


def _findings(ctx: Context, chain: sdks.SdkChain, state: State, selected: Evaluation, botocore: Evaluation) -> list[Finding]:
    out: list[Finding] = []
    if chain.uses_botocore:
        return out
    if selected.source != botocore.source:
        out.append(
            Finding(
                code="TD506",
                evidence={
                    "sdk": chain.name,
                    "sdk_winner": selected.winner.provider if selected.winner else None,
                    "sdk_source": selected.source,
                    "botocore_winner": botocore.winner.provider if botocore.winner else None,
                    "botocore_source": botocore.source,
                },
                fix=_td506_fix(chain, selected, botocore),
            )
        )
    sysprops = next((r for r in selected.rows if r.provider == "system-properties"), None)
    if sysprops is not None and sysprops.found and chain.system_properties is not None:
        names = [f"-D{p}" for p in chain.system_properties if state.props.values.get(p)]
        key = state.props.values.get(chain.system_properties[0])
        out.append(
            Finding(
                code="TD507",
                severity="error" if sysprops.status == "used" and state.props.values.get(chain.system_properties[2]) else None,
                evidence={
                    "sdk": chain.name,
                    "properties": names,
                    "origin": sorted({state.props.origin.get(p[2:], "") for p in names}),
                    "access_key_id": mask_key(key),
                    "status": sysprops.status,
                },
                fix=(
                    f"Remove {' '.join(names)} from the java command line"
                    + (" (and JAVA_TOOL_OPTIONS/JDK_JAVA_OPTIONS)" if any(state.props.origin.get(p[2:]) in _JVM_OPTION_ENV for p in names) else "")
                    + ". System properties are static: nothing refreshes them. Start the JVM with AWS_PROFILE set to a role profile "
                    "(role_arn + source_profile or credential_source) or let it use the instance/container role."
                ),
            )
        )
    if selected.profile != botocore.profile and selected.profile_selected_by != "--profile":
        out.append(
            Finding(
                code="TD508",
                evidence={
                    "sdk": chain.name,
                    "sdk_profile": selected.profile,
                    "sdk_selected_by": selected.profile_selected_by,
                    "botocore_profile": botocore.profile,
                    "botocore_selected_by": botocore.profile_selected_by,
                },
                fix=(
                    f"{chain.name} reads profile '{selected.profile}' ({selected.profile_selected_by}) but botocore and the AWS CLI read "
                    f"'{botocore.profile}' ({botocore.profile_selected_by}). Use one variable: `export AWS_PROFILE=NAME; unset AWS_DEFAULT_PROFILE`"
                    + (" and drop -Daws.profile from the java command line." if "aws.profile" in state.props.values else ".")
                ),
            )
        )
    out.extend(_alias_findings(chain, state, selected))
    return out


def _alias_findings(chain: sdks.SdkChain, state: State, selected: Evaluation) -> list[Finding]:
    env = state.env
    env_row = next((r for r in selected.rows if r.provider == "env"), None)
    if env_row is None or not env_row.found:
        return []
    problems = []
    if selected.env_aliases:
        problems.append(f"{chain.name} takes credentials from {', '.join(selected.env_aliases)}, which botocore and the AWS CLI do not read")
    first_secret = next((v for v in chain.secret_key_vars if env.get(v)), None)
    if first_secret and first_secret != "AWS_SECRET_ACCESS_KEY" and env.get("AWS_SECRET_ACCESS_KEY") and env["AWS_SECRET_ACCESS_KEY"] != env[first_secret]:
        problems.append(f"{first_secret} and AWS_SECRET_ACCESS_KEY differ; {chain.name} uses {first_secret}, botocore AWS_SECRET_ACCESS_KEY")
    if env.get("AWS_SECURITY_TOKEN") and env.get("AWS_SESSION_TOKEN") and env["AWS_SECURITY_TOKEN"] != env["AWS_SESSION_TOKEN"] and "AWS_SECURITY_TOKEN" not in chain.token_vars:
        problems.append(f"AWS_SECURITY_TOKEN and AWS_SESSION_TOKEN differ; botocore uses AWS_SECURITY_TOKEN, {chain.name} AWS_SESSION_TOKEN")
    if not problems:
        return []
    stray = sorted(v for v in ("AWS_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SECURITY_TOKEN") if env.get(v))
    return [
        Finding(
            code="TD509",
            evidence={"sdk": chain.name, "variables": stray, "problems": problems},
            fix=f"`unset {' '.join(stray)}` and export only AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN from one session (or none).",
        )
    ]


def _td506_fix(chain: sdks.SdkChain, selected: Evaluation, botocore: Evaluation) -> str:
    head = (
        f"{chain.title} uses {_describe(selected)}; boto3 and the AWS CLI use {_describe(botocore)}. "
        "What `aws sts get-caller-identity` shows is not what this program uses. "
    )
    source = selected.source
    if source == "system-properties":
        return head + "Remove the -Daws.* credential properties from the java command line."
    if source == "env":
        return head + "`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ACCESS_KEY AWS_SECRET_KEY` before starting the program so it reaches the refreshable source."
    if source.startswith("profile:") and selected.env_skipped_with_credentials:
        return head + (
            f"JS v3 ignores the exported keys because {selected.profile_selected_by} is set: fix profile '{selected.profile}' "
            "or, if the keys are what you meant, `unset AWS_PROFILE` (better: unset the keys and keep the profile)."
        )
    if source.startswith("profile:"):
        return head + f"Check profile '{selected.profile}' ({selected.profile_selected_by}) in ~/.aws/config; that is what this SDK refreshes from."
    if source == "none":
        return head + "Give this SDK a source it reads (see the chain table): a profile via AWS_PROFILE, or the instance/container role."
    return head + "Inspect that source (see the chain table), not the CLI's."


# --------------------------------------------------------------------- derive step

_BOTOCORE_ORDER_CODES = {"TD101", "TD102", "TD106"}


def adjust(results: Sequence[CheckResult]) -> list[CheckResult]:
    """Drop credentials findings that only hold under botocore's order when another SDK was chosen.

    * TD101 (static env session) and TD102 (env shadows the profile) need the
      SDK to use the environment credentials: dropped when it does not (JS v3
      with AWS_PROFILE set, Java v2 with -Daws.* properties, ...).
    * TD106 (AWS_DEFAULT_PROFILE vs AWS_PROFILE, "botocore uses ...") is about
      botocore's precedence: dropped; TD508 states the chosen SDK's instead.
    Pure: no I/O.
    """
    sdk = next((r for r in results if r.name == NAME and r.data), None)
    if sdk is None or sdk.data.get("name") in ("python", "cli-v2"):
        return list(results)
    env_wins = sdk.data.get("winner_source") == "env"
    out = []
    for result in results:
        if result.name != "credentials":
            out.append(result)
            continue
        kept = tuple(
            _neutral_td102(f, sdk.data) if f.code == "TD102" else f
            for f in result.findings
            if f.code not in _BOTOCORE_ORDER_CODES or (f.code in ("TD101", "TD102") and env_wins)
        )
        out.append(replace(result, findings=kept) if kept != result.findings else result)
    return out


def _neutral_td102(finding: Finding, data: Mapping[str, Any]) -> Finding:
    """TD102's fix names boto3; say what holds for the chosen SDK instead."""
    profile = finding.evidence.get("profile")
    return replace(
        finding,
        fix=(
            f"{data.get('name')} reads the environment credentials before profile '{profile}'. "
            "`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ACCESS_KEY AWS_SECRET_KEY` "
            "before starting the program."
        ),
    )
