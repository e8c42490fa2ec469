"""The shared mechanisms of issue 9, one by one: the bounded file reader, mask-then-truncate, the one
time parser on hostile values, the deadline helper and the bounded child process."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.conftest import Machine
from tokendoctor import files
from tokendoctor.deadline import DeadlineMissed, within
from tokendoctor.probes.bounded_process import MAX_OUTPUT_BYTES, ProcessFailed, bounded_popen, kill_all
from tokendoctor.redact import SECRET_LEN_BOUND, Redactor, mask_then_truncate, neutralise
from tokendoctor.timefmt import not_understood, parse_time

TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE" + "x" * 700 + "END-OF-TOKEN"


# ------------------------------------------------------------------ files


def test_regular_files_are_read_whole_under_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "config"
    path.write_bytes(b"[default]\n")
    assert files.read_bytes(path, 64) == b"[default]\n"
    assert files.read_text(path, 64) == "[default]\n"
    assert files.problem(path) is None
    assert files.problem(tmp_path / "absent") is None  # an absent file is botocore's normal case


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: os.mkfifo(p), "not-regular"),
        (lambda p: p.mkdir(), "directory"),
        (lambda p: p.write_bytes(b"x" * 65), "too-large"),
    ],
)
def test_fifos_directories_and_large_files_are_refused(tmp_path: Path, make: object, kind: str) -> None:
    path = tmp_path / "f"
    make(path)  # type: ignore[operator]
    with pytest.raises(files.FileProblem) as caught:
        files.read_bytes(path, 64)
    assert caught.value.kind == kind and str(path) in str(caught.value)
    assert files.problem(path, 64)


def test_devices_that_report_size_zero_are_refused() -> None:
    with pytest.raises(files.FileProblem) as caught:
        files.read_bytes("/dev/zero", 1024)
    assert caught.value.kind == "not-regular" and "device" in caught.value.problem


def test_head_reads_the_first_bytes_and_symlinks_can_be_refused(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"a" * 1000)
    assert files.read_bytes(big, 10, head=True) == b"a" * 10
    link = tmp_path / "link"
    link.symlink_to(big)
    assert files.read_bytes(link, 2000) == b"a" * 1000
    with pytest.raises(files.FileProblem) as caught:
        files.read_bytes(link, 2000, follow_symlinks=False)
    assert caught.value.kind == "symlink"


def test_json_nested_deeper_than_the_stack_is_invalid_json() -> None:
    with pytest.raises(ValueError, match="nested too deeply"):
        files.parse_json("[" * 100_000 + "]" * 100_000)
    assert files.parse_json('{"a": [1]}') == {"a": [1]}


# ------------------------------------------------------------------ mask, then truncate


def _redactor() -> Redactor:
    r = Redactor()
    r.add(TOKEN)
    return r


def test_a_secret_across_the_cut_is_masked_not_half_shown() -> None:
    text = "-H X-Amz-Security-Token: " + TOKEN + " tail"
    for limit in (10, 40, 300, 800):
        shown = mask_then_truncate(_redactor(), text, limit)
        assert "IQoJ" not in shown and "xxxxxxxxxx" not in shown and len(shown) <= limit + 1


def test_huge_text_is_cut_to_a_bounded_prefix_before_masking_and_stays_safe() -> None:
    """500 MB answers inside exceptions: the work is bounded by the limit, and a secret anywhere near
    the pre-cut (including split by it) never shows."""
    r = _redactor()
    for at in (0, 250, SECRET_LEN_BOUND, 2 * SECRET_LEN_BOUND + 300 - 5, 2 * SECRET_LEN_BOUND + 300 - 400):
        text = "a" * at + TOKEN + "b" * (5_000_000)
        shown = mask_then_truncate(r, text, 300)
        assert len(shown) == 300 and shown.endswith("…")
        assert "IQoJ" not in shown and "xxxxx" not in shown and "END-OF" not in shown


def test_a_secret_with_a_line_break_is_masked_in_its_escaped_form() -> None:
    r = Redactor()
    r.add("first-half-of-token\r\nsecond-half-of-token")
    message = "Invalid header value b'first-half-of-token\\r\\nsecond-half-of-token'"
    assert "half-of-token" not in mask_then_truncate(r, message, 300)


def test_count_says_how_much_was_cut() -> None:
    assert mask_then_truncate(Redactor(), "x" * 400, 300, count=True) == "x" * 300 + "…(+100 chars)"
    assert mask_then_truncate(Redactor(), "short", 300) == "short"


def test_control_characters_are_shown_not_sent() -> None:
    assert neutralise("role\x1b]0;pwned\x07\x1b[31m\r\nok\t") == "role\\x1b]0;pwned\\x07\\x1b[31m\\x0d\nok\t"


# ------------------------------------------------------------------ the one time parser


@pytest.mark.parametrize(
    "value",
    [
        9999999999999,
        "9999999999999",
        1e20,
        "1e20",
        float("inf"),
        "inf",
        float("nan"),
        -62135596801,
        "-62135596801",
        "2026-01-01T00:00:00+99:99",
        "Fri, 31 Dec 9999 23:59:59 GMT",
        "9999-12-31T23:59:59-10:00",
        "x" * 100_000,
        [1, 2],
    ],
)
def test_unrepresentable_instants_are_not_understood_never_raised(value: object) -> None:
    assert parse_time(value) is None
    assert not_understood(value)


def test_ordinary_instants_still_parse() -> None:
    assert parse_time("2026-06-18T12:00:00Z") is not None
    assert parse_time(1781784000) is not None
    assert parse_time("Thu, 18 Jun 2026 12:00:00 GMT") is not None
    assert not not_understood(None) and not not_understood("")


# ------------------------------------------------------------------ deadline and child processes


def test_within_returns_raises_or_gives_up() -> None:
    assert within(1, lambda: 42) == 42
    with pytest.raises(KeyError):
        within(1, lambda: {}["x"])
    started = time.monotonic()
    with pytest.raises(DeadlineMissed):
        within(0.2, lambda: time.sleep(5))
    assert time.monotonic() - started < 2


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_hanging_child_and_its_group_are_killed_at_the_deadline(tmp_path: Path) -> None:
    pidfile = tmp_path / "grandchild"
    child = bounded_popen(dict(os.environ), timeout=0.5)(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"])
    with pytest.raises(ProcessFailed, match="did not finish"):
        child.communicate()
    time.sleep(0.1)
    assert _gone(int(pidfile.read_text()))


def test_kill_all_ends_a_child_nobody_waits_for(tmp_path: Path) -> None:
    """What the CLI calls on SIGTERM/SIGINT and at exit: no process is left behind."""
    pidfile = tmp_path / "grandchild"
    bounded_popen(dict(os.environ), timeout=60)(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"])
    deadline = time.monotonic() + 5
    while not pidfile.exists() or not pidfile.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    kill_all()
    time.sleep(0.1)
    assert _gone(int(pidfile.read_text()))


def test_a_flooding_child_is_cut_at_the_cap() -> None:
    child = bounded_popen(dict(os.environ), timeout=10)(["yes", "x" * 100])
    with pytest.raises(ProcessFailed, match=f"more than {MAX_OUTPUT_BYTES} bytes"):
        child.communicate()


def test_a_well_behaved_child_is_read_whole() -> None:
    child = bounded_popen(dict(os.environ), timeout=10)(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert child.communicate() == (b"out\n", b"err\n") and child.returncode == 3


# ------------------------------------------------------------------ the environment after a stopped check


def _swap_cut_short(env: dict[str, str]) -> None:
    """What a check stopped at the deadline inside botocore_environment's ``finally`` leaves behind: the
    process environment replaced and never put back (the async stop landed between clear() and update())."""
    from tokendoctor import botocore_env

    with botocore_env.ENVIRON_LOCK:
        botocore_env._outer_saved.append(dict(os.environ))
        os.environ.clear()
        os.environ.update(env)


def test_the_runner_restores_the_environment_a_stopped_check_left_swapped(machine: Machine) -> None:
    from tokendoctor.models import CheckResult
    from tokendoctor.runner import Check, run_checks

    before = dict(os.environ)

    def stuck(ctx: object) -> CheckResult:
        _swap_cut_short({"PATH": "/nowhere", "GITHUB_STEP_SUMMARY": "/target/summary"})
        while True:  # Python-level, so the runner's stop reaches it
            time.sleep(0.01)

    try:
        results = run_checks(machine.context(), [Check("stuck", stuck, "swaps and hangs")], deadline=0.5)
        assert results[0].status == "timeout"
        assert dict(os.environ) == before
    finally:
        os.environ.clear()
        os.environ.update(before)


def test_a_normal_swap_is_undone_by_itself_and_restore_is_a_no_op() -> None:
    from tokendoctor.botocore_env import botocore_environment, restore_after_abandon

    before = dict(os.environ)
    with botocore_environment({"ONLY": "this"}):
        assert dict(os.environ) == {"ONLY": "this"}
    assert dict(os.environ) == before and restore_after_abandon() is False
