"""Load the environment being diagnosed: another process's (``--pid``) or a file's (``--env-file``).

Entry point: :func:`load_target`.  Everything under ``/proc`` is read through
the filesystem root the context uses (``TOKENDOCTOR_FS_ROOT``), so tests can
describe a process as files as well as start a real one.

Errors are :class:`TargetError`: one line, never a value from the environment
(values may be secrets).  The CLI turns them into ``tokendoctor: error: ...``
and exit code 2.
"""

from __future__ import annotations

import datetime as _dt
import errno
import os
import re
from collections.abc import Mapping
from pathlib import Path

from tokendoctor import files
from tokendoctor.context import Context, Options, ProcessInfo
from tokendoctor.redact import Redactor, mask_key_ids

#: ``/proc/PID/environ`` is bounded by the kernel (ARG_MAX-ish); an env file has no reason to be larger.
MAX_ENV_BYTES = 4 * 1024 * 1024
MAX_CMDLINE_BYTES = 256 * 1024

#: Environment variables naming files, which botocore resolves against the process's cwd and root.
_PATH_VARS = (
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
)

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


class TargetError(Exception):
    """The target cannot be read.  The message is one line and holds no environment value."""


# ---------------------------------------------------------------------------- env files


def parse_env_file(data: bytes, name: str = "env file") -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (docker/systemd style) or NUL-separated ``KEY=VALUE`` entries.

    Lines: blank lines and ``#`` comments are skipped, an ``export`` prefix is
    allowed, a value wholly inside matching single or double quotes loses them
    (double quotes also unescape ``\\"`` and ``\\\\``).  Anything else is kept
    literally (no inline comments, no ``$VAR`` expansion).  A file containing a
    NUL byte is read as ``/proc/PID/environ`` is: one ``KEY=VALUE`` per entry.
    """
    if b"\0" in data:
        return _parse_nul(data, name)
    env: dict[str, str] = {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TargetError(f"{name}: line {number} is not valid UTF-8") from None
        line = line.rstrip("\r").strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(("export ", "export\t")):
            line = line[len("export") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            raise TargetError(f"{name}: line {number} is not KEY=VALUE (no '=')")
        if not _KEY.match(key):
            raise TargetError(f"{name}: line {number} does not start with a variable name")
        env[key] = _unquote(value.strip(), name, number)
    return env


def _unquote(value: str, name: str, number: int) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        if len(value) < 2 or value[-1] != quote:
            raise TargetError(f"{name}: line {number} has an unterminated {quote} quote")
        inner = value[1:-1]
        if quote == '"':
            inner = re.sub(r'\\(["\\])', r"\1", inner)
        return inner
    return value


def _parse_nul(data: bytes, name: str, *, strict: bool = True) -> dict[str, str]:
    env: dict[str, str] = {}
    for number, raw in enumerate(data.split(b"\0"), 1):
        if not raw:
            continue
        if strict:
            try:
                entry = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise TargetError(f"{name}: entry {number} is not valid UTF-8") from None
        else:  # a live process's environment: decode like os.environ does
            entry = os.fsdecode(raw)
        key, sep, value = entry.partition("=")
        if not sep or not key:
            if strict:
                raise TargetError(f"{name}: entry {number} is not KEY=VALUE")
            continue  # execve() accepts such entries; getenv() never sees them
        env.setdefault(key, value)  # getenv() returns the first of duplicated names
    return env


def read_env_file(path: str) -> dict[str, str]:
    shown = path
    try:
        data = files.read_bytes(path, MAX_ENV_BYTES)
    except files.FileProblem as exc:
        if exc.kind == "missing":
            raise TargetError(f"--env-file {shown}: no such file") from None
        if exc.errno == errno.EACCES:
            raise TargetError(f"--env-file {shown}: permission denied") from None
        raise TargetError(f"--env-file {shown}: {exc.problem}") from None
    return parse_env_file(data, f"--env-file {shown}")


# ------------------------------------------------------------------------------ /proc


def _proc_read(proc: Path, name: str, pid: int, limit: int) -> bytes:
    try:
        return files.read_bytes(proc / name, limit, head=name != "environ")
    except files.FileProblem as exc:
        if exc.errno in (errno.EACCES, errno.EPERM):
            owner = _owner(proc)
            raise TargetError(
                f"--pid {pid}: permission denied reading /proc/{pid}/{name}"
                + (f" (the process belongs to {owner})" if owner else "")
                + "; run tokendoctor as that user or as root"
            ) from None
        if exc.errno == errno.ESRCH:
            raise TargetError(f"--pid {pid}: the process exited while it was being read") from None
        if exc.kind == "missing":
            if not proc.exists():
                raise TargetError(f"--pid {pid}: the process exited while it was being read") from None
            raise TargetError(f"--pid {pid}: /proc/{pid}/{name} is missing") from None
        if exc.kind == "too-large":
            raise TargetError(f"--pid {pid}: /proc/{pid}/{name} {exc.problem}") from None
        raise TargetError(f"--pid {pid}: cannot read /proc/{pid}/{name} ({exc.problem})") from None


def _owner(proc: Path) -> str | None:
    try:
        uid = proc.stat().st_uid
    except OSError:
        return None
    name, _ = _user(uid, proc.parent.parent)
    return f"user {name}" if name else f"uid {uid}"


def _user(uid: int, root: Path) -> tuple[str | None, str | None]:
    """Name and home of ``uid``: the system's user database, or ``root/etc/passwd`` on a described machine."""
    if root == Path("/"):
        import pwd

        try:
            entry = pwd.getpwuid(uid)
        except KeyError:
            return None, None
        return entry.pw_name, entry.pw_dir
    try:
        text = files.read_text(root / "etc" / "passwd", files.MAX_CONFIG_BYTES, errors="replace")
    except files.FileProblem:
        return None, None
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[2] == str(uid):
            return fields[0], fields[5]
    return None, None


def _real_uid(status: bytes) -> int | None:
    for line in status.decode("utf-8", "replace").splitlines():
        if line.startswith("Uid:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1])
    return None


def start_time(stat: bytes, proc_stat: bytes, ticks_per_second: int) -> _dt.datetime | None:
    """Field 22 of ``/proc/PID/stat`` (clock ticks after boot) plus ``btime`` from ``/proc/stat``."""
    text = stat.decode("utf-8", "replace")
    # comm (field 2) is in parentheses and may itself hold spaces and ')': split after the last one.
    fields = text[text.rfind(")") + 1 :].split()
    if len(fields) < 20 or not fields[19].isdigit():
        return None
    ticks = int(fields[19])
    btime = None
    for line in proc_stat.decode("utf-8", "replace").splitlines():
        if line.startswith("btime "):
            value = line.split()[1]
            btime = int(value) if value.isdigit() else None
    if btime is None or ticks_per_second <= 0:
        return None
    return _dt.datetime.fromtimestamp(btime + ticks / ticks_per_second, tz=_dt.timezone.utc)


# Secret-looking command-line arguments: -Daws.secretKey=..., --secret-access-key X, --token=...
_SECRET_WORD = re.compile(r"(?i)(secret|token|passw|credential|private|api[_.-]?key|auth)")


def redact_cmdline(argv: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """The command line with secret values replaced by ``****``, and the values removed.

    ``NAME=value`` / ``-Dname=value`` / ``--name=value`` where the name looks
    secret lose the value; ``--secret-ish VALUE`` loses the next argument.
    Access key ids are masked like everywhere else (``ASIA…WXYZ``).
    """
    out: list[str] = []
    removed: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            hide_next = False
            if not arg.startswith("-"):
                removed.append(arg)
                out.append("****")
                continue
        header, colon, said = arg.partition(":")
        if colon and said.strip() and "=" not in header and " " not in header.strip() and _SECRET_WORD.search(header):
            removed.extend(said.split())  # -H "X-Amz-Security-Token: ...", "Authorization: Bearer ..."
            out.append(f"{header}: ****")
            continue
        name, sep, value = arg.partition("=")
        if sep and value and _SECRET_WORD.search(name):
            removed.append(value)
            out.append(f"{name}=****")
            continue
        if arg.startswith("-") and not sep and _SECRET_WORD.search(arg):
            hide_next = True
        out.append(mask_key_ids(arg))
    return tuple(out), removed


def load_process(
    pid: int, root: Path, ticks_per_second: int | None = None
) -> tuple[dict[str, str], ProcessInfo, list[str]]:
    """Environment, facts and command-line secrets of process ``pid`` (read under ``root``)."""
    proc = root / "proc" / str(pid)
    if not proc.is_dir():
        raise TargetError(f"--pid {pid}: no such process")
    status = _proc_read(proc, "status", pid, 64 * 1024)
    stat = _proc_read(proc, "stat", pid, 4096)
    cmdline = _proc_read(proc, "cmdline", pid, MAX_CMDLINE_BYTES)
    environ = _proc_read(proc, "environ", pid, MAX_ENV_BYTES)
    if not proc.is_dir():  # exited after the reads: what we read may be empty or partial
        raise TargetError(f"--pid {pid}: the process exited while it was being read")
    env = _parse_nul(environ, f"/proc/{pid}/environ", strict=False)
    if b"State:\tZ" in status:
        raise TargetError(f"--pid {pid}: the process has exited (zombie); its environment is gone")
    if not environ and not cmdline:
        raise TargetError(f"--pid {pid}: a kernel thread has no environment to diagnose")
    try:
        proc_stat = files.read_bytes(root / "proc" / "stat", 64 * 1024, head=True)
    except files.FileProblem:
        proc_stat = b""
    ticks = ticks_per_second or os.sysconf("SC_CLK_TCK")
    started = start_time(stat, proc_stat, ticks)
    # A process in another mount namespace (a container seen from its host) sees its own files:
    # read them through /proc/PID/root, and its users from that root's /etc/passwd.
    fs_root = proc / "root" if _other_mount_namespace(proc, root) else None
    uid = _real_uid(status)
    user, user_home = _user(uid, fs_root or root) if uid is not None else (None, None)
    home = env.get("HOME") or user_home
    if home and not env.get("HOME"):
        env["HOME"] = home  # what expanduser("~") gives that process: its user's home
    cwd = _cwd(proc)
    for var in _PATH_VARS:
        value = env.get(var)
        if value and cwd and not value.startswith(("/", "~")):
            env[var] = value = os.path.join(cwd, value)
        if value and fs_root is not None and value.startswith("/"):
            env[var] = str(fs_root) + value
    if fs_root is not None and env.get("HOME", "").startswith("/"):
        env["HOME"] = str(fs_root) + env["HOME"]
    argv = [os.fsdecode(a) for a in cmdline.split(b"\0")]
    if argv and argv[-1] == "":
        argv.pop()
    shown, removed = redact_cmdline(argv)
    info = ProcessInfo(
        pid=pid,
        source="pid",
        cmdline=shown,
        started_at=started,
        user=user or (f"uid {uid}" if uid is not None else None),
        home=home,
        fs_root=str(fs_root) if fs_root is not None else None,
    )
    return env, info, removed


def _cwd(proc: Path) -> str | None:
    try:
        return os.readlink(proc / "cwd")
    except OSError:
        return None


def _other_mount_namespace(proc: Path, root: Path) -> bool:
    """True when both mount namespaces are readable and differ (``mnt:[4026531840]`` links)."""
    try:
        return os.readlink(proc / "ns" / "mnt") != os.readlink(root / "proc" / "self" / "ns" / "mnt")
    except OSError:
        return False


def load_target(
    pid: int | None, env_file: str | None, own_env: Mapping[str, str], root: Path
) -> tuple[dict[str, str], ProcessInfo, list[str]]:
    """The environment to diagnose instead of ``own_env``, what is known of its process, and extra secrets.

    ``TOKENDOCTOR_*`` settings always come from ``own_env``: they configure
    tokendoctor, not the program being diagnosed.
    """
    if pid is not None:
        env, info, removed = load_process(pid, root)
    elif env_file is not None:
        env = read_env_file(env_file)
        removed = []
        home = env.get("HOME") or own_env.get("HOME") or os.path.expanduser("~")
        env.setdefault("HOME", home)
        import getpass

        try:
            user = getpass.getuser()
        except (OSError, KeyError):
            user = None
        info = ProcessInfo(pid=None, source="env-file", started_at=None, user=user, home=home)
    else:
        raise ValueError("load_target needs a pid or an env file")
    for name, value in own_env.items():
        if name.startswith("TOKENDOCTOR_"):
            env[name] = value
    return env, info, removed


def live_context(options: Options, env: Mapping[str, str] | None = None) -> Context:
    """The context for this machine and this process (or a given environment)."""
    environ = dict(os.environ if env is None else env)
    redactor = Redactor()
    redactor.add_from_env(environ)
    # Undocumented seam for benchmarks and end-to-end tests: describe another machine's /sys and /proc.
    root = Path(environ.get("TOKENDOCTOR_FS_ROOT") or "/")
    process = None
    if options.pid is not None or options.env_file is not None:
        # --pid / --env-file: diagnose that environment instead (raises TargetError).
        environ, process, secrets = load_target(options.pid, options.env_file, environ, root)
        redactor.add_from_env(environ)
        redactor.add(*secrets)
    return Context(env=environ, root=root, options=options, redactor=redactor, process=process)


__all__ = [
    "live_context",
    "TargetError",
    "load_process",
    "load_target",
    "parse_env_file",
    "read_env_file",
    "redact_cmdline",
    "start_time",
]
