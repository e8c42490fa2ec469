"""How long the resolved chain keeps producing valid credentials without a person: its links, each link's
expiry and refresher, the horizon and the link that limits it.  Rules and botocore citations: docs/lifetime.md.

``links[0]`` is what the program signs with; ``links[i + 1]`` is what renews ``links[i]``.  The horizon is
set by the first link that nothing renews unattended (or that is already stale): its expiry is the last
instant at which a refresh can still succeed.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Literal

from tokendoctor import chain
from tokendoctor.chain import expiry as _expiry
from tokendoctor.chain.advice import refreshable_role_fix
from tokendoctor.chain.botocore_private import peek, refresh_windows
from tokendoctor.chain.model import ChainAnalysis
from tokendoctor.chain.process_command import command_problem
from tokendoctor.context import Context
from tokendoctor.limits import (
    ASSUME_ROLE_DEFAULT,
    ASSUME_ROLE_MAX,
    ASSUME_ROLE_MIN,
    PRESIGN_MAX_SECONDS,
    ROLE_CHAINING_MAX,
    SESSION_TOKEN_MAX,
)
from tokendoctor.redact import mask_then_truncate
from tokendoctor.timefmt import iso, parse_time, relative, span

ExpiryKind = Literal["instant", "upper-bound", "unknown", "unbounded"]

#: The expiry source of a credential_process that was not run.
NOT_RUN = "not run (use --allow-process)"
#: Source profiles followed at most this deep (botocore detects cycles; we only stop).
MAX_DEPTH = 8
#: Paths of token files the kubelet projects and rotates (EKS IRSA, any projected service account token).
ROTATED_TOKEN_PATHS = ("/var/run/secrets/eks.amazonaws.com/", "/var/run/secrets/kubernetes.io/", "/run/secrets/")


@dataclass(frozen=True, kw_only=True)
class Link:
    """One link between the program and AWS."""

    kind: str
    """env-keys, env-session, file-keys, file-session, role-session, sso-role, sso-access-token, sso-session,
    web-identity-role, web-identity-token, instance-role, container-role, process-output, login-session."""
    label: str
    origin: str
    expiry: ExpiryKind
    expires_at: _dt.datetime | None = None
    expiry_source: str | None = None
    refresher: str = "nothing"
    renewed: bool = False
    """Something renews it without a person (using the next link, or AWS itself for the last)."""
    stale: bool = False
    """Already expired (or not rotated in time) although the program's next refresh depends on it."""
    fix: str = ""

    def to_dict(self, now: _dt.datetime) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "origin": self.origin,
            "expiry": self.expiry,
            "expires_at": iso(self.expires_at),
            "seconds_remaining": int((self.expires_at - now).total_seconds()) if self.expires_at else None,
            "expiry_source": self.expiry_source,
            "refresher": self.refresher,
            "renewed": self.renewed,
            "stale": self.stale,
        }


@dataclass(frozen=True, kw_only=True)
class RoleFacts:
    """A role profile in the chain: what STS will be asked for, and whether it is role chaining."""

    profile: str
    role_arn: str
    duration_seconds: int | None
    duration_raw: str | None
    chained_from: str | None
    """The kind of source that makes this role chaining (role, sso, instance role, ...), or None."""


