"""A loopback HTTP peer that misbehaves on purpose, for the fault-injection tests.

One ``mode`` answers every request (STS POSTs, IMDS PUT/GETs, container GETs)::

    huge        200, Content-Length 500 MB, zeros streamed until the client goes away
    endless     200, no Content-Length, zeros streamed until the client goes away
    drip        200, one byte a second (a slow peer inside every socket timeout)
    garbage     200, binary junk
    empty       200, empty body
    json        200, a JSON object where XML is expected
    redirect    302 to another host
    nested-xml  200, 64 KiB of nested XML elements
    nested-json 200, 64 KiB of nested JSON arrays
    imds-evil   an IMDS: a token, a role name with terminal escapes, a credential document whose
                Expiration is 1e20 and whose Message echoes ``echo`` (a secret marker); Date in year 9999
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("huge", "endless", "drip", "garbage", "empty", "json", "redirect", "nested-xml", "nested-json", "imds-evil")
EVIL_ROLE = "role\x1b]0;pwned\x07\x1b[31mred"


class HostileServer:
    def __init__(self, mode: str, echo: str = "", host: str = "127.0.0.1") -> None:
        assert mode in MODES, mode
        self.mode = mode
        self.echo = echo
        self.requests = 0
        self._stop = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                peer._answer(self)

            def do_PUT(self) -> None:
                peer._answer(self)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(min(length, 1 << 20))
                peer._answer(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._httpd = Server((host, 0), Handler)
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _send(self, h: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        h.send_response_only(status)
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _stream(self, h: BaseHTTPRequestHandler, length: int | None, chunk: bytes, pause: float = 0.0) -> None:
        h.send_response_only(200)
        h.send_header("Content-Type", "text/xml")
        if length is not None:
            h.send_header("Content-Length", str(length))
        h.end_headers()
        try:
            while not self._stop.is_set():
                h.wfile.write(chunk)
                if pause:
                    time.sleep(pause)
        except OSError:
            pass  # the client went away: what a bounded client does

    def _answer(self, h: BaseHTTPRequestHandler) -> None:
        self.requests += 1
        mode = self.mode
        if mode == "huge":
            self._stream(h, 500 * 1024 * 1024, b"\0" * 65536)
        elif mode == "endless":
            self._stream(h, None, b"\0" * 65536)
        elif mode == "drip":
            self._stream(h, 10_000, b"<", pause=1.0)
        elif mode == "garbage":
            self._send(h, 200, bytes(range(256)) * 64, {"Content-Type": "text/xml"})
        elif mode == "empty":
            self._send(h, 200, b"", {"Content-Type": "text/xml"})
        elif mode == "json":
            self._send(h, 200, b'{"Account": "1", "nested": [1, 2]}', {"Content-Type": "application/json"})
        elif mode == "redirect":
            self._send(h, 302, b"", {"Location": "http://127.0.0.2:1/elsewhere"})
        elif mode == "nested-xml":
            depth = 64 * 1024 // 7
            self._send(h, 200, b"<a>" * depth + b"</a>" * depth, {"Content-Type": "text/xml"})
        elif mode == "nested-json":
            depth = 64 * 1024
            self._send(h, 200, b"[" * depth + b"]" * depth, {"Content-Type": "application/json"})
        else:  # imds-evil
            self._imds(h)

    def _imds(self, h: BaseHTTPRequestHandler) -> None:
        date = {"Date": "Fri, 31 Dec 9999 23:59:59 GMT"}
        if h.command == "PUT":
            self._send(h, 200, b"evil-imds-token-0000", date)
        elif h.path.rstrip("/").endswith("security-credentials"):
            self._send(h, 200, EVIL_ROLE.encode(), date)
        elif "security-credentials/" in h.path:
            doc = {
                "Code": "Failure",
                "Message": f"cannot assume role; token was {self.echo}",
                "AccessKeyId": "ASIAEVILEVILEVIL0000",
                "SecretAccessKey": self.echo,
                "Token": self.echo,
                "Expiration": "1e20",
            }
            self._send(h, 200, json.dumps(doc).encode(), date)
        else:
            self._send(h, 404, b"", date)
