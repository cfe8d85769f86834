"""Who may do what: permissions by Slack user or user group, allowed channels, protected users.

Everything here is decided from the operator's config; Slack is only asked which members a user
group has (through the injected ``group_members``), and IAM is not asked at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.access.ttl import TtlCache
from bot.config import Config
from bot.iam.models import User

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Denied(Exception):
    """The requester may not do this. ``reason`` is shown to them as is."""

    reason: str

    def __str__(self) -> str:
        return self.reason


class Rules:
    def __init__(
        self,
        config: Config,
        group_members: Callable[[str], frozenset[str]],
        *,
        group_ttl_s: float = 300.0,
    ) -> None:
        self.config = config
        self._groups = TtlCache(group_members, group_ttl_s)

    def allowed(self, user_id: str, permission: str) -> bool:
        for principal in self.config.principals(permission):
            if principal in ("*", user_id):
                return True
            if principal.startswith("S") and self._in_group(user_id, principal):
                return True
        return False

    def _in_group(self, user_id: str, group_id: str) -> bool:
        try:
            return user_id in self._groups.get(group_id)
        except Exception:
            # A group Slack cannot resolve grants nothing; the operator sees why in the log.
            log.warning("could not resolve Slack user group %s", group_id, exc_info=True)
            return False

    def require(self, user_id: str, permission: str) -> None:
        if not self.allowed(user_id, permission):
            raise Denied(f"You need the `{permission}` permission for that.")

    def require_channel(self, channel_id: str) -> None:
        if self.config.channels and channel_id not in self.config.channels:
            allowed = ", ".join(f"<#{c}>" for c in self.config.channels)
            raise Denied(f"/iam works only in {allowed}.")

    def is_protected(self, user: User) -> bool:
        for entry in self.config.protected_users:
            if entry.startswith("tag:"):
                key, _, value = entry[4:].partition("=")
                if key in user.tags and (not value or user.tags[key] == value):
                    return True
            elif entry == user.name:
                return True
        return False

    def require_unprotected(self, user: User) -> None:
        if self.is_protected(user):
            raise Denied(f"`{user.name}` is a protected user: no /iam command changes it.")
