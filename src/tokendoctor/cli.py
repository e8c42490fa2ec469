"""The command line: parse flags into plain options, hand them to an ``execute`` function that
builds, runs and renders, and map errors to the exit-code table.  Nothing else."""

from __future__ import annotations

import contextlib
import io
import os
import re
import select
import sys
import threading
import time
import traceback
from typing import Any

import click

from tokendoctor import __version__
from tokendoctor.exitcodes import FAILED, OK, TOOL_ERROR, USAGE
from tokendoctor.redact import Redactor, first_line, mask_then_truncate, neutralise
from tokendoctor.timefmt import span

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class Duration(click.ParamType):
    """Seconds, or a number with s/m/h/d: ``900``, ``15m``, ``1h``; at most ``maximum`` seconds, and more
    than 0 when ``positive`` (a deadline or a job length of 0 means nothing)."""

    name = "duration"

    def __init__(self, maximum: float, *, positive: bool = False) -> None:
        self.maximum = maximum
        self.positive = positive

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, (int, float)):
            seconds = float(value)
        else:
            match = _DURATION.match(str(value)[:64])
            if not match:
                self.fail(f"{str(value)[:64]!r} is not a duration (examples: 30, 90s, 15m, 1h)", param, ctx)
            seconds = float(match[1]) * _UNITS[match[2]]
        if not seconds <= self.maximum:  # also catches inf and nan
            self.fail(f"at most {span(self.maximum)} (got {str(value)[:64]})", param, ctx)
        if self.positive and seconds <= 0:
            self.fail("must be more than 0", param, ctx)
        return seconds


#: Seconds of --timeout kept for ranking and printing the report after the checks' deadline.
RENDER_RESERVE = 0.3
#: Bounds of the duration flags: a deadline of an hour, a TTL of a year, a skew of a day are already absurd.
MAX_TIMEOUT = 3600.0
MAX_MIN_TTL = 366 * 86400.0
MAX_SKEW = 86400.0

#: Options several commands share, defined once so their names, defaults and help never drift apart.
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the versioned JSON document (same as --format json)."
)
fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="Lowest severity that makes the exit code 1.",
)
color_option = click.option(
    "--color/--no-color",
    default=None,
    help="Colour the terminal report (default: when stdout is a TTY and NO_COLOR is unset).",
)


def timeout_option(what: str) -> Any:
    return click.option(
        "--timeout", type=Duration(MAX_TIMEOUT, positive=True), default="5", show_default=True, help=what
    )


def for_option(what: str) -> Any:
    return click.option(
        "--for", "job_for", type=Duration(MAX_MIN_TTL, positive=True), default=None, metavar="DURATION", help=what
    )


