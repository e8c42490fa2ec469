"""A small STS endpoint on loopback for the answers moto's server cannot give.

It also answers the SSO portal (GetRoleCredentials) and SSO OIDC (CreateToken,
a token refresh) so the read-only SSO path can be tested.

moto accepts any credentials and any clock, so ``ExpiredToken``, ``RequestExpired``,
``InvalidClientTokenId``, ``SignatureDoesNotMatch`` and ``RequestTimeTooSkewed``
come from here: real STS error XML (query protocol, as botocore's STS model
uses), with a ``Date`` header from a clock that can be set off.  It records each
request's form fields and SigV4 ``Authorization`` header so tests can see which
credentials and region botocore signed with::

    with StsStub() as sts:
        sts.error("ExpiredToken", "The security token included in the request is expired")
        env["AWS_ENDPOINT_URL_STS"] = sts.url
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

NS = "https://sts.amazonaws.com/doc/2011-06-15/"


@dataclass
class Request:
    form: dict[str, str]
    authorization: str
    amz_date: str
    security_token: str | None


@dataclass
class StsStub:
    host: str = "127.0.0.1"
    code: str | None = None
    message: str = ""
    status: int = 403
    date: float | None = None
    """Epoch seconds for the Date header (default: the real clock plus ``date_offset``)."""
    date_offset: float = 0.0
    send_date: bool = True
    arn: str = "arn:aws:sts::210987654321:assumed-role/stub-role/stub-session"
    requests: list[Request] = field(default_factory=list)
    paths: list[tuple[str, str]] = field(default_factory=list)
    sso_role_credentials: dict[str, str] = field(
        default_factory=lambda: {
            "accessKeyId": "ASIASSOSTUB000001234",
            "secretAccessKey": "sso-secret-MARKER-0303",
            "sessionToken": "sso-token-MARKER-0404",
        }
    )

    def __post_init__(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:  # the SSO portal: GetRoleCredentials
                stub.paths.append(("GET", self.path))
                creds = {
                    "roleCredentials": {**stub.sso_role_credentials, "expiration": int((time.time() + 3600) * 1000)}
                }
                stub._send_json(self, creds)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode()
                stub.paths.append(("POST", self.path))
                if self.path == "/token":  # SSO OIDC CreateToken (a token refresh)
                    stub._send_json(
                        self,
                        {
                            "accessToken": "refreshed-sso-access-token",
                            "expiresIn": 28800,
                            "tokenType": "Bearer",
                            "refreshToken": "refreshed-refresh-token",
                        },
                    )
                    return
                form = dict(urllib.parse.parse_qsl(raw))
                stub.requests.append(
                    Request(
                        form=form,
                        authorization=self.headers.get("Authorization", ""),
                        amz_date=self.headers.get("X-Amz-Date", ""),
                        security_token=self.headers.get("X-Amz-Security-Token"),
                    )
                )
                status, body = stub._answer(form)
                self.send_response_only(status)
                if stub.send_date:
                    when = stub.date if stub.date is not None else time.time() + stub.date_offset
                    self.send_header("Date", email.utils.formatdate(when, usegmt=True))
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", "c0ffee00-stub-0000-0000-000000000000")
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._httpd = Server((self.host, 0), Handler)
        self.url = f"http://{self.host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def _send_json(self, h: BaseHTTPRequestHandler, doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        h.send_response_only(200)
        h.send_header("Date", email.utils.formatdate(time.time() + self.date_offset, usegmt=True))
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def error(self, code: str, message: str, status: int = 403) -> StsStub:
        self.code, self.message, self.status = code, message, status
        return self

    def _answer(self, form: dict[str, str]) -> tuple[int, bytes]:
        action = form.get("Action", "")
        if self.code:
            body = (
                f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{self.code}</Code>'
                f"<Message>{self.message}</Message></Error><RequestId>c0ffee00-stub</RequestId></ErrorResponse>"
            )
            return self.status, body.encode()
        if action == "GetRole":  # IAM, when AWS_ENDPOINT_URL sends it here too: a caller without iam:GetRole
            body = (
                '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                "<Code>AccessDenied</Code><Message>User is not authorized to perform: iam:GetRole</Message></Error>"
                "<RequestId>c0ffee00-stub</RequestId></ErrorResponse>"
            )
            return 403, body.encode()
        if action == "GetCallerIdentity":
            account = self.arn.split(":")[4]
            body = (
                f'<GetCallerIdentityResponse xmlns="{NS}"><GetCallerIdentityResult><Arn>{self.arn}</Arn>'
                f"<UserId>AROASTUB:stub-session</UserId><Account>{account}</Account></GetCallerIdentityResult>"
                "<ResponseMetadata><RequestId>c0ffee00-stub</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
            )
            return 200, body.encode()
        return (
            400,
            "<ErrorResponse "
            f'xmlns="{NS}"><Error><Code>InvalidAction</Code><Message>{action}</Message></Error></ErrorResponse>'.encode(),
        )

    def __enter__(self) -> StsStub:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
