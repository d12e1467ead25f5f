"""Reading a socket against one deadline: ``send`` reads answers this way, and ``listen`` requests.

A socket timeout bounds each ``recv`` on its own, so a peer that trickles its bytes (one every few
seconds, the "slowloris" pattern) never trips it and holds the connection for as long as it likes.
Here each ``recv`` may wait only for what is left of one deadline for the whole message.
"""

from __future__ import annotations

import io
import socket
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["DeadlineReader", "remaining"]


class DeadlineReader(io.RawIOBase):
    """The reading side of a socket that gives up, with `TimeoutError`, at one deadline.

    Args:
        sock: The connected socket; it is neither owned nor closed here.
        deadline: A `time.perf_counter()` value.

    Attributes:
        deadline: When reading gives up; set it again to start a new wait (``listen`` does, per request).
        received: How many bytes have arrived.
    """

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self.deadline = deadline
        self.received = 0

    def makefile(self, mode: str) -> io.BufferedReader:
        """What `http.client.HTTPResponse` asks its socket for, and reads the answer through."""
        return io.BufferedReader(self)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        self._sock.settimeout(remaining(self.deadline))
        count = self._sock.recv_into(buffer)
        self.received += count
        return count


def remaining(deadline: float) -> float:
    """The seconds left until ``deadline`` (a `time.perf_counter()` value), or `TimeoutError`."""
    left = deadline - time.perf_counter()
    if left <= 0:
        raise TimeoutError
    return left
