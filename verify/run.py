"""Run the checks (``checks_*.py``) in a pytest subprocess and read back one row per check.

pytest runs with testinfra's plugin and ours (``verify.plugin``), from an empty folder with
its own ini file, so no conftest or setting of the calling tree leaks in; results come from
its JUnit XML (stdlib parser), never from its terminal text.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import ReadError, read_text
from appliance.runner import Runner

CHECKS_DIR = Path(__file__).resolve().parent
OK, FAILED, SKIPPED = "ok", "failed", "skipped"
WHOLE_RUN = "cluster"  # the host column of a check that judges all hosts at once
MAX_REPORT_BYTES = 8 * 1024 * 1024
WHY_CHARS = 300
# How ssh itself says it could not get in (testinfra raises with ssh's stderr inside).
SSH_FAILURES = ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED",
                "No ED25519 host key is known", "Permission denied", "Connection refused",
                "Connection timed out", "Could not resolve hostname", "No route to host",
                "Connection closed", "kex_exchange_identification")


@dataclass(frozen=True)
class CheckResult:
    check: str
    host: str
    status: str   # ok, failed or skipped
    why: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def check_modules() -> list[Path]:
    return sorted(CHECKS_DIR.glob("checks_*.py"))


def pinned_ssh_config(known_hosts: Path, identity: Path | None = None,
                      extra: str = "") -> str:
    """An ssh_config that trusts only ``known_hosts`` (never adds to it, never asks)."""
    lines = [extra.rstrip("\n")] if extra else []
    lines += ["Host *", "  StrictHostKeyChecking yes", f"  UserKnownHostsFile {known_hosts}",
              "  GlobalKnownHostsFile none", "  UpdateHostKeys no", "  BatchMode yes",
              "  ConnectTimeout 10", "  ServerAliveInterval 5", "  ServerAliveCountMax 3"]
    if identity is not None:
        lines += [f"  IdentityFile {identity}", "  IdentitiesOnly yes"]
    return "\n".join(lines) + "\n"


def pytest_argv(hosts: Sequence[str], workdir: Path, *, ssh_config: Path | None,
                root: str, cluster: bool) -> list[str]:
    (workdir / "pytest.ini").write_text("[pytest]\n")
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "verify.plugin",
            "-p", "no:cacheprovider", "-c", str(workdir / "pytest.ini"),
            "--rootdir", str(workdir), f"--junitxml={workdir / 'results.xml'}",
            "-o", "junit_family=xunit1",
            f"--hosts={','.join(hosts)}", f"--expand-root={root}"]
    if ssh_config is not None:
        argv.append(f"--ssh-config={ssh_config}")
    if cluster:
        argv.append("--expand-cluster")
    return argv + [str(p) for p in check_modules()]


def run_checks(hosts: Sequence[str], workdir: Path, *, ssh_config: Path | None = None,
               root: str = "/", cluster: bool = False, timeout: float = 600,
               runner: Runner | None = None) -> list[CheckResult]:
    """Every check on every host; raises ExpandError only when the checks could not run."""
    try:
        import testinfra  # noqa: F401
    except ImportError:
        raise ExpandError("expandctl verify needs pytest-testinfra: "
                          "pip install 'expand-appliance[verify]'") from None
    runner = runner or Runner()
    argv = pytest_argv(hosts, workdir, ssh_config=ssh_config, root=root, cluster=cluster)
    result = runner.run(argv, check=False, cwd=workdir, timeout=timeout)
    report = workdir / "results.xml"
    if result.returncode not in (0, 1) or not report.exists():
        tail = (result.stdout + result.stderr).strip().splitlines()[-3:]
        raise ExpandError(f"the checks did not run (pytest exit {result.returncode}): "
                          + " | ".join(tail))
    try:
        return parse_junit(read_text(report, what="check results",
                                     max_bytes=MAX_REPORT_BYTES))
    except ReadError as exc:
        raise ExpandError(str(exc)) from exc


def parse_junit(text: str) -> list[CheckResult]:
    try:
        tree = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ExpandError(f"check results: not JUnit XML: {exc}") from exc
    rows = []
    for case in tree.iter("testcase"):
        name = case.get("name", "?")
        check, _, host = name.partition("[")
        host = host.rstrip("]") or WHOLE_RUN
        status, why = OK, ""
        for child in case:
            if child.tag in ("failure", "error"):
                status, why = FAILED, reason(child.get("message", ""), child.text or "")
            elif child.tag == "skipped":
                status, why = SKIPPED, reason(child.get("message", ""), "")
        rows.append(CheckResult(check.removeprefix("test_"), host, status, why))
    return rows


def reason(message: str, details: str) -> str:
    """The one line a person needs from pytest's failure text."""
    for failure in SSH_FAILURES:
        if failure in message or failure in details:
            return f"ssh: {failure} (host unreachable or not trusted)"
    first = message.strip().splitlines()[0] if message.strip() else ""
    first = re.sub(r"^(AssertionError|Failed|Skipped): ", "", first)
    if first.startswith("skip") or not first:
        first = first or (details.strip().splitlines() or [""])[-1]
    return first[:WHY_CHARS]


def summary(rows: Sequence[CheckResult]) -> dict[str, int]:
    counts = {OK: 0, FAILED: 0, SKIPPED: 0}
    for row in rows:
        counts[row.status] += 1
    return counts
