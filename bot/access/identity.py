"""Which IAM user a Slack user is, for ``me``, @mentions and offboarding a person: one rule.

An IAM user is linked to a Slack user by the Slack user ID in a tag (``identity.tag``); failing
that, by an e-mail tag equal to the Slack profile's e-mail; failing that, by being named like
the e-mail's local part and carrying neither tag ("found by name only"). A user tagged with
another Slack user's ID is that person's, never linked to someone else by e-mail or name.
Every command asks the same :meth:`IdentityMap.links` (``me`` and mentions take the strongest
link), so no command can find a person's user that another misses. All IAM users and their
tags come from one paged call, cached briefly.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from bot.access.ttl import TtlCache
from bot.iam import sessions, users
from bot.iam.aws import Aws
from bot.iam.models import User
from bot.operator_rules import Identity

_REFRESH_ON_MISS_S = 10.0


class How(enum.StrEnum):
    """How an IAM user was linked to a person, strongest first."""

    TAG = "identity tag"
    EMAIL = "e-mail tag"
    NAME = "name only"


@dataclass(frozen=True)
class Link:
    """An IAM user linked to a person, and how."""

    user: str
    how: How


@dataclass  # not frozen: raising sets __traceback__ (a context manager re-raises it)
class NotLinked(Exception):
    """No IAM user could be matched to the Slack user ``slack_user_id``; ``tried`` says what
    was looked for. The chat layer words it, naming the person its own way."""

    slack_user_id: str
    tried: str

    def __str__(self) -> str:
        return (
            f"No IAM user is linked to Slack user {self.slack_user_id} (looked for {self.tried})."
        )


class IdentityMap:
    def __init__(
        self,
        aws: Aws,
        identity: Identity,
        slack_email: Callable[[str], str | None],
        *,
        slack_name: Callable[[str], str | None] = lambda _: None,
        slack_user_by_email: Callable[[str], str | None] = lambda _: None,
        ttl_s: float = 300.0,
    ) -> None:
        self._identity = identity
        self._email = slack_email
        self._name = slack_name
        self._by_email = slack_user_by_email
        self._index = TtlCache(lambda _: users.users_with_tags(aws), ttl_s)

    def email_of(self, slack_user_id: str) -> str | None:
        """The e-mail of a Slack user's profile, as the chat layer gives it."""
        return self._email(slack_user_id)

    def name_of(self, slack_user_id: str) -> str | None:
        """The name a Slack user goes by (their profile's display name), for plain text."""
        return self._name(slack_user_id)

    def _everyone(self, max_age: float | None) -> list[User]:
        """The users of the account the current work acts in (each account has its own)."""
        account = sessions.current_account()
        return self._index.get(account.id if account else None, max_age_s=max_age)

    def iam_user_for(self, slack_user_id: str) -> str:
        """The IAM user linked to a Slack user most strongly (see :meth:`links`)."""
        return self.links(slack_user_id, strongest=True)[0].user

    def links(self, slack_user_id: str, *, strongest: bool = False) -> list[Link]:
        """Every IAM user of the current account linked to a Slack user, strongest first
        (``strongest``: only the first, asking Slack for the e-mail only if no tag links one);
        :class:`NotLinked` if none is."""
        email: list[str | None] = []

        def email_once() -> str | None:
            if not email:
                email.append(self._email(slack_user_id))
            return email[0]

        # The cached index first; on a miss, once more with one at most a few seconds old, for a
        # user tagged or created since it was cached.
        for max_age in (None, _REFRESH_ON_MISS_S):
            found = self._matches(self._everyone(max_age), slack_user_id, email_once)
            if strongest:
                found = iter([first] if (first := next(found, None)) else [])
            if linked := list(found):
                return linked
        tried = f"tag {self._identity.tag}={slack_user_id}"
        if address := email_once():
            tried += f", tag {self._identity.email_tag}={address}"
            tried += f", or a user named {address.partition('@')[0]}"
        raise NotLinked(slack_user_id, tried)

    def _matches(
        self, everyone: list[User], slack_user_id: str, email: Callable[[], str | None]
    ) -> Iterator[Link]:
        """The links, by the identity tag, then the e-mail tag, then the name: the e-mail is
        asked of Slack only when the tags gave nothing yet or more are wanted."""
        tag = self._identity.tag
        yield from (Link(u.name, How.TAG) for u in everyone if u.tags.get(tag) == slack_user_id)
        address = email()
        if not address:
            return
        untagged = [u for u in everyone if tag not in u.tags]  # another person's, if tagged
        email_tag = self._identity.email_tag
        by_email = [u for u in untagged if u.tags.get(email_tag, "").lower() == address.lower()]
        yield from (Link(u.name, How.EMAIL) for u in by_email)
        local = address.partition("@")[0].casefold()
        yield from (Link(u.name, How.NAME) for u in everyone if self._by_name_only(u, local))

    def _by_name_only(self, user: User, local: str) -> bool:
        """Whether ``user`` is linked by its name to the e-mail whose local part is ``local``:
        it carries neither tag (either would say whose it is) and has that name."""
        tags = (self._identity.tag, self._identity.email_tag)
        return user.name.casefold() == local and not any(t in user.tags for t in tags)

    def named_by(self, iam_user: str) -> bool:
        """Whether an IAM user can be linked by its name only (it carries neither tag): then
        whoever's e-mail is named like it is its person (:meth:`named_like`)."""
        local = iam_user.casefold()
        return any(self._by_name_only(u, local) for u in self._everyone(None))

    def named_like(self, slack_user_id: str, iam_user: str) -> bool:
        """Whether the e-mail of a Slack user is named like ``iam_user`` (asked of Slack)."""
        email = self._email(slack_user_id) or ""
        return bool(email) and email.partition("@")[0].casefold() == iam_user.casefold()

    def person_of(self, iam_user: str) -> str | None:
        """The Slack user an IAM user is linked to, read the other way: its identity tag, else
        the workspace member with the e-mail of its e-mail tag. A link by name only cannot be
        read back (a name does not say which e-mail domain it stands for): see
        :meth:`named_like`."""
        if tagged := self.slack_user_for(iam_user):
            return tagged
        email_tag = self._identity.email_tag
        for user in self._everyone(None):
            if user.name.casefold() == iam_user.casefold() and (email := user.tags.get(email_tag)):
                return self._by_email(email)
        return None

    def slack_user_for(self, iam_user: str) -> str | None:
        """The Slack user an IAM user is tagged with, if any (for DMs about their own keys,
        and the subject of a request about it)."""
        for max_age in (None, _REFRESH_ON_MISS_S):
            for user in self._everyone(max_age):
                if user.name.casefold() == iam_user.casefold() and self._identity.tag in user.tags:
                    return user.tags[self._identity.tag]
        return None
