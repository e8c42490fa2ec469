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

import calendar
import email.utils
import json
import re
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
    rejected: dict[str, float] = field(default_factory=dict)
    """Access key id -> epoch seconds (by the request's X-Amz-Date) from which it gets ExpiredToken."""
    assumed: list[tuple[float, str]] = field(default_factory=list)
    """(X-Amz-Date epoch, "ok" or the error code) of every AssumeRole, in order."""
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
                status, body = stub._answer(form, stub.requests[-1])
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

    def reject_key_after(self, access_key_id: str, instant: float) -> StsStub:
        """Answer ExpiredToken to requests signed with ``access_key_id`` whose X-Amz-Date is at or after
        ``instant`` (epoch seconds): a source session that AWS stops accepting then."""
        self.rejected[access_key_id] = instant
        return self

    def error(self, code: str, message: str, status: int = 403) -> StsStub:
        self.code, self.message, self.status = code, message, status
        return self

    def _error(self, code: str, message: str) -> bytes:
        return (
            f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>c0ffee00-stub</RequestId></ErrorResponse>"
        ).encode()

    def _assume_role(self, form: dict[str, str], request: Request | None) -> tuple[int, bytes]:
        """AssumeRole as STS answers it, by the request's own signing time: the session lasts DurationSeconds
        (default 3600) from X-Amz-Date; a rejected source key gets ExpiredToken from its instant on."""
        signed = time.time()
        key = ""
        if request is not None:
            if request.amz_date:
                signed = calendar.timegm(time.strptime(request.amz_date, "%Y%m%dT%H%M%SZ"))
            match = re.search(r"Credential=([^/]+)/", request.authorization)
            key = match[1] if match else ""
        if key in self.rejected and signed >= self.rejected[key]:
            self.assumed.append((signed, "ExpiredToken"))
            return 403, self._error("ExpiredToken", "The security token included in the request is expired")
        self.assumed.append((signed, "ok"))
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(signed + int(form.get("DurationSeconds") or 3600)))
        n = len(self.assumed)
        body = (
            f'<AssumeRoleResponse xmlns="{NS}"><AssumeRoleResult><Credentials>'
            f"<AccessKeyId>ASIAROLESESSION{n:05d}</AccessKeyId><SecretAccessKey>role-secret-MARKER-{n:04d}"
            f"</SecretAccessKey><SessionToken>role-token-MARKER-{n:04d}</SessionToken>"
            f"<Expiration>{expires}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROASTUB:s</AssumedRoleId>"
            f"<Arn>{form.get('RoleArn', '')}</Arn></AssumedRoleUser></AssumeRoleResult>"
            "<ResponseMetadata><RequestId>c0ffee00-stub</RequestId></ResponseMetadata></AssumeRoleResponse>"
        )
        return 200, body.encode()

    def _answer(self, form: dict[str, str], request: Request | None = None) -> tuple[int, bytes]:
        action = form.get("Action", "")
        if action == "AssumeRole" and not self.code:
            return self._assume_role(form, request)
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
