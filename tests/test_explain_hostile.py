"""`tokendoctor explain` on hostile pasted text (issue 9): every regex linear, a deadline, no leak,
no control character reaching the terminal, closed stdin/stdout as one-line errors.

Speed is measured as a *ratio* (8x the input must cost well under 20x the time), never as an
absolute timed assertion; benchmarks/bench_explain.py reports the absolute numbers."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokendoctor.cli import main
from tokendoctor.explain import explain, masking, parse, scrub
from tokendoctor.explain.model import ErrorFacts
from tokendoctor.redact import Redactor, mask_then_truncate
from tokendoctor.render.explain import neutralise, render_json, render_text

# The inputs the issue measured (16 s, 19 s, > 60 s before), and shapes aimed at each rewritten rule.
ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "<Code> + spaces": lambda n: "<Code>" + " " * n + "x",
    "code: repeated": lambda n: "code:" * (n // 5),
    "ExpiredToken + newlines": lambda n: "ExpiredToken" + "\n" * n,
    "SSO session repeated": lambda n: "The SSO session " * (n // 16),
    "config profile (": lambda n: "The config profile (" * (n // 20),
    "dotted host": lambda n: "a." * (n // 2),
    "dashed host": lambda n: "a-" * (n // 2),
    "open <SessionToken>": lambda n: "<SessionToken>" * (n // 14),
    "aws options": lambda n: "aws --a b --c d --e f --g h --i j --k l x\n" * (n // 42),
    "operation error": lambda n: "operation error " * (n // 16),
    "deserializeAws_": lambda n: "deserializeAws_" + "A" * n,
    "long word": lambda n: "A" * n,
    "url userinfo": lambda n: "://a:" * (n // 5),
    "secret_key + spaces": lambda n: "secret_key" + " " * n,
    "whitespace lines": lambda n: " \n" * (n // 2),
    "Java client": lambda n: "AmazonS3" * (n // 8),
}


def _seconds(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_explain_time_grows_linearly(name):
    make = ADVERSARIAL[name]
    small, large = make(8 * 1024), make(64 * 1024)
    t_small = _seconds(lambda: explain(small))
    t_large = _seconds(lambda: explain(large))
    # 8x the input: a linear rule costs ~8x; a quadratic one 64x.  Generous for a shared machine.
    assert t_large < 20 * max(t_small, 0.002), (name, t_small, t_large)


def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    found: list[tuple[str, re.Pattern[str]]] = []
    for module in (parse, masking):
        for attr, value in vars(module).items():
            items = value.values() if isinstance(value, dict) else value if isinstance(value, tuple) else (value,)
            for item in items:
                for candidate in item if isinstance(item, tuple) else (item,):
                    if isinstance(candidate, re.Pattern):
                        found.append((f"{module.__name__}.{attr}", candidate))
    return found


PATTERNS = _patterns()


def _literals(pattern: re.Pattern[str]) -> list[str]:
    """Pieces of the pattern's own text: repeating them is what makes a careless rule backtrack."""
    words = set(re.findall(r"[A-Za-z][A-Za-z ]{2,}[A-Za-z:]|<\w+>|\w+:", pattern.pattern))
    return sorted(words)[:10] + [" ", "\n", "a.", "a-", "1", "A", "\t", ": ", "=", '"']


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[f"{w}-{i}" for i, (w, _) in enumerate(PATTERNS)])
def test_every_pasted_text_regex_is_linear_on_its_own_literals(where, pattern):
    shapes = (
        lambda b, n: b * (n // len(b)),
        lambda b, n: b + " " * n,
        lambda b, n: b + "\n" * n,
        lambda b, n: b + "a" * n,
    )
    for piece in _literals(pattern):
        for shape in shapes:
            small, large = shape(piece, 2000), shape(piece, 16000)
            t_small = _seconds(lambda s=small: pattern.search(s))
            assert t_small < 0.5, (where, piece)  # a super-linear rule is caught here before the large run
            t_large = _seconds(lambda s=large: pattern.search(s))
            assert t_large < 20 * max(t_small, 0.001), (where, piece, t_small, t_large)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "<Code>",
                    "</Code>",
                    "ExpiredToken",
                    "code:",
                    "An error occurred (",
                    ") when calling the ",
                    " operation: ",
                    "(Service: ",
                    "; Status Code: 403; Error Code: ",
                    "aws ",
                    "--profile ",
                    ".amazonaws.com",
                    "<SessionToken>",
                    "IQoJb3JpZ2lu",
                    "X-Amz-Expires=",
                    "\n",
                    " ",
                    "\x1b[2J",
                    "\\/",
                    "://u:p@",
                ]
            ),
            st.text(max_size=40),
        ),
        max_size=60,
    )
)
def test_parser_never_raises_and_its_answer_is_well_formed(pieces):
    text = "".join(pieces)
    result = explain(text)
    assert isinstance(result.error, ErrorFacts)
    assert result.exit_code in (0, 1)
    assert (result.status == "unrecognised") == (not result.causes)
    doc = json.loads(render_json(result))
    assert doc["kind"] == "explain"
    rendered = render_text(result)
    assert "\x1b" not in rendered


