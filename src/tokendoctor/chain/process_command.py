"""Whether the ``credential_process`` botocore would run exists and is executable, without running it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from tokendoctor.chain.model import ChainAnalysis
from tokendoctor.context import Context

#: How many source_profile hops to follow from the selected profile (botocore refuses cycles anyway).
MAX_HOPS = 5


@dataclass(frozen=True)
class CommandProblem:
    profile: str
    command: str
    """The executable as written (argument 0 of botocore's own split), never the arguments."""
    problem: str


def process_profile(analysis: ChainAnalysis) -> tuple[str, str] | None:
    """(profile, credential_process) of the profile whose process botocore would run for the selected one:
    that profile, or the source_profile of a role profile."""
    name: str | None = analysis.profile
    for _ in range(MAX_HOPS):
        if name is None:
            return None
        cfg = analysis.profile_config(name)
        if cfg.get("credential_process") and not cfg.get("role_arn"):
            return name, str(cfg["credential_process"])
        name = cfg.get("source_profile") if cfg.get("role_arn") else None
    return None


def command_problem(ctx: Context, analysis: ChainAnalysis) -> CommandProblem | None:
    """Why botocore could not start the credential_process, looked up the way the OS would (PATH from the
    diagnosed environment), or None when it can start or there is none."""
    from botocore.compat import compat_shell_split

    found = process_profile(analysis)
    if found is None:
        return None
    profile, line = found
    try:
        argv = compat_shell_split(line)
    except ValueError as exc:
        return CommandProblem(profile, line[:80], f"cannot be split into arguments ({exc})")
    if not argv:
        return CommandProblem(profile, "", "is empty")
    command = argv[0]
    if os.sep in command or (os.altsep and os.altsep in command):
        path = os.path.expanduser(command)
        if not os.path.exists(path):
            return CommandProblem(profile, command, "does not exist")
        if os.path.isdir(path) or not os.access(path, os.X_OK):
            return CommandProblem(profile, command, "is not an executable file")
        return None
    search = ctx.env.get("PATH", os.defpath)
    if shutil.which(command, path=search) is None:
        exists = any(os.path.exists(os.path.join(d, command)) for d in search.split(os.pathsep) if d)
        return CommandProblem(profile, command, "is on PATH but not executable" if exists else "is not on the PATH")
    return None
