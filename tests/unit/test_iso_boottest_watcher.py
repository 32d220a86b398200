"""The boot test's console judge, fed console bytes as QEMU would deliver them."""

from __future__ import annotations

import pytest

from iso.boottest import BootTestResult, _Watcher
from iso.initramfs import CMDLINE, DONE, FAILED, KS_BEGIN, KS_END
from iso.menu import ParsedEntry

LABELS = ["Install eXpand (3.2)", "Memory test"]
ARGS = ("inst.ks=hd:LABEL=X:/ks/a.ks", "quiet")
MD5 = "0123456789abcdef0123456789abcdef"
MENU = (b"\x1b[2J\x1b[1;10HWelcome to eXpand 3.2!\x1b[3;10H\x1b[7mInstall eXpand (3.2)"
        b"\x1b[0m\x1b[4;10HMemory test\x1b[6;10HAutomatic boot in 60 seconds\r\n")
BOOT = (f"{CMDLINE} BOOT_IMAGE=vmlinuz inst.ks=hd:LABEL=X:/ks/a.ks quiet\r\n"
        f"{KS_BEGIN} /ks/a.ks\r\nKernel panic is only a word here\r\n"
        f"{KS_END} md5={MD5}\r\n{DONE}\r\n").encode()


def _watcher(keys: bytes = b"\r") -> _Watcher:
    result = BootTestResult(False, "bios", "cdrom", 1, LABELS[0])
    return _Watcher(LABELS, "Welcome to eXpand 3.2!", ParsedEntry(LABELS[0], ARGS), MD5,
                    keys, result)


def _feed(watcher: _Watcher, data: bytes, chunk: int) -> list[tuple[bytes, bool]]:
    console = b""
    steps = []
    for i in range(0, len(data), chunk):
        console += data[i:i + chunk]
        steps.append(watcher.step(console))
        if steps[-1][1]:
            break
    return steps


def test_pass_when_menu_cmdline_and_kickstart_seen_in_small_chunks() -> None:
    w = _watcher(b"\x1b[B\r")
    steps = _feed(w, MENU + BOOT, 7)
    assert [k for k, _ in steps if k] == [b"\x1b[B\r"]  # keys sent once, after the menu
    assert steps[-1][1] and w.result.ok, w.result
    assert w.result.cmdline == "BOOT_IMAGE=vmlinuz inst.ks=hd:LABEL=X:/ks/a.ks quiet"
    assert w.result.kickstart_read and w.result.failure is None


def test_kickstart_text_is_not_taken_for_a_failure_marker() -> None:
    w = _watcher()
    _feed(w, MENU + BOOT, 4096)
    assert w.result.failure is None and w.result.ok


def test_missing_kernel_argument_fails() -> None:
    w = _watcher()
    _feed(w, MENU + BOOT.replace(b" inst.ks=hd:LABEL=X:/ks/a.ks quiet\r", b" quiet\r"), 4096)
    assert not w.result.ok
    assert w.result.missing_args == ["inst.ks=hd:LABEL=X:/ks/a.ks"]


def test_wrong_kickstart_content_fails() -> None:
    w = _watcher()
    _feed(w, MENU + BOOT.replace(MD5.encode(), b"f" * 32), 4096)
    assert not w.result.ok and "differs" in (w.result.failure or "")


def test_failure_marker_ends_early_with_its_meaning() -> None:
    w = _watcher()
    steps = _feed(w, MENU + f"{FAILED}: no disc labelled X\r\n".encode(), 4096)
    assert steps[-1][1] and not w.result.ok
    assert w.result.failure == ("the installer's initramfs failed: "
                                "EXPAND-DEMO: FAILED: no disc labelled X")


def test_failure_line_is_reported_whole_when_it_arrives_in_pieces() -> None:
    # Seen in CI: the marker arrived, the rest of its line a moment later.
    w = _watcher()
    steps = _feed(w, MENU + f"{FAILED}: no disc labelled X\r\n".encode(), 3)
    assert [done for _, done in steps].count(True) == 1
    assert w.result.failure == ("the installer's initramfs failed: "
                                "EXPAND-DEMO: FAILED: no disc labelled X")


def test_failure_line_that_never_ends_is_reported_after_a_grace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import iso.boottest

    w = _watcher()
    console = MENU + f"{FAILED}: no disc lab".encode()
    assert w.step(console) == (b"", False)  # waiting for the rest of the line
    monkeypatch.setattr(iso.boottest, "FAILURE_LINE_GRACE_S", 0.0)
    assert w.step(console) == (b"", True)
    assert (w.result.failure or "").endswith("FAILED: no disc lab")


def test_menu_missing_an_entry_is_reported() -> None:
    w = _watcher()
    _feed(w, MENU.replace(b"Memory test", b"Memtest"), 4096)
    assert w.result.menu_missing == ["Memory test"]
    assert not w.menu_done


def test_keys_wait_until_the_menu_is_fully_drawn() -> None:
    w = _watcher(b"\r")
    partial = MENU.split(b"\x1b[6;10H")[0]
    assert w.step(partial) == (b"", False)  # entries shown, countdown not yet
    assert w.menu_done and not w.keys_sent
    assert w.step(MENU) == (b"\r", False)
    assert "Automatic boot in 60 seconds" in w.result.menu_screen