SECRET = "tdLeakMarkerSecret0001"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEtdLeak/Marker/abcdefghijklmnopqrstuvwxyz0123456789/ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 2


@pytest.mark.parametrize(
    ("text", "marker"),
    [
        ('{"Code":"Success","Token":"' + TOKEN.replace("/", "\\/") + '"}', "tdLeak"),
        ('{"Token":"' + "Zm9vYmFy" * 6 + "\\/" + "QUJDREVGR0g1234tdLeakMarker" * 3 + '"}', "tdLeakMarker"),
        ("aws-secret-access-key: " + SECRET + "Xy9", SECRET),
        ("AWS Secret Access Key [None]: " + SECRET + "Xy9", SECRET),
        ("AWS Secret Access Key [****************EKEY]: " + SECRET + "Xy9", SECRET),
        ("the key is wJalrXUtnFEMI/K7MDENG/bPxRfiCYtdLeakKEY9 ok", "tdLeakKEY9"),
        ("endpoint_url = https://admin:" + SECRET + "@minio.local:9000/", SECRET),
        ("<SessionToken>" + SECRET + " never closed", SECRET),
    ],
)
def test_pasted_secrets_never_come_out(text, marker, capsys):
    assert marker not in scrub(text)
    for fmt in ([], ["--json"], ["-v"]):
        main(["explain", *fmt, "ExpiredToken: the provided token has expired " + text])
        out, err = capsys.readouterr()
        assert marker not in out and marker not in err


def test_request_ids_and_signatures_survive_masking():
    text = "RequestId: R8L5B1LS2V3TFM0QH4VK7PA3PNVV4KQNSO5AEMVJF66Q9ASUAAJG sig " + "ab12" * 16
    assert scrub(text) == text


def test_mask_then_truncate_masks_before_it_cuts():
    redactor = Redactor()
    redactor.add(SECRET)
    text = "x" * 10 + SECRET + "y" * 30
    cut = mask_then_truncate(redactor, text, 20)
    assert cut == "x" * 10 + "****" + "y" * 5 + "…"  # cutting first would have left "tdLeakMar"
    assert mask_then_truncate(Redactor(), "short", 20) == "short"
    keyed = mask_then_truncate(Redactor(), "aws_session_token=" + SECRET + " tail" * 50, 40)
    assert "aws_session_token=****" in keyed and SECRET[:6] not in keyed


def test_a_token_cut_at_the_read_limit_is_dropped_not_half_shown(monkeypatch, capsys):
    from tokendoctor.explain import MAX_INPUT_CHARS, READ_MARGIN_CHARS

    head = "ExpiredToken: The provided token has expired\n" + "y " * ((MAX_INPUT_CHARS + READ_MARGIN_CHARS) // 2 - 40)
    data = (head + "tdCutMarker" + "Q1w2E3r4" * 40).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["explain", "--json"]) == 1
    assert "tdCutMarker" not in capsys.readouterr().out


