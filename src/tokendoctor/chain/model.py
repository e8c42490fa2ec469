"""What botocore's default chain does on one machine, as plain data: each provider's state and the winner."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

from tokendoctor.models import Finding, ProviderStatus

FILE_METHODS = frozenset({"shared-credentials-file", "config-file"})
ROLE_METHODS = frozenset({"container-role", "iam-role"})


@dataclass
class ProviderState:
    method: str
    status: ProviderStatus = "absent"
    detail: str = ""
    creds: Any = None
    would_use: bool = False  # botocore would stop here, but we did not run it
    error: BaseException | None = None
    needs: str | None = None  # the provider whose credentials this one is made from (a role's credential_source)

    @property
    def found(self) -> bool:
        return self.creds is not None or self.would_use

    def row(self) -> dict[str, str]:
        return {"provider": self.method, "status": self.status, "detail": self.detail}


@dataclass
class ChainAnalysis:
    profile: str
    profile_source: str
    explicit: bool
    providers: list[ProviderState] = field(default_factory=list)
    winner: ProviderState | None = None
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    full_config: dict[str, Any] = field(default_factory=dict)
    credentials_file: str = ""
    config_file: str = ""

    @property
    def method(self) -> str | None:
        if self.winner is None or self.winner.status == "error":
            return None
        return self.winner.method

    def profile_config(self, name: str | None = None) -> dict[str, Any]:
        """The config-file section of ``name`` (default: the selected profile)."""
        return dict(self.full_config.get("profiles", {}).get(name or self.profile, {}))


@dataclass(frozen=True)
class Expiry:
    at: _dt.datetime
    source: str


def assign_statuses(result: ChainAnalysis) -> None:
    """Mark the winner ``used`` and every later provider with credentials ``shadowed``."""
    winner = result.winner
    passed = False
    for state in result.providers:
        if state is winner:
            passed = True
            if state.status != "error":
                state.status = "used"
                if not state.detail:
                    state.detail = "credentials found"
            continue
        if state.status in ("error", "not-checked"):
            continue
        if state.found:
            state.status = "shadowed" if passed else "used"
            state.detail = state.detail or f"has credentials, but {winner.method if winner else '?'} comes first"
        else:
            state.status = "absent"


def pick_winner(result: ChainAnalysis) -> None:
    """The first provider botocore would stop at, then every status."""
    result.winner = next((s for s in result.providers if s.found or s.status == "error"), None)
    assign_statuses(result)
