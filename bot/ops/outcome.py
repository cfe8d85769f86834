"""What a request's run left in its outcome, read back typed.

Runs write their facts into ``request.outcome`` as they go (``Approvals.note`` merges keyword
facts and appends lines; ``Approvals.finish`` adds the summary and the run's statistics); the
message, ``/iam history`` and the later steps of a workflow read them through :class:`Outcome`.
The stored keys are those of the records written before this type existed.

A note is a :class:`Note`: its kind and plain words, never chat markup; the chat layer marks
and links it. Notes stored before they were typed are lines already in Slack's words, shown as
they were (:attr:`NoteKind.OLD`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.access.approvals import Request
from bot.ops.followups import Offer


class NoteKind(enum.StrEnum):
    """What a note tells, which the chat layer marks (an emoji, in Slack)."""

    SECRET = "secret"  # a secret was delivered (a key, a password): where it is read
    DONE = "done"  # a later step did what it was set to
    REFUSED = "refused"  # a later step did not act: the rules no longer let it
    FAILED = "failed"  # a later step failed
    HELD = "held"  # a later step waits on a person
    WARNING = "warning"  # something was left as it was and needs someone's hand
    LATER = "later"  # a later step was moved later
    DELETED = "deleted"  # a key was deleted, or its deletion asked for
    KEPT = "kept"  # something was kept out of a change on purpose
    INFO = "info"  # where to look next: nothing to mark
    OLD = "old"  # stored before notes were typed: a line already in Slack's words


# Where a note's words name its person and its moment, each written as the reader's medium
# writes them (see :meth:`Note.words`).
WHO, AT = "{who}", "{at}"


@dataclass(frozen=True)
class Note:
    """A line a run adds to its request's story, in plain words. ``who`` (a chat user ID) and
    ``at`` stand where the words say :data:`WHO` and :data:`AT`; ``secret_arn``: a secret it
    delivered, which the chat layer links after the words (to where it is read, never the
    secret); ``said``: what a person typed, which the chat layer shows below, made inert."""

    kind: NoteKind
    text: str
    secret_arn: str = ""
    said: str = ""
    who: str = ""
    at: datetime | None = None

    def words(self, person: Callable[[str], str], when: Callable[[datetime], str]) -> str:
        """The text, its person and moment written by ``person`` and ``when`` (in Slack a
        mention and a time in each reader's zone; in a log an ID and an ISO time)."""
        text = self.text.replace(WHO, person(self.who)) if self.who else self.text
        return text.replace(AT, when(self.at)) if self.at else text

    def to_dict(self) -> dict[str, str]:
        at = self.at.isoformat() if self.at else ""
        given = {"secret_arn": self.secret_arn, "said": self.said, "who": self.who, "at": at}
        return {"kind": self.kind.value, "text": self.text} | {k: v for k, v in given.items() if v}

    @classmethod
    def from_dict(cls, d: dict[str, str] | str) -> Note:
        if isinstance(d, str):
            return cls(NoteKind.OLD, d)
        at = datetime.fromisoformat(d["at"]) if d.get("at") else None
        return cls(
            NoteKind(d["kind"]),
            d["text"],
            d.get("secret_arn", ""),
            d.get("said", ""),
            d.get("who", ""),
            at,
        )


@dataclass(frozen=True)
class Outcome:
    summary: str = ""  # how the run ended, for people
    progress: str = ""  # while running: how far it got
    notes: tuple[Note, ...] = ()  # lines added to the message, in order
    offers: tuple[Offer, ...] = ()  # follow-ups the finished request offers
    # what a finished run still waits on (a rotation's old key, still live): said instead of
    # "Done" while it lasts, and "" once nothing is left to happen
    waiting: str = ""
    waiting_until: datetime | None = None  # when what it waits on is due: where it says {at}
    new_key: str = ""  # rotation and onboarding: the access key they made
    new_key_created: datetime | None = None  # rotation: when IAM made it
    secret_arn: str = ""  # rotation: the secret holding the new key
    key_secret_arn: str = ""  # onboarding: the secret holding the new user's key
    password_secret_arn: str = ""  # onboarding and enable: the console password's secret
    console_url: str = ""  # onboarding: where the new user signs in

    def waits_on(self, when: Callable[[datetime], str]) -> str:
        """What a finished run still waits on, its due moment written by ``when``."""
        until = self.waiting_until
        return self.waiting.replace(AT, when(until)) if until else self.waiting

    @classmethod
    def of(cls, request: Request) -> Outcome:
        return cls.from_dict(request.outcome)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        created, until = d.get("new_key_created"), d.get("waiting_until")
        return cls(
            summary=d.get("summary", ""),
            progress=d.get("progress", ""),
            notes=tuple(Note.from_dict(n) for n in d.get("notes", ())),
            offers=tuple(Offer.from_dict(b) for b in d.get("buttons") or ()),
            waiting=d.get("waiting", ""),
            waiting_until=datetime.fromisoformat(until) if until else None,
            new_key=d.get("new_key", ""),
            new_key_created=datetime.fromisoformat(created) if created else None,
            secret_arn=d.get("secret_arn", ""),
            key_secret_arn=d.get("key_secret_arn", ""),
            password_secret_arn=d.get("password_secret_arn", ""),
            console_url=d.get("console_url", ""),
        )


def offering(*offers: Offer) -> dict[str, Any]:
    """The outcome fact that shows ``offers`` as the request's buttons; none removes them."""
    return {"buttons": [o.to_dict() for o in offers]}
