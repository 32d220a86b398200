"""Failover time after a hard kill of the active node, measured from the client namespace.

Brings up the namespace lab (two nodes, fencing on, corosync token 1000 ms; ``--appliance``:
nodes set up by their own first boot) unless a lab is already up, then N times: power off
the node holding the VIP, time until the VIP answers ping from the client and until the
service on the VIP answers (ICMP echo every 20 ms, and every ~20 ms a TCP connect to the
namespace lab's stand-in or, ``--appliance``, a SIP OPTIONS to the real Asterisk, all
long-lived processes in the client namespace, started together: interleaved in one run),
while a watcher samples both nodes for a doubled VIP (split brain); then revive the node
and wait until it has rejoined as passive.

Run as root, under the heavy lock:
    flock /tmp/expand-heavy.lock .venv/bin/python bench/failover.py [--runs 5] [--appliance]
Last line: ``failover vip_median_s=X vip_worst_s=Y service_median_s=Z runs=N split_brain=K``
(``--appliance``: ``sip_median_s=Z`` in place of ``service_median_s``: kill → the first SIP
answer from the VIP; Asterisk challenges an unauthenticated OPTIONS, so its 401 counts).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from appliance.runner import Runner  # noqa: E402
from ha.status import read_status  # noqa: E402
from lab import control, netns  # noqa: E402
from lab.nsnode import LAB_DIR  # noqa: E402

VIP = "198.51.100.100"
PORT = 5060
NODES = ("expand1", "expand2")
# Runs inside the client namespace for the whole failover: tries the service every 20 ms
# (100 ms connect timeout) and prints the wall-clock time of the first answer.
TCP_PROBE = """
import socket, sys, time
deadline = time.time() + 60
while time.time() < deadline:
    try:
        with socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.1) as s:
            if s.recv(64):
                print(time.time()); break
    except OSError:
        time.sleep(0.02)
"""


# Runs inside the client namespace: a SIP OPTIONS every 20 ms over UDP; prints the wall-clock
# time of the first SIP response from the VIP (any status: Asterisk answered).
SIP_PROBE = """
import socket, sys, time, uuid
vip, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("0.0.0.0", 0))
sock.settimeout(0.02)
local = sock.getsockname()[1]
deadline = time.time() + 60
seq = 0
while time.time() < deadline:
    seq += 1
    msg = (f"OPTIONS sip:{vip}:{port} SIP/2.0\\r\\n"
           f"Via: SIP/2.0/UDP 198.51.100.50:{local};branch=z9hG4bK{uuid.uuid4().hex}\\r\\n"
           f"From: <sip:probe@198.51.100.50>;tag={seq}\\r\\nTo: <sip:{vip}>\\r\\n"
           f"Call-ID: {uuid.uuid4().hex}@bench\\r\\nCSeq: {seq} OPTIONS\\r\\n"
           "Max-Forwards: 70\\r\\nContent-Length: 0\\r\\n\\r\\n")
    try:
        sock.sendto(msg.encode(), (vip, port))
        data, addr = sock.recvfrom(4096)
    except OSError:
        continue
    if addr[0] == vip and data.startswith(b"SIP/2.0 "):
        print(time.time()); break
"""


# ICMP echo every 20 ms from one raw socket (root); prints the wall-clock time of the first
# reply. (iputils ping stops sending while its earlier packets are unanswered.)
ICMP_PROBE = """
import os, select, socket, struct, sys, time
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
ident = os.getpid() & 0xFFFF
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
deadline = time.time() + 60
seq = 0
while time.time() < deadline:
    seq = (seq + 1) & 0xFFFF
    head = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + b"expand"
    packet = struct.pack("!BBHHH", 8, 0, checksum(head), ident, seq) + b"expand"
    try:
        sock.sendto(packet, (sys.argv[1], 0))
    except OSError:
        pass
    end = time.time() + 0.02
    while (left := end - time.time()) > 0:
        if not select.select([sock], [], [], left)[0]:
            break
        data, addr = sock.recvfrom(2048)
        kind, _, _, rid = struct.unpack("!BBHH", data[20:26])
        if kind == 0 and rid == ident and addr[0] == sys.argv[1]:
            print(time.time()); sys.exit(0)
