"""The appliance's sshd lock-down: engineers' keys, login audit, who may connect from where.

Reads the engineers' key files (``KEYS_DIR``/NAME.pub, shipped with the product or added by
the installer), lists them in the engineers' list (tunnel.config.ENGINEERS_FILE), writes
the sshd drop-in and the firewall rules (sshd_rules), and reloads sshd after ``sshd -t``
accepted the result. The support window is not this step's: the support step and
``expandctl tunnel enable|disable`` (tunnel.window) copy the list into the keys file sshd
reads (tunnel.config.ENGINEERS_AUTHORIZED), or empty it. This step runs before the
support step, so the window's copy is made from this run's list.
"""

from __future__ import annotations

from appliance.errors import ExpandError
from appliance.readers import ReadError, is_directory, read_text
from firstboot.actions import Action, EnableUnit, RunCommand, WriteFile
from firstboot.steps import sshd_rules as rules
from firstboot.steps.base import Context, PlannedStep, StepPlan
from tunnel.config import ENGINEERS_AUTHORIZED, ENGINEERS_FILE

KEYS_DIR = "/etc/expand/support-keys"
MAX_KEY_FILES = 200
MAX_KEY_BYTES = 16 * 1024
SSHD_CONFIG = "/etc/ssh/sshd_config"
DROPIN = "/etc/ssh/sshd_config.d/40-expand-support.conf"
INCLUDE = "Include /etc/ssh/sshd_config.d/*.conf"
NFT_FILE = "/etc/nftables.d/expand-sshd.nft"
NFT_CONF = "/etc/nftables.conf"
NFT_INCLUDE = 'include "/etc/nftables.d/*.nft"'
FIREWALLD_ZONE = "/etc/firewalld/zones/public.xml"
FIREWALLD_DEFAULT_ZONE = "/usr/lib/firewalld/zones/public.xml"
SSHD, NFT, USERADD = "/usr/sbin/sshd", "/usr/sbin/nft", "/usr/sbin/useradd"
FIREWALL_CMD = "/usr/bin/firewall-cmd"


def engineer_lines(ctx: Context) -> list[str]:
    """One authorized_keys line per NAME.pub in the keys folder, sorted by name."""
    folder = ctx.sink.target(KEYS_DIR)
    if not folder.exists():
        return []
    if not is_directory(folder):
        raise ExpandError(f"{KEYS_DIR}: not a folder (want one NAME.pub per engineer)")
    files = sorted(p for p in folder.iterdir() if p.name.endswith(".pub"))
    if len(files) > MAX_KEY_FILES:
        raise ExpandError(f"{KEYS_DIR}: {len(files)} key files, more than {MAX_KEY_FILES}")
    lines = []
    for path in files:
        shown = f"{KEYS_DIR}/{path.name[:80]}"
        try:
            text = read_text(path, what="engineer key", max_bytes=MAX_KEY_BYTES)
        except ReadError as exc:
            raise ExpandError(f"{shown}: {exc.reason}") from exc
        lines.append(rules.engineer_key(path.name.removesuffix(".pub"), text, shown))
    return lines


def runs(ctx: Context, tool: str, warnings: list[str], *argvs: tuple[str, ...]
         ) -> list[Action]:
    """The commands when ``tool`` is installed (or recorded, in an alternate root); a live
    box without it gets the files and a warning (a bare test root, a minimal container)."""
    if ctx.live and not ctx.sink.exists(tool):
        warnings.append(f"{tool} is not installed: files written, not loaded")
        return []
    return [RunCommand(argv) for argv in argvs]


def has_user(ctx: Context, user: str) -> bool:
    passwd = ctx.sink.read_text("/etc/passwd") or ""
    return any(line.startswith(f"{user}:") for line in passwd.splitlines())


class SshdStep(PlannedStep):
    name = "sshd"
    title = "Locking down ssh (engineers' keys, login audit, firewall)"

    def plan(self, ctx: Context) -> StepPlan:
        a = ctx.answers
        lines = engineer_lines(ctx)
        actions: list[Action] = [WriteFile(ENGINEERS_FILE, rules.engineers_list(lines)),
                                 WriteFile(DROPIN, rules.sshd_dropin(ENGINEERS_AUTHORIZED))]
        warnings: list[str] = []
        if not has_user(ctx, rules.SUPPORT_USER):
            actions += runs(ctx, USERADD, warnings, ("useradd", "--create-home", "--shell",
                            "/bin/bash", "--comment", "eXpand support engineers",
                            rules.SUPPORT_USER))
        actions += self._firewall(ctx, warnings)
        actions += runs(ctx, SSHD, warnings, ("sshd", "-t"),
                        ("systemctl", "reload-or-restart", ctx.platform.sshd_unit))
        if not lines:
            warnings.append(f"no engineer key in {KEYS_DIR}: nobody can log in as "
                            f"{rules.SUPPORT_USER}")
        main = ctx.sink.read_text(SSHD_CONFIG)
        if main is not None and INCLUDE not in main:
            warnings.append(f"{SSHD_CONFIG} does not '{INCLUDE}': {DROPIN} is not used")
        nets = ", ".join(str(n) for n in rules.allowed_networks(a.network.lan,
                                                                  a.support.network))
        detail = (f"{len(lines)} engineer key(s); ssh from "
                  f"{nets} and the tunnel ({ctx.platform.firewall})")
        return StepPlan(tuple(actions), detail, tuple(warnings))

    def _firewall(self, ctx: Context, warnings: list[str]) -> list[Action]:
        lan, support = ctx.answers.network.lan, ctx.answers.support.network
        if ctx.platform.firewall == "nftables":
            conf = ctx.sink.read_text(NFT_CONF)
            actions: list[Action] = [WriteFile(NFT_FILE, rules.nftables_rules(lan, support))]
            if conf is None or NFT_INCLUDE not in conf:
                base = conf if conf is not None else "#!/usr/sbin/nft -f\n\nflush ruleset\n"
                actions.append(WriteFile(NFT_CONF, base.rstrip("\n") + f"\n\n{NFT_INCLUDE}\n",
                                         mode=0o755))
            loaded = runs(ctx, NFT, warnings, ("nft", "-f", NFT_FILE))
            return actions + loaded + [EnableUnit("nftables.service")] * bool(loaded)
        current = ctx.sink.read_text(FIREWALLD_ZONE)
        if current is None:
            default = ctx.sink.target(FIREWALLD_DEFAULT_ZONE)
            current = read_text(default, what="firewalld zone") if default.is_file() else None
        zone = rules.firewalld_public_zone(current, lan, support, FIREWALLD_ZONE)
        return [WriteFile(FIREWALLD_ZONE, zone),
                *runs(ctx, FIREWALL_CMD, warnings, ("firewall-cmd", "--reload"))]


__all__ = ["DROPIN", "KEYS_DIR", "NFT_FILE", "SshdStep"]
