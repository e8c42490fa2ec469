"""An IMDSv1/IMDSv2 emulator on loopback, with a knob for every fault tokendoctor diagnoses.

Use as a context manager; it binds 127.0.0.1 (or ::1) on a free port and
stops every thread on exit, including handlers parked by the ``hang`` knobs::

    with ImdsServer() as imds:
        imds.knobs.token_hang = True          # hop-limit symptom: PUT never answers
        env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "imds-emulator-token-AQAEAFAKE"
ACCESS_KEY = "ASIAIMDSEMULATOR1234"
SECRET = "imds-secret-MARKER-do-not-print-0001"
SESSION_TOKEN = "imds-session-token-MARKER-do-not-print-0002"


def iso(at: dt.datetime) -> str:
    return at.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Knobs:
    token_status: int = 200
    """405/403: IMDSv1 only (the PUT is refused)."""
    token_hang: bool = False
    """The PUT is accepted but never answered: what a hop limit of 1 looks like from a container."""
    hang_all: bool = False
    """Every request hangs (a blackholed endpoint that still accepts connections)."""
    require_token: bool = False
    """IMDSv1 disabled on the instance (HttpTokens=required): a GET without a token gets 401."""
    role: str | None = "app-role"
    """None: no instance profile (``iam/security-credentials/`` is 404)."""
    code: str = "Success"
    message: str | None = None
    expiration: dt.datetime | str | None = None
    """Default: six hours from now (real clock)."""
    last_updated: dt.datetime | None = None
    drop_fields: tuple[str, ...] = ()
    creds_body: bytes | None = None
    """Replaces the credential document (e.g. b'<html>' for non-JSON)."""
    status: dict[str, int] = field(default_factory=dict)
    """Path suffix -> forced HTTP status (e.g. {'security-credentials/app-role': 500})."""
    redirect: dict[str, str] = field(default_factory=dict)
    """Path suffix -> Location of a 302."""
    huge: set[str] = field(default_factory=set)
    """Path suffixes answered with a multi-megabyte body."""
    slow: dict[str, float] = field(default_factory=dict)
    """Path suffix -> seconds to wait before answering."""
    date_offset: float = 0.0
    """Server clock minus real clock, seconds, for the Date header."""
    send_date: bool = True
    iam_info: dict[str, Any] | None = field(
        default_factory=lambda: {
            "Code": "Success",
            "LastUpdated": "2026-06-18T11:00:00Z",
            "InstanceProfileArn": "arn:aws:iam::123456789012:instance-profile/app-profile",
            "InstanceProfileId": "AIPAEMULATOR",
        }
    )
    identity: dict[str, Any] | None = field(
        default_factory=lambda: {
            "accountId": "123456789012",
            "availabilityZone": "eu-west-1b",
            "instanceId": "i-0emulator0000001",
            "region": "eu-west-1",
            "instanceType": "t3.micro",
        }
    )


class ImdsServer:
    def __init__(self, host: str = "127.0.0.1", knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.requests: list[tuple[str, str, bool]] = []
        """(method, path, sent a token) for every request received."""
        self._stop = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *_: Any) -> None:
                pass

            def do_PUT(self) -> None:
                server._handle(self, "PUT")

            def do_GET(self) -> None:
                server._handle(self, "GET")

        family = socket.AF_INET6 if ":" in host else socket.AF_INET

        class Server(ThreadingHTTPServer):
            address_family = family
            daemon_threads = True
            block_on_close = False

        self._httpd = Server((host, 0), Handler)
        port = self._httpd.server_address[1]
        self.url = f"http://[{host}]:{port}/" if family == socket.AF_INET6 else f"http://{host}:{port}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ImdsServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def count(self, method: str | None = None) -> int:
        with self._lock:
            return sum(1 for m, _, _ in self.requests if method is None or m == method)

    # ------------------------------------------------------------------ handling

    def _handle(self, h: BaseHTTPRequestHandler, method: str) -> None:
        k = self.knobs
        path = h.path.split("?")[0]
        has_token = h.headers.get("x-aws-ec2-metadata-token") == TOKEN
        with self._lock:
            self.requests.append((method, path, has_token))
        if k.hang_all or (method == "PUT" and k.token_hang):
            self._stop.wait(30)
            return
        for suffix, seconds in k.slow.items():
            if path.endswith(suffix):
                self._stop.wait(seconds)
        for suffix, status in k.status.items():
            if path.endswith(suffix):
                return self._send(h, status, b"error\n")
        for suffix, location in k.redirect.items():
            if path.endswith(suffix):
                return self._send(h, 302, b"", {"Location": location})
        for suffix in k.huge:
            if path.endswith(suffix):
                return self._send(h, 200, b"x" * (4 * 1024 * 1024))

        if method == "PUT":
            if path != "/latest/api/token":
                return self._send(h, 405, b"")
            if k.token_status != 200:
                return self._send(h, k.token_status, b"")
            if not h.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
                return self._send(h, 400, b"")
            return self._send(h, 200, TOKEN.encode())
        if h.headers.get("x-aws-ec2-metadata-token") and not has_token:
            return self._send(h, 401, b"")
        if not has_token and k.require_token:
            return self._send(h, 401, b"")
        body = self._body(path)
        if body is None:
            return self._send(h, 404, b"Not Found")
        return self._send(h, 200, body)

    def _body(self, path: str) -> bytes | None:
        k = self.knobs
        roles = "/latest/meta-data/iam/security-credentials/"
        if path == roles:
            return k.role.encode() if k.role else None
        if k.role and path == roles + k.role:
            if k.creds_body is not None:
                return k.creds_body
            now = dt.datetime.now(dt.timezone.utc)
            exp = k.expiration if k.expiration is not None else now + dt.timedelta(hours=6)
            doc: dict[str, Any] = {
                "Code": k.code,
                "LastUpdated": iso(k.last_updated or now - dt.timedelta(minutes=5)),
                "Type": "AWS-HMAC",
                "AccessKeyId": ACCESS_KEY,
                "SecretAccessKey": SECRET,
                "Token": SESSION_TOKEN,
                "Expiration": exp if isinstance(exp, str) else iso(exp),
            }
            if k.message:
                doc["Message"] = k.message
            for name in k.drop_fields:
                doc.pop(name, None)
            return json.dumps(doc, indent=2).encode()
        if path == "/latest/meta-data/iam/info":
            return json.dumps(k.iam_info).encode() if k.iam_info and k.role else None
        if path == "/latest/dynamic/instance-identity/document":
            return json.dumps(k.identity).encode() if k.identity else None
        if path == "/latest/meta-data/placement/availability-zone/" and k.identity:
            return str(k.identity.get("availabilityZone", "")).encode()
        return None

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            h.send_response_only(status)
            if self.knobs.send_date:
                h.send_header("Date", email.utils.formatdate(time.time() + self.knobs.date_offset, usegmt=True))
            h.send_header("Content-Length", str(len(body)))
            h.send_header("Content-Type", "text/plain")
            for key, value in (headers or {}).items():
                h.send_header(key, value)
            h.end_headers()
            h.wfile.write(body)
        except OSError:
            pass


class Blackhole:
    """A listening socket that accepts connections and never answers (a blackholed IMDS)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self.url = f"http://{host}:{self._sock.getsockname()[1]}/"

    def __enter__(self) -> Blackhole:
        return self

    def __exit__(self, *_: object) -> None:
        self._sock.close()