"""


def in_client(*argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen(["ip", "netns", "exec", netns.CLIENT_NS, *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def holders(runner: Runner) -> list[str]:
    return [n for n in NODES if VIP in {str(a) for a in netns.addresses(runner, f"xlab-{n}")}]


def wait_rejoined(node: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = read_status(control.node_runner(NODES[0] if node != NODES[0] else NODES[1]))
            if set(status.online()) == set(NODES) and status.vip_holder:
                return
        except Exception:  # the node may still be booting
            pass
        time.sleep(0.5)
    raise SystemExit(f"{node} did not rejoin within {timeout} s")


def one_run(runner: Runner, appliance: bool) -> tuple[float, float, int]:
    victim = holders(runner)
    if len(victim) != 1:
        raise SystemExit(f"expected one VIP holder before the kill, got {victim}")
    doubled = 0
    stop = threading.Event()

    def watch() -> None:
        nonlocal doubled
        while not stop.is_set():
            doubled += len(holders(runner)) > 1
            time.sleep(0.02)  # sampling every ~30 ms; leave the CPU to the cluster

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.time()
    control.power(LAB_DIR, "off", victim[0])
    # Both probes start once the old holder is gone: any answer now is the new holder's.
    ping = in_client(sys.executable, "-c", ICMP_PROBE, VIP)
    tcp = in_client(sys.executable, "-c", SIP_PROBE if appliance else TCP_PROBE, VIP,
                    str(PORT))
    try:
        ping_out, _ = ping.communicate(timeout=70)
        tcp_out, _ = tcp.communicate(timeout=70)
    finally:
        for proc in (ping, tcp):
            proc.kill()
            proc.wait()
    stop.set()
    watcher.join()
    if not ping_out.strip() or not tcp_out.strip():
        raise SystemExit(f"no failover within 60 s (VIP answered: {bool(ping_out.strip())}, "
                         f"service answered: {bool(tcp_out.strip())}, VIP holders now: "
                         f"{holders(runner)})")
    times = {"vip": float(ping_out.strip()) - start,
             "service": float(tcp_out.strip()) - start}
    control.power(LAB_DIR, "on", victim[0])
    wait_rejoined(victim[0])
    if appliance:
        # A pair fails long after its boot: the next kill waits until the revived node has
        # finished starting its units (pcsd, postfix...), which otherwise share the CPU
        # with the next survivor's Asterisk start.
        control.node_runner(victim[0]).run(["systemctl", "is-system-running", "--wait"],
                                           check=False, timeout=120)
    return times["vip"], times["service"], doubled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--appliance", action="store_true",
                        help="appliance nodes set up by their own first boot (the service is "
                             "then the real Asterisk, probed with SIP OPTIONS: sip_median_s; "
                             "a revived node boots again)")
    args = parser.parse_args()
    runner = Runner()
    owned = not control.is_up()
    if owned:
        started = time.monotonic()
        control.up(kind="appliance" if args.appliance else "namespace")
        print(f"lab up in {time.monotonic() - started:.1f} s")
    vips, services, split = [], [], 0
    service = "SIP" if args.appliance else "service"
    by_victim: dict[str, list[float]] = {}
    try:
        for run in range(1, args.runs + 1):
            victim = holders(runner)
            vip_s, svc_s, doubled = one_run(runner, args.appliance)
            vips.append(vip_s)
            by_victim.setdefault(victim[0], []).append(vip_s)
            services.append(svc_s)
            split += doubled > 0
            print(f"run {run}: killed {victim[0]}: VIP answers after {vip_s:.2f} s, "
                  f"{service} after {svc_s:.2f} s, doubled-VIP samples {doubled}", flush=True)
    finally:
        if owned:
            control.down()
    # The device that fences the primary waits pcmk_delay_base (the fence-race guard), so
    # losing the primary costs that much more than losing the secondary.
    for node, times in sorted(by_victim.items()):
        print(f"VIP median when {node} was killed: {statistics.median(times):.2f} s "
              f"({len(times)} runs)")
    print(f"failover vip_median_s={statistics.median(vips):.2f} vip_worst_s={max(vips):.2f} "
          f"{'sip' if args.appliance else 'service'}_median_s="
          f"{statistics.median(services):.2f} runs={len(vips)} "
          f"split_brain={split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