@dataclass(frozen=True, kw_only=True)
class Lifetime:
    links: tuple[Link, ...] = ()
    roles: tuple[RoleFacts, ...] = ()
    horizon: _dt.datetime | None = None
    horizon_kind: ExpiryKind = "unknown"
    limiting: int | None = None
    for_seconds: float | None = None
    presign_max_seconds: int | None = None
    presign_basis: str = ""
    process_error: str | None = None
    process_profile: str | None = None
    windows: dict[str, int] = field(default_factory=dict)
    now: _dt.datetime
    """The run's clock (``ctx.now()``) when the lifetime was computed."""

    @property
    def limiting_link(self) -> Link | None:
        return self.links[self.limiting] if self.limiting is not None else None

    @property
    def enough(self) -> bool | None:
        """With ``--for``: True when the horizon is shown to cover the job, False when it is not."""
        if self.for_seconds is None or not self.links:
            return None
        if self.horizon_kind == "unbounded":
            return True
        if self.horizon_kind == "unknown" or self.horizon is None:
            return False
        return (self.horizon - self.now).total_seconds() >= self.for_seconds

    def summary(self) -> str:
        if not self.links:
            return "no credentials, so nothing to last"
        link = self.limiting_link
        if self.horizon_kind == "unbounded" or link is None:
            last = self.links[-1]
            text = f"no limit: every link is renewed without a person (last: {last.label})"
        else:
            where = f"{link.label}" + (f" ({link.expiry_source})" if link.expiry_source else "")
            if self.horizon is None:
                text = f"unknown: limited by {where}, whose expiry is not recorded anywhere and which nothing renews"
            else:
                left = (self.horizon - self.now).total_seconds()
                head = "at most until" if self.horizon_kind == "upper-bound" else "until"
                if left <= 0:
                    head = "ended" if self.horizon_kind == "instant" else "ended at most at"
                text = f"{head} {iso(self.horizon)} ({relative(left)}), limited by {where}"
        if self.for_seconds is not None:
            verdict = {True: "enough", False: "NOT enough", None: "no credentials"}[self.enough]
            text += f"; --for {span(self.for_seconds)}: {verdict}"
        return text

    def to_dict(self) -> dict[str, Any]:
        link = self.limiting_link
        return {
            "horizon": iso(self.horizon),
            "horizon_kind": self.horizon_kind,
            "seconds_remaining": int((self.horizon - self.now).total_seconds()) if self.horizon else None,
            "limiting_link": self.limiting,
            "limited_by": link.label if link else None,
            "summary": self.summary(),
            "for_seconds": int(self.for_seconds) if self.for_seconds is not None else None,
            "enough": self.enough,
            "presigned_url_max_seconds": self.presign_max_seconds,
            "presigned_url_basis": self.presign_basis,
            "refresh_windows": dict(self.windows),
            "links": [item.to_dict(self.now) for item in self.links],
            "roles": [
                {
                    "profile": r.profile,
                    "role_arn": r.role_arn,
                    "duration_seconds": r.duration_seconds,
                    "chained_from": r.chained_from,
                }
                for r in self.roles
            ],
        }


def analyse(ctx: Context) -> Lifetime:
    """The lifetime of the chain :func:`tokendoctor.chain.analyse` resolved; computed once per run."""
    return ctx.once("lifetime", lambda: _Builder(ctx, chain.analyse(ctx)).build())


def horizon_of(links: tuple[Link, ...], now: _dt.datetime) -> tuple[int | None, ExpiryKind, _dt.datetime | None]:
    """(limiting index, kind, instant): the first link that is stale or that nothing renews.  A stale link
    without a known instant ends the horizon now: the next refresh already fails."""
    for i, link in enumerate(links):
        if link.stale:
            return i, "instant", link.expires_at or now
        if not link.renewed:
            if link.expiry == "unbounded":
                return None, "unbounded", None
            return i, link.expiry, link.expires_at
    return None, "unbounded", None


