"""The branded boot menus (isolinux for BIOS, GRUB for UEFI) and a reader for both.

The same entries, in the same order, go into isolinux/isolinux.cfg, EFI/BOOT/grub.cfg
and the grub.cfg inside images/efiboot.img, so that BIOS, UEFI, CD and USB stick all
show the menu of the seed (Anexo A). Kernel paths follow the Rocky/Alma 9 DVD layout.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from enum import Enum

# Bootloaders and kernel also talk on the first serial port (headless servers, QEMU
# tests); tty0 comes last so anaconda keeps the local screen as its console.
KERNEL_CONSOLE = "console=ttyS0,115200 console=tty0"
# Rocky/CentOS DVDs count down 60 s (the seed's screenshot shows it at 16 s).
DEFAULT_TIMEOUT_S = 60
# The countdown must mean the same to both loaders. isolinux counts tenths of a second up to
# 35996 and takes 0 as "wait forever"; GRUB counts seconds, 0 is "boot at once" and -1
# "forever". So only a real countdown is allowed, within isolinux's limit.
TIMEOUT_RANGE_S = range(1, 3600)
ISOLINUX_KERNEL = "vmlinuz"  # relative to /isolinux
ISOLINUX_INITRD = "initrd.img"
GRUB_KERNEL = "/images/pxeboot/vmlinuz"
GRUB_INITRD = "/images/pxeboot/initrd.img"


class Kind(Enum):
    INSTALL = "install"
    UPGRADE = "upgrade"
    UPGRADE_STANDALONE = "upgrade-standalone"
    BASIC_VIDEO = "basic-video"
    RESCUE = "rescue"
    LOCAL = "local"
    MEMTEST = "memtest"


@dataclass(frozen=True)
class MenuSpec:
    volid: str
    version: str
    previous: str
    ks_install: str  # absolute path on the disc, e.g. /ks/install.cfg
    ks_upgrade: str
    timeout_s: int = DEFAULT_TIMEOUT_S

    @property
    def title(self) -> str:
        return f"Welcome to eXpand {self.version}!"


@dataclass(frozen=True)
class MenuEntry:
    kind: Kind
    label: str
    hotkey: str  # letter highlighted by isolinux
    args: tuple[str, ...] = ()  # kernel arguments; empty for non-kernel entries

    @property
    def boots_installer(self) -> bool:
        return self.kind not in (Kind.LOCAL, Kind.MEMTEST)


def timeout_problem(seconds: int) -> str | None:
    """Why ``seconds`` cannot be the menu's countdown, or None."""
    low, high = TIMEOUT_RANGE_S[0], TIMEOUT_RANGE_S[-1]
    if isinstance(seconds, bool) or not isinstance(seconds, int) \
            or seconds not in TIMEOUT_RANGE_S:
        return (f"{seconds!r} is not a countdown of {low}-{high} seconds (0 would mean "
                "'wait forever' to isolinux but 'boot at once' to GRUB)")
    return None


def _timeout(spec: MenuSpec) -> int:
    problem = timeout_problem(spec.timeout_s)
    if problem:
        raise ValueError(f"menu timeout {problem}")
    return spec.timeout_s


def entries(spec: MenuSpec) -> list[MenuEntry]:
    """The seven entries of the seed's menu, the first one being the default."""
    stage2 = f"inst.stage2=hd:LABEL={spec.volid}"
    common = (KERNEL_CONSOLE, "quiet")

    def ks(path: str) -> str:
        return f"inst.ks=hd:LABEL={spec.volid}:{path}"

    upgrade = f"({spec.previous} -> {spec.version})"
    return [
        MenuEntry(Kind.INSTALL, f"Install eXpand ({spec.version})", "I",
                  (stage2, ks(spec.ks_install), *common)),
        MenuEntry(Kind.UPGRADE, f"Upgrade eXpand {upgrade}", "U",
                  (stage2, ks(spec.ks_upgrade), "expand.upgrade=cluster", *common)),
        MenuEntry(Kind.UPGRADE_STANDALONE, f"Upgrade eXpand standalone {upgrade}", "s",
                  (stage2, ks(spec.ks_upgrade), "expand.upgrade=standalone", *common)),
        MenuEntry(Kind.BASIC_VIDEO, "Install system with basic video driver", "v",
                  (stage2, "nomodeset", "inst.xdriver=vesa", *common)),
        MenuEntry(Kind.RESCUE, "Rescue installed system", "R",
                  (stage2, "inst.rescue", *common)),
        MenuEntry(Kind.LOCAL, "Boot from local drive", "l"),
        MenuEntry(Kind.MEMTEST, "Memory test", "M"),
    ]


