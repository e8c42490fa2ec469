"""``tokendoctor run -- COMMAND``: preflight, run the command transparently, diagnose its first AWS error.

:func:`execute` takes a plain :class:`RunOptions` (filled by the CLI) and returns the exit code:
the command's own (128+N for signal N), 1 when ``--strict`` stopped it, 126/127 when it could not start.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokendoctor import __version__, inprocess
from tokendoctor.exitcodes import FAILED
from tokendoctor.models import RankedCause, Report
from tokendoctor.redact import Redactor

SCHEMA_VERSION = 1
HOOK_GRACE_SECONDS = 1.0
"""How long a hook record waits for the command's own error line before it alone triggers the diagnosis."""
SITECUSTOMIZE_DIR = Path(__file__).resolve().parent / "resources" / "sitecustomize"
# Causes whose text-only guess names a credential source (botocore provider methods).
_SOURCE_GUESS: dict[str, set[str]] = {
    "TD101": {"env"},
    "TD504": {"env"},
    "TD204": {"shared-credentials-file", "config-file"},
    "TD208": {"shared-credentials-file", "config-file"},
}
HOOK_HOME = str(Path(__file__).resolve().parent.parent)
"""The directory holding the ``tokendoctor`` package, for children running another interpreter."""


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    argv: tuple[str, ...]
    strict: bool = False
    report: str | None = None
    preflight: bool = True
    timeout: float = 5.0
    hook: bool = True
    check_options: Mapping[str, Any] = field(default_factory=dict)
    """Extra :class:`tokendoctor.context.Options` fields for the preflight (``--for`` when check has it)."""


@dataclass
class _Diagnosis:
    source: str
    at: str | None
    line: str | None
    error: dict[str, Any] | None
    causes: tuple[RankedCause, ...]
    records: int


def _emit(text: str) -> None:
    data = text.encode("utf-8", errors="replace")
    while data:
        try:
            n = os.write(2, data)
        except OSError:
            return
        data = data[n:]


def _preflight(env: Mapping[str, str], options: RunOptions) -> tuple[Report, Redactor]:
    from tokendoctor.context import Options
    from tokendoctor.pipeline import diagnose
    from tokendoctor.target import live_context

    opts = Options(offline=True, timeout=options.timeout, **dict(options.check_options))
    ctx = live_context(opts, env)
    return diagnose(ctx), ctx.redactor


def combine(
    explained: Sequence[RankedCause], hook_records: Sequence[Mapping[str, Any]], preflight: Report | None
) -> tuple[RankedCause, ...]:
    """One ranked list: what the hook saw in the process first (it is the most direct evidence),
    then the error text's causes that the preflight also found, then the rest of the text's causes."""
    from tokendoctor.pipeline import rank

    inside = rank([inprocess.check(hook_records)]).causes if hook_records else ()
    methods = {str((r.get("credentials") or {}).get("method")) for r in hook_records if r.get("credentials")}
    if methods:
        # the text can only guess where the credentials came from; the hook saw it: drop contradicted guesses
        explained = [c for c in explained if _SOURCE_GUESS.get(c.code, methods) & methods]
    confirmed = {c.code for c in preflight.causes} if preflight else set()
    from_preflight = {c.code: c for c in preflight.causes} if preflight else {}
    ordered: list[RankedCause] = list(inside)
    rest = sorted(explained, key=lambda c: c.code not in confirmed)  # stable: keeps explain's order otherwise
    for cause in rest:
        if any(c.code == cause.code for c in ordered):
            continue
        # the preflight saw it on this machine: its evidence (keys, expiry) beats the text's
        ordered.append(from_preflight.get(cause.code, cause))
    return tuple(ordered)


