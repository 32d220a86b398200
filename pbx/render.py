"""Site → the Asterisk 22 (and DAHDI) configuration files: pure, byte-identical on a re-render.

``render(site, secrets, ...)`` returns target path → ``Rendered(content, mode)``; nothing is
written here (``write`` puts them under a root through FileSink). Values reach the files only
through ``pbx.render_values.Values``, which escapes or refuses them: a refused value makes
``render`` raise ``ValidationFailed`` naming the site key, and nothing is written.

Layout (target paths; ``--out DIR`` is a root): ``/etc/asterisk/*.conf``, the PIN file
``/etc/asterisk/expand-pins`` (0600), the fax mailer ``/etc/asterisk/expand-fax-to-mail``
(0755) and ``/etc/dahdi/system.conf``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from appliance.filesink import FileSink, Written
from appliance.reports import ValidationFailed
from pbx.model import E1Trunk, Site
from pbx.render_dialplan import (
    FAX_SCRIPT,
    PIN_FILE,
    dials_extensions,
    render_extensions,
    targets_of,
)
from pbx.render_values import Values
from pbx.secrets_store import Secrets

ETC = "/etc/asterisk"
DAHDI_SYSTEM = "/etc/dahdi/system.conf"
DEFAULT_BIND = "0.0.0.0:5060"


@dataclass(frozen=True)
class Rendered:
    content: str
    mode: int = 0o644


def _no_newline(value: Any) -> Any:
    """Last guard of every template value: a newline would start a line we did not write."""
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        raise ValueError("a rendered value holds a newline")  # a renderer bug, not input
    return value


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("pbx", "templates"), autoescape=False,
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
    lstrip_blocks=True, finalize=_no_newline)
_ENV.filters["py"] = lambda value: json.dumps(value, ensure_ascii=False)


def _template(name: str, **values: Any) -> str:
    return _ENV.get_template(name).render(**values)


def b_channels(trunk: E1Trunk) -> tuple[str, str]:
    """DAHDI channel numbers of an E1 span: B channels 1-15,17-31, the D channel 16."""
    base = (trunk.span - 1) * 31
    return f"{base + 1}-{base + 15},{base + 17}-{base + 31}", str(base + 16)


def codecs(site: Site) -> str:
    """A-law first (the E1 side), mu-law; GSM too when recordings are GSM, so a GSM leg is
    recorded without a transcoding step."""
    return "alaw,ulaw,gsm" if site.recording.format in ("gsm", "wav49") else "alaw,ulaw"


def _relay(site: Site, v: Values) -> tuple[str, int]:
    host, _, port = site.fax.relay.rpartition(":")
    if not host:
        host, port = site.fax.relay, "25"
    if not port.isdigit() or not 0 < int(port) < 65536 or not host \
            or any(c.isspace() or c in "\"'\\" for c in host):
        v.refuse("fax.relay", "is not HOST:PORT (localhost:25)")
        return "localhost", 25
    return host, int(port)


def _pjsip(site: Site, v: Values, secrets: Secrets, bind: str) -> str:
    users = {u.id: u for u in site.users}
    extensions = []
    for e in site.extensions:
        key = f"extensions.{e.number}"
        extensions.append({
            "number": e.number, "mailbox": e.voicemail,
            "name": v.callerid_name(e.callerid, f"{key}.callerid"),
            "comment": v.comment(users[e.user].name, f"users.{e.user}.name"),
            "secret": v.conf(secrets.get("sip", e.id), f"{key}.secret"),
        })
    trunks = []
    for t in site.sip_trunks:
        key = f"sip-trunks.{t.id}"
        trunks.append({
            "id": t.id, "host": t.host, "port": t.port, "transport": t.transport,
            "register": t.register, "channels": t.channels, "match": t.match,
            "username": v.conf(t.username, f"{key}.username"),
            "secret": v.conf(t.secret, f"{key}.secret"),
        })
    return _template("pjsip.conf.j2", site_name=v.comment(site.site.name, "site.name"),
                     bind=v.conf(bind, "--bind"), codecs=codecs(site), extensions=extensions,
                     trunks=trunks, tcp=any(t.transport == "tcp" for t in site.sip_trunks))


def _queues(site: Site, v: Values) -> str:
    ext = {e.number: e for e in site.extensions}
    queues = []
    for q in site.queues:
        if q.id == "general":
            v.refuse(f"queues.{q.id}", "'general' is the [general] section of queues.conf: "
                                       "name the queue otherwise")
        members = [{"number": m, "name": v.listed(ext[m].callerid, f"extensions.{m}.callerid",
                                                  "queue member line")}
                   for m in q.members]
        queues.append({"id": q.id, "strategy": q.strategy, "moh": q.music_on_hold,
                       "members": members,
                       "comment": v.comment(q.description or q.id, f"queues.{q.id}")})
    return _template("queues.conf.j2", site_name=v.comment(site.site.name, "site.name"),
                     queues=queues)


def _voicemail(site: Site, v: Values, secrets: Secrets) -> str:
    users = {u.id: u for u in site.users}
    boxes = [{"number": e.number, "password": secrets.get("voicemail", e.id),
              "name": v.listed(users[e.user].name, f"users.{e.user}.name", "mailbox line"),
              "email": v.listed(users[e.user].email, f"users.{e.user}.email", "mailbox line")}
             for e in site.extensions if e.voicemail]
    sender = v.conf(site.site.voicemail_from or "asterisk", "site.voicemail-from")
    return _template("voicemail.conf.j2", site_name=v.comment(site.site.name, "site.name"),
                     sender=sender, timezone=site.site.timezone, boxes=boxes)


def _moh(site: Site, v: Values) -> str:
    """The customer's music (the seed: general and per-queue music on hold) lives in
    AUDIO-DIR/moh/CLASS; without an audio folder, Asterisk's own moh folder and
    /var/lib/asterisk/moh/CLASS."""
    audio = site.site.audio_dir
    base = f"{audio}/moh" if audio else "/var/lib/asterisk/moh"
    default = v.conf(f"{base}/default", "site.audio-dir") if audio else "moh"
    names = sorted({q.music_on_hold for q in site.queues} - {"default"})
    classes = [{"name": n, "directory": v.conf(f"{base}/{n}", "site.audio-dir")}
               for n in names]
    return _template("musiconhold.conf.j2", site_name=v.comment(site.site.name, "site.name"),
                     default=default, classes=classes)


def _fax_script(site: Site, v: Values) -> str:
    used = {t.split(":", 1)[1] for t in targets_of(site) if t.startswith("fax:")}
    host, port = _relay(site, v)
    departments = [{"id": d.id, "email": d.email, "name": d.name}
                   for d in site.departments if d.id in used]
    return _template("fax-to-mail.j2", script=f"{ETC}/{FAX_SCRIPT}", departments=departments,
                     attach=site.fax.attach, relay_host=host, relay_port=port,
                     sender=site.site.voicemail_from)


def _e1(site: Site) -> list[dict[str, Any]]:
    trunks = []
    for t in site.e1_trunks:
        bchan, dchan = b_channels(t)
        trunks.append({"id": t.id, "span": t.span, "signalling": t.signalling,
                       "switchtype": t.switchtype, "timing": t.timing, "lbo": t.lbo,
                       "framing": t.framing, "coding": t.coding, "crc4": t.crc4,
                       "bchan": bchan, "dchan": dchan})
    return trunks


def _pins(site: Site, secrets: Secrets) -> str:
    """Authenticate's password file: one PIN a line (who it belongs to is in the site)."""
    return "".join(f"{secrets.get('pins', p.id)}\n" for p in site.pins)


