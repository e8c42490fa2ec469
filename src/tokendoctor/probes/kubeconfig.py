"""The kubeconfig's exec credential plugins that get an EKS token from AWS credentials, read once and bounded.

kubectl reads ``KUBECONFIG`` (paths joined by ``os.pathsep``, merged: the first file that sets a
value wins) or ``~/.kube/config``.  For each ``users[].user.exec`` that runs ``aws eks get-token`` or
``aws-iam-authenticator`` this returns the AWS profile it selects (``--profile`` argument, else
``AWS_PROFILE`` in ``exec.env``), ``--role-arn`` / ``-r``, the cluster, and whether the current context
uses it.  Nothing is run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tokendoctor import files
from tokendoctor.context import Context

MAX_KUBECONFIG_BYTES = 1024 * 1024
MAX_FILES = 16
MAX_USERS = 200
_AUTH_COMMANDS = ("aws", "aws-iam-authenticator")


@dataclass(frozen=True, kw_only=True)
class ExecUser:
    name: str
    command: str
    args: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    """``exec.env`` as name -> value (only AWS_* variables are kept)."""
    profile: str | None = None
    profile_from: str | None = None
    """``--profile`` or ``exec.env AWS_PROFILE``; None when the plugin inherits kubectl's environment."""
    role_arn: str | None = None
    cluster: str | None = None
    current: bool = False
    source: str = ""


@dataclass(frozen=True, kw_only=True)
class Kubeconfig:
    paths: tuple[str, ...] = ()
    users: tuple[ExecUser, ...] = ()
    current_context: str | None = None
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "paths": list(self.paths),
            "current_context": self.current_context,
            "problems": list(self.problems),
            "exec_users": [
                {
                    "name": u.name,
                    "command": u.command,
                    "profile": u.profile,
                    "profile_from": u.profile_from,
                    "role_arn": u.role_arn,
                    "cluster": u.cluster,
                    "current": u.current,
                    "file": u.source,
                }
                for u in self.users
            ],
        }


def read(ctx: Context) -> Kubeconfig:
    return ctx.once("kubeconfig", lambda: _read(ctx))


def _paths(ctx: Context) -> list[str]:
    value = ctx.env.get("KUBECONFIG")
    if value:
        return [p for p in value.split(os.pathsep) if p][:MAX_FILES]
    return [str(ctx.home / ".kube" / "config")]


def _load(path: str, problems: list[str]) -> dict[str, Any] | None:
    import yaml

    try:
        text = files.read_text(os.path.expanduser(path), MAX_KUBECONFIG_BYTES)
    except files.FileProblem as exc:
        if exc.kind == "missing":
            return None
        if exc.kind in ("directory", "not-regular"):
            problems.append(f"{path} is not a regular file")
        elif exc.kind == "too-large":
            problems.append(f"{path} is larger than {MAX_KUBECONFIG_BYTES // 1024} KiB")
        else:
            problems.append(f"{path} {exc.problem}")
        return None
    except UnicodeError as exc:
        problems.append(f"{path} cannot be read as YAML ({type(exc).__name__})")
        return None
    try:
        doc = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:  # RecursionError: YAML nested deeper than the stack
        problems.append(f"{path} cannot be read as YAML ({type(exc).__name__})")
        return None
    return doc if isinstance(doc, dict) else None


def _read(ctx: Context) -> Kubeconfig:
    problems: list[str] = []
    paths = _paths(ctx)
    current: str | None = None
    contexts: dict[str, dict[str, Any]] = {}
    users: dict[str, tuple[dict[str, Any], str]] = {}
    for path in paths:
        doc = _load(path, problems)
        if doc is None:
            continue
        if current is None and isinstance(doc.get("current-context"), str) and doc["current-context"]:
            current = doc["current-context"]
        for item in _named(doc.get("contexts")):
            contexts.setdefault(item[0], item[1])
        for name, body in _named(doc.get("users")):
            users.setdefault(name, (body, path))
    current_user = contexts[current].get("user") if current and current in contexts else None
    out: list[ExecUser] = []
    for name, (body, path) in list(users.items())[:MAX_USERS]:
        found = _exec_user(ctx, name, body, path, current=name == current_user)
        if found is not None:
            out.append(found)
    return Kubeconfig(
        paths=tuple(paths), users=tuple(out), current_context=current, problems=tuple(problems[:MAX_FILES])
    )


def _named(items: Any) -> list[tuple[str, dict[str, Any]]]:
    """``[{name: N, <key>: {...}}]`` entries as (N, inner mapping) pairs (``context`` / ``user``)."""
    out: list[tuple[str, dict[str, Any]]] = []
    if not isinstance(items, list):
        return out
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        inner = item.get("user", item.get("context"))
        out.append((item["name"], inner if isinstance(inner, dict) else {}))
    return out


def _exec_user(ctx: Context, name: str, body: dict[str, Any], path: str, *, current: bool) -> ExecUser | None:
    spec = body.get("exec")
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
        return None
    command = spec["command"]
    if os.path.basename(command) not in _AUTH_COMMANDS:
        return None
    args = tuple(str(a) for a in spec.get("args") or () if isinstance(a, (str, int)))
    if os.path.basename(command) == "aws" and not ("eks" in args and "get-token" in args):
        return None
    env: dict[str, str] = {}
    for item in spec.get("env") or ():
        if not (isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str)):
            continue
        if item["name"].startswith("AWS_"):
            env[item["name"]] = item["value"]
    ctx.redactor.add_from_env(env)
    profile = _arg(args, "--profile")
    profile_from: str | None = "--profile" if profile is not None else None
    if profile is None and env.get("AWS_PROFILE"):
        profile, profile_from = env["AWS_PROFILE"], "exec.env AWS_PROFILE"
    role = _arg(args, "--role-arn") or _arg(args, "-r") or _arg(args, "--role")
    cluster = _arg(args, "--cluster-name") or _arg(args, "-i") or _arg(args, "--cluster-id")
    return ExecUser(
        name=name,
        command=command,
        args=args,
        env=env,
        profile=profile,
        profile_from=profile_from,
        role_arn=role,
        cluster=cluster,
        current=current,
        source=path,
    )


def _arg(args: tuple[str, ...], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1 :]
    return None
