"""Distribution differences in one place, decided from /etc/os-release."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ExpandError
from appliance.readers import ReadError, read_text


@dataclass(frozen=True)
class Platform:
    family: str            # "rhel" or "debian"
    id: str
    version: str
    network_backend: str   # "networkmanager" or "networkd"
    firewall: str          # "firewalld" or "nftables"
    postfix_sasl_package: str

    @property
    def is_rhel(self) -> bool:
        return self.family == "rhel"


RHEL = ("rhel", "rocky", "almalinux", "centos", "fedora")


def parse_os_release(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            fields[key.strip()] = value.strip().strip('"').strip("'")
    return fields


def detect(root: Path = Path("/")) -> Platform:
    path = root / "etc/os-release"
    if not path.exists():
        path = root / "usr/lib/os-release"
    try:
        info = parse_os_release(read_text(path, what="os-release"))
    except ReadError as exc:
        if not exc.missing:
            raise
        raise ExpandError(f"{path}: not found; cannot tell which distribution this is") from exc
    ids = [info.get("ID", ""), *info.get("ID_LIKE", "").split()]
    version = info.get("VERSION_ID", "")
    if any(i in RHEL for i in ids):
        return Platform("rhel", info.get("ID", ""), version, "networkmanager", "firewalld",
                        "cyrus-sasl-plain")
    if "debian" in ids:
        return Platform("debian", info.get("ID", ""), version, "networkd", "nftables",
                        "libsasl2-modules")
    raise ExpandError(f"{path}: unsupported distribution {info.get('ID', '?')!r}; "
                      "eXpand runs on Rocky/Alma Linux 9 and Debian 12/13")