class _Session:
    """State of one run shared by the stderr watcher callbacks (all called on one thread)."""

    def __init__(self, options: RunOptions, preflight: Report | None, redactor: Redactor, hook_log: str | None) -> None:
        from tokendoctor.stderrwatch import StderrWatcher

        self.options = options
        self.preflight = preflight
        self.redactor = redactor
        self.hook_log = hook_log
        self.diagnosis: _Diagnosis | None = None
        self.watcher = StderrWatcher(on_detection=self._on_detection)
        self._lock = threading.Lock()

    def records(self) -> list[dict[str, Any]]:
        return inprocess.read_records(self.hook_log) if self.hook_log else []

    def _on_detection(self, detection: Any) -> None:
        if self.diagnosis is not None:
            return
        records = self.records()
        explanation = detection.explanation
        causes = combine(explanation.causes, records, self.preflight)
        self._show(
            _Diagnosis("stderr", detection.at, detection.line, explanation.error.to_dict(), causes, len(records))
        )

    def idle(self) -> None:
        self.watcher.idle()
        if self.diagnosis is None and self.hook_log:
            try:
                info = os.stat(self.hook_log)
            except OSError:
                return
            # a program usually prints the error right after its client got it: give that line (with its
            # stack trace) the chance to be the trigger, and fall back on the record alone after a moment
            if info.st_size and time.time() - info.st_mtime >= HOOK_GRACE_SECONDS:
                self._from_hook()

    def close(self) -> None:
        self.watcher.close()
        if self.diagnosis is None and self.hook_log:
            self._from_hook()

    def _from_hook(self) -> None:
        """The program swallowed the error (nothing on stderr), but its client told the hook."""
        records = self.records()
        if not records:
            return
        from tokendoctor.explain import explain

        first = records[0].get("error") or {}
        text = (
            f"botocore.exceptions.ClientError: An error occurred ({first.get('code') or first.get('family')}) "
            f"when calling the {first.get('operation')} operation: {first.get('message') or ''}"
        )
        explanation = explain(text)
        causes = combine(explanation.causes, records, self.preflight)
        self._show(_Diagnosis("hook", records[0].get("at"), None, explanation.error.to_dict(), causes, len(records)))

    def _show(self, diagnosis: _Diagnosis) -> None:
        from tokendoctor.render.run import diagnosis as render

        self.diagnosis = diagnosis
        block = render(line=diagnosis.line, error=diagnosis.error, causes=diagnosis.causes, clients=diagnosis.records)
        _emit(self.redactor.redact(block))

    def document(self, outcome: Any, started: bool) -> dict[str, Any]:
        from tokendoctor.render.json import document as preflight_document

        diag = self.diagnosis
        records = self.records()
        return {
            "schema_version": SCHEMA_VERSION,
            "tool_version": __version__,
            "command": masked_argv(self.options.argv),
            "started": started,
            "exit_code": outcome.exit_code if outcome else FAILED,
            "signal": outcome.signal if outcome else None,
            "preflight": preflight_document(self.preflight) if self.preflight else None,
            "errors": [k.to_dict() for k in self.watcher.errors],
            "stderr_lines": self.watcher.lines_seen,
            "diagnosis": None
            if diag is None
            else {
                "source": diag.source,
                "at": diag.at,
                "line": diag.line,
                "error": diag.error,
                "causes": [c.to_dict() for c in diag.causes],
            },
            "inprocess": inprocess.check(records).data.get("clients", []),
        }


_SECRET_FLAG = re.compile(r"(?i)^(-{1,2}[\w.-]*(?:secret|token|password|passwd|credential)[\w.-]*)(?:=(.*))?$")


def masked_argv(argv: Sequence[str]) -> list[str]:
    """The command line for the report: values of secret-looking options masked, then every
    argument through explain's scrub (keys, tokens, ``key=value`` secrets)."""
    from tokendoctor.explain import scrub

    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append("****")
            hide_next = False
            continue
        match = _SECRET_FLAG.match(arg) if len(out) > 0 else None
        if match and match[2] is not None:
            out.append(f"{match[1]}=****")
            continue
        hide_next = bool(match)
        out.append(scrub(arg))
    return out


def _masked(value: Any, redactor: Redactor) -> Any:
    """Every string in a JSON-ready tree through the redactor (the serialised text would be mangled)."""
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {k: _masked(v, redactor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v, redactor) for v in value]
    return value


def _write_report(path: str, doc: dict[str, Any], redactor: Redactor) -> None:
    text = json.dumps(_masked(doc, redactor), indent=2, default=str) + "\n"
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        _emit(f"[tokendoctor] could not write --report {path}: {exc.strerror or exc}\n")


def child_environment(env: Mapping[str, str], hook_log: str | None) -> dict[str, str]:
    """The command's environment: the caller's, plus the hook's sitecustomize on PYTHONPATH."""
    out = dict(env)
    if hook_log is None:
        return out
    old = out.get("PYTHONPATH")
    out["PYTHONPATH"] = str(SITECUSTOMIZE_DIR) + (os.pathsep + old if old else "")
    out["TOKENDOCTOR_HOOK_LOG"] = hook_log
    out["TOKENDOCTOR_HOOK_HOME"] = HOOK_HOME
    return out


def execute(options: RunOptions) -> int:
    from tokendoctor import supervise
    from tokendoctor.render.run import preflight as render_preflight

    env = dict(os.environ)
    redactor = Redactor()
    redactor.add_from_env(env)
    report: Report | None = None
    if options.preflight:
        report, redactor = _preflight(env, options)
        _emit(redactor.redact(render_preflight(report)))
    import tempfile

    tmpdir = tempfile.mkdtemp(prefix="tokendoctor-run-") if options.hook else None
    hook_log = os.path.join(tmpdir, "hook.jsonl") if tmpdir else None
    session = _Session(options, report, redactor, hook_log)
    try:
        if options.strict and report is not None and report.status == "error":
            _emit(f"[tokendoctor] --strict: not starting {options.argv[0]} (an error-level cause above)\n")
            if options.report:
                _write_report(options.report, session.document(None, started=False), redactor)
            return FAILED
        try:
            outcome = supervise.run(
                options.argv,
                child_environment(env, hook_log),
                on_output=session.watcher.feed,
                on_idle=session.idle,
                on_close=session.close,
            )
        except supervise.CommandNotStarted as exc:
            _emit(redactor.redact(f"tokendoctor: error: {exc}\n"))
            return exc.exit_code
        if options.report:
            _write_report(options.report, session.document(outcome, started=True), redactor)
        return outcome.exit_code
    finally:
        if tmpdir:
            import shutil

            shutil.rmtree(tmpdir, ignore_errors=True)


__all__ = ["RunOptions", "child_environment", "combine", "execute"]
