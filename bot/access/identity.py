"""Which IAM user a Slack user is, for ``me`` and @mentions.

IAM users carry the Slack user ID in a tag (``identity.tag``); failing that, an e-mail tag equal
to the Slack profile's e-mail; failing that, an IAM user named like the e-mail's local part.
All IAM users and their tags come from one paged call, cached briefly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.access.ttl import TtlCache
from bot.config import Identity
from bot.iam import sessions, users
from bot.iam.aws import Aws
from bot.iam.models import User

_REFRESH_ON_MISS_S = 10.0


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
        ttl_s: float = 300.0,
    ) -> None:
        self._identity = identity
        self._email = slack_email
        self._index = TtlCache(lambda _: users.users_with_tags(aws), ttl_s)

    def email_of(self, slack_user_id: str) -> str | None:
        """The e-mail of a Slack user's profile, as the chat layer gives it."""
        return self._email(slack_user_id)

    def _everyone(self, max_age: float | None) -> list[User]:
        """The users of the account the current work acts in (each account has its own)."""
        account = sessions.current_account()
        return self._index.get(account.id if account else None, max_age_s=max_age)

    def iam_user_for(self, slack_user_id: str, *, by_name: bool = True) -> str:
        """The IAM user linked to a Slack user: by the identity tag, then the e-mail tag, then
        (``by_name``) a user named like the e-mail's local part."""
        email: str | None = None
        # The cached index first; on a miss, once more with one at most a few seconds old, for a
        # user tagged or created since it was cached.
        for max_age in (None, _REFRESH_ON_MISS_S):
            everyone = self._everyone(max_age)
            for user in everyone:
                if user.tags.get(self._identity.tag) == slack_user_id:
                    return user.name
            email = email or self._email(slack_user_id)
            if email and (found := self._by_email(everyone, email, by_name)):
                return found
        tried = f"tag {self._identity.tag}={slack_user_id}"
        if email:
            tried += f", tag {self._identity.email_tag}={email}"
            tried += f", or a user named {email.partition('@')[0]}" if by_name else ""
        raise NotLinked(slack_user_id, tried)

    def slack_user_for(self, iam_user: str) -> str | None:
        """The Slack user an IAM user is tagged with, if any (for DMs about their own keys)."""
        for max_age in (None, _REFRESH_ON_MISS_S):
            for user in self._everyone(max_age):
                if user.name == iam_user and self._identity.tag in user.tags:
                    return user.tags[self._identity.tag]
        return None

    def _by_email(self, everyone: list[User], email: str, by_name: bool) -> str | None:
        for user in everyone:
            if user.tags.get(self._identity.email_tag, "").lower() == email.lower():
                return user.name
        local = email.partition("@")[0]
        return local if by_name and any(user.name == local for user in everyone) else None
