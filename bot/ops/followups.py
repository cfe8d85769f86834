"""What people can do next from an answer or a request's outcome, and on which key.

A workflow offers follow-ups by kind (:class:`FollowUp`) with a :class:`KeyRef` or a scheduled
step's ID as their subject; the chat layer draws them as buttons and routes each click back by
its kind. One encoding for what a button carries, written and read in one place; each kind
needs the permission of the operation that declares it (:mod:`bot.ops.registry`): the chat
layer shows a button only to people who hold it (:meth:`Viewer.pressable`) and checks it again
on the click.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.access.rules import Rules


class Carries(enum.Enum):
    """What a follow-up's value names, which says where its click acts: the account of the
    key, or of the request the job or request ID leads to."""

    KEY = "a key (KeyRef.encode)"
    STEP = "a scheduled step's job ID"
    REQUEST = "a request's ID"


class FollowUp(enum.StrEnum):
    """The value is what the chat layer uses to route a click (a Slack action_id)."""

    DEACTIVATE_NOW = "follow-up:deactivate"
    ROTATE_NOW = "follow-up:rotate"
    DELETE_KEY = "follow-up:delete-key"
    DEACTIVATE_ANYWAY = "rotation:deactivate-anyway"
    EXTEND = "rotation:extend"
    REVOKE_GRANT = "grant:revoke"
    EXTEND_GRANT = "grant:extend"
    CONTAIN = "follow-up:contain"
    UNCONTAIN = "contain:undo"
    UNQUARANTINE = "follow-up:unquarantine"

    @property
    def carries(self) -> Carries:
        return _CARRIES[self]

    @property
    def permissions(self) -> tuple[str, ...]:
        """What pressing it needs (any one of them), in the account it acts in: the
        permissions of the operation it opens or steers, as that operation declares them
        (read from the registry when asked: the workflows declaring them import this)."""
        from bot.ops.registry import BUTTONS

        return BUTTONS[self]


_CARRIES = {
    FollowUp.DEACTIVATE_NOW: Carries.KEY,
    FollowUp.ROTATE_NOW: Carries.KEY,
    FollowUp.DELETE_KEY: Carries.KEY,
    FollowUp.DEACTIVATE_ANYWAY: Carries.STEP,  # the held retire step
    FollowUp.EXTEND: Carries.STEP,  # the held retire step
    FollowUp.REVOKE_GRANT: Carries.REQUEST,  # the grant
    FollowUp.EXTEND_GRANT: Carries.REQUEST,  # the grant
    FollowUp.CONTAIN: Carries.KEY,
    FollowUp.UNCONTAIN: Carries.REQUEST,  # the containment
    FollowUp.UNQUARANTINE: Carries.KEY,  # the leaked key, naming its user
}
if unsaid := set(FollowUp) - set(_CARRIES):  # a new kind must say what it carries
    raise TypeError(f"follow-ups that do not say what they carry: {sorted(unsaid)}")


@dataclass(frozen=True)
class KeyRef:
    """An access key, the IAM user it belongs to, and their account ("": the only one); and
    why acting on it was offered, when the offer knows (an audit's finding), so the request
    it opens says that rather than "no reason given"."""

    user: str
    key_id: str
    account: str = ""
    reason: str = ""

    def encode(self) -> str:
        key = " ".join(filter(None, (self.user, self.key_id, self.account)))
        return f"{key}\n{self.reason}" if self.reason else key

    @classmethod
    def decode(cls, value: str) -> KeyRef:
        key, _, reason = value.partition("\n")
        user, key_id, account = (*key.split(), "")[:3]
        return cls(user, key_id, account, reason)


class Tone(enum.StrEnum):
    """How a follow-up is drawn among others: DANGER takes access away, PRIMARY is the step
    most people want next, PLAIN is neither. The chat layer picks the look."""

    DANGER = "danger"
    PRIMARY = "primary"
    PLAIN = "plain"


# Records stored before offers spoke plain words named the kind and tone by Slack's names
# (the button's action_id and style, None for plain): read, never written.
_OLD_KIND, _OLD_TONE = "action_id", "style"


@dataclass(frozen=True)
class Offer:
    """A follow-up as a request's outcome keeps it; the chat layer shows it (a button)."""

    label: str
    kind: FollowUp
    value: str
    tone: Tone = Tone.PLAIN

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "kind": self.kind.value,
            "value": self.value,
            "tone": self.tone.value,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Offer:
        kind = d["kind"] if "kind" in d else d[_OLD_KIND]
        tone = d["tone"] if "tone" in d else d.get(_OLD_TONE) or Tone.PLAIN
        return cls(d["label"], FollowUp(kind), d["value"], Tone(tone))


def offer(label: str, kind: FollowUp, subject: KeyRef | str, tone: Tone = Tone.PLAIN) -> Offer:
    """A follow-up on a key (a :class:`KeyRef`) or on a scheduled step (its job ID)."""
    value = subject.encode() if isinstance(subject, KeyRef) else subject
    return Offer(label, kind, value, tone)


@dataclass(frozen=True)
class Viewer:
    """Who reads a reply with buttons: a person (``user``), shown only those they may press,
    since a button its clicker would only be refused on is a dead end; or ("") a channel's
    readers, some of whom may press any of them."""

    rules: Rules
    user: str = ""

    def pressable(self, offers: Iterable[Offer], account: str = "") -> list[Offer]:
        """The ``offers`` this viewer may press in ``account``."""
        allowed = self.rules.allowed_any
        return [
            o
            for o in offers
            if not self.user or allowed(self.user, o.kind.permissions, account=account)
        ]

    def protects(self, name: str) -> bool:
        """Whether ``name`` is a protected user, whom no button changes: by name (a listing
        has no tags at hand)."""
        return self.rules.name_is_protected(name)
