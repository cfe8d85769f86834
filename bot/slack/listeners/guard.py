"""What every listener gets, and the checks they all share, in one place.

A listener's work runs after the ack (a Bolt lazy listener) inside :func:`guarded`: the
``channels`` rule and the permission the input needs are checked there, for slash commands and
buttons alike, and any failure becomes a short answer to whoever typed or clicked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack

from bot.logs import finish
from bot.ops.context import Ops
from bot.slack.decisions import Decisions
from bot.slack.messages.common import Reply
from bot.slack.notifier import SlackNotifier
from bot.slack.replies import REFUSALS, answer_failure

Tell = Callable[[Reply], None]
Work = Callable[["Context", dict[str, Any], Tell], None]


@dataclass(frozen=True)
class Context:
    ops: Ops
    notifier: SlackNotifier
    decisions: Decisions


def ack_only(ack: Ack) -> None:
    ack()


def user_of(body: dict[str, Any]) -> str:
    return body.get("user_id") or body["user"]["id"]


def channel_of(body: dict[str, Any]) -> str:
    """Where a slash command was typed or a button pressed ("" for a modal)."""
    return body.get("channel_id") or (body.get("channel") or {}).get("id", "")


def guarded(
    context: Context,
    work: Work,
    permission: Callable[[dict[str, Any]], str | None] = lambda _: None,
    applies: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> Callable[[dict[str, Any]], None]:
    """A lazy listener running ``work`` once the channel rule and ``permission(body)`` (None:
    the work checks who may act itself, as approvals do) allow it; nothing at all for input
    the ack already answered (``applies`` false)."""
    rules = context.ops.services.rules

    def lazy(body: dict[str, Any]) -> None:
        if not applies(body):
            return

        def tell(reply: Reply) -> None:
            context.notifier.reply(body["response_url"], reply)

        try:
            rules.require_channel(channel_of(body))
            if needed := permission(body):
                rules.require(user_of(body), needed)
            work(context, body, tell)
        except Exception as exc:
            answer_failure(exc, tell)
            finish("refused" if isinstance(exc, REFUSALS) else "failed")
        else:
            finish("ok")

    return lazy
