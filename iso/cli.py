"""``expandctl iso``: build, inspect and boot-test the eXpand install DVD."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from appliance.console import HelpFormatter, print_json
from appliance.errors import ExpandError
from appliance.runner import Runner
from iso import menu
from iso.boottest import BootTestOptions, boot_test
from iso.build import AddTree, BuildOptions, build_iso
from iso.demo_base import DEMO_LABEL, build_demo_base
from iso.demo_kernel import DEFAULT_CACHE
from iso.demo_repo import write_vendor_folders
from iso.inspect import Inspection, inspect_iso
from iso.progress import for_stream, no_progress
from kickstart.scripts import PRODUCT_REPO_ON_DISC
from release.closure import ClosureFailed


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "iso", help="build, inspect and boot-test the eXpand install DVD",
        description="Turn a Rocky/Alma Linux 9 DVD into the branded eXpand installer, "
                    "check what a DVD holds, and prove it boots (QEMU).")
    cmds = parser.add_subparsers(dest="iso_cmd", required=True, metavar="COMMAND")
    _register_build(cmds)
    _register_inspect(cmds)
    _register_demo_base(cmds)
    _register_boot_test(cmds)


def _register_build(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = cmds.add_parser(
        "build", help="remaster a vendor DVD into the eXpand install DVD",
        formatter_class=HelpFormatter,
        description=(
            "Checks the base DVD (RHEL-family x86_64, BIOS and UEFI boot records, not "
            "truncated or corrupt) and the output folder, then remasters it without "
            "extracting (a copy plus one appended xorriso session, boot set-up replayed), "
            "keeping its volume label and its BIOS, UEFI "
            "and USB-stick boot. Writes the eXpand boot menu into isolinux.cfg, "
            "EFI/BOOT/grub.cfg and the grub.cfg inside the UEFI boot image, embeds the "
            "install and upgrade kickstarts (/ks/), the product repository (/expand/repo, "
            "made with createrepo_c from the --repo folders), --add folders and the answers "
            "(without passwords), and implants the media checksum. OUT appears only "
            "when complete. Before writing anything it checks closure: every package the "
            "kickstart's %packages names (@core too) and every Requires of every package "
            "in the --repo folders must be provided by the base DVD's BaseOS/AppStream or "
            "by those folders; otherwise it lists what is missing, who needs it and where "
            "such packages usually come from, and writes nothing."),
        epilog="examples:\n"
               "  expandctl release build --out dist/\n"
               "  expandctl iso build --base Rocky-9.4-x86_64-dvd.iso --out eXpand-3.2.iso \\\n"
               "      --repo dist/ --repo ha-rpms/ --repo elrepo-drbd/ --repo asterisk-rpms/\n"
               "  expandctl iso build --base rocky.iso --out menu-test.iso --no-repo\n"
               "  (--add DIR[:/some/path] adds any other folder, by default at /expand/DIR)\n"
               "exit codes: 0 built; 1 refused (bad base, missing packages, no room, ...) "
               "with nothing written; 2 bad arguments")
    p.add_argument("--base", type=Path, required=True, metavar="BASE.iso",
                   help="the vendor install DVD (Rocky/Alma Linux 9 x86_64)")
    p.add_argument("--out", type=Path, required=True, metavar="OUT.iso")
    p.add_argument("--version", default="3.2", help="eXpand version shown (default 3.2)")
    p.add_argument("--previous", default="3.1",
                   help="version the upgrade entries upgrade from (default 3.1)")
    p.add_argument("--volid", metavar="LABEL",
                   help="new volume label: 1-32 letters, digits, '.', '_' or '-' "
                        "(default: keep the base's)")
    p.add_argument("--repo", action="append", default=[], type=Path, metavar="DIR",
                   help="a folder of RPMs for the product repository /expand/repo "
                        "(repeatable): the product package, HA packages, DRBD, Asterisk")
    p.add_argument("--no-repo", action="store_true",
                   help="no product repository: a menu-only test disc (the install will "
                        "stop in %%pre: the eXpand package repository is missing)")
    p.add_argument("--add", action="append", default=[], metavar="DIR[:/PATH]",
                   help="add a folder to the disc (repeatable)")
    p.add_argument("--answers", type=Path, metavar="FILE",
                   help="answers file to pre-fill the first-boot wizard (validated; "
                        "passwords are left out)")
    p.add_argument("--menu-timeout", type=int, default=menu.DEFAULT_TIMEOUT_S, metavar="S",
                   help=f"automatic boot of the first entry after S seconds, "
                        f"{menu.TIMEOUT_RANGE_S[0]}-{menu.TIMEOUT_RANGE_S[-1]} "
                        f"(default {menu.DEFAULT_TIMEOUT_S})")
    p.add_argument("--rewrite", action="store_true",
                   help="write a compact single-session image (slower) instead of copying "
                        "the base and appending a session with the changes")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(func=cmd_build)


def _register_inspect(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = cmds.add_parser(
        "inspect", help="show what a DVD holds; exit 1 when something is wrong",
        formatter_class=HelpFormatter,
        description=(
            "Reads the image itself: volume label, boot records (BIOS, UEFI, hybrid "
            "MBR/GPT), the menu entries of isolinux.cfg, EFI/BOOT/grub.cfg and the "
            "grub.cfg inside the UEFI boot image, whether the kickstarts are there and "
            "valid, and whether the media checksum is implanted and correct."),
        epilog="examples:\n  expandctl iso inspect eXpand-3.2.iso\n"
               "  expandctl iso inspect --json eXpand-3.2.iso | jq .menus.isolinux")
    p.add_argument("iso", type=Path, metavar="ISO")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(func=cmd_inspect)


def _register_demo_base(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = cmds.add_parser(
        "demo-base", help="build a small DEMO stand-in for a Rocky 9 DVD (for demos and tests)",
        formatter_class=HelpFormatter,
        description=(
            f"Builds {DEMO_LABEL}: the Rocky 9 DVD layout with a Debian kernel and a "
            "busybox initramfs that prints the kernel command line and the kickstart "
            "it points to, then powers off. Not an installer. Its BaseOS and AppStream "
            "repositories hold empty DEMO stand-in packages (built with rpmbuild, "
            "createrepo_c, comps group core) for what Rocky's would provide to the "
            "kickstart and the product's Requires. --vendor-repos DIR also writes DEMO "
            "stand-ins of the folders a release engineer supplies (DIR/HighAvailability, "
            "DIR/ELRepo-DRBD, DIR/Asterisk) to pass to 'iso build --repo'. The kernel "
            f"package is downloaded once (apt-get download) and cached in {DEFAULT_CACHE}."),
        epilog="example:\n"
               "  expandctl iso demo-base --out build/demo/base.iso \\\n"
               "      --vendor-repos build/demo/vendor\n"
               "  expandctl release build --out dist/\n"
               "  expandctl iso build --base build/demo/base.iso --out build/demo/eXpand.iso \\\n"
               "      --repo dist/ --repo build/demo/vendor/HighAvailability \\\n"
               "      --repo build/demo/vendor/ELRepo-DRBD --repo build/demo/vendor/Asterisk")
    p.add_argument("--out", type=Path, required=True, metavar="BASE.iso")
    p.add_argument("--vendor-repos", type=Path, metavar="DIR",
                   help="also write the DEMO stand-in vendor folders below DIR")
    p.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="DIR",
                   help=f"download and build cache (default {DEFAULT_CACHE})")
    p.set_defaults(func=cmd_demo_base)


def _register_boot_test(cmds: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = cmds.add_parser(
        "boot-test", help="boot the DVD in QEMU and check menu, kernel arguments and kickstart",
        formatter_class=HelpFormatter,
        description=(
            "Boots ISO in QEMU (TCG, no KVM needed) with the serial console, checks the "
            "menu shows every entry, boots the default entry (Enter) or the chosen one "
            "(arrow keys), and checks the kernel got the entry's arguments and the "
            "kickstart was read from the disc found by its label. Exit 0 only when all "
            "of that was seen. The console log is kept (--log)."),
        epilog="examples:\n"
               "  expandctl iso boot-test eXpand-3.2.iso --firmware bios --media cdrom\n"
               "  expandctl iso boot-test eXpand-3.2.iso --firmware uefi --media disk --entry 2")
    p.add_argument("iso", type=Path, metavar="ISO")
    p.add_argument("--firmware", choices=("bios", "uefi"), default="bios")
    p.add_argument("--media", choices=("cdrom", "disk"), default="cdrom",
                   help="cdrom: a DVD drive; disk: the image written to a USB stick")
    p.add_argument("--entry", type=int, metavar="N", help="menu entry to boot (1 = first)")
    p.add_argument("--timeout", type=float, default=300, metavar="S",
                   help="give up after S seconds (default 300)")
    p.add_argument("--log", type=Path, metavar="FILE",
                   help="console log (default: next to ISO, ISO.boot-FIRMWARE-MEDIA.log)")
    p.add_argument("--wait-countdown", action="store_true",
                   help="press nothing: let the menu's countdown boot the default entry")
    p.add_argument("--show-menu", action="store_true",
                   help="print the boot menu as it looked on the console")
    p.add_argument("--json", action="store_true", help="machine-readable result on stdout")
    p.set_defaults(func=cmd_boot_test)


def cmd_build(args: argparse.Namespace) -> int:
    opts = BuildOptions(
        base=args.base, out=args.out, version=args.version, previous=args.previous,
        volid=args.volid, add=tuple(AddTree.parse(a) for a in args.add),
        answers=args.answers, timeout_s=args.menu_timeout, rewrite=args.rewrite,
        repos=tuple(args.repo), no_repo=args.no_repo)
    try:
        result = build_iso(opts, Runner(), no_progress if args.json else for_stream(sys.stderr))
    except ClosureFailed as refused:
        if args.json:  # scripts get the missing list as data too (the message on stderr)
            print_json({"ok": False, "closure": refused.closure.as_dict()})
        raise
    if args.json:
        print_json(result.as_dict())
        return 0
    print(f"{result.out}: {result.size_bytes / 1e6:.0f} MB, label {result.volid}, "
          f"from {result.base_product}, in {result.total_s:.1f} s")
    print(f"  menu: {result.menu_title}")
    for number, label in enumerate(result.entries, start=1):
        print(f"    {number}. {label}{'  (default)' if number == 1 else ''}")
    print(f"  kickstarts: {', '.join(result.kickstarts)}")
    if result.answers_on_disc:
        print(f"  answers: {result.answers_on_disc} (no passwords)")
    if result.product_packages:
        print(f"  product repository: {len(result.product_packages)} packages, closure ok "
              f"({result.closure_checked} requirements)")
    else:
        print("  product repository: none (--no-repo: the install stops in %pre)")
    for added in result.added:
        print(f"  added: {added}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    seen = inspect_iso(Runner(), args.iso)
    if args.json:
        print_json(seen.as_dict())
        return 0 if seen.ok else 1
    print(f"{seen.iso}: label {seen.volid}, {seen.size_bytes / 1e6:.0f} MB")
    print(f"  boot: BIOS {seen.bios_boot or 'none'}, UEFI {seen.uefi_boot or 'none'}, "
          f"hybrid MBR {'yes' if seen.hybrid_mbr else 'no'}, GPT {'yes' if seen.gpt else 'no'}")
    for source, parsed in seen.menus.items():
        extra = f" title {parsed.title!r}" if parsed.title else ""
        print(f"  menu {source}:{extra} timeout {parsed.timeout_s} s")
        for number, label in enumerate(parsed.labels, start=1):
            default = "  (default)" if parsed.default_index == number - 1 else ""
            print(f"    {number}. {label}{default}")
    for ks in seen.kickstarts:
        state = ("valid" if not ks.problems else "INVALID") if ks.present else "MISSING"
        print(f"  kickstart {ks.path}: {state}")
    print(f"  answers on disc: {'yes' if seen.answers_on_disc else 'no'}")
    _print_repository(seen)
    md5 = ("none" if seen.md5_implanted is None
           else f"{seen.md5_implanted} ({'correct' if seen.md5_ok else 'WRONG'})")
    print(f"  media checksum: {md5}")
    for problem in seen.problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 0 if seen.ok else 1


def _print_repository(seen: Inspection) -> None:
    if seen.product_repo is None:
        print(f"  product repository {PRODUCT_REPO_ON_DISC}: none")
        return
    print(f"  product repository {PRODUCT_REPO_ON_DISC}: {len(seen.product_repo)} packages")
    for pkg in seen.product_repo:
        print(f"    {pkg.name} {pkg.version_release} {pkg.arch}")
    if seen.closure is not None:
        missing = seen.closure["missing"]
        state = "ok" if not missing else f"{len(missing)} MISSING (see the problems)"
        print(f"  closure {state}: {seen.closure['checked']} requirements of the kickstart "
              "and the product repository")


def cmd_demo_base(args: argparse.Namespace) -> int:
    runner = Runner()
    if args.vendor_repos is not None and args.vendor_repos.exists() \
            and not args.vendor_repos.is_dir():
        raise ExpandError(f"--vendor-repos {args.vendor_repos}: not a folder")
    out = build_demo_base(args.out, runner, args.cache)
    print(f"{out}: DEMO stand-in for a Rocky Linux 9 DVD, label {DEMO_LABEL}")
    if args.vendor_repos is not None:
        for folder in write_vendor_folders(runner, args.vendor_repos, args.cache):
            print(f"{folder}: DEMO stand-in vendor packages (pass with --repo)")
    return 0


def cmd_boot_test(args: argparse.Namespace) -> int:
    opts = BootTestOptions(args.iso, args.firmware, args.media, args.entry, args.timeout,
                           args.log, args.wait_countdown)
    result = boot_test(Runner(), opts)
    if args.json:
        print_json(result.as_dict())
        return 0 if result.ok else 1
    if args.show_menu and result.menu_screen:
        print(result.menu_screen)
    where = f"{args.firmware.upper()} {args.media}"
    print(f"boot test {where}, entry {result.entry} ({result.entry_label}): "
          f"{'PASS' if result.ok else 'FAIL'} in {result.seconds} s")
    print(f"  menu: {len(result.menu_seen)} of "
          f"{len(result.menu_seen) + len(result.menu_missing)} lines seen"
          + (f"; missing: {', '.join(result.menu_missing)}" if result.menu_missing else ""))
    print(f"  kernel command line: {result.cmdline or '(not seen)'}")
    if result.missing_args:
        print(f"  missing kernel arguments: {' '.join(result.missing_args)}")
    if result.kickstart:
        print(f"  kickstart {result.kickstart}: "
              f"{'read from the disc' if result.kickstart_read else 'NOT read'}")
    if result.failure:
        print(f"  failure: {result.failure}")
    print(f"  console log: {result.log}")
    return 0 if result.ok else 1
