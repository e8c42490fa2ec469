"""Where reports come from: files, folders and S3 prefixes, read one at a time with a size cap.

Folders are walked without following symbolic links; only regular files named ``*.json`` or
``stdout`` (Run Command's output object) are read.  S3 prefixes are listed with boto3's
``list_objects_v2`` paginator and fetched a few at a time.  Every failure becomes an
:class:`Item` with ``error`` set: one bad report or bucket never stops the summary.
"""

from __future__ import annotations

import ipaddress
import os
import stat
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tokendoctor import files

MAX_REPORT_BYTES = 4 * 1024 * 1024
"""A check report is a few KiB; anything far larger is not one."""
S3_IN_FLIGHT = 8
_LATE = "not read, nor anything listed after it: the --timeout deadline passed"
S3_PAGE_SIZE = 1000
"""Keys per list_objects_v2 page (S3's own maximum)."""
_MAX_DEPTH = 32


@dataclass(frozen=True)
class Item:
    name: str
    """The path or ``s3://bucket/key`` the report came from."""
    data: bytes | None = None
    error: str | None = None


def _wanted(filename: str) -> bool:
    return filename.endswith(".json") or filename == "stdout"


def _read_file(path: str, max_bytes: int) -> Item:
    try:
        return Item(path, data=files.read_bytes(path, max_bytes, follow_symlinks=False))
    except files.FileProblem as exc:
        reason = {
            "not-regular": "not a regular file",
            "directory": "not a regular file",
            "symlink": "symbolic link: not followed",
            "too-large": f"larger than {max_bytes} bytes",
            "missing": "No such file or directory",
        }.get(exc.kind, exc.problem.removeprefix("cannot be read (").removesuffix(")"))
        return Item(path, error=reason)


def _walk(root: str, max_bytes: int, depth: int = 0) -> Iterator[Item]:
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        yield Item(root, error=exc.strerror or str(exc))
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if depth < _MAX_DEPTH:
                    yield from _walk(entry.path, max_bytes, depth + 1)
            elif _wanted(entry.name):
                if entry.is_symlink():
                    yield Item(entry.path, error="symbolic link: not followed")
                else:
                    yield _read_file(entry.path, max_bytes)  # a FIFO or device is named, never opened for reading
        except OSError as exc:
            yield Item(entry.path, error=exc.strerror or str(exc))


def _local(location: str, max_bytes: int) -> Iterator[Item]:
    try:
        info = os.lstat(location)
    except OSError as exc:
        yield Item(location, error=exc.strerror or str(exc))
        return
    if stat.S_ISDIR(info.st_mode):
        yield from _walk(location, max_bytes)
    else:
        yield _read_file(location, max_bytes)


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _refuse_non_loopback(request: Any, **_: Any) -> None:
    if not _loopback(request.url):
        raise ConnectionRefusedError(f"{urlsplit(request.url).hostname}: not loopback (test-suite guard)")


def _s3_client() -> Any:
    import boto3
    from botocore.config import Config

    from tokendoctor.chain.live import LOOPBACK_ONLY_ENV  # only when S3 is read: keeps local summaries light

    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 3, "mode": "standard"})
    client = boto3.session.Session().client("s3", config=config)
    if os.environ.get(LOOPBACK_ONLY_ENV) == "1":  # the test suites' safety net, as for --live
        client.meta.events.register("before-send.s3", _refuse_non_loopback)
    return client


def _s3_get(client: Any, bucket: str, key: str, size: int, max_bytes: int) -> Item:
    name = f"s3://{bucket}/{key}"
    if size > max_bytes:
        return Item(name, error=f"larger than {max_bytes} bytes")
    try:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        try:
            data = body.read(max_bytes + 1)
        finally:
            body.close()
    except Exception as exc:  # noqa: BLE001 - any failure of one object is that object's problem
        return Item(name, error=_aws_error(exc))
    if len(data) > max_bytes:
        return Item(name, error=f"larger than {max_bytes} bytes")
    return Item(name, data=data)


def _aws_error(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error") or {}
        return f"{err.get('Code', type(exc).__name__)}: {err.get('Message', '')}".strip().rstrip(":")
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _keys(pages: Any) -> Iterator[tuple[str, int]]:
    """(key, size) of every listed object named like a report."""
    for page in pages:
        for obj in page.get("Contents") or ():
            key = str(obj.get("Key", ""))
            if _wanted(key.rsplit("/", 1)[-1]):
                yield key, int(obj.get("Size") or 0)


def _s3(location: str, max_bytes: int, deadline_at: float, clock: Callable[[], float]) -> Iterator[Item]:
    bucket, _, prefix = location[len("s3://") :].partition("/")
    if not bucket:
        yield Item(location, error="no bucket name")
        return
    try:
        client = _s3_client()
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": S3_PAGE_SIZE}
        )
        with ThreadPoolExecutor(max_workers=S3_IN_FLIGHT, thread_name_prefix="td-s3") as pool:
            pending: deque[Future[Item]] = deque()
            for key, size in _keys(pages):
                if clock() > deadline_at:  # stop listing too: a huge prefix must not outlive --timeout
                    yield Item(f"s3://{bucket}/{key}", error=_LATE)
                    break
                pending.append(pool.submit(_s3_get, client, bucket, key, size, max_bytes))
                while len(pending) >= S3_IN_FLIGHT:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    except Exception as exc:  # noqa: BLE001 - listing failures (no bucket, denied, no credentials) are data
        yield Item(location, error=_aws_error(exc))


def iter_reports(
    locations: Sequence[str],
    *,
    deadline: float,
    max_bytes: int = MAX_REPORT_BYTES,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Item]:
    """Every report in ``locations``, in order, one at a time; past ``deadline`` seconds, one
    unreadable item names where reading stopped and nothing more is read or listed."""
    deadline_at = clock() + deadline
    for location in locations:
        if clock() > deadline_at:
            yield Item(location, error=_LATE)
            continue
        if location.startswith("s3://"):
            yield from _s3(location, max_bytes, deadline_at, clock)
            continue
        for item in _local(location, max_bytes):
            yield item
            if clock() > deadline_at:
                yield Item(f"{location} (after {item.name})", error=_LATE)
                break
