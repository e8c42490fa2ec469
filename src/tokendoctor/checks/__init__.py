"""The registry of checks.  Each module has one entry point ``check(ctx) -> CheckResult``; the steps
that need several checks' results are declared here too, in the order they run."""

from __future__ import annotations

from tokendoctor.checks import (
    clock,
    container,
    credentials,
    host,
    imds,
    keys,
    kubeconfig,
    lifetime,
    live,
    platform,
    process,
    sdk,
    web_identity,
)
from tokendoctor.reporter import PostStep
from tokendoctor.runner import Check

ALL_CHECKS: tuple[Check, ...] = (
    Check(
        credentials.NAME,
        credentials.check,
        "Which credentials botocore's default chain uses, and when they expire",
        essential=True,
    ),
    Check(keys.NAME, keys.check, "Static keys: blanks, leftover tokens, token version, placeholders"),
    Check(kubeconfig.NAME, kubeconfig.check, "kubectl's exec plugins (aws eks get-token): their profile, diagnosed"),
    Check(
        lifetime.NAME,
        lifetime.check,
        "How long the chain keeps producing credentials without a person (--for), and the role sessions it asks for",
    ),
    Check(platform.NAME, platform.check, "Where this runs (EC2, ECS, EKS, Lambda, CI, none), from env and /sys only"),
    Check(imds.NAME, imds.check, "Instance metadata: token, hop limit, role and the raw credential document"),
    Check(container.NAME, container.check, "The container credentials endpoint (ECS task role, EKS Pod Identity)"),
    Check(web_identity.NAME, web_identity.check, "The web identity token file: claims, expiry, rotation"),
    Check(sdk.NAME, sdk.check, "Which source the SDK chosen with --sdk would use, and where the SDKs disagree"),
    Check(live.NAME, live.check, "--live: STS GetCallerIdentity with the resolved credentials, and what AWS answered"),
    Check(
        clock.NAME,
        clock.check,
        "The clock: offset against NTP / Amazon Time Sync, and whether anything keeps it synchronized",
    ),
    Check(
        process.NAME,
        process.check,
        "The process diagnosed with --pid/--env-file: user, age, and whether it outlived its credentials",
    ),
    Check(
        host.NAME,
        host.check,
        "Which machine this is: hostname, and the instance id and region the IMDS probe already fetched",
    ),
)

#: Pure steps run after all checks, before ranking (``reporter.rank(post_steps=...)``): the clock's offset
#: applied to the credentials' expiry and the IMDS/STS Date headers as clock references, then the
#: SDK chosen with --sdk dropping findings that only hold under botocore's order, then the instance id
#: and region IMDS answered copied into the host section.
POST_STEPS: tuple[PostStep, ...] = (clock.combine, sdk.adjust, host.complete)
