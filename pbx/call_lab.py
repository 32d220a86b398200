"""A site's rendered configuration on a throwaway Asterisk, ready for sipp calls.

Shared by the call tests, bench/pbx.py and ``make demo``: the site (a parsed TOML table) is
rendered into a folder of the Asterisk root's /tmp with generated prompts (mono 8 kHz
16-bit WAVs, as the seed asks), a manager.conf with a generated secret is added, extra
dialplan lines may be appended (test numbers that fix TESTTIME), the folder is handed to
the Asterisk user, and ``pbx.throwaway.booted`` keeps an Asterisk up on it while AMI
collects its events. Everything is removed afterwards, on every path.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ExpandError
from appliance.runner import Runner
from pbx import ami, sipp
from pbx.audio import write_quiet
from pbx.model import Site
from pbx.render import render, write
from pbx.secrets_store import Secrets, complete
from pbx.site import parse_site
from pbx.throwaway import AsteriskPlace, Instance, booted

PROMPTS = ("msjBienvenida", "msjBienvenidaNocturno", "msjDejeMsj", "msjOpcionInvalida",
           "msjEntradaCola", "msjSalidaCola", "msjMenuFAX", "msjInternoNC",
           "msjInternoOpcionNC", "msjInternoInvalido", "msjInternoOcupado",
           "msjInternoOpcionOcupado")




def testtime_numbers(numbers: Mapping[str, str], ivr: str, timezone: str) -> str:
    """Dialplan lines adding to expand-internal one number per moment ("2026/12/02
    10:00:00"): the call enters ``ivr`` as if it were then (GotoIfTime honours TESTTIME)."""
    lines = ["", "[expand-internal](+)"]
    for number, when in numbers.items():
        lines += [f"exten => {number},1,Set(TESTTIME()={when} {timezone})",
                  f" same => n,Goto(expand-ivr-{ivr},s,1)"]
    return "\n".join(lines) + "\n"


@dataclass
class CallLab:
    instance: Instance
    events: ami.Ami
    secrets: Mapping[str, str]  # SIP secrets by extension

    @property
    def sip(self) -> tuple[str, int]:
        return self.instance.address("pjsip", "transport-udp")

    def as_(self, extension: str) -> sipp.Credentials:
        return sipp.Credentials(extension, self.secrets[extension])

    def call(self, number: str, digits: str = "", *, caller: str, lead_ms: int = 1500,
             hold_ms: int = 4000, sdp_port: str = "[media_port]", calls: int = 1,
             rate: float = 1, limit: int = 0, deadline: float = 40) -> sipp.SippResult:
        """sipp calling ``number`` as extension ``caller``; ``digits`` as RFC 2833 after
        ``lead_ms`` (a space: a pause), the call held ``hold_ms`` (or until hung up)."""
        params = {"lead_ms": lead_ms, "hold_ms": hold_ms, "sdp_port": sdp_port,
                  "dtmf_step": sipp.dtmf_steps(digits)}
        return sipp.run("uac", self.sip, params=params, credentials=self.as_(caller),
                        service=number, calls=calls, rate=rate, limit=limit,
                        deadline=deadline)


@contextlib.contextmanager
def rendered_site(place: AsteriskPlace, data: dict[str, Any], *, dialplan: str = "",
                  edit: Callable[[Path], None] | None = None
                  ) -> Iterator[tuple[Path, Site, Secrets]]:
    """``data`` (a site table; its audio-dir is replaced by quiet prompts in the seed's format)
    rendered into a folder under the place's /tmp: (its etc folder, the site, the secrets).
    ``dialplan`` is appended to extensions.conf; ``edit`` may change the folder."""
    with tempfile.TemporaryDirectory(prefix="expand-calls-", dir=place.host("/tmp")) as tmp:
        work = Path(tmp)
        inside = f"/tmp/{work.name}"
        audio = work / "audio"
        (audio / "moh" / "default").mkdir(parents=True)
        for prompt in PROMPTS:
            write_quiet(audio / f"{prompt}.wav")
        write_quiet(audio / "moh" / "default" / "tone.wav")
        data = {**data, "site": {**data["site"], "audio-dir": f"{inside}/audio"}}
        site, reports = parse_site(data, "site", audio_dir=audio)
        if site is None:
            raise ExpandError("; ".join(f"{r.key}: {r.message}" for r in reports))
        secrets, _ = complete(site, {})
        out = work / "out"
        write(render(site, secrets, bind="127.0.0.1:5060", etc_dir=f"{inside}/etc"), out)
        etc = work / "etc"
        (out / "etc/asterisk").rename(etc)
        if dialplan:
            with (etc / "extensions.conf").open("a") as fh:
                fh.write(dialplan)
        if edit is not None:
            edit(etc)
        # Asterisk reads the PIN file and the prompts where the render said: this folder.
        Runner().run([*place.prefix, "chown", "-R", f"{place.user}:{place.user}", inside],
                     timeout=60)
        yield etc, site, secrets


@contextlib.contextmanager
def booted_site(place: AsteriskPlace, data: dict[str, Any], *, dialplan: str = "",
                edit: Callable[[Path], None] | None = None,
                boot_timeout: float = 60) -> Iterator[CallLab]:
    """``data`` rendered (``rendered_site``) and booted, with AMI connected."""
    with rendered_site(place, data, dialplan=dialplan, edit=edit) as (etc, _, secrets):
        secret = ami.new_secret()
        manager = etc / "manager.conf"
        manager.write_text(ami.manager_conf(ami.USER, secret))
        manager.chmod(0o600)
        with (booted(etc, place=place, boot_timeout=boot_timeout) as instance,
              ami.connected(instance.address("manager"), ami.USER, secret) as events):
            yield CallLab(instance, events, dict(secrets.values["sip"]))
