"""Complete the static chain analysis with what the instance and container role probes saw.

The static resolution leaves ``container-role`` and ``iam-role`` unresolved (``not-checked``)
because they need the network.  When the IMDS or container probe ran (see :mod:`tokendoctor.probes`),
:func:`amend_chain` fills those rows in the way botocore would: ``used``/``shadowed`` with the role's
credentials, ``absent`` when botocore would move on, ``error`` when it would raise.  The expiry
attached is the RAW document's, not botocore's extended one.
"""

from __future__ import annotations

from typing import Any

from tokendoctor.chain.botocore_private import peekable
from tokendoctor.chain.model import ChainAnalysis, ProviderState, pick_winner
from tokendoctor.context import Context
from tokendoctor.probes import container as container_probe
from tokendoctor.probes import imds as imds_probe


def amend_chain(ctx: Context, analysis: ChainAnalysis) -> None:
    """Fill in the container and instance role rows from their probes, when those ran."""
    if analysis.error is not None:
        return
    by_method = {s.method: s for s in analysis.providers}
    changed = False
    container = by_method.get("container-role")
    if container is not None and container.would_use and container.creds is None:
        changed |= _amend_container(ctx, container)
    instance = by_method.get("iam-role")
    if instance is not None and instance.status == "not-checked" and instance.creds is None:
        changed |= _amend_instance(ctx, instance)
    role = by_method.get("assume-role")
    if role is not None and role.would_use and role.needs in ("iam-role", "container-role"):
        changed |= _amend_role_source(role, by_method.get(role.needs))
    if changed:
        pick_winner(analysis)


def _amend_role_source(role: ProviderState, source: ProviderState | None) -> bool:
    """A role profile with credential_source: botocore raises CredentialRetrievalError when the source that the
    probe saw has no credentials (an instance without a role, a failed token or container endpoint)."""
    if source is None or source.status == "not-checked" or source.creds is not None:
        return False
    role.status = "error"
    role.would_use = False
    what = "Ec2InstanceMetadata" if role.needs == "iam-role" else "EcsContainer"
    role.detail = (
        f"CredentialRetrievalError: credential_source {what} has no credentials ({source.detail or source.status})"
    )
    return True


def _amend_container(ctx: Context, state: ProviderState) -> bool:
    probe = container_probe.probe(ctx)
    if not probe.ran:
        return False
    if probe.status == "ok":
        state.creds = peekable(probe.raw_access_key_id, probe.has_token, probe.expires_at)
        state.status = "absent"  # re-assigned to used/shadowed
        state.detail = f"role credentials from {probe.uri_source} (expire {probe.expiration})"
    else:
        state.status = "error"
        state.detail = f"container credentials endpoint failed ({probe.status}): {probe.problem}; botocore raises"
    return True


def _amend_instance(ctx: Context, state: ProviderState) -> bool:
    probe = imds_probe.probe(ctx)
    if not probe.ran:
        if probe.reason.startswith("AWS_EC2_METADATA_DISABLED") or probe.reason.startswith(
            "metadata_service_num_attempts"
        ):
            state.status = "absent"
            state.detail = f"instance metadata disabled ({probe.reason})"
            return True
        return False
    via = "IMDSv2" if probe.token == "ok" else "IMDSv1"
    if probe.botocore_outcome == "credentials" and probe.credentials is not None:
        creds = probe.credentials
        state.creds = peekable(creds.raw_access_key_id, creds.raw_token_present, creds.expires_at)
        state.status = "absent"  # re-assigned to used/shadowed
        state.detail = f"role {probe.role_name} via {via} (raw document expires {creds.expiration})"
    elif probe.botocore_outcome == "error":
        state.status = "error"
        state.detail = f"no IMDSv2 token ({probe.token}) and ec2_metadata_v1_disabled is set: botocore raises"
    else:
        state.status = "absent"
        state.detail = _why_none(probe)
    return True


def _why_none(probe: Any) -> str:
    if not probe.reachable:
        return f"instance metadata unreachable (token {probe.token}, v1 {probe.v1})"
    if probe.token != "ok" and probe.v1 == "disabled":
        return f"no IMDSv2 token ({probe.token}) and IMDSv1 is disabled on the instance"
    if probe.role_status == "none":
        return "instance metadata lists no role (no instance profile)"
    if probe.role_status == "error":
        return "role listing unusable"
    return f"credential document unusable ({probe.credentials_status})"
