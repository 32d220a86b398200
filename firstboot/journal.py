"""The apply journal: which steps are done, for which answers, so a cut run resumes.

Keyed by a hash of the non-secret answers (plus platform and NICs): changed answers start a
fresh journal, so every step runs again. It never holds a secret, nor a hash of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, replace

from appliance.answers import Answers
from appliance.answers_toml import dump_answers
from appliance.errors import ExpandError
from appliance.filesink import FileSink
from appliance.readers import ReadError, load_json, show_path, shown
from firstboot.paths import JOURNAL

log = logging.getLogger("expand.firstboot")
VERSION = 1


@dataclass(frozen=True)
class Journal:
    key: str
    done: tuple[str, ...] = ()
    complete: bool = False

    def with_done(self, name: str) -> Journal:
        return self if name in self.done else replace(self, done=(*self.done, name))

    def to_json(self) -> str:
        return json.dumps({"version": VERSION, "key": self.key, "done": list(self.done),
                           "complete": self.complete}, indent=2) + "\n"


def journal_key(answers: Answers, *extra: str) -> str:
    text = dump_answers(answers, include_secrets=False) + "\n".join(extra)
    return hashlib.sha256(text.encode()).hexdigest()


def load_journal(sink: FileSink, *, strict: bool = False) -> Journal | None:
    """The journal, or None when there is none. A torn or foreign one also gives None (the
    steps run again: they are idempotent) with a warning; ``strict`` raises ExpandError
    naming the file instead (``firstboot status`` reports it)."""
    path = sink.target(JOURNAL)
    try:
        data = load_json(path, what="journal")
        if not isinstance(data, dict) or data.get("version") != VERSION:
            found = data.get("version") if isinstance(data, dict) else None
            raise ReadError(show_path(path), f"version {shown(found)} is not {VERSION}")
        if not isinstance(data["done"], list):
            raise ReadError(show_path(path), "done: expected a list of step names")
        done = tuple(str(n) for n in data["done"])
        return Journal(str(data["key"]), done, bool(data.get("complete", False)))
    except ReadError as exc:
        if exc.missing:
            return None
        problem: ExpandError = exc
    except KeyError as exc:
        problem = ReadError(show_path(path), f"{exc.args[0]}: missing")
    if strict:
        raise problem
    log.warning("%s unreadable (%s): starting over", JOURNAL, problem)
    return None


def save_journal(sink: FileSink, journal: Journal) -> None:
    sink.write(JOURNAL, journal.to_json(), mode=0o600)
