"""extensions.conf from the site: internal calls, IVR menus, schedules, queues, routes, fax.

Every decision a call takes sends a ``UserEvent`` (AMI ``UserEvent`` with ``UserEvent:
Expand...``), so a test follows the path, not just "answered":

=====================  ==========================================================
ExpandIvr              an IVR entry point was reached (ivr)
ExpandSchedule         the schedule value taken (schedule, value, ivr)
ExpandMenu             a menu was entered (menu)
ExpandIvrChoice        a key or extension number was taken (menu, digits, target)
ExpandIvrInvalid       a key with no option (menu, digits, tries)
ExpandIvrTimeout       nothing pressed (menu, target)
ExpandExtensionInvalid a dialled number that is no extension (menu, digits)
ExpandDialResult       dial by extension ended (menu, extension, status)
ExpandQueueEnter       a queue was entered (queue)
ExpandQueueExit        the queue's max-wait passed (queue, status)
ExpandQueueChoice      a key after the exit prompt (queue, digit, target)
ExpandRoute            an outbound route was taken (route, pin, record)
ExpandPinAccepted      the route's PIN was right (route)
ExpandPinRefused       the caller hung up or failed the PIN (route)
ExpandFax              a fax call reached a department (department, status on hangup)
=====================  ==========================================================

Context names: ``expand-internal`` (phones), ``expand-inbound`` (trunks),
``expand-ivr-NAME``, ``expand-schedule-NAME``, ``expand-menu-NAME`` (and ``-dial``,
``-after``), ``expand-queue-NAME``, ``expand-fax-DEPARTMENT``, ``expand-outbound``.
"""

from __future__ import annotations

from collections.abc import Iterable

from pbx.model import E1Trunk, Ivr, Menu, Queue, Route, Schedule, Site
from pbx.render_values import Values
from pbx.schedule import gotoiftime_range

VOICEMAIL_CONTEXT = "expand"
FAX_SCRIPT = "expand-fax-to-mail"
PIN_FILE = "expand-pins"
# Asterisk's own spool (astspooldir), not a fixed path: see Dialplan.fax.
FAX_SPOOL = "${ASTSPOOLDIR}/fax"


