"""What botocore's default credential chain does on this machine: resolution, amendment by the
role probes, expiry sources.  Entry point: :func:`analyse` (computed once per run)."""

from __future__ import annotations

from tokendoctor.chain.amend import amend_chain
from tokendoctor.chain.model import ChainAnalysis, ProviderState
from tokendoctor.chain.resolve import analyse as analyse_static
from tokendoctor.context import Context


def analyse(ctx: Context) -> ChainAnalysis:
    """The credential chain for this run, amended with the role probes; computed once and shared by every check."""

    def compute() -> ChainAnalysis:
        result = analyse_static(ctx)
        amend_chain(ctx, result)
        return result

    return ctx.once("chain", compute)


__all__ = ["ChainAnalysis", "ProviderState", "analyse", "analyse_static"]
