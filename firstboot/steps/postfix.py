"""Postfix as a relay to the customer's smarthost (voicemail and fax-to-email), with SASL.

main.cf is edited as text through the FileSink, live and in an alternate root alike (the
dry run writes what production writes; only the runner differs: it records the postmap and
restart instead of running them). The password lives only in sasl_passwd (0600) and its
.db map.
"""

from __future__ import annotations

from appliance import validators
from appliance.answers import Answers
from appliance.errors import ExpandError
from firstboot.actions import Action, EnableUnit, RemoveFile, RunCommand, WriteFile
from firstboot.steps.base import Context, PlannedStep, StepPlan

MAIN_CF = "/etc/postfix/main.cf"
SASL_PASSWD = "/etc/postfix/sasl_passwd"
SASL_MAP = f"hash:{SASL_PASSWD}"


def sasl_passwd_line(answers: Answers) -> str:
    """``[host]:port user:password``: postmap splits at the first blank, the SASL client at
    the first colon, so the account is checked again here (never echoing the password)."""
    smtp = answers.smtp
    for key, check, value in (("smtp.username", validators.email_user, smtp.username),
                              ("smtp.password", validators.sasl_secret, smtp.password)):
        checked, problem = check(value)
        if problem or checked != value:
            raise ExpandError(f"{key}: {problem or 'has blanks around it'}: "
                              f"not written to {SASL_PASSWD}")
    return f"{answers.smtp.relayhost} {smtp.username}:{smtp.password}\n"


def settings(answers: Answers) -> list[tuple[str, str]]:
    smtp = answers.smtp
    domain = answers.network.pbx_domain or "localdomain"
    login = bool(smtp.username)
    out = [
        ("myhostname", f"{answers.hostname}.{domain}"),
        ("relayhost", answers.smtp.relayhost),
        # The PBX is the only sender: never accept mail from the network.
        ("inet_interfaces", "loopback-only"),
        # A password is never sent in clear: with a login, TLS is required.
        ("smtp_tls_security_level", "encrypt" if login else "may"),
        ("smtp_tls_wrappermode", "yes" if smtp.port == 465 else "no"),
        ("smtp_sasl_auth_enable", "yes" if login else "no"),
    ]
    if login:
        out += [("smtp_sasl_password_maps", SASL_MAP),
                ("smtp_sasl_security_options", "noanonymous"),
                ("smtp_sasl_tls_security_options", "noanonymous")]
    return out


def edit_main_cf(current: str | None, wanted: list[tuple[str, str]]) -> str:
    """main.cf with each wanted parameter set once (replacing its logical line) or appended."""
    values = dict(wanted)
    done: set[str] = set()
    out: list[str] = []
    skipping = False
    for line in (current or "").splitlines():
        if skipping and line[:1] in (" ", "\t") and line.strip():
            continue  # continuation of a replaced parameter
        skipping = False
        name = line.split("=", 1)[0].strip() if "=" in line and line[:1] not in "# \t" else ""
        if name in values:
            skipping = True
            if name not in done:
                out.append(f"{name} = {values[name]}")
                done.add(name)
            continue
        out.append(line)
    missing = [(n, v) for n, v in wanted if n not in done]
    if missing:
        if out and out[-1].strip():
            out.append("")
        out.append("# eXpand smarthost relay (expandctl firstboot)")
        out += [f"{n} = {v}" for n, v in missing]
    return "\n".join(out) + "\n"


class PostfixStep(PlannedStep):
    name = "postfix"
    title = "Configuring mail relay (postfix)"
    secret_inputs = True  # sasl_passwd holds the password: re-applied on every run

    def plan(self, ctx: Context) -> StepPlan:
        a = ctx.answers
        wanted = settings(a)
        actions: list[Action] = []
        if a.smtp.username:
            actions += [WriteFile(SASL_PASSWD, sasl_passwd_line(a), mode=0o600, secret=True),
                        RunCommand(("postmap", SASL_MAP))]
        else:
            actions += [RemoveFile(SASL_PASSWD), RemoveFile(SASL_PASSWD + ".db")]
        actions += [WriteFile(MAIN_CF, edit_main_cf(ctx.sink.read_text(MAIN_CF), wanted)),
                    EnableUnit("postfix.service"),
                    RunCommand(("systemctl", "restart", "postfix.service"))]
        login = f" as {a.smtp.username}" if a.smtp.username else " without login"
        warnings: tuple[str, ...] = ()
        # PLAIN/LOGIN come in a separate package.
        plugins = (p for g in ctx.platform.sasl_plugin_globs for p in ctx.root.glob(g))
        if ctx.live and a.smtp.username and next(plugins, None) is None:
            warnings = (f"the SASL PLAIN mechanism is not installed: postfix cannot log in to "
                        f"the smarthost until {ctx.platform.postfix_sasl_package} is installed",)
        return StepPlan(tuple(actions), f"relay via {a.smtp.relayhost}{login}", warnings)