class Dialplan:
    """Builds the text of extensions.conf; ``v`` records values that cannot be carried."""

    def __init__(self, site: Site, v: Values, etc_dir: str) -> None:
        self.site = site
        self.v = v
        self.etc_dir = etc_dir
        self.lines: list[str] = []
        self.e1 = {t.id: t for t in site.e1_trunks}
        self.menus = {m.id: m for m in site.menus}
        audio = site.site.audio_dir
        self.audio = v.dialplan(audio, "site.audio-dir") + "/" if audio else "expand/"
        rec = site.recording
        self.rec_dir = v.dialplan(rec.directory, "recording.directory")

    # --- helpers --------------------------------------------------------------------------
    def context(self, name: str, comment: str = "") -> None:
        self.lines.append("")
        self.lines.append(f"[{name}]" + (f" ; {comment}" if comment else ""))

    def exten(self, ext: str, steps: Iterable[str]) -> None:
        """One extension: the first step is priority 1, the rest ``same => n``; a step
        ``(label)App(...)`` carries a label."""
        for i, step in enumerate(steps):
            label = ""
            if step.startswith("("):
                label, step = step[: step.index(")") + 1], step[step.index(")") + 1:]
            head = f"exten => {ext},1{label}," if i == 0 else f" same => n{label},"
            self.lines.append(head + step)

    def prompt(self, name: str) -> str:
        return self.audio + name

    def record_steps(self, kind: str, fmt_dir: str = "") -> list[str]:
        """MixMonitor once per call (an inbound call already recorded is not recorded twice)."""
        fmt = self.site.recording.format
        path = (f"{self.rec_dir}/{fmt_dir or kind}-${{STRFTIME(${{EPOCH}},,%Y%m%d-%H%M%S)}}"
                f"-${{UNIQUEID}}.{fmt}")
        return [f'GotoIf($["${{EXPAND_REC}}" = "yes"]?rec{kind}done)',
                "Set(__EXPAND_REC=yes)",
                f"MixMonitor({path},b)",
                f"(rec{kind}done)NoOp(recorded: {kind})"]

    def goto(self, target: str, menu: str = "") -> str:
        """The step that sends a call to a site target."""
        if target == "hangup":
            return "Hangup()"
        kind, ref = target.split(":", 1)
        if kind == "extension":
            return (f"Goto(expand-menu-{menu}-dial,{ref},1)" if menu
                    else f"Goto(expand-extensions,{ref},1)")
        return {
            "queue": f"Goto(expand-queue-{ref},s,1)",
            "menu": f"Goto(expand-menu-{ref},s,1)",
            "ivr": f"Goto(expand-ivr-{ref},s,1)",
            "voicemail": f"Goto(expand-voicemail,{ref},1)",
            "fax": f"Goto(expand-fax-{ref},s,1)",
        }[kind]

    # --- the file -------------------------------------------------------------------------
    def render(self) -> str:
        site = self.site
        self.lines = [
            f"; {self.v.comment(site.site.name, 'site.name')}: rendered by expandctl pbx "
            "render from the site file; do not edit (the next render replaces it).",
            "", "[general]", "static = yes", "writeprotect = yes", "clearglobalvars = yes",
            "", "[globals]", f"EXPAND_ETC = {self.v.dialplan(self.etc_dir, '--etc')}"]
        self.internal()
        self.inbound()
        for ivr in site.ivr:
            self.ivr(ivr)
        for sched in site.schedules:
            self.schedule(sched)
        for menu in site.menus:
            self.menu(menu)
        for queue in site.queues:
            self.queue(queue)
        self.voicemail()
        self.fax()
        self.outbound()
        return "\n".join(self.lines) + "\n"

    def internal(self) -> None:
        site = self.site
        self.context("expand-internal", "what the phones dial")
        self.lines += ["include => expand-extensions", "include => expand-numbers",
                       "include => expand-outbound"]
        self.context("expand-extensions", "one per extension")
        for ext in site.extensions:
            vm = "yes" if ext.voicemail else "no"
            self.exten(ext.number, [f"Gosub(expand-ring,s,1({ext.number},{vm}))", "Hangup()"])
        self.context("expand-numbers", "queues, IVRs and the voicemail box")
        for queue in site.queues:
            if queue.number:
                self.exten(queue.number, [self.goto(f"queue:{queue.id}")])
        for ivr in site.ivr:
            if ivr.number:
                self.exten(ivr.number, [self.goto(f"ivr:{ivr.id}")])
        self.exten("*97", ["Answer()",
                           f"VoiceMailMain(${{CALLERID(num)}}@{VOICEMAIL_CONTEXT})", "Hangup()"])
        self.context("expand-ring", "ARG1 extension, ARG2 voicemail yes/no")
        steps = []
        if "internal" in site.recording.calls:
            steps += self.record_steps("internal")
        steps += ["Dial(PJSIP/${ARG1},20)",
                  '(vm)GotoIf($["${ARG2}" != "yes"]?done)',
                  'GotoIf($["${DIALSTATUS}" = "BUSY"]?busy)',
                  f"VoiceMail(${{ARG1}}@{VOICEMAIL_CONTEXT},u)",
                  "(done)Return()",
                  f"(busy)VoiceMail(${{ARG1}}@{VOICEMAIL_CONTEXT},b)",
                  "Return()"]
        self.exten("s", steps)

    def inbound(self) -> None:
        site = self.site
        self.context("expand-inbound", "calls from the trunks")
        entry = next((i for i in site.ivr if i.inbound), None)
        steps = []
        if "inbound" in site.recording.calls:
            steps += self.record_steps("inbound")
        steps.append(self.goto(f"ivr:{entry.id}") if entry else "Hangup(1)")
        self.exten("_[+0-9].", steps)
        self.exten("s", steps)

    def ivr(self, ivr: Ivr) -> None:
        self.context(f"expand-ivr-{ivr.id}", self.v.comment(ivr.name, f"ivr.{ivr.id}.name"))
        steps = ["Answer()", "Set(__EXPAND_VMOPT=u)", f"UserEvent(ExpandIvr,ivr: {ivr.id})"]
        if ivr.schedule:
            steps += [f"Gosub(expand-schedule-{ivr.schedule},s,1)",
                      f"UserEvent(ExpandSchedule,schedule: {ivr.schedule},"
                      f"value: ${{EXPAND_VALUE}},ivr: {ivr.id})"]
            sched = next(s for s in self.site.schedules if s.id == ivr.schedule)
            for value, menu in ivr.menus:
                index = sched.values.index(value)
                steps.append(f'GotoIf($["${{EXPAND_VALUE_INDEX}}" = "{index}"]'
                             f"?expand-menu-{menu},s,1)")
        steps.append(self.goto(f"menu:{ivr.menu}"))
        self.exten("s", steps)

    def schedule(self, sched: Schedule) -> None:
        """Sets EXPAND_VALUE (the value's name) and EXPAND_VALUE_INDEX (its place in
        ``values``); GotoIfTime in the schedule's own zone, so TESTTIME can drive it."""
        key = f"schedules.{sched.id}"
        self.context(f"expand-schedule-{sched.id}",
                     self.v.comment(sched.name, f"{key}.name") + f" ({sched.timezone})")
        tz = self.v.dialplan(sched.timezone, f"{key}.timezone")
        steps = []
        if sched.active:
            for ev in sched.events:
                times, wdays = gotoiftime_range(ev.start, ev.end, ev.days)
                index = sched.values.index(ev.value)
                steps.append(f"GotoIfTime({times},{wdays},*,*,{tz}?v{index})")
        names = [self.v.dialplan(value, f"{key}.values") for value in sched.values]
        default = sched.values.index(sched.default)
        steps += [f"Set(EXPAND_VALUE={names[default]})", f"Set(EXPAND_VALUE_INDEX={default})",
                  "Return()"]
        for index, name in enumerate(names):
            steps += [f"(v{index})Set(EXPAND_VALUE={name})",
                      f"Set(EXPAND_VALUE_INDEX={index})", "Return()"]
        self.exten("s", steps)

    def _dial_patterns(self) -> list[str]:
        """Patterns that catch a dialled extension number: one per length and first digit,
        so a single-key option is not delayed unless an extension starts with its key."""
        shapes = sorted({(len(e.number), e.number[0]) for e in self.site.extensions})
        return [f"_{first}{'X' * (length - 1)}" for length, first in shapes]

    def menu(self, menu: Menu) -> None:
        mid = menu.id
        ctx = f"expand-menu-{mid}"
        self.context(ctx)
        self.exten("s", [f"UserEvent(ExpandMenu,menu: {mid})", "Set(EXPAND_TRIES=0)",
                         "Set(TIMEOUT(digit)=3)",
                         f"(again)Background({self.prompt(menu.prompt)})",
                         f"WaitExten({menu.timeout})"])
        for digit, target in menu.options:
            self.exten(digit, [f"UserEvent(ExpandIvrChoice,menu: {mid},digits: {digit},"
                               f"target: {target})", self.goto(target, mid)])
        if menu.dial_by_extension:
            for pattern in self._dial_patterns():
                self.exten(pattern, [
                    "GotoIf(${DIALPLAN_EXISTS(expand-extensions,${EXTEN},1)}?known)",
                    f"UserEvent(ExpandExtensionInvalid,menu: {mid},digits: ${{EXTEN}})",
                    f"Playback({self.prompt(menu.extension_invalid_prompt)})",
                    "Goto(s,again)",
                    f"(known)UserEvent(ExpandIvrChoice,menu: {mid},digits: ${{EXTEN}},"
                    "target: extension)",
                    f"Goto({ctx}-dial,${{EXTEN}},1)"])
        self.exten("i", [
            "Set(EXPAND_TRIES=$[${EXPAND_TRIES} + 1])",
            f"UserEvent(ExpandIvrInvalid,menu: {mid},digits: ${{INVALID_EXTEN}},"
            "tries: ${EXPAND_TRIES})",
            f"Playback({self.prompt(menu.invalid_prompt)})",
            f"GotoIf($[${{EXPAND_TRIES}} >= {menu.invalid_retries}]?last)",
            "Goto(s,again)",
            f"(last){self.goto(menu.invalid_target, mid)}"])
        timeout = [f"UserEvent(ExpandIvrTimeout,menu: {mid},target: {menu.timeout_target})"]
        if menu.timeout_prompt:
            timeout += [f"Playback({self.prompt(menu.timeout_prompt)})", "Set(EXPAND_VMOPT=s)"]
        self.exten("t", [*timeout, self.goto(menu.timeout_target, mid)])
        if dials_extensions(menu):
            self.dial_context(menu, ctx)

    def dial_context(self, menu: Menu, ctx: str) -> None:
        """Dial by extension: the Dial result picks msjInternoNC / msjInternoOcupado /
        msjInternoInvalido; after NC or busy 1 leaves a message, 0 dials another."""
        mid = menu.id
        self.context(f"{ctx}-dial", "an extension dialled from the menu")
        self.exten("_X.", [
            "Set(EXPAND_DIALLED=${EXTEN})",
            f"Dial(PJSIP/${{EXTEN}},{menu.ring_seconds})",
            f"UserEvent(ExpandDialResult,menu: {mid},extension: ${{EXTEN}},"
            "status: ${DIALSTATUS})",
            'GotoIf($["${DIALSTATUS}" = "BUSY"]?busy)',
            'GotoIf($["${DIALSTATUS}" = "CHANUNAVAIL"]?unavailable)',
            f"Playback({self.prompt(menu.extension_noanswer_prompt)})",
            f"Goto({ctx}-after,s,{'nc' if menu.extension_noanswer_options else 'menu'})",
            f"(busy)Playback({self.prompt(menu.extension_busy_prompt)})",
            f"Goto({ctx}-after,s,{'busy' if menu.extension_busy_options else 'menu'})",
            f"(unavailable)Playback({self.prompt(menu.extension_invalid_prompt)})",
            f"Goto({ctx},s,again)"])
        self.context(f"{ctx}-after", "1 leaves a message, 0 another extension, wait: again")
        steps = ["Set(EXPAND_RETRIED=)"]
        if menu.extension_noanswer_options:
            steps += [f"(nc)Background({self.prompt(menu.extension_noanswer_options)})",
                      "WaitExten(5)"]
        if menu.extension_busy_options:
            steps += [f"(busy)Background({self.prompt(menu.extension_busy_options)})",
                      "WaitExten(5)"]
        steps.append(f"(menu)Goto({ctx},s,again)")
        self.exten("s", steps)
        self.exten("1", [f"UserEvent(ExpandIvrChoice,menu: {mid},digits: 1,"
                         "target: voicemail:${EXPAND_DIALLED})",
                         "Goto(expand-voicemail,${EXPAND_DIALLED},1)"])
        self.exten("0", [f"UserEvent(ExpandIvrChoice,menu: {mid},digits: 0,target: menu:{mid})",
                         f"Goto({ctx},s,again)"])
        self.exten("t", ['GotoIf($["${EXPAND_RETRIED}" = "yes"]?menu)', "Set(EXPAND_RETRIED=yes)",
                         f"Goto({ctx}-dial,${{EXPAND_DIALLED}},1)",
                         f"(menu)Goto({ctx},s,again)"])
        self.exten("i", [f"Goto({ctx},s,again)"])

    def queue(self, queue: Queue) -> None:
        qid = queue.id
        self.context(f"expand-queue-{qid}",
                     self.v.comment(queue.description, f"queues.{qid}.description"))
        steps = ["Answer()", f"UserEvent(ExpandQueueEnter,queue: {qid})"]
        if "queues" in self.site.recording.calls and queue.record:
            steps += self.record_steps(f"queue-{qid}")
        if queue.entry_prompt:
            steps.append(f"Playback({self.prompt(queue.entry_prompt)})")
        wait = str(queue.max_wait) if queue.max_wait else ""
        steps.append(f"(queue)Queue({qid},,,,{wait})")
        if queue.max_wait:
            steps.append(f"UserEvent(ExpandQueueExit,queue: {qid},status: ${{QUEUESTATUS}})")
            if queue.exit_prompt:
                steps += [f"Background({self.prompt(queue.exit_prompt)})", "WaitExten(5)"]
            steps.append("Goto(s,queue)")
        else:
            steps.append("Hangup()")
        self.exten("s", steps)
        for digit, target in queue.exit_options:
            self.exten(digit, [f"UserEvent(ExpandQueueChoice,queue: {qid},digit: {digit},"
                               f"target: {target})", self.goto(target)])
        if queue.exit_options:
            self.exten("t", ["Goto(s,queue)"])
            self.exten("i", ["Goto(s,queue)"])

    def voicemail(self) -> None:
        self.context("expand-voicemail", "leave a message: voicemail:N targets")
        self.exten("_X.", [f"VoiceMail(${{EXTEN}}@{VOICEMAIL_CONTEXT},${{EXPAND_VMOPT}})",
                           "Hangup()"])

    def fax(self) -> None:
        """ReceiveFAX into Asterisk's own spool (astspooldir: the cluster's shared filesystem,
        or a throwaway's private one), then the mailer on hangup. The spool folder is made
        here because no package is sure to ship it (Debian's does not) and ReceiveFAX does
        not create it. Every outcome is logged; a fax not received leaves no file."""
        if not self.site.fax.enabled:
            return
        used = sorted({t.split(":", 1)[1] for t in targets_of(self.site) if t.startswith("fax:")})
        deps = {d.id: d for d in self.site.departments}
        script = f"${{EXPAND_ETC}}/{FAX_SCRIPT}"
        for dep_id in used:
            dep = deps[dep_id]
            self.context(f"expand-fax-{dep_id}", self.v.comment(dep.name,
                                                                  f"departments.{dep_id}.name"))
            tif = f"{FAX_SPOOL}/{dep_id}-${{UNIQUEID}}.tif"
            self.exten("s", [f"UserEvent(ExpandFax,department: {dep_id})",
                             f"Set(EXPAND_FAX={tif})",
                             f"System(mkdir -p -m 0750 {FAX_SPOOL})",
                             "Answer()",
                             "ReceiveFAX(${EXPAND_FAX})",
                             "Hangup()"])
            # Only digits of the caller's number reach the shell: it comes from outside.
            caller = "${FILTER(0-9+,${CALLERID(num)})}"
            self.exten("h", [
                f"UserEvent(ExpandFax,department: {dep_id},status: ${{FAXSTATUS}},"
                "pages: ${FAXPAGES})",
                'GotoIf($["${FAXSTATUS}" != "SUCCESS"]?failed)',
                # Quoted: a withheld number is an empty argument, not a missing one.
                f"System({script} {dep_id} ${{EXPAND_FAX}} '{caller}' ${{FAXPAGES}})",
                f"UserEvent(ExpandFaxMail,department: {dep_id},status: ${{SYSTEMSTATUS}})",
                'GotoIf($["${SYSTEMSTATUS}" != "SUCCESS"]?unmailed)',
                f"Log(NOTICE,fax from {caller} for {dep_id} mailed (${{FAXPAGES}} pages))",
                "Goto(done)",
                f"(unmailed)Log(WARNING,fax from {caller} for {dep_id} not mailed "
                "(${SYSTEMSTATUS}): kept as ${EXPAND_FAX})",
                "Goto(done)",
                f"(failed)Log(WARNING,fax from {caller} for {dep_id} not received: "
                "${FAXSTATUS} ${FAXERROR})",
                "System(rm -f ${EXPAND_FAX})",
                "(done)NoOp(fax done)"])

    def outbound(self) -> None:
        self.context("expand-outbound", "routes: patterns, PIN, recording, trunk")
        for route in self.site.routes:
            for pattern in route.patterns:
                self.exten(pattern, self.route_steps(route))
        if any(r.pin for r in self.site.routes):
            self.exten("h", ['GotoIf($["${EXPAND_PIN}" != "asked"]?done)',
                             "UserEvent(ExpandPinRefused,route: ${EXPAND_ROUTE})",
                             "(done)NoOp(call ended)"])

    def route_steps(self, route: Route) -> list[str]:
        rid = route.id
        steps = [f"Set(EXPAND_ROUTE={rid})",
                 f"UserEvent(ExpandRoute,route: {rid},pin: {'yes' if route.pin else 'no'},"
                 f"record: {'yes' if route.record else 'no'})"]
        if route.pin:
            steps += ["Set(EXPAND_PIN=asked)", "Answer()",
                      f"Authenticate(${{EXPAND_ETC}}/{PIN_FILE},,12)",
                      "Set(EXPAND_PIN=accepted)", f"UserEvent(ExpandPinAccepted,route: {rid})"]
        if route.record:
            steps += self.record_steps(f"route-{rid}")
        prepend = self.v.digits(route.prepend, f"routes.{rid}.prepend")
        number = f"{prepend}${{EXTEN:{route.strip}}}" if route.strip else f"{prepend}${{EXTEN}}"
        trunk = self.e1.get(route.trunk)
        steps.append(_dial_e1(trunk, number) if trunk else
                     f"Dial(PJSIP/{number}@trunk-{route.trunk},60)")
        steps.append("Hangup()")
        return steps


def dials_extensions(menu: Menu) -> bool:
    """The menu reaches an extension: it needs its dial-by-extension contexts."""
    targets = [t for _, t in menu.options] + [menu.timeout_target, menu.invalid_target]
    return menu.dial_by_extension or any(t.startswith("extension:") for t in targets)


def _dial_e1(trunk: E1Trunk, number: str) -> str:
    return f"Dial(DAHDI/g{trunk.span}/{number},60)"


def targets_of(site: Site) -> list[str]:
    found = [t for m in site.menus for _, t in m.options]
    found += [t for m in site.menus for t in (m.timeout_target, m.invalid_target)]
    found += [t for q in site.queues for _, t in q.exit_options]
    return found


def render_extensions(site: Site, v: Values, etc_dir: str = "/etc/asterisk") -> str:
    return Dialplan(site, v, etc_dir).render()