def _ntp_servers(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    from tokendoctor.probes.ntp import parse_server

    for spec in value:
        try:
            parse_server(spec)
        except ValueError as exc:
            raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


class Boundary:
    """Per-invocation state of the error boundary: what to mask, whether to show tracebacks, and when
    the run started (the ``--timeout`` deadline counts from argument parsing)."""

    def __init__(self) -> None:
        self.redactor = Redactor()
        self.debug = False
        self.started = time.monotonic()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tokendoctor")
def cli() -> None:
    """Find out why AWS calls fail with ExpiredToken, and what to change."""


def _boundary() -> Boundary:
    obj = click.get_current_context().find_object(Boundary)
    return obj if obj is not None else Boundary()


def _color(color: bool | None) -> bool:
    if color is not None:
        return color
    return sys.stdout is not None and sys.stdout.isatty() and "NO_COLOR" not in os.environ


@cli.command()
@click.option("--profile", help="Diagnose this profile as if passed explicitly (boto3.Session(profile_name=...)).")
@json_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "junit"]),
    default=None,
    help="Output format: text, json, github (GitHub Actions workflow commands + job summary), junit (JUnit XML).",
)
@timeout_option("Overall deadline for all checks.")
@click.option("--offline", is_flag=True, help="Run only what needs no network.")
@click.option(
    "--min-ttl",
    type=Duration(MAX_MIN_TTL),
    default="15m",
    show_default=True,
    help="Credentials expiring sooner than this are an error.",
)
@for_option("The job runs this long (e.g. 6h): fail (TD220) if the credentials cannot be renewed that long.")
@fail_on_option
@click.option(
    "--imds/--no-imds", default=None, help="Force or forbid the instance-metadata probe (default: only on EC2)."
)
@click.option(
    "--allow-process",
    is_flag=True,
    help="Run credential_process (bounded by --timeout) to see what it returns and when it expires.",
)
@click.option(
    "--ntp-server",
    "ntp_servers",
    multiple=True,
    metavar="HOST[:PORT]",
    callback=_ntp_servers,
    help="Measure the clock against this NTP server (repeatable; default: Amazon Time Sync on EC2, else the machine's "
    "configured servers, else time.aws.com).",
)
@click.option(
    "--max-skew",
    type=Duration(MAX_SKEW),
    default="5",
    show_default=True,
    help="Clock offset above this is an error (TD401).",
)
@click.option(
    "--pid",
    type=click.IntRange(min=1),
    default=None,
    help="Diagnose this running process: its environment, user, config files and age.",
)
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Diagnose the environment in this file (KEY=VALUE lines, or NUL-separated like /proc/PID/environ).",
)
@click.option(
    "--sdk",
    type=click.Choice(["python", "java-v1", "java-v2", "go-v2", "js-v3", "cli-v2"]),
    default="python",
    show_default=True,
    help="Report the credential chain of this SDK.",
)
@click.option("--live", is_flag=True, help="Call STS GetCallerIdentity with the resolved credentials (off by default).")
@color_option
@click.option("-v", "--verbose", is_flag=True, help="Show the evidence behind each cause.")
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors (secrets are still masked).")
def check(
    profile: str | None,
    as_json: bool,
    fmt: str | None,
    timeout: float,
    offline: bool,
    min_ttl: float,
    job_for: float | None,
    fail_on: str,
    imds: bool | None,
    allow_process: bool,
    ntp_servers: tuple[str, ...],
    max_skew: float,
    pid: int | None,
    env_file: str | None,
    sdk: str,
    live: bool,
    color: bool | None,
    verbose: bool,
    debug: bool,
) -> None:
    """Diagnose the credentials this shell's programs (or, with --pid/--env-file, another process) would use."""
    from tokendoctor.context import Options

    boundary = _boundary()
    boundary.debug = debug
    if offline and live:
        raise click.UsageError("--offline and --live contradict each other; give one of them")
    if pid is not None and env_file is not None:
        raise click.UsageError("--pid and --env-file describe the same thing; give one of them")
    options = Options(
        profile=profile,
        min_ttl=min_ttl,
        offline=offline,
        timeout=timeout,
        imds=imds,
        allow_process=allow_process,
        ntp_servers=ntp_servers,
        max_skew=max_skew,
        pid=pid,
        env_file=env_file,
        sdk=sdk,
        live=live,
        for_seconds=job_for,
        debug=debug,
    )
    output_format = "json" if as_json else (fmt or "text")
    raise SystemExit(execute_check(options, boundary, output_format, fail_on, _color(color), verbose))


