"""The tiny VT100 that turns boot loader serial output into screen text."""

from __future__ import annotations

from iso.screen import Screen, plain


def test_cursor_moves_place_text() -> None:
    s = Screen(rows=5, cols=20)
    s.feed(b"\x1b[2J\x1b[2;3Hhello\x1b[1;1Htop")
    assert s.text() == "top\n  hello"


def test_grub_writes_ten_as_colon() -> None:
    s = Screen(rows=12, cols=20)
    s.feed(b"\x1b[:;02Hx")  # row 10, column 2
    assert s.text().splitlines()[9] == " x"


def test_line_drawing_sets_are_shown_as_ascii() -> None:
    s = Screen(rows=2, cols=10)
    s.feed(b"\x1b)0\x0elqk\x0f ok\r\n\xb3\xc4\xb3")
    assert s.text() == "+-+ ok\n|-|"


def test_an_escape_cut_between_reads_is_completed() -> None:
    s = Screen(rows=3, cols=10)
    s.feed(b"ab\x1b[3")
    s.feed(b";2Hc")
    assert s.text() == "ab\n\n c"


def test_plain_drops_escapes() -> None:
    assert plain(b"\x1b[0;1;36;44mWelcome\x1b[0m to \x1b(Bit") == "Welcome to it"
