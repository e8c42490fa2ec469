"""The ``tokendoctor check`` commands that confirm an explanation on the machine that failed."""

from __future__ import annotations

from tokendoctor.explain.model import ErrorFacts

# SDK names as `tokendoctor check --sdk` knows them.
_CHECK_SDK = {
    "python": "python",
    "cli": "cli-v2",
    "java-v1": "java-v1",
    "java-v2": "java-v2",
    "go-v2": "go-v2",
    "js-v3": "js-v3",
}


def confirm_commands(facts: ErrorFacts) -> list[str]:
    """The ``tokendoctor check`` command(s) that confirm the explanation on the failing machine."""
    if facts.category is None:
        return []
    sdk = _CHECK_SDK.get(facts.sdk or "")
    flags: list[str] = []
    if facts.category in ("expired", "invalid", "clock"):
        flags.append("--live")
    if "instance-metadata" in facts.clues:
        flags.append("--imds")
    if facts.category == "clock":
        flags.append("--ntp-server time.aws.com")
    if sdk:
        flags.append(f"--sdk {sdk}")
    commands = [" ".join(["tokendoctor check", *flags])]
    if facts.category in ("expired", "invalid", "no-credentials"):
        commands.append(" ".join(["tokendoctor check --pid PID", *([f"--sdk {sdk}"] if sdk else [])]))
    return commands


__all__ = ["confirm_commands"]