def render(site: Site, secrets: Secrets, *, source: str = "site", bind: str = DEFAULT_BIND,
           etc_dir: str = ETC) -> dict[str, Rendered]:
    """Every file, by target path. ``bind``: the SIP address:port (the VIP on an appliance);
    ``etc_dir``: where Asterisk reads this configuration (the PIN file and fax mailer are
    reached through it). Raises ValidationFailed when a value cannot be carried."""
    v = Values(source)
    name = v.comment(site.site.name, "site.name")
    e1 = _e1(site)
    files: dict[str, Rendered] = {
        f"{ETC}/pjsip.conf": Rendered(_pjsip(site, v, secrets, bind), 0o640),
        f"{ETC}/extensions.conf": Rendered(render_extensions(site, v, etc_dir)),
        f"{ETC}/queues.conf": Rendered(_queues(site, v)),
        f"{ETC}/voicemail.conf": Rendered(_voicemail(site, v, secrets), 0o640),
        f"{ETC}/musiconhold.conf": Rendered(_moh(site, v)),
        f"{ETC}/modules.conf": Rendered(_template("modules.conf.j2", site_name=name,
                                                  dahdi=bool(e1), fax=site.fax.enabled)),
        f"{ETC}/logger.conf": Rendered(_template("logger.conf.j2", site_name=name)),
        f"{ETC}/pjsip_notify.conf": Rendered(_template("pjsip_notify.conf.j2", site_name=name)),
    }
    if site.fax.enabled:
        files[f"{ETC}/res_fax.conf"] = Rendered(_template(
            "res_fax.conf.j2", site_name=name, attach=site.fax.attach,
            script=f"{etc_dir}/{FAX_SCRIPT}"))
        files[f"{ETC}/{FAX_SCRIPT}"] = Rendered(_fax_script(site, v), 0o755)
    if e1:
        files[f"{ETC}/chan_dahdi.conf"] = Rendered(_template(
            "chan_dahdi.conf.j2", site_name=name, trunks=e1))
        files[DAHDI_SYSTEM] = Rendered(_template("system.conf.j2", site_name=name, trunks=e1))
    if site.pins:
        files[f"{ETC}/{PIN_FILE}"] = Rendered(_pins(site, secrets), 0o600)
    if v.problems:
        raise ValidationFailed(v.problems)
    return dict(sorted(files.items()))


