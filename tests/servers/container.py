"""A container credentials endpoint (ECS agent / EKS Pod Identity agent) on loopback."""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ACCESS_KEY = "ASIACONTAINEREMU5678"
SECRET = "container-secret-MARKER-do-not-print-0003"
SESSION_TOKEN = "container-session-token-MARKER-do-not-print-0004"
AUTH = "container-auth-MARKER-do-not-print-0005"


@dataclass
class Knobs:
    status: int = 200
    body: bytes | None = None
    expiration: dt.datetime | None = None
    require_auth: str | None = AUTH


class ContainerServer:
    def __init__(self) -> None:
        self.knobs = Knobs()
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                k = server.knobs
                auth = self.headers.get("Authorization")
                server.requests.append((self.path, auth))
                if k.require_auth and auth != k.require_auth:
                    return self._send(401, b'{"message": "unauthorized"}')
                if k.status != 200:
                    return self._send(k.status, b"error")
                if k.body is not None:
                    return self._send(200, k.body)
                exp = k.expiration or dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
                doc = {
                    "AccessKeyId": ACCESS_KEY,
                    "SecretAccessKey": SECRET,
                    "Token": SESSION_TOKEN,
                    "Expiration": exp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "RoleArn": "arn:aws:iam::123456789012:role/task-role",
                }
                return self._send(200, json.dumps(doc).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v2/credentials/task"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> ContainerServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
