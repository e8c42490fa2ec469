"""A loopback NTP responder with knobs, for tests.  Binds 127.0.0.1, port 0, UDP.

Knobs (attributes; change them while it runs):

* ``offset``: seconds added to the server's timestamps.  A server whose clock
  is ``+120`` ahead makes the local clock look 120 s *behind* (tokendoctor's
  offset ``-120``).
* ``stratum`` (0-255, incl. 0 and 16), ``leap`` (0-3), ``refid`` (4 bytes or
  an ASCII kiss code such as ``b"RATE"``), ``mode`` (4 = server).
* ``delay``: a symmetric network delay in seconds (half before the server's
  receive timestamp, half after its transmit timestamp), so it shows up in the
  round-trip delay and not in the offset.
* ``drop``: ``"all"``, an int N (drop the first N requests), or a callable
  ``(n) -> bool`` deciding per request number.
* ``kiss``: shorthand for stratum 0 with ``refid = kiss``.
* ``garbage``: bytes to send instead of a proper reply.
* ``echo_origin``: False answers with a wrong origin timestamp (not a reply to us).

Every request (``n``, arrival time) is recorded in ``requests``.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from typing import Any

NTP_EPOCH_DELTA = 2208988800


def to_ntp(t: float) -> tuple[int, int]:
    t += NTP_EPOCH_DELTA
    sec = int(t)
    return sec & 0xFFFFFFFF, int((t - sec) * 2**32) & 0xFFFFFFFF


class NtpResponder:
    def __init__(
        self,
        *,
        offset: float = 0.0,
        stratum: int = 2,
        leap: int = 0,
        refid: bytes = b"\x7f\x00\x00\x01",
        delay: float = 0.0,
        drop: Any = None,
        kiss: bytes | None = None,
        garbage: bytes | None = None,
        mode: int = 4,
        echo_origin: bool = True,
    ) -> None:
        self.offset = offset
        self.stratum = stratum
        self.leap = leap
        self.refid = refid
        self.delay = delay
        self.drop = drop
        self.kiss = kiss
        self.garbage = garbage
        self.mode = mode
        self.echo_origin = echo_origin
        self.requests: list[float] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.1)
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"ntp-responder-{self.port}", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> NtpResponder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> NtpResponder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _dropped(self, n: int) -> bool:
        drop = self.drop
        if drop is None:
            return False
        if drop == "all":
            return True
        if isinstance(drop, int):
            return n < drop
        if callable(drop):
            return bool(cast_callable(drop)(n))
        return False

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self._sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            received = time.time()
            n = len(self.requests)
            self.requests.append(received)
            if self._dropped(n):
                continue
            threading.Thread(target=self._answer, args=(data, peer, received), daemon=True).start()

    def _answer(self, data: bytes, peer: Any, received: float) -> None:
        if self.delay:
            # a symmetric network delay: half on the way in, half on the way out
            time.sleep(self.delay / 2)
            received = time.time()
        reply = self.garbage if self.garbage is not None else self._reply(data, received)
        if self.delay:
            time.sleep(self.delay / 2)
        with contextlib.suppress(OSError):
            self._sock.sendto(reply, peer)

    def _reply(self, request: bytes, received: float) -> bytes:
        version = (request[0] >> 3) & 0x7 if request else 4
        stratum, refid = self.stratum, self.refid
        if self.kiss is not None:
            stratum, refid = 0, self.kiss
        first = ((self.leap & 0x3) << 6) | ((version or 4) << 3) | (self.mode & 0x7)
        origin = request[40:48] if len(request) >= 48 and self.echo_origin else b"\x01" * 8
        recv = to_ntp(received + self.offset)
        ref = to_ntp(received + self.offset - 10)
        tx = to_ntp(received + self.offset + 0.00001)
        header = struct.pack("!B B b b I I 4s", first, stratum & 0xFF, 4, -20, 0, 0, refid.ljust(4, b"\0")[:4])
        return header + struct.pack("!II", *ref) + origin + struct.pack("!IIII", *recv, *tx)


def cast_callable(value: Any) -> Callable[[int], bool]:
    return value  # type: ignore[no-any-return]