def _hotkeyed(label: str, key: str) -> str:
    index = label.find(key)
    return label if index < 0 else f"{label[:index]}^{label[index:]}"


def render_isolinux(spec: MenuSpec) -> str:
    lines = [
        "serial 0 115200",
        "default vesamenu.c32",
        f"timeout {_timeout(spec) * 10}",  # tenths of a second
        "",
        "menu clear",
        f"menu title {spec.title}",
        "menu vshift 8",
        "menu rows 18",
        "menu margin 8",
        "menu tabmsg Press [Tab] to edit options",
        "menu autoboot Automatic boot in # second{,s}",
        "",
    ]
    for number, entry in enumerate(entries(spec), start=1):
        lines.append(f"label {entry.kind.value}")
        lines.append(f"  menu label {_hotkeyed(entry.label, entry.hotkey)}")
        if number == 1:
            lines.append("  menu default")
        if entry.kind is Kind.LOCAL:
            lines.append("  localboot 0xffff")
        elif entry.kind is Kind.MEMTEST:
            lines.append("  kernel memtest")
        else:
            lines.append(f"  kernel {ISOLINUX_KERNEL}")
            lines.append(f"  append initrd={ISOLINUX_INITRD} {' '.join(entry.args)}")
        lines.append("")
    return "\n".join(lines)


def render_grub(spec: MenuSpec) -> str:
    lines = [
        f"# {spec.title}",
        'set default="0"',
        f"set timeout={_timeout(spec)}",  # seconds
        "serial --unit=0 --speed=115200",
        "terminal_input serial console",
        "terminal_output serial console",
        f"search --no-floppy --set=root -l '{spec.volid}'",
        "",
    ]
    for entry in entries(spec):
        lines.append(f"menuentry '{entry.label}' --class fedora --class gnu-linux --class os {{")
        if entry.kind is Kind.LOCAL:
            lines.append("\texit")  # back to the firmware, which tries the next device
        elif entry.kind is Kind.MEMTEST:
            lines.append("\techo 'The memory test runs from BIOS boot: choose it from the "
                         "BIOS menu.'")
            lines.append("\tsleep 5")
        else:
            lines.append(f"\tlinux {GRUB_KERNEL} {' '.join(entry.args)}")
            lines.append(f"\tinitrd {GRUB_INITRD}")
        lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ParsedEntry:
    label: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedMenu:
    title: str | None
    timeout_s: float | None
    default_index: int | None
    entries: tuple[ParsedEntry, ...] = field(default_factory=tuple)

    @property
    def labels(self) -> list[str]:
        return [e.label for e in self.entries]


def parse_isolinux(text: str) -> ParsedMenu:
    title = None
    timeout = None
    default = None
    found: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        words = raw.strip().split(None, 1)
        if not words:
            continue
        key = words[0].lower()
        rest = words[1] if len(words) > 1 else ""
        if key == "timeout" and rest.isdigit():
            timeout = int(rest) / 10
        elif key == "label":
            found.append((rest, []))
        elif key == "menu" and rest.lower().startswith("title "):
            title = rest[6:].strip()
        elif key == "menu" and rest.lower().startswith("label ") and found:
            found[-1] = (rest[6:].strip().replace("^", ""), found[-1][1])
        elif key == "menu" and rest.lower() == "default" and found:
            default = len(found) - 1
        elif key == "append" and found:
            found[-1][1].extend(shlex.split(rest))
    return ParsedMenu(title, timeout, default,
                      tuple(ParsedEntry(label, tuple(args)) for label, args in found))


_MENUENTRY = re.compile(r"""^\s*menuentry\s+(['"])(.*?)\1""")


def parse_grub(text: str) -> ParsedMenu:
    timeout = None
    default = None
    found: list[tuple[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        match = _MENUENTRY.match(line)
        if match:
            found.append((match.group(2), []))
        elif line.startswith("set timeout="):
            timeout = float(line.split("=", 1)[1].strip("\"'"))
        elif line.startswith("set default="):
            value = line.split("=", 1)[1].strip("\"'")
            default = int(value) if value.isdigit() else None
        elif re.match(r"^(linux|linuxefi)\s", line) and found:
            found[-1][1].extend(shlex.split(line)[2:])
    return ParsedMenu(None, timeout, default,
                      tuple(ParsedEntry(label, tuple(args)) for label, args in found))
