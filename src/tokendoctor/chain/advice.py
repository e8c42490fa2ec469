"""Advice that depends on the chain analysis and is shared by several checks."""

from __future__ import annotations

from tokendoctor.chain.model import ChainAnalysis


def refreshable_role_fix(analysis: ChainAnalysis) -> str:
    """The TD101 fix: use the config's refreshable role profile, or add one."""
    profiles = analysis.full_config.get("profiles", {})
    roles = [
        name
        for name, cfg in profiles.items()
        if cfg.get("role_arn") and (cfg.get("source_profile") or cfg.get("credential_source"))
    ]
    head = "These are a copy of one STS session: nothing refreshes them. "
    if roles:
        name = roles[0]
        return head + (
            f"Your config already has a refreshable role profile '{name}'. Run the job with "
            f"`unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN; AWS_PROFILE={name} <job>`."
        )
    return head + (
        "Add to ~/.aws/config:\n  [profile job]\n  role_arn = arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME\n"
        "  source_profile = default   # on EC2/ECS instead: credential_source = Ec2InstanceMetadata\n"
        "then `unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN` and start the job with "
        "AWS_PROFILE=job; "
        "botocore assumes the role and refreshes it 15 minutes before it expires."
    )
