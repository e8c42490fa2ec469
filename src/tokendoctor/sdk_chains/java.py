"""Java system properties (``-Daws.accessKeyId=...``) from a JVM's command line and JAVA_TOOL_OPTIONS:
the first source of the Java SDKs' credential chains."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

JVM_OPTION_ENV = ("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS")
_JVM_OPTIONS_WITH_VALUE = {
    "-cp",
    "-classpath",
    "--class-path",
    "-p",
    "--module-path",
    "--add-modules",
    "--upgrade-module-path",
}


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
    for var in JVM_OPTION_ENV:
        text = env.get(var)
        if not text:
            continue
        try:
            args = shlex.split(text)
        except ValueError:
            args = text.split()
        _props_from_args(args, var, out)
    return out