def execute_check(
    options: Any, boundary: Boundary, output_format: str, fail_on: str, color: bool, verbose: bool
) -> int:
    """Build the live context, run every check, print the report; return the exit code."""
    from tokendoctor.deadline import DeadlineMissed, within
    from tokendoctor.pipeline import diagnose
    from tokendoctor.render import get_renderer
    from tokendoctor.target import TargetError, live_context

    end = boundary.started + options.timeout
    try:
        # --pid / --env-file are read inside the deadline: a FIFO or a stuck /proc read cannot hang the run.
        ctx = within(end - time.monotonic(), lambda: live_context(options))
    except TargetError as exc:  # no such PID, permission denied, unreadable env file: exit 2
        raise click.UsageError(str(exc)) from None
    except DeadlineMissed:
        what = "--pid" if options.pid is not None else "--env-file"
        raise click.UsageError(f"{what}: could not be read within --timeout {options.timeout:g}s") from None
    boundary.redactor = ctx.redactor
    # Ranking and rendering happen after the checks' deadline, while checks that missed it may still hold
    # the interpreter: keep a little of --timeout for them.
    budget = max(end - time.monotonic() - min(RENDER_RESERVE, options.timeout * 0.1), 0.05)
    report = diagnose(ctx, fail_on=fail_on, deadline=budget)  # type: ignore[arg-type]
    redact = ctx.redactor.redact
    text = get_renderer(output_format)(report, color=color, verbose=verbose, fail_on=fail_on, redact=redact)  # type: ignore[arg-type]
    if boundary.debug:
        for result in report.checks:
            if result.traceback:
                click.echo(f"--- check {result.name} crashed:\n{redact(result.traceback)}", err=True)
    _write(redact(text))
    if output_format == "github" and ctx.env.get("GITHUB_STEP_SUMMARY"):
        from tokendoctor.render.github import summary

        _append_step_summary(ctx.env["GITHUB_STEP_SUMMARY"], redact(summary(report, redact=redact)), boundary)
    return report.exit_code


def _write(text: str) -> None:
    """Print the report; a closed stdout (``check >&-``) or a closed pipe (``| head``) is said once on stderr,
    and the exit code still tells the diagnosis."""
    if sys.stdout is None:
        click.echo("tokendoctor: stdout is closed; the report was not written", err=True)
        return
    try:
        click.echo(text, nl=False)
        sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError):  # nothing more can be written there; keep Python quiet at exit
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:
        click.echo(f"tokendoctor: the report could not be written ({exc.strerror or type(exc).__name__})", err=True)


def _append_step_summary(path: str, markdown: str, boundary: Boundary) -> None:
    """Append the job summary to $GITHUB_STEP_SUMMARY (the one file tokendoctor writes, and only when asked)."""
    import stat

    try:
        if os.path.lexists(path) and not stat.S_ISREG(os.lstat(path).st_mode):
            raise OSError("not a regular file")
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(markdown)
    except OSError as exc:
        click.echo(
            boundary.redactor.redact(
                f"tokendoctor: warning: could not write the job summary to {path}: {exc.strerror or exc}"
            ),
            err=True,
        )


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
def causes(as_json: bool) -> None:
    """List every cause tokendoctor can report, with its stable code and name."""
    import json

    from tokendoctor.catalogue import CAUSES

    if as_json:
        rows = [
            {
                "code": c.code,
                "name": c.name,
                "severity": c.severity,
                "check": c.check,
                "title": c.title,
                "why": c.why,
                "fix": c.fix,
            }
            for c in CAUSES.values()
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    for c in CAUSES.values():
        click.echo(f"{c.code}  {c.name:<32} {c.severity:<8} {c.check:<12} {c.title}")


@cli.command()
@click.argument("text", nargs=-1)
@json_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None, help="Output format.")
@fail_on_option
@color_option
@timeout_option("Overall deadline, reading stdin included; when it runs out, what was found so far is shown.")
@click.option("-v", "--verbose", is_flag=True, help="Show the clues and the evidence behind each cause.")
def explain(
    text: tuple[str, ...],
    as_json: bool,
    fmt: str | None,
    fail_on: str,
    timeout: float,
    color: bool | None,
    verbose: bool,
) -> None:
    """Explain an AWS error message, stack trace or log excerpt (TEXT, or '-' / nothing to read stdin)."""
    from tokendoctor.explain import explain as run_explain
    from tokendoctor.render.explain import get_renderer as explain_renderer

    deadline = _boundary().started + timeout  # counted from argument parsing, as check's
    # stdin gets the deadline less a reserve, so text that arrived is still explained in time
    data = _explain_input(text, deadline - min(1.0, timeout / 4))
    if not data.strip():
        raise click.UsageError("no error text: the input is empty")
    result = run_explain(data, fail_on=fail_on, stop=lambda: time.monotonic() >= deadline)  # type: ignore[arg-type]
    rendered = explain_renderer("json" if as_json else (fmt or "text"))(result, color=_color(color), verbose=verbose)
    _write(_boundary().redactor.redact(rendered))
    raise SystemExit(result.exit_code)


