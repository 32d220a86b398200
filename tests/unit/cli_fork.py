"""Many CLI runs at the cost of one interpreter start: the CLI is imported once and each
case is a forked child with its own stdin/stdout/stderr, working folder and exit code.

An uncaught exception is printed the way the interpreter prints it, so a traceback cannot
hide. Used by the bad-input corpora (answers, state files, site files).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.unit.firstboot_support import REPO

DRIVER = r"""
import json, os, sys
from appliance.cli import build_parser, main
build_parser()  # imports every command module once, before the forks
codes = []
for case in json.loads(sys.stdin.read()):
    pid = os.fork()
    if pid == 0:
        os.chdir(case["cwd"])
        for fd, (path, flags) in enumerate([(case["stdin"], os.O_RDONLY),
                                            (case["stdout"], os.O_WRONLY | os.O_CREAT),
                                            (case["stderr"], os.O_WRONLY | os.O_CREAT)]):
            os.dup2(os.open(path, flags, 0o600), fd)
        sys.stdin = open(0, closefd=False)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", closefd=False)
        if case["drop_root"]:  # a mode-0 file stops only a user who is not root
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
        try:
            code = main(case["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            sys.excepthook(*sys.exc_info())
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
print(json.dumps(codes))
"""


@dataclass(frozen=True)
class ForkCase:
    argv: list[str]
    cwd: Path
    stdin: Path | None = None   # default: /dev/null
    drop_root: bool = False


@dataclass(frozen=True)
class ForkResult:
    returncode: int
    stdout: bytes
    stderr: bytes


def cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def run_forked(cases: list[ForkCase], io_dir: Path) -> list[ForkResult]:
    """Run every case; its output files go to ``io_dir`` (keep it outside watched trees)."""
    specs = [{"argv": c.argv, "cwd": str(c.cwd), "stdin": str(c.stdin or os.devnull),
              "stdout": str(io_dir / f"{n}.out"), "stderr": str(io_dir / f"{n}.err"),
              "drop_root": c.drop_root} for n, c in enumerate(cases)]
    driver = subprocess.run([sys.executable, "-c", DRIVER], input=json.dumps(specs),
                            capture_output=True, text=True, env=cli_env(), timeout=300,
                            check=True)
    codes = json.loads(driver.stdout)
    return [ForkResult(code, (io_dir / f"{n}.out").read_bytes(),
                       (io_dir / f"{n}.err").read_bytes())
            for n, code in enumerate(codes)]


def tree_state(root: Path) -> str:
    """Every entry below root: kind, mode, size, content digest or link target."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = Path(folder, name)
            st = path.lstat()
            line = f"{path.relative_to(root)} {st.st_mode:o} {st.st_size}"
            if stat.S_ISLNK(st.st_mode):
                line += " -> " + os.readlink(path)
            elif stat.S_ISREG(st.st_mode) and st.st_mode & 0o444:
                line += " " + hashlib.sha256(path.read_bytes()).hexdigest()
            digest.update(line.encode() + b"\n")
    return digest.hexdigest()
