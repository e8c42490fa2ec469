"""botocore's JSON token caches (SSO, login), read through :mod:`tokendoctor.files` and never written.

botocore's ``JSONFileCache`` opens a cache file whole and turns a corrupt one into a bare
``KeyError`` that its SSO loader does not expect; this one reads regular files up to a cap and says
what is wrong with a file as a ``ValueError`` that names it (never its content).
"""

from __future__ import annotations

from typing import Any

from tokendoctor import files
from tokendoctor.chain.botocore_private import cache_file

#: An SSO or login cache document is a few KiB.
MAX_CACHE_BYTES = files.MAX_SMALL_BYTES


class CacheFileUnreadable(ValueError):
    """A token cache file exists but is not a bounded, regular JSON file."""


class BoundedJSONCache:
    """A read-only view of a botocore ``JSONFileCache`` directory (writes stay in memory)."""

    def __init__(self, directory: str, limit: int = MAX_CACHE_BYTES) -> None:
        from botocore.utils import JSONFileCache

        self._inner = JSONFileCache(directory)
        self._limit = limit
        self._shadow: dict[str, Any] = {}

    def __contains__(self, key: str) -> bool:
        if key in self._shadow:
            return True
        try:
            files.check(cache_file(self._inner, key), self._limit)
        except files.FileProblem as exc:
            # As botocore's os.path.isfile: only a file is an entry; a FIFO or directory is none.  A file
            # too large or unreadable is one, and __getitem__ says what is wrong with it.
            return exc.kind in ("too-large", "unreadable")
        return True

    def __getitem__(self, key: str) -> Any:
        if key in self._shadow:
            return self._shadow[key]
        path = cache_file(self._inner, key)
        try:
            return files.read_json(path, self._limit)
        except files.FileProblem as exc:
            if exc.kind == "missing":
                raise KeyError(key) from None
            raise CacheFileUnreadable(f"token cache {exc}") from None
        except ValueError:
            raise CacheFileUnreadable(f"token cache {path} is not valid JSON") from None

    def __setitem__(self, key: str, value: Any) -> None:
        self._shadow[key] = value

    def __delitem__(self, key: str) -> None:
        self._shadow.pop(key, None)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default
