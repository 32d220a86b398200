"""Saved answers always read back: whatever validates is dumped (tomli-w) and loads equal.

Free text is drawn from all of Unicode (outside the BMP too, where hand-made JSON escapes
once wrote surrogate pairs that tomllib refuses); each strategy keeps to what its check
allows, so that every example is an answers file the first boot could have saved.
"""

from __future__ import annotations

import dataclasses
import tomllib
import zoneinfo
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from appliance import validators as v
from appliance.answers import Answers, parse_answers
from appliance.answers_toml import dump_answers
from tests.unit.test_core_answers import base

# Any character a TOML string may carry: no surrogates (not text), no controls (refused).
CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Cf"))
LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
DOMAIN = st.lists(LABEL, min_size=1, max_size=3).map(".".join)
ZONES = sorted(zoneinfo.available_timezones())


def _stripped(text: str) -> str:
    return text.strip()


def free_text(max_size: int, banned: str = "") -> st.SearchStrategy[str]:
    return st.text(CHARS.filter(lambda c: c not in banned), min_size=1, max_size=max_size
                   ).map(_stripped).filter(bool)


SMTP_USER = st.tuples(free_text(20, banned=":@").filter(lambda s: not any(c.isspace() for c in s)),
                      DOMAIN.filter(lambda d: "." in d)).map("@".join)
PASSWORD = st.text(CHARS, min_size=1, max_size=30).filter(lambda s: s == s.rstrip())
VM_NAME = free_text(v.VM_NAME_MAX, banned="\"'\\")
DEVICE = st.from_regex(r"/dev/(disk/by-id/)?[A-Za-z0-9_:+@-][A-Za-z0-9._:+@-]{0,30}",
                       fullmatch=True)


@st.composite
def valid_answers(draw: st.DrawFn) -> dict[str, Any]:
    data = base()
    data["timezone"] = draw(st.sampled_from(ZONES).filter(lambda z: v.timezone(z)[1] is None))
    first, second = draw(st.lists(LABEL, min_size=2, max_size=2, unique=True))
    data["nodes"] = {"primary-hostname": first, "secondary-hostname": second}
    data["network"]["pbx-domain"] = draw(st.one_of(st.just(""), DOMAIN))
    data["smtp"].update(draw(st.one_of(
        st.just({}), st.fixed_dictionaries({"username": SMTP_USER, "password": PASSWORD}))))
    mode = draw(st.sampled_from(["none", "ipmi", "vmware", "sbd"]))
    fencing: dict[str, Any] = {"mode": mode}
    if mode == "ipmi":
        target = st.one_of(DOMAIN, st.sampled_from(["198.51.100.201", "198.51.100.202"]))
        fencing.update({"primary-target": draw(target), "secondary-target": draw(target),
                        "username": draw(free_text(30)), "password": draw(PASSWORD)})
    elif mode == "vmware":
        fencing.update({"primary-target": draw(VM_NAME), "secondary-target": draw(VM_NAME),
                        "host": draw(DOMAIN), "username": draw(free_text(30)),
                        "password": draw(PASSWORD)})
    elif mode == "sbd":
        disk = draw(DEVICE)
        fencing.update({"primary-target": disk, "secondary-target": disk})
    data["fencing"] = fencing
    storage = draw(st.sampled_from(["none", "san", "drbd"]))
    data["storage"] = {"mode": storage} if storage == "none" else {"mode": storage,
                                                                   "device": draw(DEVICE)}
    return data


def _validated(data: dict[str, Any]) -> Answers:
    answers, reports = parse_answers(data, "generated")
    assume(answers is not None)  # a rare clash the cross-checks refuse (host = target...)
    assert answers is not None, reports
    return answers


def _without_secrets(answers: Answers) -> Answers:
    return dataclasses.replace(
        answers, smtp=dataclasses.replace(answers.smtp, password=""),
        fencing=dataclasses.replace(answers.fencing, password=""))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_answers(), st.lists(st.text(max_size=30), max_size=3))
def test_validated_answers_dump_and_read_back_equal(data: dict[str, Any],
                                                    header: list[str]) -> None:
    answers = _validated(data)
    full = dump_answers(answers, include_secrets=True, header=header)
    assert parse_answers(tomllib.loads(full), "full") == (answers, [])
    saved = dump_answers(answers, header=header)  # what /etc/expand/answers.toml holds
    again, reports = parse_answers(tomllib.loads(saved), "saved", secrets_left_out=True)
    assert reports == [] and again == _without_secrets(answers)
    tables = tomllib.loads(saved)
    assert "password" not in tables["smtp"] and "password" not in tables["fencing"]


def test_a_name_outside_the_bmp_reads_back() -> None:
    data = base()
    data["smtp"].update({"username": "centralita\U0001f4de@example.com",
                         "password": "p\U0001f511"})
    answers, reports = parse_answers(data, "t.toml")
    assert answers is not None, reports
    text = dump_answers(answers, header=["from a \U0001f4be file\nnamed\rbadly\x00"])
    assert "centralita\U0001f4de@example.com" in text  # UTF-8, no \\ud83d escapes
    assert text.startswith("# from a \U0001f4be file\n# named\n# badly?\n")
    assert parse_answers(tomllib.loads(text), "saved", secrets_left_out=True)[0] \
        == _without_secrets(answers)
