"""Resolve botocore's default chain statically: botocore's own provider list and ``load()``, with every
side effect refused (see :mod:`tokendoctor.chain.botocore_private`).

The provider list comes from ``botocore.credentials.create_credential_resolver`` so its order and
method names are always the installed botocore's.  STS, SSO and web-identity calls are deferred by
botocore anyway, while ``credential_process``, the container endpoint and instance metadata are
reported as ``not-checked`` instead of being run.
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path
from typing import Any

from tokendoctor import files
from tokendoctor.botocore_env import botocore_environment, unsafe_files_once
from tokendoctor.chain.botocore_private import Refused, guard_offline
from tokendoctor.chain.model import ChainAnalysis, ProviderState, pick_winner
from tokendoctor.context import Context
from tokendoctor.models import Finding

#: Files larger than this are not handed to botocore (it reads them whole).
MAX_CONFIG_BYTES = files.MAX_CONFIG_BYTES


def file_problem(path: str) -> str | None:
    """A reason botocore cannot use ``path``, or None when it can (or it is absent)."""
    try:
        data = files.read_bytes(path, MAX_CONFIG_BYTES)
    except files.FileProblem as exc:
        return None if exc.kind == "missing" else exc.problem
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return f"is not valid UTF-8 (line {line})"
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        first = str(exc).splitlines()[0]
        lineno: Any = getattr(exc, "lineno", None)
        errors = getattr(exc, "errors", None)
        if lineno is None and errors:
            lineno = errors[0][0]
        where = f" (line {lineno})" if lineno else ""
        return f"cannot be parsed{where}: {first[:160]}"
    return None


def _selected_profile(ctx: Context, session: Any) -> tuple[str, str]:
    if ctx.options.profile is not None:
        return ctx.options.profile, "--profile"
    for var in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE"):
        if ctx.env.get(var):
            return ctx.env[var], var
    return (session.get_config_variable("profile") or "default"), "default"


def analyse(ctx: Context) -> ChainAnalysis:
    """Work out, without side effects, what botocore's default chain would do (not amended by probes)."""
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
        problem = file_problem(path)
        if problem:
            result.findings.append(
                Finding(
                    code="TD205",
                    evidence={"path": path, "problem": problem},
                    fix=f"{path} {problem}. Fix or remove it; botocore cannot use it.",
                )
            )
            blocking = True
    for setting, path, problem in unsafe_files_once(ctx):
        if path not in (config_file, creds_file):  # AWS_CREDENTIAL_FILE, the boto config: read whole by botocore
            result.findings.append(
                Finding(
                    code="TD205",
                    evidence={"path": path, "problem": problem, "setting": setting},
                    fix=f"{path} ({setting}) {problem}. Fix or remove it; botocore would read it whole.",
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
    guard_offline(providers)
    methods = [p.METHOD for p in providers]
    if "env" not in methods:  # an explicit profile drops the env provider
        result.providers.append(
            ProviderState(
                method="env", status="absent", detail="skipped: an explicit profile drops environment credentials"
            )
        )
    for provider in providers:
        result.providers.append(_evaluate(provider, ctx))
    pick_winner(result)
    return result


def _evaluate(provider: Any, ctx: Context) -> ProviderState:
    state = ProviderState(method=provider.METHOD)
    try:
        state.creds = provider.load()
    except Refused as refused:
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
            state.needs = refused.what
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


def _profile_not_found(result: ChainAnalysis) -> Finding:
    return Finding(
        code="TD105",
        evidence={"profile": result.profile, "selected_by": result.profile_source},
        fix=(
            f"Profile '{result.profile}' (from {result.profile_source}) is not in {result.config_file} "
            f"or {result.credentials_file}. Fix the name, or add `[profile {result.profile}]` to the config."
        ),
    )
