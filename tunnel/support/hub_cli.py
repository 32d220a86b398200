"""``expandctl support hub-add|hub-remove|hub-config|hub-install|claim|list``: the hub side."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.readers import read_stream, read_text, show_path
from tunnel.support import claim as claim_mod
from tunnel.support.hub import DEFAULT_AUTHORIZED_KEYS, Change, HubFiles, add_site, remove_site
from tunnel.support.hub_config import DEFAULT_USER, match_block
from tunnel.support.hub_install import DEFAULT_CLAIM_PROGRAM, install_claim
from tunnel.support.hub_keys import PublicKey, check_site, parse_host_key, parse_public_key
from tunnel.support.listing import list_sites, table
from tunnel.support.registry import DEFAULT_REGISTRY, load_registry

KEY_FILE_BYTES = 16 * 1024

ADD_EPILOG = f"""\
PUBKEY is the appliance's public key line (its first boot prints it; quote it), a file
holding it, or - for standard input. The line written to the authorized_keys file:
  restrict,port-forwarding,permitlisten="localhost:PORT",command="CLAIM PORT"
      ssh-ed25519 AAAA... expand-SITE   (one line)

examples:
  expandctl support hub-add acme 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... root@acme'
  expandctl support hub-add acme /tmp/acme-tunnel.pub --host-key /tmp/acme-host.pub
  ssh root@acme cat /etc/expand/tunnel/id_ed25519.pub | expandctl support hub-add acme -

Re-running with the same site and key changes nothing; a new key for a known site replaces
its line (same port); a key already used by another site, or by a line hub-add did not
write, is refused.

defaults: --registry {DEFAULT_REGISTRY}, --authorized-keys {DEFAULT_AUTHORIZED_KEYS},
--claim-command {DEFAULT_CLAIM_PROGRAM} (written by hub-install)

exit codes:
  0  the site is registered (changed or already so); the port is printed
  1  bad input or refused (one line names the argument or file); nothing written
  2  bad arguments"""

CONFIG_EPILOG = f"""\
Append the block at the end of /etc/ssh/sshd_config (a Match block runs to the end of
the file), check and reload:
  expandctl support hub-config >> /etc/ssh/sshd_config
  sshd -t && sshd -T -C user={DEFAULT_USER},host=x,addr=203.0.113.200 | grep -i forwarding
  systemctl reload ssh

Not set on purpose: UnusedConnectionTimeout (-R listeners are not channels: it would close
every healthy tunnel).

exit codes: 0 printed; 1 bad --user or --authorized-keys; 2 bad arguments"""

LIST_EPILOG = """\
examples:
  expandctl support list
  expandctl support list --json | jq -r '.sites[] | select(.connected) | .site'

A site is connected while something listens on the hub's localhost:PORT of its registry
entry; SINCE is the start of the sshd session holding it (root only: the sessions' fds are
readable by root).

exit codes: 0 listed (connected or not); 1 bad or missing registry; 2 bad arguments"""

CLAIM_EPILOG = """\
The key lines run the claim program hub-install writes, as the tunnel user, before the
appliance asks for its forward. Run by hand as root, it frees PORT now:
  expandctl support claim 20017

