"""An appliance's side of the tunnel, as the daemon does it (paramiko), for the hub tests:
connect with the host key pinned, optionally run the forced command first (the claim),
ask for the reverse forward of localhost:PORT, and bridge forwarded connections to TARGET.
One JSON object per line on stdout for each step; run inside the appliance's namespace."""

from __future__ import annotations

import argparse
import json
import select
import socket
import sys
import threading
import time

import paramiko


def say(**event: object) -> None:
    print(json.dumps(event), flush=True)


def bridge(chan: paramiko.Channel, target: tuple[str, int]) -> None:
    with socket.create_connection(target, 5) as sock:
        while True:
            ready, _, _ = select.select([sock.fileno(), chan.fileno()], [], [], 30)
            if not ready:
                break
            if sock.fileno() in ready:
                data = sock.recv(4096)
                if not data:
                    break
                chan.sendall(data)
            if chan.fileno() in ready:
                data = chan.recv(4096)
                if not data:
                    break
                sock.sendall(data)
    chan.close()


def run_claim(transport: paramiko.Transport, event: str = "claim") -> None:
    start = time.monotonic()
    chan = transport.open_session(timeout=10)
    chan.exec_command("anything: the key's forced command runs instead")
    output = chan.makefile("r").read().decode()
    status = chan.recv_exit_status()
    say(event=event, output=output.strip(), status=status,
        seconds=round(time.monotonic() - start, 3))


def forward(transport: paramiko.Transport, port: int) -> bool:
    start = time.monotonic()
    try:
        transport.request_port_forward("localhost", port)
    except paramiko.SSHException as exc:
        say(event="forward", ok=False, error=str(exc))
        return False
    say(event="forward", ok=True, seconds=round(time.monotonic() - start, 3))
    return True


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("--host", "--user", "--key", "--known-hosts", "--target"):
        parser.add_argument(name, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--claim", action="store_true", help="exec the claim first")
    parser.add_argument("--forward-first", action="store_true",
                        help="try the forward before the claim (and again after it)")
    parser.add_argument("--claim-after", action="store_true",
                        help="exec the claim again once the forward is up")
    parser.add_argument("--hold", action="store_true", help="stay and bridge connections")
    parser.add_argument("--direct-tcpip", metavar="HOST:PORT",
                        help="only try a direct-tcpip channel (a local forward) to HOST:PORT")
    args = parser.parse_args()
    start = time.monotonic()
    client = paramiko.SSHClient()
    client.load_host_keys(args.known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(args.host, username=args.user, key_filename=args.key, timeout=5,
                   look_for_keys=False, allow_agent=False)
    transport = client.get_transport()
    assert transport is not None
    say(event="connected", seconds=round(time.monotonic() - start, 3))
    if args.direct_tcpip:
        host, _, port = args.direct_tcpip.rpartition(":")
        try:
            transport.open_channel("direct-tcpip", (host, int(port)), ("127.0.0.1", 40000),
                                   timeout=10).close()
            say(event="direct-tcpip", ok=True)
        except paramiko.ChannelException as exc:  # code 1: administratively prohibited
            say(event="direct-tcpip", ok=False, code=exc.code)
        return 0
    ok = forward(transport, args.port) if args.forward_first else False
    if args.claim and not ok:
        run_claim(transport)
    if not ok:
        ok = forward(transport, args.port)
    say(event="ready", ok=ok, seconds=round(time.monotonic() - start, 3))
    if args.claim_after:
        run_claim(transport, "claim-after")
    host, _, port = args.target.rpartition(":")
    while args.hold and transport.is_active():
        chan = transport.accept(0.5)
        if chan is not None:
            threading.Thread(target=bridge, args=(chan, (host, int(port))), daemon=True).start()
    client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
