"""Serve the Starlette app with uvicorn on an inherited TCP socket: ``python -m bench.apps.uvicorn_server FD``.

``uvicorn --fd`` takes every inherited socket for a Unix socket, so it never sets TCP_NODELAY on
the connections, and each response waits 40 ms for a delayed ACK; ``Server.run(sockets=...)`` with
the real socket object does not have that problem.
"""

from __future__ import annotations

import socket
import sys

import uvicorn

from .starlette_app import create


def main() -> None:
    """Serve until terminated."""
    listener = socket.socket(fileno=int(sys.argv[1]))
    uvicorn.Server(uvicorn.Config(create(), log_level="warning", access_log=False)).run(sockets=[listener])


if __name__ == "__main__":
    main()