class _Builder:
    def __init__(self, ctx: Context, analysis: ChainAnalysis) -> None:
        self.ctx = ctx
        self.analysis = analysis
        self.now = ctx.now()
        self.windows = refresh_windows()
        self.roles: list[RoleFacts] = []
        self.process_error: str | None = None
        self.process_profile: str | None = None
        self.profiles: dict[str, dict[str, Any]] = analysis.full_config.get("profiles", {})

    def build(self) -> Lifetime:
        winner = self.analysis.winner
        links: tuple[Link, ...] = ()
        if self.analysis.error is None and winner is not None and winner.status != "error":
            links = tuple(self._for_method(winner.method, winner.creds))
        index, kind, at = horizon_of(links, self.now)
        if not links:
            kind = "unknown"
        presign, basis = self._presign(links)
        return Lifetime(
            links=links,
            roles=tuple(self.roles),
            horizon=at,
            horizon_kind=kind,
            limiting=index,
            for_seconds=self.ctx.options.for_seconds,
            presign_max_seconds=presign,
            presign_basis=basis,
            process_error=self.process_error,
            process_profile=self.process_profile,
            windows=self.windows,
            now=self.now,
        )

    # ------------------------------------------------------------ by winning method

    def _for_method(self, method: str, creds: Any) -> list[Link]:
        profile = self.analysis.profile
        if method == "env":
            return [self._env_link()]
        if method in ("shared-credentials-file", "config-file", "boto-config", "ec2-credentials-file"):
            return [self._static_link(profile, self.profiles.get(profile) or self._creds_section(profile), method)]
        if method == "assume-role":
            return self._role_links(profile, depth=0, creds=creds)
        if method == "sso":
            return self._sso_links(profile)
        if method == "assume-role-with-web-identity":
            return self._web_identity_links(profile, env=not self.analysis.explicit)
        if method == "iam-role":
            return [self._instance_link()]
        if method == "container-role":
            return [self._container_link()]
        if method == "custom-process":
            return [self._process_link(profile)]
        if method == "login":
            return self._login_links(profile)
        return [Link(kind=method, label=f"{method} credentials", origin=method, expiry="unknown")]

    # ------------------------------------------------------------ static credentials

    def _env_link(self) -> Link:
        env = self.ctx.env
        key = env.get("AWS_ACCESS_KEY_ID", "")
        if not (env.get("AWS_SESSION_TOKEN") or env.get("AWS_SECURITY_TOKEN") or key.startswith("ASIA")):
            return Link(
                kind="env-keys",
                label="long-term keys in AWS_ACCESS_KEY_ID",
                origin="environment",
                expiry="unbounded",
                refresher="none needed (IAM user keys do not expire)",
            )
        found = _expiry.env_expiry(self.ctx)
        return self._session_link(
            kind="env-session",
            label="the exported session",
            origin="environment: AWS_ACCESS_KEY_ID/AWS_SESSION_TOKEN",
            found=found,
            fix=refreshable_role_fix(self.analysis),
        )

    def _static_link(self, profile: str, section: dict[str, Any], origin: str, *, source: bool = False) -> Link:
        if not section.get("aws_session_token") and not section.get("aws_security_token"):
            return Link(
                kind="file-keys",
                label=f"long-term keys in profile {profile}",
                origin=f"{origin} [{profile}]",
                expiry="unbounded",
                refresher="none needed (IAM user keys do not expire)",
            )
        return self._session_link(
            kind="file-session",
            label=f"profile {profile}'s pasted session",
            origin=f"{origin} [{profile}]",
            found=_expiry.file_session_expiry(self.ctx, section, profile),
            fix=(
                f"Fix the source: replace profile {profile}'s pasted session (aws_session_token) with long-term "
                "keys of a user allowed to assume the role, `sso_session`, or `credential_source = "
                "Ec2InstanceMetadata` on EC2, so botocore can sign every AssumeRole."
                if source
                else f"Replace profile {profile}'s pasted session (aws_session_token) with a profile botocore "
                "refreshes: role_arn + source_profile (or credential_source = Ec2InstanceMetadata on EC2), "
                "sso_session, or credential_process."
            ),
        )

    def _session_link(self, *, kind: str, label: str, origin: str, found: Any, fix: str) -> Link:
        if found is None:
            return Link(
                kind=kind,
                label=label,
                origin=origin,
                expiry="unknown",
                refresher=(
                    f"nothing (a session lasts at most {SESSION_TOKEN_MAX // 3600} h after it was issued; an "
                    f"AssumeRole session {ASSUME_ROLE_DEFAULT // 3600} h unless DurationSeconds said otherwise)"
                ),
                fix=fix,
            )
        return Link(
            kind=kind,
            label=label,
            origin=origin,
            expiry="instant",
            expires_at=found.at,
            expiry_source=found.source,
            refresher="nothing",
            fix=fix,
            stale=found.at <= self.now,
        )

    def _creds_section(self, profile: str) -> dict[str, Any]:
        from botocore.configloader import raw_config_parse

        try:
            return dict(raw_config_parse(self.analysis.credentials_file).get(profile, {}))
        except Exception:  # noqa: BLE001 - already read once by botocore's provider
            return {}

    # ------------------------------------------------------------ roles

    def _role_links(self, profile: str, *, depth: int, creds: Any = None) -> list[Link]:
        """botocore/credentials.py AssumeRoleProvider: _get_role_config, _load_creds_via_assume_role,
        _resolve_source_credentials / _resolve_credentials_from_profile (static keys first, then role_arn)."""
        cfg = self.profiles.get(profile, {})
        role_arn = str(cfg.get("role_arn"))
        raw = cfg.get("duration_seconds")
        try:
            duration = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            duration = None
        session = duration or ASSUME_ROLE_DEFAULT
        found = None
        if depth == 0 and creds is not None:
            found = _expiry.for_winner(self.ctx, self.analysis, self.analysis.winner, peek(creds)[2])  # type: ignore[arg-type]
        windows = f"{self.windows['advisory'] // 60} min before expiry (mandatory at {self.windows['mandatory'] // 60})"
        mfa = cfg.get("mfa_serial")
        name = role_arn.rsplit("/", 1)[-1]
        slot = len(self.roles)  # roles are listed from the program outward, like the links
        source_links = self._role_source_links(profile, cfg, depth)
        chained = self._chained_from(cfg, source_links)
        self.roles.insert(
            slot,
            RoleFacts(
                profile=profile,
                role_arn=role_arn,
                duration_seconds=duration,
                duration_raw=None if raw is None else str(raw),
                chained_from=chained,
            ),
        )
        if mfa:
            # create_mfa_serial_refresher: the second refresh raises RefreshWithMFAUnsupportedError.  Without a
            # cached session the first AssumeRole is still to come, signed with the source: a dead one ends it now.
            dead_source = found is None and any(link.stale for link in source_links)
            role = Link(
                kind="role-session",
                label=f"role {name}'s MFA session (profile {profile})",
                origin=f"profile {profile}: role_arn + mfa_serial",
                expiry="instant" if found else "upper-bound",
                expires_at=found.at if found else None if dead_source else self.now + _dt.timedelta(seconds=session),
                expiry_source=found.source
                if found
                else "its source is expired: the first AssumeRole fails"
                if dead_source
                else f"at most {span(session)} after the MFA prompt",
                refresher="nothing: botocore never asks for a second MFA code (RefreshWithMFAUnsupportedError)",
                fix=(
                    f"For an unattended job use a role profile without mfa_serial (credential_source or a source "
                    f"profile botocore can sign with), or ask for a longer session: duration_seconds up to "
                    f"{ASSUME_ROLE_MAX} (the role's MaxSessionDuration must allow it)."
                ),
                stale=dead_source,
            )
            return [role] if found else [role, *source_links]
        role = Link(
            kind="role-session",
            label=f"role {name} (profile {profile})",
            origin=f"profile {profile}: role_arn",
            expiry="instant" if found else "unknown",
            expires_at=found.at if found else None,
            expiry_source=found.source if found else f"each session lasts {span(session)}",
            refresher=f"botocore AssumeRole (DurationSeconds {duration or 'unset: 3600'}), {windows}, "
            "signed with the next link",
            renewed=True,
        )
        return [role, *source_links]

    def _role_source_links(self, profile: str, cfg: dict[str, Any], depth: int) -> list[Link]:
        source = cfg.get("credential_source")
        if source == "Environment":
            return [self._env_link()]
        if source == "Ec2InstanceMetadata":
            return [self._instance_link()]
        if source == "EcsContainer":
            return [self._container_link()]
        name = cfg.get("source_profile")
        if not name or name not in self.profiles or depth >= MAX_DEPTH:
            return [Link(kind="unknown", label=f"the source of profile {profile}", origin=str(name), expiry="unknown")]
        src = self.profiles[name]
        if src.get("aws_access_key_id") or src.get("aws_secret_access_key"):
            return [self._static_link(name, src, "profile", source=True)]
        if src.get("role_arn") and name != profile:
            return self._role_links(name, depth=depth + 1)
        if src.get("web_identity_token_file"):
            return self._web_identity_links(name, env=False)
        if src.get("sso_session") or src.get("sso_start_url"):
            return self._sso_links(name)
        if src.get("credential_process"):
            return [self._process_link(name)]
        return [Link(kind="unknown", label=f"profile {name}", origin="profile", expiry="unknown")]

    @staticmethod
    def _chained_from(cfg: dict[str, Any], source_links: list[Link]) -> str | None:
        """Role chaining: the source is itself a role session (STS caps DurationSeconds at 3600).  The IAM
        User Guide exempts applications on EC2 using the instance role, so credential_source is not counted
        (see docs/lifetime.md)."""
        if cfg.get("credential_source"):
            return None
        first = source_links[0].kind if source_links else ""
        return {
            "role-session": "another role",
            "sso-role": "an IAM Identity Center role",
            "web-identity-role": "a web identity role",
        }.get(first)

    # ------------------------------------------------------------ SSO, web identity, login

    def _sso_links(self, profile: str) -> list[Link]:
        """botocore/credentials.py SSOProvider (GetRoleCredentials) + botocore/tokens.py SSOTokenProvider
        (refresh 15 min before expiry with the refresh token, until registrationExpiresAt)."""
        info = _expiry.sso_token(self.ctx, self.analysis, profile, registration=True) or {}
        session = info.get("sso_session")
        role = Link(
            kind="sso-role",
            label=f"IAM Identity Center role credentials (profile {profile})",
            origin=f"profile {profile}: sso_account_id/sso_role_name",
            expiry="unknown",
            expiry_source="the permission set's session duration",
            refresher="botocore GetRoleCredentials with the SSO access token",
            renewed=True,
        )
        exp = parse_time(info.get("expires_at"))
        login = f"aws sso login --sso-session {session}" if session else f"aws sso login --profile {profile}"
        if info.get("can_refresh"):
            reg = parse_time(info.get("registration_expires_at"))
            token = Link(
                kind="sso-access-token",
                label="the SSO access token",
                origin="~/.aws/sso/cache",
                expiry="instant" if exp else "unknown",
                expires_at=exp,
                expiry_source="expiresAt",
                refresher="SSO OIDC CreateToken with the refresh token, 15 min before expiry",
                renewed=True,
            )
            sess = Link(
                kind="sso-session",
                label=f"the IAM Identity Center session (sso_session {session})",
                origin="~/.aws/sso/cache (refresh token, client registration)",
                expiry="upper-bound" if reg else "unknown",
                expires_at=reg,
                expiry_source="registrationExpiresAt (the Identity Center session may end sooner)",
                refresher=f"nothing: `{login}`",
                stale=reg is not None and reg <= self.now,
                fix=f"Run `{login}` before the job; the Identity Center session duration is set by its administrator.",
            )
            return [role, token, sess]
        token = Link(
            kind="sso-access-token",
            label="the SSO access token" + ("" if session else " (legacy SSO profile: no refresh token)"),
            origin="~/.aws/sso/cache",
            expiry="instant" if exp else "unknown",
            expires_at=exp,
            expiry_source="expiresAt" if exp else info.get("problem"),
            refresher=f"nothing: `{login}`",
            stale=exp is None or exp <= self.now,
            fix=(
                f"Run `{login}`"
                + (
                    ""
                    if session
                    else "; move the profile to an [sso-session] section (`aws configure sso-session`) so botocore "
                    "can refresh the token"
                )
                + "."
            ),
        )
        return [role, token]

    def _web_identity_links(self, profile: str, *, env: bool) -> list[Link]:
        cfg = self.profiles.get(profile, {})
        e = self.ctx.env if env else {}
        path = e.get("AWS_WEB_IDENTITY_TOKEN_FILE") or cfg.get("web_identity_token_file")
        role = Link(
            kind="web-identity-role",
            label="the web identity role session",
            origin="AWS_ROLE_ARN / role_arn",
            expiry="unknown",
            refresher="botocore AssumeRoleWithWebIdentity with the token file",
            renewed=True,
        )
        if not path:
            return [role]
        info = _expiry.web_identity_token(self.ctx, path)
        exp = parse_time(info.get("exp"))
        rotated = any(str(path).startswith(prefix) for prefix in ROTATED_TOKEN_PATHS)
        stale = exp is not None and exp <= self.now
        token = Link(
            kind="web-identity-token",
            label="the web identity token file",
            origin=str(path),
            expiry="instant" if exp else "unknown",
            expires_at=exp,
            expiry_source="exp claim",
            refresher="the kubelet rewrites a projected token at 80% of its lifetime"
            if rotated
            else "nothing seen: a CI OIDC step writes the file once",
            renewed=rotated,
            stale=stale or bool(info.get("problem")),
            fix="Restart the pod/job (or fix what writes the token file) before the token expires.",
        )
        return [role, token]

    def _login_links(self, profile: str) -> list[Link]:
        return [
            Link(
                kind="login-credentials",
                label=f"`aws login` credentials (profile {profile})",
                origin="~/.aws/login/cache",
                expiry="unknown",
                refresher="botocore's login provider, with the login session",
                renewed=True,
            ),
            Link(
                kind="login-session",
                label="the `aws login` session",
                origin="~/.aws/login/cache",
                expiry="unknown",
                refresher=f"nothing: `aws login --profile {profile}`",
                fix=f"Run `aws login --profile {profile}` before the job.",
            ),
        ]

    # ------------------------------------------------------------ instance, container, process

    def _instance_link(self) -> Link:
        from tokendoctor.probes import imds as imds_probe

        probe = imds_probe.probe(self.ctx)
        creds = probe.credentials if probe.ran else None
        at = creds.expires_at if creds is not None else None
        stale = at is not None and (at - self.now).total_seconds() < imds_probe.ROTATION_WINDOW_SECONDS
        return Link(
            kind="instance-role",
            label=f"the instance role {probe.role_name or ''}".rstrip(),
            origin="instance metadata",
            expiry="instant" if at else "unknown",
            expires_at=at,
            expiry_source="the IMDS credential document" if at else "instance metadata not queried",
            refresher="AWS rotates it (IMDS serves new credentials at least 5 min before expiry); botocore re-reads",
            renewed=True,
            stale=stale,
            fix="Rotation stopped: re-associate the instance profile "
            "(aws ec2 replace-iam-instance-profile-association) and check the instance clock.",
        )

    def _container_link(self) -> Link:
        from tokendoctor.probes import container as container_probe

        probe = container_probe.probe(self.ctx)
        at = probe.expires_at if probe.ran and probe.status == "ok" else None
        return Link(
            kind="container-role",
            label="the container role",
            origin=probe.uri_source or "container credentials endpoint",
            expiry="instant" if at else "unknown",
            expires_at=at,
            expiry_source="the endpoint's Expiration" if at else "endpoint not called",
            refresher="the ECS agent / EKS Pod Identity agent rotates it; botocore re-reads the endpoint",
            renewed=True,
            stale=at is not None and at <= self.now,
            fix="The credentials endpoint serves expired credentials: restart the task/pod.",
        )

    def _process_link(self, profile: str) -> Link:
        """botocore/credentials.py ProcessProvider: with an Expiration botocore re-runs the process in the
        refresh windows; without one the credentials are static."""
        cfg = self.profiles.get(profile, {})
        base: dict[str, Any] = {
            "kind": "process-output",
            "label": f"credential_process of profile {profile}",
            "origin": f"profile {profile}: credential_process",
        }
        if not self.ctx.options.allow_process:
            return Link(
                **base,
                expiry="unknown",
                expiry_source=NOT_RUN,
                refresher="botocore re-runs the process 15 min before its Expiration",
                renewed=True,
            )
        problem = command_problem(self.ctx, self.analysis)
        if problem is not None and problem.profile == profile:  # TD245 says so; nothing to run
            return Link(**base, expiry="unknown", expiry_source=f"{problem.command} {problem.problem}", stale=True)
        at, error = run_credential_process(self.ctx, profile, self.analysis.full_config)
        if error is not None:
            self.process_error, self.process_profile = error, profile
            return Link(**base, expiry="unknown", expiry_source="the process failed", stale=True, fix=error)
        if at is None:
            return Link(
                **base,
                expiry="unbounded",
                expiry_source="no Expiration in its answer",
                refresher="none (botocore treats an answer without Expiration as static keys)",
            )
        if at <= self.now:
            self.process_error = (
                f"it returned credentials that expired at {iso(at)} ({relative((at - self.now).total_seconds())})"
            )
            self.process_profile = profile
        return Link(
            **base,
            expiry="instant",
            expires_at=at,
            expiry_source="Expiration in its answer",
            refresher="botocore re-runs the process 15 min before its Expiration",
            renewed=at > self.now,
            stale=at <= self.now,
            fix=f"Fix the command `{cfg.get('credential_process', '')[:80]}`: it returns expired credentials.",
        )

    # ------------------------------------------------------------ presigned URLs

    def _presign(self, links: tuple[Link, ...]) -> tuple[int | None, str]:
        """A presigned URL keeps the session it was signed with: min(7 days, that session's expiry)."""
        if not links:
            return None, "no credentials"
        first = links[0]
        if first.expiry == "unbounded":
            return PRESIGN_MAX_SECONDS, "7 days (SigV4 maximum): long-term keys"
        if first.expires_at is not None and first.expiry == "instant":
            left = int((first.expires_at - self.now).total_seconds())
            return max(0, min(PRESIGN_MAX_SECONDS, left)), f"the current session's expiry ({iso(first.expires_at)})"
        if first.kind == "role-session" and self.roles:
            session = self.roles[0].duration_seconds or ASSUME_ROLE_DEFAULT
            return None, f"the current role session's expiry: at most {span(session)} from its AssumeRole"
        return None, "the current session's expiry, which is not recorded"


