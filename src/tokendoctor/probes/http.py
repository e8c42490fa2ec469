"""One bounded HTTP request for the metadata probes.

``http.client`` directly: no proxy from the environment (metadata endpoints
are link-local), no redirects followed, a socket timeout on every operation and
an overall deadline on the body, and at most :data:`MAX_BODY` bytes read.
Every failure comes back as data (:attr:`Response.error`), never an exception.
"""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

#: Metadata documents are small; anything larger is garbage.
MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Response:
    status: int | None = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    """``timeout``, ``refused``, ``too-large``, ``bad-url`` or ``error: <what>``; None when a full response arrived."""
    seconds: float = 0.0
    received_at: float | None = None
    """``time.time()`` when the status line arrived (for the Date header offset)."""

    @property
    def ok(self) -> bool:
        return self.error is None and self.status == 200

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def split_base(base_url: str) -> tuple[str, str, int, str]:
    """``http://[::1]:8080/x/`` -> (``http``, ``::1``, 8080, ``/x/``)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = parts.path or "/"
    if not path.endswith("/"):
        path += "/"
    return parts.scheme, parts.hostname, port, path


def request(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    timeout: float,
    max_body: int = MAX_BODY,
) -> Response:
    """Send one request; never raises, never waits much longer than ``timeout`` in total."""
    started = time.monotonic()
    deadline = started + max(timeout, 0.01)
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname
        port = parts.port
        if scheme not in ("http", "https") or not host:
            return Response(error="bad-url")
    except ValueError:
        return Response(error="bad-url")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    conn_cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_cls(host, port, timeout=max(timeout, 0.01))
    try:
        conn.request(method, target, headers=headers or {})
        if conn.sock is not None:
            conn.sock.settimeout(max(deadline - time.monotonic(), 0.01))
        resp = conn.getresponse()
        received = time.time()
        body = bytearray()
        too_large = False
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("body not complete before the deadline")
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            chunk = resp.read(min(8192, max_body + 1 - len(body)))
            if not chunk:
                break
            body.extend(chunk)
            if len(body) > max_body:
                too_large = True
                break
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        return Response(
            status=resp.status,
            body=bytes(body[:max_body]),
            headers=hdrs,
            error="too-large" if too_large else None,
            seconds=time.monotonic() - started,
            received_at=received,
        )
    except TimeoutError:
        return Response(error="timeout", seconds=time.monotonic() - started)
    except ConnectionRefusedError:
        return Response(error="refused", seconds=time.monotonic() - started)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Response(error=f"error: {type(exc).__name__}", seconds=time.monotonic() - started)
    finally:
        conn.close()
