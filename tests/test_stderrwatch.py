"""The stderr watcher on its own: same parser as explain, one detection, bounded memory."""

from __future__ import annotations

from pathlib import Path

from tokendoctor import stderrwatch
from tokendoctor.explain import explain
from tokendoctor.stderrwatch import Detection, StderrWatcher

CORPUS = Path(__file__).resolve().parent / "corpus" / "explain"


def watcher() -> tuple[StderrWatcher, list[Detection]]:
    found: list[Detection] = []
    return StderrWatcher(on_detection=found.append), found


def test_every_corpus_error_is_recognised_as_explain_recognises_it() -> None:
    for path in sorted(CORPUS.glob("*.txt")):
        text = path.read_text()
        w, found = watcher()
        data = text.encode()
        for i in range(0, len(data), 7):  # arbitrary chunk borders, mid-line and mid-character
            w.feed(data[i : i + 7])
        w.close()
        expected = explain(text)
        if not expected.recognised:
            continue
        assert len(found) == 1, path.name
        assert found[0].explanation.error.family == expected.error.family, path.name


def test_the_stack_trace_around_the_error_line_is_read_whole() -> None:
    text = (CORPUS / "java-v1-imds-expired-token.txt").read_text()
    w, found = watcher()
    w.feed(b"unrelated line\n" * 50 + text.encode())
    w.close()
    assert found and found[0].explanation.causes[0].code == explain(text).causes[0].code


def test_one_detection_and_counts_for_repeats() -> None:
    line = (
        b"botocore.exceptions.ClientError: An error occurred (ExpiredToken) "
        b"when calling the GetObject operation: expired\n"
    )
    w, found = watcher()
    for _ in range(1000):
        w.feed(line)
    w.close()
    assert len(found) == 1
    assert [(k.family, k.count) for k in w.errors] == [("ExpiredToken", 1000)]


def test_memory_is_bounded_for_an_endless_line_and_many_kinds() -> None:
    w, found = watcher()
    chunk = b"token " * 10_000
    for _ in range(200):  # 12 MB without a newline
        w.feed(chunk)
        assert len(w._partial) <= stderrwatch.MAX_LINE
    w.feed(b"\n")
    for i in range(5000):  # many different lines through the gate: the cache stays bounded
        w.feed(b"token refresh %d happened\n" % i)
    assert len(w._cache) <= 512
    assert len(w._before) <= stderrwatch.LINES_BEFORE
    w.close()
    assert found == []


def test_secrets_in_the_error_line_are_masked_in_the_detection() -> None:
    w, found = watcher()
    w.feed(
        b"An error occurred (ExpiredToken) when calling the GetObject operation: expired "
        b"aws_session_token=watchTOKENmarker0001 key ASIAWATCHWATCHWATCH1\n"
    )
    w.close()
    assert found and "watchTOKENmarker0001" not in found[0].line and "ASIAWATCHWATCHWATCH1" not in found[0].line
    assert "watchTOKENmarker0001" not in w.errors[0].sample