def run_credential_process(
    ctx: Context, profile: str, full_config: dict[str, Any]
) -> tuple[_dt.datetime | None, str | None]:
    """Run ``profile``'s credential_process through botocore's ProcessProvider with a bounded popen;
    (Expiration, None) or (None, the process's own error, masked and shortened)."""
    from botocore.credentials import ProcessProvider

    from tokendoctor.probes.bounded_process import bounded_popen

    env = dict(ctx.env)
    popen = _registering(ctx, bounded_popen(env, timeout=max(ctx.options.timeout * 0.5, 0.2)))
    provider = ProcessProvider(profile_name=profile, load_config=lambda: full_config, popen=popen)
    try:
        creds = provider.load()
    except Exception as exc:  # noqa: BLE001 - the process's failure is the finding
        text = str(exc).strip() or type(exc).__name__
        return None, mask_then_truncate(ctx.redactor, " ".join(text.split()), 300)
    if creds is None:
        return None, "profile has no credential_process"
    return peek(creds)[2], None


def _registering(ctx: Context, popen: Any) -> Any:
    """Wrap ``popen`` so every secret the process prints is registered with the redactor first."""
    import json

    class _Proc:
        def __init__(self, inner: Any) -> None:
            self._inner = inner
            self.returncode: int | None = None

        def communicate(self) -> tuple[bytes, bytes]:
            out, err = self._inner.communicate()
            self.returncode = self._inner.returncode
            try:
                doc = json.loads(out.decode("utf-8", "replace"))
            except ValueError:
                doc = None
            if isinstance(doc, dict):
                ctx.redactor.add_from_mapping(doc)
            return out, err

    def _popen(*args: Any, **kwargs: Any) -> _Proc:
        return _Proc(popen(*args, **kwargs))

    return _popen


__all__ = [
    "NOT_RUN",
    "ASSUME_ROLE_MAX",
    "ASSUME_ROLE_MIN",
    "ROLE_CHAINING_MAX",
    "Lifetime",
    "Link",
    "RoleFacts",
    "analyse",
]
