"""A loopback STS whose sessions wear out: each temporary (ASIA) access key works for
``calls_per_key`` calls, then every call signed with it gets ``ExpiredToken`` (as AWS answers once a
session ended).

``AssumeRole`` hands out a fresh session each time (a new ASIA key, ``expires_in`` seconds
from now), so a program whose credentials botocore refreshes keeps working, and one that
froze a copy of a session dies after a few calls::

    with ExpiringSts(calls_per_key=3) as sts:
        env["AWS_ENDPOINT_URL_STS"] = sts.url
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NS = "https://sts.amazonaws.com/doc/2011-06-15/"
_CREDENTIAL = re.compile(r"Credential=([A-Z0-9]+)/")
SECRET_MARKER = "expiringSECRETmarker"
TOKEN_MARKER = "expiringTOKENmarker"


@dataclass
class ExpiringSts:
    calls_per_key: int = 3
    expires_in: float = 14 * 60
    """Lifetime of an AssumeRole session (botocore refreshes inside 15 minutes of expiry)."""
    wear_long_term: bool = False
    """Also wear out AKIA (long-term) keys: a role profile whose source session dies."""
    uses: Counter[str] = field(default_factory=Counter)
    issued: list[str] = field(default_factory=list)
    expired_answers: int = 0

    def __post_init__(self) -> None:
        stub = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *_: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                match = _CREDENTIAL.search(self.headers.get("Authorization", ""))
                key = match[1] if match else "-"
                with lock:
                    stub.uses[key] += 1
                    worn = stub.uses[key] > stub.calls_per_key and (key.startswith("ASIA") or stub.wear_long_term)
                    if worn:
                        stub.expired_answers += 1
                    status, body = stub._answer(form.get("Action", ""), worn)
                self.send_response_only(status)
                self.send_header("Date", email.utils.formatdate(time.time(), usegmt=True))
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", "c0ffee00-expiring-0000-000000000000")
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _answer(self, action: str, worn: bool) -> tuple[int, bytes]:
        if worn:
            return 403, (
                f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>ExpiredToken</Code>'
                "<Message>The security token included in the request is expired</Message></Error>"
                "<RequestId>c0ffee00-expiring</RequestId></ErrorResponse>"
            ).encode()
        if action == "AssumeRole":
            n = len(self.issued) + 1
            key = f"ASIAROLE{n:012d}"
            self.issued.append(key)
            expiration = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=self.expires_in)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            return 200, (
                f'<AssumeRoleResponse xmlns="{NS}"><AssumeRoleResult><Credentials>'
                f"<AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{SECRET_MARKER}{n:04d}xxxxxxxxxxxx</SecretAccessKey>"
                f"<SessionToken>{TOKEN_MARKER}{n:04d}xxxxxxxxxxxxxxxxxxxx</SessionToken><Expiration>{expiration}</Expiration>"
                "</Credentials><AssumedRoleUser><AssumedRoleId>AROASTUB:job</AssumedRoleId>"
                "<Arn>arn:aws:sts::123456789012:assumed-role/job/job</Arn></AssumedRoleUser></AssumeRoleResult>"
                "<ResponseMetadata><RequestId>c0ffee00-expiring</RequestId></ResponseMetadata></AssumeRoleResponse>"
            ).encode()
        if action == "GetCallerIdentity":
            return 200, (
                f'<GetCallerIdentityResponse xmlns="{NS}"><GetCallerIdentityResult>'
                "<Arn>arn:aws:sts::123456789012:assumed-role/job/job</Arn><UserId>AROASTUB:job</UserId>"
                "<Account>123456789012</Account></GetCallerIdentityResult>"
                "<ResponseMetadata><RequestId>c0ffee00-expiring</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            ).encode()
        return (
            400,
            f'<ErrorResponse xmlns="{NS}"><Error><Code>InvalidAction</Code><Message>{action}</Message></Error>'
            "</ErrorResponse>".encode(),
        )

    def __enter__(self) -> ExpiringSts:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
