"""A successful ``pbx apply`` keeps the upgrade backup current (the site file is part of it);
a dry run does not touch it. The box is the overlay of the Asterisk root that
test_pbx_apply_live.py uses (its ``overlay`` fixture: no Asterisk running, the release goes
live on disk after the throwaway proof)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from appliance import backup
from appliance.filesink import FileSink
from appliance.runner import RecordingRunner
from tests.integration.test_pbx_apply_live import Box, overlay  # noqa: F401 (the fixture)


def kept_site(root: Path, site: Path) -> str:
    return (root / backup.CURRENT.lstrip("/") / backup.FILES / str(site).lstrip("/")).read_text()


def test_pbx_apply_refreshes_the_backup_and_a_dry_run_does_not(
        overlay: Box, tmp_path: Path) -> None:  # noqa: F811
    root = overlay.root
    site = tmp_path / "site.toml"  # the answers name a file of the box: here and in the box
    shutil.copy(overlay.sites["base"], site)
    in_box = root / str(site).lstrip("/")
    in_box.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(site, in_box)
    (root / "etc/expand").mkdir(parents=True, exist_ok=True)
    (root / "etc/expand/answers.toml").write_text(f'[pbx]\nsite = "{site}"\n')
    backup.refresh(FileSink(root), RecordingRunner(), live=False)  # as its first boot left it
    first = os.readlink(root / backup.CURRENT.lstrip("/"))
    assert kept_site(root, site) == site.read_text()
    # The administrator edits the site on the box, then applies it.
    for copy in (site, in_box):
        copy.write_text(overlay.sites["changed"].read_text())
    overlay.sites["mine"] = site
    code, report, err = overlay.apply("mine", "--dry-run")
    assert code == 0, (report, err)
    assert os.readlink(root / backup.CURRENT.lstrip("/")) == first
    code, report, err = overlay.apply("mine")
    assert code == 0, (report, err)
    assert os.readlink(root / backup.CURRENT.lstrip("/")) != first
    assert kept_site(root, site) == overlay.sites["changed"].read_text()
    assert "not refreshed" not in err