def write(files: Mapping[str, Rendered], root: Path) -> list[Written]:
    """Each file under ``root``, atomically, mode set before it is visible."""
    sink = FileSink(root)
    for path, rendered in files.items():
        sink.write(path, rendered.content, mode=rendered.mode)
    return sink.written


def expected(site: Site) -> dict[str, Any]:
    """What a loaded configuration must show, for the throwaway proof: PJSIP endpoints
    (extensions and SIP trunks), the dialplan contexts, queues with strategy and members."""
    contexts = ["expand-internal", "expand-extensions", "expand-numbers", "expand-ring",
                "expand-inbound", "expand-voicemail", "expand-outbound"]
    contexts += [f"expand-ivr-{i.id}" for i in site.ivr]
    contexts += [f"expand-schedule-{s.id}" for s in site.schedules]
    for m in site.menus:
        contexts.append(f"expand-menu-{m.id}")
        if dials_extensions(m):
            contexts += [f"expand-menu-{m.id}-dial", f"expand-menu-{m.id}-after"]
    contexts += [f"expand-queue-{q.id}" for q in site.queues]
    if site.fax.enabled:
        contexts += sorted({f"expand-fax-{t.split(':', 1)[1]}" for t in targets_of(site)
                            if t.startswith("fax:")})
    return {
        "endpoints": [e.number for e in site.extensions]
                     + [f"trunk-{t.id}" for t in site.sip_trunks],
        "contexts": sorted(contexts),
        "queues": {q.id: {"strategy": q.strategy,
                          "members": [f"PJSIP/{m}" for m in q.members]} for q in site.queues},
    }