exit codes: 0 done (the line says whether the port is free); 1 bad PORT; 2 bad arguments"""


def register(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add = cmds.add_parser("hub-add", help="register an appliance: its port and key line",
                          description="Register site SITE on this hub: allocate its port "
                                      "(kept for as long as the site is registered) and "
                                      "write the authorized_keys line that lets its key hold "
                                      "that one reverse forward and nothing else.",
                          epilog=ADD_EPILOG, formatter_class=HelpFormatter)
    add.add_argument("site", metavar="SITE", help="site name: a-z, 0-9 and '-' (1-32)")
    add.add_argument("pubkey", metavar="PUBKEY", help="key line, key file, or - (stdin)")
    _files(add)
    add.add_argument("--host-key", metavar="LINE|FILE",
                     help="the appliance sshd's host public key, kept in the registry for "
                          "the engineers' known_hosts")
    add.add_argument("--port", type=int, metavar="N", help="this port instead of the next free")
    add.add_argument("--claim-command", default=str(DEFAULT_CLAIM_PROGRAM), metavar="PATH",
                     help="the forced command of the line (the port is appended)")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=cmd_add)

    rm = cmds.add_parser("hub-remove", help="unregister an appliance: its key can no longer "
                                            "log in", formatter_class=HelpFormatter,
                         description="Remove SITE's line from the authorized_keys file and "
                                     "its entry from the registry. A session already open "
                                     "stays until it ends (claim or kill it).",
                         epilog="example:\n  expandctl support hub-remove acme\n\n"
                                "exit codes: 0 removed; 1 no such site or bad files; "
                                "2 bad arguments")
    rm.add_argument("site", metavar="SITE")
    _files(rm)
    rm.add_argument("--json", action="store_true")
    rm.set_defaults(func=cmd_remove)

    cfg = cmds.add_parser("hub-config", help="print the sshd Match block for the tunnel user",
                          description="The sshd settings the hub needs for the tunnel user: "
                                      "public keys only, no TTY, X11 or agent, remote "
                                      "forwarding only, no PermitOpen, no unix-socket "
                                      "forwarding, ClientAlive so stale listeners are freed.",
                          epilog=CONFIG_EPILOG, formatter_class=HelpFormatter)
    cfg.add_argument("--user", default=DEFAULT_USER, metavar="NAME",
                     help=f"the tunnel user (default {DEFAULT_USER})")
    cfg.add_argument("--authorized-keys", type=Path, default=DEFAULT_AUTHORIZED_KEYS,
                     metavar="FILE", help="the key lines hub-add writes (default %(default)s)")
    cfg.set_defaults(func=cmd_config)

    inst = cmds.add_parser("hub-install", help="write the claim program the key lines run",
                           description="Write the claim program (a zipapp of the claim "
                                       "module, standard library only) where the tunnel user "
                                       "can run it.", formatter_class=HelpFormatter,
                           epilog=f"example:\n  expandctl support hub-install\n  expandctl "
                                  f"support hub-install --to /opt/expand/claim --python "
                                  f"/usr/bin/python3.11\n\ndefault --to {DEFAULT_CLAIM_PROGRAM}"
                                  "\n\nexit codes: 0 written or already so; 1 cannot write; "
                                  "2 bad arguments")
    inst.add_argument("--to", type=Path, default=DEFAULT_CLAIM_PROGRAM, metavar="PATH")
    inst.add_argument("--python", metavar="PATH",
                      help="interpreter (>= 3.11) the tunnel user can run (default: this one)")
    inst.set_defaults(func=cmd_install)

    cl = cmds.add_parser("claim", help="end the older session holding a tunnel port",
                         description="End the sshd session of the tunnel user that holds "
                                     "localhost:PORT (never the caller's own session), and "
                                     "wait until the port is free.",
                         epilog=CLAIM_EPILOG, formatter_class=HelpFormatter)
    cl.add_argument("port", metavar="PORT")
    cl.set_defaults(func=cmd_claim)

    ls = cmds.add_parser("list", help="which appliances are connected now, since when",
                         description="The registered sites, their ports and whether their "
                                     "tunnel is up on this hub now.",
                         epilog=LIST_EPILOG, formatter_class=HelpFormatter)
    ls.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, metavar="FILE")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=cmd_list)


def _files(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--registry", type=Path, default=DEFAULT_REGISTRY, metavar="FILE")
    parser.add_argument("--authorized-keys", type=Path, default=DEFAULT_AUTHORIZED_KEYS,
                        metavar="FILE")


def read_key_argument(value: str, what: str) -> tuple[str, str]:
    """(text, source) of a key given inline, as a file, or as - (standard input)."""
    if value == "-":
        return read_stream(sys.stdin.buffer, "-", what=what, max_bytes=KEY_FILE_BYTES), \
            f"{what} (standard input)"
    words = value.split()
    if not words:
        raise ExpandError(f"{what}: empty; give a key line, a key file or -")
    if words[0].startswith(("ssh-", "ecdsa-")) and len(words) >= 2:
        return value, what
    return read_text(Path(value), what=what, max_bytes=KEY_FILE_BYTES), show_path(value)


def _public_key(value: str) -> PublicKey:
    text, source = read_key_argument(value, "PUBKEY")
    return parse_public_key(text, source)


def cmd_add(args: argparse.Namespace) -> int:
    check_site(args.site)
    key = _public_key(args.pubkey)
    host_key = None
    if args.host_key is not None:
        host_key = parse_host_key(*read_key_argument(args.host_key, "--host-key"))
    change = add_site(HubFiles(args.registry, args.authorized_keys), args.site, key,
                      claim_command=args.claim_command, host_key=host_key, port=args.port)
    _report(change, args.json)
    program = Path(args.claim_command.split()[0])
    if not program.exists():
        print(f"expandctl: warning: {show_path(program)} does not exist yet: the key line "
              "runs it (expandctl support hub-install writes it)", file=sys.stderr)
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    _report(remove_site(HubFiles(args.registry, args.authorized_keys), args.site), args.json)
    return 0


def _report(change: Change, as_json: bool) -> None:
    if as_json:
        print_json({"site": change.site, "port": change.port, "fingerprint": change.fingerprint,
                    "changed": change.changed, "note": change.note, "line": change.line})
        return
    print(f"{change.site}: {change.note}")


def cmd_config(args: argparse.Namespace) -> int:
    sys.stdout.write(match_block(args.user, args.authorized_keys))
    return 0


def cmd_install(args: argparse.Namespace) -> int:
    changed = install_claim(args.to, args.python)
    print(f"{args.to}: {'written' if changed else 'already up to date'}")
    return 0


def cmd_claim(args: argparse.Namespace) -> int:
    print(claim_mod.claim(claim_mod.parse_port(args.port)).line())
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    try:
        registry = load_registry(args.registry, missing_ok=False)
    except ExpandError as exc:
        raise ExpandError(f"{exc} (hub-add creates the registry)"
                          if "not found" in str(exc) else str(exc)) from None
    listing = list_sites(registry)
    if args.json:
        print_json(listing.as_json())
    else:
        print(table(listing))
    return 0
