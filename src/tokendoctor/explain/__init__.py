"""``tokendoctor explain``: pasted AWS error text in, Explanation out; pure (no I/O, clock or network)."""

from __future__ import annotations

from collections.abc import Callable

from tokendoctor.exitcodes import FailOn, exit_code
from tokendoctor.explain import parse, rank
from tokendoctor.explain.commands import confirm_commands
from tokendoctor.explain.masking import scrub
from tokendoctor.explain.model import ExplainStatus, Explanation
from tokendoctor.redact import Redactor, mask_then_truncate

MAX_INPUT_CHARS = 1024 * 1024
"""Only the first MiB of a pasted log is explained."""
READ_MARGIN_CHARS = 64 * 1024
"""Read this much more than ``MAX_INPUT_CHARS``, so masking sees whole tokens before the text is cut."""


def _never() -> bool:
    return False


class _Latch:
    """The caller's ``stop()``, remembering that it once said yes."""

    def __init__(self, stop: Callable[[], bool]) -> None:
        self._stop = stop
        self.hit = False

    def __call__(self) -> bool:
        self.hit = self.hit or self._stop()
        return self.hit


def drop_last_word(text: str) -> str:
    """``text`` without its last whitespace-separated word: what to keep of a text that was cut, since
    a token cut in two could slip past the masker."""
    cut = max(text.rfind(c) for c in " \t\n\r")
    return text[: cut + 1] if cut >= 0 else ""


def bounded(text: str) -> str:
    """The part of ``text`` that is masked: ``MAX_INPUT_CHARS`` plus the margin, cut between words."""
    limit = MAX_INPUT_CHARS + READ_MARGIN_CHARS
    return text if len(text) <= limit else drop_last_word(text[: limit + 1])


def explain(text: str, *, fail_on: FailOn = "error", stop: Callable[[], bool] = _never) -> Explanation:
    """Explain one pasted error text.  Masks secrets first, then cuts to ``MAX_INPUT_CHARS``; never raises
    on odd input.  ``stop()`` (the caller's deadline) is asked between steps; when it says yes, the answer
    holds what was found so far and ``deadline_reached`` is set."""
    latch = _Latch(stop)
    masked = mask_then_truncate(Redactor(), scrub(bounded(text)), MAX_INPUT_CHARS)
    facts = parse.parse(masked, latch)
    causes = rank.rank(facts)
    severities = {c.severity for c in causes}
    status: ExplainStatus = "error" if "error" in severities else "warning" if severities else "unrecognised"
    return Explanation(
        error=facts,
        causes=tuple(causes),
        confirm=tuple(confirm_commands(facts)),
        status=status,
        exit_code=exit_code(causes, [], fail_on),
        deadline_reached=latch.hit,
    )


__all__ = ["MAX_INPUT_CHARS", "READ_MARGIN_CHARS", "Explanation", "bounded", "drop_last_word", "explain", "scrub"]
