"""Who may do what: permissions by Slack user or user group, allowed channels, protected users.

Everything here is decided from the operator's config; Slack is only asked which members a user
group has (through the injected ``group_members``), and IAM is not asked at all. When Slack does
not answer that, the answer is neither yes nor no: :class:`SlackUnavailable`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.access.ttl import TtlCache
from bot.iam.models import User
from bot.iam.sessions import Account
from bot.operator_rules import Config

log = logging.getLogger(__name__)


@dataclass  # not frozen: raising sets __traceback__ (a context manager re-raises it)
class Denied(Exception):
    """The requester may not do this. ``reason`` says why in words that name nobody; when the
    channel is why, ``channels`` are the ones /iam works in, for the chat layer to link."""

    reason: str
    channels: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.reason


class SlackUnavailable(Exception):
    """Slack did not answer a question a check needs (its client's own retries spent): not a
    yes and not a no. Whoever asked says so and asks again later (a person in a minute, a run
    on the scheduler's next pass): a check never fails closed into a wrong statement about
    someone's permissions, nor open."""


class Rules:
    def __init__(
        self,
        config: Config,
        group_members: Callable[[str], frozenset[str]],
        *,
        group_ttl_s: float = 300.0,
        self_user: Callable[[], str | None] = lambda: None,
    ) -> None:
        self.config = config
        self._groups = TtlCache(group_members, group_ttl_s)
        # The IAM user the bot itself runs as, if any: always protected, or a command could
        # rotate or deactivate the bot's own key (or offboard it) and lock it out mid-flight.
        # Asked of AWS the first time it matters, then kept (it cannot change while running).
        self._self_user = functools.cache(self_user)

    def allowed(
        self, user_id: str, permission: str, *, fresh: bool = False, account: str = ""
    ) -> bool:
        """Whether ``user_id`` holds ``permission`` (in ``account``, whose own list, if it has
        one, narrows the global one). ``fresh`` asks Slack for group members again instead of
        trusting the cache: for the moment an approval is recorded."""
        lists = [self.config.principals(permission)]
        if (narrowed := self.config.account_principals(permission, account)) is not None:
            lists.append(narrowed)
        return all(self._listed(user_id, principals, fresh) for principals in lists)

    def _listed(self, user_id: str, principals: tuple[str, ...], fresh: bool) -> bool:
        """Listed by ID, by ``*`` or in a group; a group Slack did not answer for only
        matters when nothing else lists the user (then it raises :class:`SlackUnavailable`)."""
        unanswered: SlackUnavailable | None = None
        for principal in principals:
            if principal in ("*", user_id):
                return True
            if not principal.startswith("S"):
                continue
            try:
                if self._in_group(user_id, principal, fresh):
                    return True
            except SlackUnavailable as exc:
                unanswered = unanswered or exc
        if unanswered:
            raise unanswered
        return False

    def _in_group(self, user_id: str, group_id: str, fresh: bool) -> bool:
        try:
            return user_id in self._groups.get(group_id, max_age_s=0 if fresh else None)
        except Exception as exc:
            log.warning("Slack did not list the members of user group %s", group_id, exc_info=True)
            raise SlackUnavailable(
                f"Slack did not answer whether you are in the user group `{group_id}`, so "
                "nothing was decided. Try again in a minute."
            ) from exc

    def allowed_any(
        self, user_id: str, permissions: Iterable[str], *, fresh: bool = False, account: str = ""
    ) -> bool:
        """Whether ``user_id`` holds any one of ``permissions`` (an operation declares every
        permission it may be asked with)."""
        return any(self.allowed(user_id, p, fresh=fresh, account=account) for p in permissions)

    def require(
        self, user_id: str, permission: str | tuple[str, ...], account: Account | None = None
    ) -> None:
        """Refused unless ``user_id`` holds ``permission`` (or one of them), in ``account``,
        named in the refusal as people call it, with its ID."""
        wanted = (permission,) if isinstance(permission, str) else permission
        if not self.allowed_any(user_id, wanted, account=account.id if account else ""):
            where = f" in account {account.label}" if account else ""
            named = " or ".join(f"`{p}`" for p in wanted)
            raise Denied(f"You need the {named} permission{where} for that.")

    def require_channel(self, channel_id: str) -> None:
        if self.config.channels and channel_id not in self.config.channels:
            allowed = self.config.channels
            raise Denied(f"/iam works only in {', '.join(allowed)}.", channels=allowed)

    def is_protected(self, user: User) -> bool:
        return self.name_is_protected(user.name, user.tags)

    def name_is_protected(self, name: str, tags: Mapping[str, str] | None = None) -> bool:
        """IAM tells user names apart without regard to case, so this does too; tag keys and
        values likewise (``protected=True`` protects as ``protected=true`` does). Without tags
        (a user still to be created), by name only."""
        name = name.casefold()
        if name == (self._self_user() or "").casefold():
            return True
        tags = {k.casefold(): v.casefold() for k, v in (tags or {}).items()}
        for entry in self.config.protected_users:
            if entry.startswith("tag:"):
                key, _, value = entry[4:].casefold().partition("=")
                if key in tags and (not value or tags[key] == value):
                    return True
            elif entry.casefold() == name:
                return True
        return False