@cli.command()
@click.argument("locations", nargs=-1, required=True, metavar="PATH|s3://BUCKET/PREFIX...")
@json_option
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default=None, help="Output format.")
@click.option(
    "--timeout",
    type=Duration(MAX_TIMEOUT, positive=True),
    default="300",
    show_default=True,
    help="Overall deadline; reports not read by then are listed as unreadable.",
)
def summarize(locations: tuple[str, ...], as_json: bool, fmt: str | None, timeout: float) -> None:
    """Summarise many `check --json` reports (files, folders, S3 prefixes incl. Run Command stdout) as one fleet."""
    raise SystemExit(execute_summarize(locations, "json" if as_json else (fmt or "text"), timeout))


def execute_summarize(locations: tuple[str, ...], output_format: str, timeout: float) -> int:
    """Read every report, print the fleet summary; return the exit code."""
    from tokendoctor.render.summary import render_json, render_text
    from tokendoctor.summarize import summarize as run_summary

    fleet = run_summary(locations, deadline=timeout)
    click.echo((render_json if output_format == "json" else render_text)(fleet), nl=False)
    return fleet.exit_code


@cli.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
@click.option(
    "--strict", is_flag=True, help="Do not start the command when the preflight finds an error-level cause (exit 1)."
)
@click.option(
    "--report",
    "report_file",
    type=click.Path(dir_okay=False, writable=True),
    default=None,
    help="Write the JSON run report (preflight, errors seen, diagnosis) to this file.",
)
@click.option("--no-preflight", is_flag=True, help="Start the command at once, without the check of its environment.")
@click.option("--no-hook", is_flag=True, help="Do not put the in-process botocore hook on the command's PYTHONPATH.")
@timeout_option("Deadline for the preflight.")
@for_option("The command runs this long (e.g. 6h): the preflight fails (TD220) if its credentials cannot last.")
def run(
    command: tuple[str, ...],
    strict: bool,
    report_file: str | None,
    no_preflight: bool,
    no_hook: bool,
    timeout: float,
    job_for: float | None,
) -> None:
    """Run COMMAND transparently and diagnose its first AWS credential or clock error.

    Usage: tokendoctor run [OPTIONS] -- COMMAND [ARGS]...
    """
    from tokendoctor.jobrun import RunOptions, execute

    if strict and no_preflight:
        raise click.UsageError("--strict needs the preflight; drop --no-preflight")
    if job_for is not None and no_preflight:
        raise click.UsageError("--for is checked by the preflight; drop --no-preflight")
    options = RunOptions(
        argv=command,
        strict=strict,
        report=report_file,
        preflight=not no_preflight,
        timeout=timeout,
        hook=not no_hook,
        check_options={"for_seconds": job_for} if job_for is not None else {},
    )
    raise SystemExit(execute(options))


USAGE_HINT = (
    "usage: tokendoctor check [--live] [--pid N] [--json] ...   diagnose this machine's AWS credentials\n"
    "       tokendoctor explain 'ERROR TEXT'                       explain an AWS error message\n"
    "       tokendoctor --help                                     every command and flag\n"
)


def _on_signals() -> None:
    """SIGTERM (and SIGINT) end the run at once and kill any process tokendoctor started (--allow-process).
    ``tokendoctor run`` installs its own forwarding handlers while its command runs, and restores these."""
    import signal

    from tokendoctor.probes.bounded_process import kill_all

    def stop(signum: int, _frame: Any) -> None:
        kill_all()
        raise KeyboardInterrupt if signum == signal.SIGINT else SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)


