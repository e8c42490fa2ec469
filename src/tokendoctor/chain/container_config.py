"""What the container credentials settings say before the endpoint is called (works with ``--offline``).

The URL botocore would fetch (``AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`` first, then ``_FULL_URI``), judged
by botocore's own host allow-list, and the authorization token file it reads on every fetch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tokendoctor import files
from tokendoctor.chain.botocore_private import container_url_refusal
from tokendoctor.chain.expiry import decode_jwt_claims
from tokendoctor.context import Context
from tokendoctor.timefmt import iso, parse_time

#: botocore's ContainerMetadataFetcher.IP_ADDRESS, the base of a relative URI.
ECS_BASE = "http://169.254.170.2"
MAX_TOKEN_FILE = 16 * 1024


@dataclass(frozen=True)
class ConfigProblem:
    kind: str
    """``uri-refused`` or ``token-file``."""
    variable: str
    problem: str
    expired_at: str | None = None


def url(env: dict[str, str]) -> tuple[str, str] | None:
    """(URL, variable) botocore's ContainerProvider would fetch, or None when no endpoint is configured."""
    relative = env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    if relative:
        return ECS_BASE + relative, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    full = env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI")
    if full:
        return full, "AWS_CONTAINER_CREDENTIALS_FULL_URI"
    return None


def problems(ctx: Context) -> list[ConfigProblem]:
    env = dict(ctx.env)
    found = url(env)
    if found is None:
        return []
    out: list[ConfigProblem] = []
    target, variable = found
    refusal = container_url_refusal(target)
    if refusal:
        out.append(ConfigProblem("uri-refused", variable, refusal))
    token_file = env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
    if token_file is not None:  # botocore reads it whenever the variable is set, even empty
        problem = _token_file_problem(ctx, token_file)
        if problem is not None:
            out.append(problem)
    return out


def _token_file_problem(ctx: Context, path_text: str) -> ConfigProblem | None:
    var = "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
    if not path_text:
        return ConfigProblem("token-file", var, "(empty) does not exist")
    try:
        text = files.read_text(os.path.expanduser(path_text), MAX_TOKEN_FILE)
    except files.FileProblem as exc:
        said = {
            "missing": "does not exist",
            "directory": "is not a regular file",
            "not-regular": "is not a regular file",
            "too-large": "is too large to be a token",
        }.get(exc.kind, exc.problem)
        return ConfigProblem("token-file", var, f"{path_text} {said}")
    except UnicodeError:
        return ConfigProblem("token-file", var, f"{path_text} cannot be read (UnicodeDecodeError)")
    ctx.redactor.add(text.strip())
    if "\r" in text or "\n" in text:
        return ConfigProblem("token-file", var, f"{path_text} contains a line break; botocore rejects the header")
    claims = decode_jwt_claims(text) or {}
    exp = claims.get("exp")
    at = parse_time(exp) if isinstance(exp, (int, float)) else None
    if at is not None and at <= ctx.now():
        return ConfigProblem("token-file", var, f"the token in {path_text} expired at {iso(at)}", expired_at=iso(at))
    return None
