"""Appliance nodes: booted systemd-nspawn containers that set themselves up with the real
unattended first boot, on the same lab network, power switch and CLI as namespace nodes.

``expandctl lab up --appliance``: each node's root is an overlay of the cached Debian root
with corosync, pacemaker, pcs and the fence agents (``lab.rootfs`` "ha" flavour) plus this
checkout's toolkit. The primary runs ``expandctl firstboot --answers … --yes`` from the
example answers (a one-node cluster that owns the VIP) and ``ha add-secondary``; the
secondary runs its own first boot with the primary's join code and joins as passive.

Where the lab differs from a customer's install, on purpose:
- The example's IPMI controllers do not exist here, so the first boot runs with
  ``fencing.mode = "none"`` and the lab then puts its power switch (``fence_expand_lab``,
  behind the same gateway check) in as the fencing devices, before ``ha add-secondary``.
- Asterisk 22 needs Debian unstable's libc and the nodes are bookworm: it runs from a
  per-node overlay of the cached unstable root, entered by the node's ``/usr/sbin/asterisk``
  wrapper (``lab.appliance_asterisk``), where a customer's box has it installed. The unit,
  ``asterisk -rx`` and the throwaway proofs run it unchanged. Its account has an id free in
  both roots.
- The site (``examples/site/acme.toml``) is written into each node as ``SITE_IN_NODE`` and
  named in the node answers (``[pbx] site``): the first boot's pbx step applies it after the
  cluster step (the node's shared authkey exists by then, so both nodes derive the same SIP
  secrets; SIP bound to the VIP). Until then Asterisk runs on the package's sample
  configuration, as a fresh package install would. The seed's recordings are not in this
  repository: the site's audio folder holds a second of silence per prompt (and for the
  default music on hold) in the seed's format.
- The example answers' storage (a SAN LUN) is "none" here, so Asterisk's data stays on each
  node's disk (with drbd/san it lives on the shared filesystem: ``ha.pbx_data``).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path, PurePosixPath

from appliance.answers import Answers, Cluster, Pbx
from appliance.answers_toml import dump_answers
from appliance.backup import DATA_MOUNT
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.runner import Runner
from lab import appliance_asterisk, nspawn
from lab.nspawn import install_toolkit, mask_wait_online, mount_overlay
from lab.rootfs import HA_PACKAGES, NODE_VENV, ensure_rootfs

ANSWERS_IN_NODE = "/root/lab-answers.toml"
FIRST_BOOT_TIMEOUT = 400.0
FENCE_AGENT = (f"#!{NODE_VENV}/bin/python3\n"
               '"""The lab power switch as a fence agent (expandctl lab)."""\n'
               "import sys\nfrom lab.fence_agent import main\nsys.exit(main())\n")
SITE_IN_NODE = "/root/lab-site.toml"
SITE = Path(__file__).resolve().parent.parent / "examples" / "site" / "acme.toml"


def node_base(lab_dir: Path, name: str) -> Path:
    return lab_dir / "nodes" / name


def node_root(lab_dir: Path, name: str) -> Path:
    return node_base(lab_dir, name) / "merged"


def prepare_root(lab_dir: Path, name: str, rootfs: Path, runner: Runner) -> Path:
    """The node's disk: an overlay that keeps what the node writes across power cycles."""
    root = mount_overlay(rootfs, node_base(lab_dir, name), runner)
    install_toolkit(root)
    mask_wait_online(root)
    sink = FileSink(root)
    sink.write("/usr/sbin/fence_expand_lab", FENCE_AGENT, mode=0o755)
    sink.write(SITE_IN_NODE, SITE.read_text())
    appliance_asterisk.install(lab_dir, name, root, runner)
    return root


def reinstall(lab_dir: Path, name: str, runner: Runner) -> Path:
    """What "Upgrade eXpand" does to a powered-off node's disk: a fresh system tree (the
    cached root and this checkout's toolkit again), its data filesystem kept: the node's
    overlay loses everything it wrote but ``/srv/expand``."""
    base = node_base(lab_dir, name)
    runner.run(["umount", str(base / "merged")])
    runner.run(["umount", str(appliance_asterisk.overlay_base(lab_dir, name) / "merged")],
               check=False)  # install() mounts it again
    keep = PurePosixPath(DATA_MOUNT).parts[1:]
    for entry in (base / "upper").iterdir():
        if entry.name == keep[0] and entry.is_dir() and not entry.is_symlink():
            for inner in entry.iterdir():
                if inner.name != keep[1]:
                    _remove(inner)
        else:
            _remove(entry)
    shutil.rmtree(base / "work")
    return prepare_root(lab_dir, name, ensure_rootfs(packages=HA_PACKAGES, flavor="ha"),
                        runner)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def boot_argv(lab_dir: Path, name: str, netns: str) -> list[str]:
    """Power on: boot the node's root in its network namespace; the lab dir is bound in so
    the fence agent reaches the power switch."""
    return nspawn.boot_argv(node_root(lab_dir, name), name, netns, f"--bind={lab_dir}",
                            appliance_asterisk.bind_argument(lab_dir, name))


def node_answers(answers: Answers, mode: str, join_code: str = "") -> Answers:
    """The example answers as this lab installs them (see the module text)."""
    no_ipmi = replace(answers.fencing, mode="none", primary_target="", secondary_target="",
                      host="", username="", password="")
    return replace(answers, mode=mode, fencing=no_ipmi, cluster=Cluster(join_code),
                   pbx=Pbx(SITE_IN_NODE))


def first_boot(runner: Runner, lab_dir: Path, name: str, answers: Answers) -> str:
    """Write the answers into the node (0600, they hold secrets) and run its unattended
    first boot; returns its output."""
    FileSink(node_root(lab_dir, name)).write(
        ANSWERS_IN_NODE, dump_answers(answers, include_secrets=True,
                                      header=["answers of the eXpand lab (expandctl lab up)"]),
        mode=0o600)
    result = runner.run(["expandctl", "firstboot", "--answers", ANSWERS_IN_NODE, "--yes"],
                        check=False, timeout=FIRST_BOOT_TIMEOUT)
    if result.returncode != 0:
        raise ExpandError(f"the first boot of {name} failed (exit {result.returncode}):\n"
                          + (result.stdout + result.stderr)[-3000:])
    return result.stdout
