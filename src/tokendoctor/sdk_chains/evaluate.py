"""Walk another SDK's chain table (:mod:`tokendoctor.sdk_chains.tables`) over this machine's state:
which source that SDK would use.  Static: no network, no subprocess."""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokendoctor import chain as _chain
from tokendoctor import files
from tokendoctor.chain.model import ChainAnalysis, pick_winner
from tokendoctor.context import Context
from tokendoctor.limits import NOT_REFRESHABLE_METHODS
from tokendoctor.redact import mask_key
from tokendoctor.sdk_chains import tables as sdks
from tokendoctor.sdk_chains.java import JavaProperties, java_properties

_BOTOCORE_PROFILE_METHODS = {
    "assume-role",
    "shared-credentials-file",
    "config-file",
    "custom-process",
    "sso",
    "boto-config",
    "ec2-credentials-file",
}


@dataclass
class State:
    env: Mapping[str, str]
    explicit_profile: str | None
    profiles: dict[str, dict[str, str]]
    config_ok: bool
    props: JavaProperties
    analysis: ChainAnalysis  # boto3's botocore
    cli_analysis: Any = None  # the same, with the AWS CLI v2's profile-variable order
    java_v1_profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    java_v1_file: str = ""


def _profiles(analysis: Any) -> dict[str, dict[str, str]]:
    from botocore.configloader import raw_config_parse

    merged: dict[str, dict[str, str]] = {
        name: dict(cfg) for name, cfg in (analysis.full_config.get("profiles") or {}).items()
    }
    try:
        usable = analysis.credentials_file and not files.problem(analysis.credentials_file)
        creds = raw_config_parse(analysis.credentials_file) if usable else {}
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
            if files.problem(path):  # too large for botocore's whole-file read: no profiles
                return str(path), {}
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
    env = ctx.env
    plain, default = env.get("AWS_PROFILE"), env.get("AWS_DEFAULT_PROFILE")
    if ctx.options.profile is not None or not plain or not default or plain == default or original.error is not None:
        return original
    cli_env = {k: v for k, v in env.items() if k != "AWS_DEFAULT_PROFILE"}
    cli_ctx = Context(
        env=cli_env,
        root=ctx.root,
        now=ctx.now,
        options=ctx.options,
        redactor=ctx.redactor,
        process=ctx.process,
        _memo={},
        _memo_lock=threading.Lock(),
    )
    result = _chain.analyse_static(cli_ctx)
    if result.error is None:
        probed = {s.method: s for s in original.providers if s.method in ("container-role", "iam-role")}
        result.providers = [copy.copy(probed[s.method]) if s.method in probed else s for s in result.providers]
        pick_winner(result)
    return result


def machine_state(ctx: Context) -> State:
    analysis = _chain.analyse(ctx)
    process = ctx.process
    props = java_properties(
        process.cmdline if process is not None else None, ctx.env, process.pid if process is not None else None
    )
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


def _profile_row(
    row: Row,
    state: State,
    profile: str,
    order: Sequence[str],
    allowed: Sequence[str] | None = None,
    java_v1: bool = False,
) -> None:
    row.category = f"profile:{profile}"
    if not state.config_ok:
        row.status, row.detail = "not-checked", "the shared config files cannot be read (see the credentials check)"
        return
    profiles, where = (
        (state.java_v1_profiles, state.java_v1_file) if java_v1 else (state.profiles, "the config or credentials file")
    )
    section = profiles.get(profile)
    if section is None:
        row.detail = f"profile '{profile}' is not in {where}"
        return
    kinds = [k for k in order if k in profile_kinds(section)]
    if allowed is not None:
        kinds = [k for k in kinds if k in allowed]
    if not kinds:
        row.detail = f"profile '{profile}' has no credential settings" + (
            " for this provider" if allowed is not None else ""
        )
        return
    kind = kinds[0]
    row.found = True
    pasted = kind == "static" and bool(section.get("aws_session_token"))
    row.refreshes = kind != "static"
    row.detail = f"profile '{profile}': {_KIND_LABEL[kind]}" + (
        " with a pasted aws_session_token (never refreshed)" if pasted else ""
    )


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
    row.detail = (
        f"{key_var} {mask_key(key)} + {secret_var}"
        + (f" + {token_var}" if token else "")
        + (" (temporary, never refreshed)" if temporary else "")
    )


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
        row.detail = (
            f"-D{key_p}={mask_key(key)} + -D{secret_p}"
            + (f" + -D{token_p}" if token else "")
            + f" ({origin}"
            + ("; temporary, never refreshed)" if temporary else ")")
        )
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
    token_file = state.env.get("AWS_WEB_IDENTITY_TOKEN_FILE") or (
        state.props.values.get("aws.webIdentityTokenFile") if props else None
    )
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
            seen = (
                f"; botocore's probe: {botocore_row.detail}" if botocore_row is not None and botocore_row.detail else ""
            )
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
        return botocore_evaluation(chain, state)
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
                _env_row(
                    probe,
                    chain,
                    state,
                    Evaluation(sdk=chain.name, rows=[], profile=profile, profile_selected_by=selected_by),
                )
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
            _profile_row(
                row,
                state,
                profile,
                _GO_ORDER if chain.name == "go-v2" else _GENERIC_ORDER,
                java_v1=chain.name == "java-v1",
            )
        elif source.id == "sso":
            _profile_row(row, state, profile, _GENERIC_ORDER, allowed=("sso",))
        elif source.id == "ini":
            _profile_row(
                row,
                state,
                profile,
                _GENERIC_ORDER,
                allowed=("source_profile", "credential_source", "web_identity", "static"),
            )
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


def botocore_evaluation(chain: sdks.SdkChain, state: State) -> Evaluation:
    analysis = state.cli_analysis if chain.name == "cli-v2" and state.cli_analysis is not None else state.analysis
    ev = Evaluation(sdk=chain.name, rows=[], profile=analysis.profile, profile_selected_by=analysis.profile_source)
    for provider in analysis.providers:
        row = Row(
            provider=provider.method,
            status=provider.status,
            detail=provider.detail,
            source_url=sdks.BOTOCORE_CREDENTIALS,
        )
        row.found = provider.found
        row.category = botocore_source(provider.method, state.env, analysis.profile)
        row.refreshes = provider.method not in NOT_REFRESHABLE_METHODS
        ev.rows.append(row)
        if provider is analysis.winner:
            ev.winner = row
    if analysis.error is not None:
        ev.winner = Row(provider=analysis.error, status="error", detail=analysis.error)
    return ev
