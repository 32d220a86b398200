"""The lab's stand-in PBX service: a tiny TCP responder on the VIP (port 5060).

Each connection gets one line naming the node that answered, so a client can see where
the service runs. Started by pacemaker through ``ocf:heartbeat:anything``.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import sys
from collections.abc import Sequence

PORT = 5060


class Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        self.request.sendall(f"expand-lab {socket.gethostname()}\n".encode())


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab.responder")
    parser.add_argument("--bind", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=PORT)
    args = parser.parse_args(argv)
    with Server((args.bind, args.port), Handler) as server:
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
