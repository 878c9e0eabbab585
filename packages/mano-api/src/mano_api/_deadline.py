"""An overall deadline for one streamed response: a server trickling bytes cannot hold a run.

The read timeout only fires when the server sends *nothing* for that long; a server sending a
byte every few seconds keeps a download alive forever. :class:`Deadline` arms a timer when the
response headers arrive; when it fires it shuts the connection's socket down, which wakes the
thread blocked reading the body (``close()`` from another thread would not). The reader then
sees the body end early, asks :attr:`Deadline.expired` and reports a timeout, which is retried
like a dropped connection.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from types import TracebackType
from typing import Any

__all__ = ["Deadline"]

logger = logging.getLogger(__name__)


def _socket_of(resp: Any) -> socket.socket | None:
    """The socket under a streamed ``requests`` response (urllib3 1.x and 2.x), if reachable."""
    raw = getattr(resp, "raw", None)
    conn = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        return sock
    fp = getattr(raw, "_fp", None)  # http.client.HTTPResponse -> socket file -> socket
    inner = getattr(getattr(getattr(fp, "fp", None), "raw", None), "_sock", None)
    return inner if isinstance(inner, socket.socket) else None


class Deadline:
    """Abort ``resp``'s body once ``seconds`` have passed since ``started`` (monotonic).

    Use as a context manager around reading the body; ``seconds=None`` disables it.
    """

    def __init__(self, resp: Any, seconds: float | None, started: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._resp = resp
        self._timer: threading.Timer | None = None
        if seconds is not None:
            remaining = max(0.0, started + seconds - time.monotonic())
            self._timer = threading.Timer(remaining, self._fire)
            self._timer.daemon = True

    def _fire(self) -> None:
        self.expired = True
        sock = _socket_of(self._resp)
        logger.debug("deadline of %s s passed; aborting the response", self.seconds)
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            else:  # pragma: no cover - unknown transport: closing is the best we can do
                self._resp.close()
        except OSError:
            pass

    def __enter__(self) -> Deadline:
        if self._timer is not None:
            self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._timer is not None:
            self._timer.cancel()
