"""What every Slack handler gets: the services it may use and the request it is answering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.access.approvals import Approvals
from bot.access.identity import IdentityMap
from bot.access.rules import Rules
from bot.access.store import Store
from bot.config import Config
from bot.iam.aws import Aws

if TYPE_CHECKING:
    from bot.slack.requests import RequestFlow


@dataclass(frozen=True)
class Services:
    """Long-lived collaborators, built once at startup and shared by every request."""

    config: Config
    aws: Aws
    rules: Rules
    identity: IdentityMap
    store: Store
    approvals: Approvals
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Request:
    """One slash command, as a handler sees it after the ack."""

    user_id: str
    channel_id: str
    args: tuple[str, ...]
    respond: Callable[..., Any]
    client: Any
    flow: RequestFlow
