"""Just enough of a VT100 to turn a boot loader's serial output into screen text.

isolinux's vesamenu and GRUB draw their menus with cursor moves; read as a byte stream
the entries come out interleaved with escape codes. ``Screen`` replays the stream on a
character grid, so tests match whole lines and people see the menu as it looked.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(rb"\x1b(\[[0-9;:?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78DEHMc])")
# DEC special graphics, used by vesamenu's serial frame after ESC ( 0
_DEC = {"l": "+", "k": "+", "m": "+", "j": "+", "q": "-", "x": "|", "t": "+", "u": "+",
        "n": "+", "w": "+", "v": "+"}
# GRUB frames menus with code page 437 box characters, bytes >= 0xB3.
_CP437 = {0xDA: "+", 0xBF: "+", 0xC0: "+", 0xD9: "+", 0xC4: "-", 0xB3: "|", 0xC3: "+",
          0xB4: "+", 0xC2: "+", 0xC1: "+", 0xC5: "+"}


def plain(data: bytes) -> str:
    """The text with every escape sequence removed (for markers, not layout)."""
    return _ESCAPE.sub(b"", data).decode("utf-8", errors="replace")


def _number(text: str, default: int) -> int:
    # GRUB's terminfo writes 10 as ':' (one char past '9'); read digits by value.
    if not text:
        return default
    value = 0
    for char in text:
        value = value * 10 + (ord(char) - 48)
    return value


class Screen:
    def __init__(self, rows: int = 40, cols: int = 132) -> None:
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.row = self.col = 0
        self.graphics = False
        self.pending = b""

    def feed(self, data: bytes) -> None:
        data, self.pending = self.pending + data, b""
        pos = 0
        while pos < len(data):
            byte = data[pos]
            if byte == 0x1B:
                match = _ESCAPE.match(data, pos)
                if match:
                    self._escape(match.group(1).decode("latin-1"))
                    pos = match.end()
                    continue
                if len(data) - pos < 16:  # cut in the middle: wait for the rest
                    self.pending = data[pos:]
                    return
            elif byte in (0x0E, 0x0F):  # shift out / in: the line-drawing set
                self.graphics = byte == 0x0E
            elif byte in _CP437:
                self._char(_CP437[byte])
            else:
                self._char(chr(byte))
            pos += 1

    def _escape(self, seq: str) -> None:
        if seq in ("(0", ")0"):
            self.graphics = True
        elif seq in ("(B", ")B"):
            self.graphics = False
        elif seq == "c":
            self.clear()
        elif seq.startswith("["):
            params, final = seq[1:-1].lstrip("?"), seq[-1]
            args = params.split(";") if params else []
            if final in "Hf":
                self.row = _number(args[0], 1) - 1 if args else 0
                self.col = _number(args[1], 1) - 1 if len(args) > 1 else 0
            elif final == "J" and args[:1] == ["2"]:
                self.clear()
            elif final == "K":
                for c in range(self.col, self.cols):
                    self._put(self.row, c, " ")

    def _char(self, char: str) -> None:
        if char == "\r":
            self.col = 0
        elif char == "\n":
            self.row += 1
            if self.row >= self.rows:
                self.grid = [*self.grid[1:], [" "] * self.cols]
                self.row = self.rows - 1
        elif char == "\b":
            self.col = max(self.col - 1, 0)
        elif char >= " ":
            self._put(self.row, self.col, _DEC.get(char, char) if self.graphics else char)
            self.col += 1

    def _put(self, row: int, col: int, char: str) -> None:
        if 0 <= row < self.rows and 0 <= col < self.cols:
            self.grid[row][col] = char

    def clear(self) -> None:
        self.grid = [[" "] * self.cols for _ in range(self.rows)]
        self.row = self.col = 0

    def text(self) -> str:
        lines = ["".join(r).rstrip() for r in self.grid]
        while lines and not lines[-1]:
            lines.pop()
        return "\n".join(lines)
