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
from appliance.filesink import FileSink
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


def load_journal(sink: FileSink) -> Journal | None:
    text = sink.read_text(JOURNAL)
    if text is None:
        return None
    try:
        data = json.loads(text)
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')!r}")
        done = tuple(str(n) for n in data["done"])
        return Journal(str(data["key"]), done, bool(data.get("complete", False)))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # A torn or foreign journal only means the steps run again (they are idempotent).
        log.warning("%s unreadable (%s): starting over", JOURNAL, exc)
        return None


def save_journal(sink: FileSink, journal: Journal) -> None:
    sink.write(JOURNAL, journal.to_json(), mode=0o600)