def test_control_characters_are_neutralised_in_the_text_report(capsys):
    text = "An error occurred (ExpiredToken) when calling the GetObject operation: \x1b]0;pwned\x07 \x1b[2J \u202e gone"
    assert main(["explain", "--no-color", "-v", text]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "\\x1b]0;pwned\\x07" in out and "\\u202e" in out
    assert main(["explain", "--json", text]) == 1
    raw = capsys.readouterr().out
    assert "\x1b" not in raw and json.loads(raw)["error"]["message"].startswith("\x1b]0;pwned")
    assert neutralise("a\tb\x9bc") == "a\\x09b\\x9bc"


def test_deadline_returns_what_was_found_so_far():
    calls = {"n": 0}

    def stop_after_three() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    text = "An error occurred (ExpiredToken) when calling the GetObject operation: expired\n"
    partial = explain(text, stop=stop_after_three)
    assert partial.deadline_reached and partial.error.family == "ExpiredToken"
    assert partial.causes and partial.causes[0].code == "TD202"
    assert partial.error.clues == ()  # the clue step came after the deadline
    full = explain(text)
    assert not full.deadline_reached
    assert "--timeout deadline ran out" in render_text(partial)
    assert json.loads(render_json(partial))["deadline_reached"] is True


def _cli(*args: str, stdin: int | None = None, stdout: int | None = None, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tokendoctor", *args],
        stdin=stdin,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=30,
        **kw,
    )


def test_closed_stdin_is_a_usage_error():
    result = _cli("explain", stdin=subprocess.DEVNULL, close_fds=True, preexec_fn=lambda: os.close(0))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "tokendoctor: error: no error text: stdin is closed; pass the text as an argument or pipe it in"
    ]


@pytest.mark.parametrize(
    ("command", "codes"),
    [(["explain", "ExpiredToken: expired"], {1}), (["check", "--offline", "--timeout", "3"], {0, 1})],
)
def test_closed_stdout_is_one_line_on_stderr_and_the_exit_code_still_tells(command, codes):
    result = _cli(*command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.close(1))
    assert result.returncode in codes, result.stderr
    assert result.stderr.strip().splitlines() == ["tokendoctor: stdout is closed; the report was not written"]


def test_a_closed_pipe_is_quiet(tmp_path):
    """`tokendoctor explain ... | head -c 1`: no traceback, no 'Exception ignored' at exit."""
    text = "An error occurred (ExpiredToken) when calling the GetObject operation: expired"
    producer = subprocess.Popen(
        [sys.executable, "-m", "tokendoctor", "explain", text], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert producer.stdout is not None and producer.stderr is not None
    producer.stdout.close()  # the reader went away before a byte was read
    err = producer.stderr.read().decode()
    assert producer.wait(timeout=30) == 1
    assert "Traceback" not in err and "Exception ignored" not in err


def test_a_pipe_that_never_closes_is_cut_at_the_deadline():
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"An error occurred (ExpiredToken) when calling the GetObject operation: expired\n")
        start = time.monotonic()
        result = _cli("explain", "--json", "--timeout", "2", stdin=read_end)
        elapsed = time.monotonic() - start
    finally:
        os.close(read_end)
        os.close(write_end)
    doc = json.loads(result.stdout)
    assert result.returncode == 1 and doc["error"]["family"] == "ExpiredToken"
    assert elapsed < 2 + 10  # the run ends (interpreter start-up on a loaded machine included)


def test_no_text_before_the_deadline_is_a_usage_error():
    read_end, write_end = os.pipe()
    try:
        result = _cli("explain", "--timeout", "1", stdin=read_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert result.returncode == 2
    assert "no error text arrived on stdin before the --timeout deadline" in result.stderr


def test_timeout_must_be_positive(capsys):
    assert main(["explain", "--timeout", "0", "ExpiredToken: x"]) == 2
    assert "--timeout" in capsys.readouterr().err


def test_a_large_input_under_a_short_timeout_ends_with_the_deadline_note(tmp_path):
    big = tmp_path / "big.log"
    big.write_text("An error occurred (ExpiredToken) when calling the GetObject operation: expired\n" + "x " * 520_000)
    with big.open("rb") as stdin:
        result = _cli("explain", "--json", "--timeout", "0.2", stdin=stdin.fileno())
    doc = json.loads(result.stdout)
    assert doc["deadline_reached"] is True and result.returncode in (0, 1)
    assert "Traceback" not in result.stderr
    with big.open("rb") as stdin:
        text = _cli("explain", "--timeout", "0.2", stdin=stdin.fileno())
    assert text.stdout.startswith("The --timeout deadline ran out before the whole text was read")
