"""``tokendoctor explain``: pasted AWS error text in, Explanation out; pure (no I/O, clock or network)."""

from __future__ import annotations

from tokendoctor.exitcodes import FailOn, exit_code
from tokendoctor.explain import parse, rank
from tokendoctor.explain.commands import confirm_commands
from tokendoctor.explain.masking import scrub
from tokendoctor.explain.model import ExplainStatus, Explanation

MAX_INPUT_CHARS = 1024 * 1024
"""Only the first MiB of a pasted log is read."""


def explain(text: str, *, fail_on: FailOn = "error") -> Explanation:
    """Explain one pasted error text.  Masks secrets first; never raises on odd input."""
    facts = parse.parse(scrub(text[:MAX_INPUT_CHARS]))
    causes = rank.rank(facts)
    severities = {c.severity for c in causes}
    status: ExplainStatus = "error" if "error" in severities else "warning" if severities else "unrecognised"
    return Explanation(
        error=facts,
        causes=tuple(causes),
        confirm=tuple(confirm_commands(facts)),
        status=status,
        exit_code=exit_code(causes, [], fail_on),
    )


__all__ = ["MAX_INPUT_CHARS", "Explanation", "explain", "scrub"]
