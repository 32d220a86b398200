"""``make demo``'s PBX proof and call: the ACME render proven on a throwaway Asterisk (no
warning about our files, the model's counts), then one sipp call into the ACME IVR, routed by
the schedule value of the current time (the unstable root's Asterisk; lab.asterisk_root).

The site is examples/site/acme.toml with its IVR given the internal number 500 (the seed's
IVR is reached from the trunks); extension 772 calls it, hears the welcome, hangs up. AMI
says which schedule value the IVR took and which menu it entered. Needs root.
    .venv/bin/python bench/pbx_demo_call.py
Exit 0 when the proof passed and the call was answered and the menu reached, 1 otherwise.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tomllib  # noqa: E402

from appliance.errors import ExpandError  # noqa: E402
from lab.asterisk_root import ensure_asterisk_root  # noqa: E402
from pbx import ami  # noqa: E402
from pbx.apply_plan import expect_of  # noqa: E402
from pbx.call_lab import booted_site, rendered_site  # noqa: E402
from pbx.chroot import chroot_prefix  # noqa: E402
from pbx.render import expected  # noqa: E402
from pbx.throwaway import AsteriskPlace, prove  # noqa: E402

ACME = REPO / "examples" / "site" / "acme.toml"
IVR_NUMBER = "500"


def main() -> int:
    data = tomllib.loads(ACME.read_text())
    data["ivr"]["acme"]["number"] = IVR_NUMBER
    zone = data["schedules"]["atencion"]["timezone"]
    root = ensure_asterisk_root()
    place = AsteriskPlace(chroot_prefix(root), root)
    try:
        # The site's prompts and music are quiet stand-ins here (the customer's are not).
        with rendered_site(place, data) as (etc, site, _):
            proof = prove(etc, expect_of(expected(site)), place=place)
        print(proof.summary())
        for problem in proof.problems:
            print(f"  {problem}")
        if not proof.ok:
            return 1
        with booted_site(place, data) as lab:
            now = datetime.now(ZoneInfo(zone))
            result = lab.call(IVR_NUMBER, caller="772", lead_ms=0, hold_ms=2500)
            value = lab.events.wait_for(ami.user_event("ExpandSchedule"), timeout=5)[0]
            menu = lab.events.wait_for(ami.user_event("ExpandMenu"), timeout=5)[0]
    except ExpandError as error:
        print(f"pbx demo call: {error}", file=sys.stderr)
        return 1
    print(f"{result.summary()}")
    print(f"now {now:%a %H:%M} {zone}: ExpandSchedule value={value.get('value')} "
          f"-> menu {menu.get('menu')}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
