"""Where botocore looks for an SSO token, and whether one was cached under another key.

botocore keys the ~/.aws/sso/cache file by the SHA-1 of the sso_session name, or of the exact
sso_start_url for legacy profiles (``botocore.utils.SSOTokenLoader``).  A login through another
spelling of the URL or another profile format leaves a token this profile never finds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from tokendoctor.chain.caches import BoundedJSONCache
from tokendoctor.context import Context


def _url_variants(start_url: str) -> Iterator[str]:
    base = start_url.strip()
    for suffix in ("#/", "#", "/"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
    for candidate in (base, base + "/", base + "#/", base + "/#/"):
        if candidate != start_url:
            yield candidate


def misfiled_token(
    ctx: Context, full_config: dict[str, Any], start_url: str | None, session_name: str | None
) -> dict[str, str] | None:
    """The key a cached token for the same start URL sits under, when it is not the one botocore looks up."""
    from botocore.exceptions import SSOTokenLoadError
    from botocore.utils import SSOTokenLoader

    loader = SSOTokenLoader(cache=BoundedJSONCache(str(ctx.home / ".aws" / "sso" / "cache")))
    tries: list[tuple[str, str | None, str]] = []
    if start_url:
        if session_name:
            tries.append((start_url, None, f"the start URL {start_url} (a legacy profile's login)"))
        tries += [(url, None, f"the start URL spelled {url!r}") for url in _url_variants(start_url)]
        for name, cfg in (full_config.get("sso_sessions") or {}).items():
            other = str(cfg.get("sso_start_url", ""))
            if name != session_name and other and (other == start_url or other in _url_variants(start_url)):
                tries.append((other, name, f"the sso_session '{name}'"))
    for url, name, where in tries:
        try:
            token = loader(url, session_name=name)
        except (SSOTokenLoadError, OSError, ValueError):
            continue
        ctx.redactor.add_from_mapping(token)
        return {"found_under": where, "looked_up": f"sso_session '{session_name}'" if session_name else start_url or ""}
    return None