def _explain_input(text: tuple[str, ...], deadline: float) -> str:
    """The text to explain: the arguments, or stdin read until EOF, the size cap or the deadline."""
    from tokendoctor.explain import MAX_INPUT_CHARS, READ_MARGIN_CHARS, drop_last_word

    if text and text != ("-",):
        return " ".join(text)
    stdin = sys.stdin
    if stdin is None or getattr(stdin, "closed", False):  # `explain <&-`
        raise click.UsageError("no error text: stdin is closed; pass the text as an argument or pipe it in")
    if not text and stdin.isatty():
        raise click.UsageError(
            "no error text: pass it as an argument, or pipe it on stdin (tokendoctor explain - < log.txt)"
        )
    limit = MAX_INPUT_CHARS + READ_MARGIN_CHARS
    data, complete = _read_until(stdin, limit, deadline)
    decoded = data.decode("utf-8", errors="replace")
    if not complete and not decoded.strip() and len(data) < limit:
        raise click.UsageError("no error text arrived on stdin before the --timeout deadline")
    return decoded if complete else drop_last_word(decoded)


def _read_until(stream: Any, limit: int, deadline: float) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of ``stream``, waiting no longer than ``deadline`` (a pipe whose writer
    never closes it must not hang explain); ``complete`` is False when the cap or the deadline cut it."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        fd = None
    if fd is None:  # an in-memory stream (tests, embedding): it cannot block
        buffer = getattr(stream, "buffer", None)
        data = buffer.read(limit + 1) if buffer is not None else stream.read(limit + 1).encode()
        return data[:limit], len(data) <= limit
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        remaining = deadline - time.monotonic()
        try:
            ready = select.select([fd], [], [], min(remaining, 60.0))[0] if remaining > 0 else []
            if not ready:
                return b"".join(chunks), False
            chunk = os.read(fd, min(1 << 16, limit + 1 - size))
        except OSError as exc:  # EBADF: stdin closed underneath us
            raise click.UsageError(f"cannot read stdin: {exc.strerror or exc}") from None
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[:limit], False


def main(argv: list[str] | None = None) -> int:
    """Entry point: one error boundary, so users see one line, never a traceback."""
    boundary = Boundary()
    args = sys.argv[1:] if argv is None else argv
    if not args:
        click.echo(USAGE_HINT, err=True, nl=False)
        return USAGE
    _on_signals()
    try:
        rc = cli.main(args=args, prog_name="tokendoctor", standalone_mode=False, obj=boundary)
    except SystemExit as exc:
        return int(exc.code or 0) if not isinstance(exc.code, str) else FAILED
    except click.exceptions.Abort:
        click.echo("tokendoctor: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        message = first_line(mask_then_truncate(boundary.redactor, exc.format_message(), 500))
        click.echo(f"tokendoctor: error: {neutralise(message)}", err=True)
        return USAGE if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        click.echo("tokendoctor: interrupted", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the top-level boundary
        if boundary.debug:
            click.echo(mask_then_truncate(boundary.redactor, traceback.format_exc(), 20000), err=True)
        first = first_line(mask_then_truncate(boundary.redactor, str(exc), 300))
        click.echo(f"tokendoctor: internal error: {type(exc).__name__}: {neutralise(first)}", err=True)
        return TOOL_ERROR
    return rc if isinstance(rc, int) else OK


def entry() -> None:
    """The console script: :func:`main`, then exit.  Checks still running past the deadline are daemon
    threads (``td-*``); a normal interpreter shutdown would wait for them to let go of the interpreter
    and free what they built (seconds for a config of 100,000 profiles), which the deadline forbids:
    then exit at once, after flushing."""
    rc = main()
    if not any(t.name.startswith("td-") and t.is_alive() for t in threading.enumerate()):
        raise SystemExit(rc)
    from tokendoctor.probes.bounded_process import kill_all

    kill_all()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    os._exit(rc)


__all__ = ["cli", "entry", "main"]
