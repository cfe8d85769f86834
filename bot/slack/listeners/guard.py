"""What every listener gets, and the checks they all share, in one place.

A listener's work runs after the ack (a Bolt lazy listener) inside :func:`guarded`: the
``channels`` rule and the permission the input needs are checked there, for slash commands and
buttons alike, and any failure becomes a short answer to whoever typed or clicked. The work's
end writes its one outcome line to the log (:func:`bot.logs.finish`): who, what, in which AWS
account, how it ended (a refusal or failure named by its kind) and how long it took.

A click in the App Home tab has no channel and no response URL: the rule is checked against
the channel of the request its button decides, or, for a button that opens one, the channel
the Home view names for it (see :mod:`bot.slack.messages.home`); its answer comes by DM. The
other inputs pass the same guard, each saying which channel it is judged in and where its
answer goes: a modal's submission the request it decides, opening the Home tab none, a
workflow step the channel it posts in (:mod:`bot.slack.listeners.views`, ``events``,
``functions``).

Slack redelivers what it thinks was not taken (``X-Slack-Retry-Num``: Events API deliveries,
and any request whose ack was slow), possibly to another replica. So before anything else the
work claims its delivery in the shared store, create-if-absent on what identifies it (an
event's ``event_id``; else the ``trigger_id`` with a digest of the body): of two deliveries of
one command or click exactly one claim succeeds, the other was acked and does nothing more.
Claims are removed a day later by the scheduler's tick (:func:`forget_deliveries`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_bolt import Ack, BoltRequest

from bot.access.approvals import Request
from bot.access.store import Record, Store
from bot.logs import acting_in, finish
from bot.ops.context import Ops
from bot.ops.scope import acting
from bot.slack import scope
from bot.slack.decisions import Decisions
from bot.slack.messages import approval as msg
from bot.slack.messages.common import Reply
from bot.slack.notifier import SlackNotifier
from bot.slack.replies import REFUSALS, answer_failure

log = logging.getLogger(__name__)

Tell = Callable[[Reply], None]
Work = Callable[["Context", dict[str, Any], Tell], None]
# Which channel the ``channels`` rule judges an input in (None: it is in none, as opening the
# Home tab is), and where its answers go.
Ruled = Callable[["Context", dict[str, Any]], str | None]
Teller = Callable[["Context", dict[str, Any]], Tell]


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
    """Where a slash command was typed or a button pressed; for a click in the Home tab, where
    its view posts the requests it opens; "" for a modal."""
    return (
        body.get("channel_id")
        or (body.get("channel") or {}).get("id")
        or _home_view(body).get("private_metadata", "")
    )


def _home_view(body: dict[str, Any]) -> dict[str, Any]:
    view = body.get("view") or {}
    return view if view.get("type") == "home" else {}


_REQUEST_BUTTONS = (msg.APPROVE, msg.DENY, msg.CANCEL, msg.RETRY)


def _ruled_channel(context: Context, body: dict[str, Any]) -> str:
    """The channel the ``channels`` rule is checked against: a request decided from the Home
    tab is allowed exactly where deciding it from its own message would be."""
    if _home_view(body) and (request := _decided(context, body)):
        return request.channel
    return channel_of(body)


def _decided(context: Context, body: dict[str, Any]) -> Request | None:
    """The request a click on one of its own buttons decides (the value starts with its ID)."""
    action = (body.get("actions") or [{}])[0]
    if action.get("action_id") not in _REQUEST_BUTTONS:
        return None
    return context.decisions.approvals.get(str(action.get("value", "")).partition(":")[0])


DELIVERY, _CLAIMED = "delivery", "done"
# How long a claim is kept: far past Slack's last retry of an event (minutes after the first
# delivery) and any redelivery of a slow ack; the tick removes older ones.
CLAIM_KEPT = timedelta(days=1)


def first_delivery(store: Store, body: dict[str, Any], request: BoltRequest | None) -> bool:
    """Claim this delivery (create-if-absent on what identifies it); False when a delivery of
    the same command, click or event was claimed before, by this replica or another."""
    delivery = _delivery_id(body)
    if not delivery:
        return True  # nothing to tell deliveries apart by: every one runs
    claim = Record(f"{DELIVERY}/{delivery}", DELIVERY, _CLAIMED, {})
    if store.put_if_version(claim) is not None:
        return True
    headers = request.headers if request else {}
    retry = (headers.get("x-slack-retry-num") or ["?"])[0]
    reason = (headers.get("x-slack-retry-reason") or ["unknown"])[0]
    log.info(
        "delivery %s already taken; Slack's retry %s (%s) not run again", delivery, retry, reason
    )
    return False


def _delivery_id(body: dict[str, Any]) -> str:
    """What one delivery is known by in its team: an event's ``event_id``, which Slack keeps
    across its retries; else the ``trigger_id`` with a digest of the whole body, which a
    redelivery repeats byte for byte, while another request reusing the trigger_id (only a
    holder of the signing secret could send one) differs from it and runs. "" for neither."""
    team = scope.team_of(body)
    if event := body.get("event_id"):
        return f"{team}/{event}"
    if trigger := body.get("trigger_id"):
        digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode())
        return f"{team}/{trigger}/{digest.hexdigest()[:32]}"
    return ""


def forget_deliveries(store: Store, now: datetime) -> None:
    """Remove the claims older than :data:`CLAIM_KEPT` (one of the scheduler's tick hooks)."""
    store.purge(DELIVERY, _CLAIMED, now - CLAIM_KEPT)


def _teller(context: Context, body: dict[str, Any]) -> Tell:
    """Answers go back by the input's response URL; a Home click has none, so by DM."""
    if url := body.get("response_url"):
        return lambda reply: context.notifier.reply(url, reply)
    return lambda reply: context.notifier.dm_reply(user_of(body), reply)


def _account_scope(
    context: Context, body: dict[str, Any], permission: tuple[str, ...]
) -> AbstractContextManager[object]:
    wanted = scope.wanted_account(context.ops, body, _REQUEST_BUTTONS)
    return acting(context.ops, user_of(body), scope.team_of(body), wanted, permission)


def guarded(
    context: Context,
    work: Work,
    permission: Callable[[dict[str, Any]], tuple[str, ...]] = lambda _: (),
    applies: Callable[[dict[str, Any]], bool] = lambda _: True,
    *,
    scoped: Callable[[dict[str, Any]], bool] = lambda _: True,
    channel: Ruled = _ruled_channel,
    answers: Teller = _teller,
) -> Callable[[dict[str, Any]], None]:
    """A lazy listener running ``work`` once the channel rule (judged in ``channel``) and
    ``permission(body)`` (any one of them; none: the work checks who may act itself, as
    approvals do) allow it; nothing at all for input the ack already answered (``applies``
    false). ``work`` runs in the scope of the account the input acts in, unless ``scoped``
    says it looks at every account itself. Its answers, and the failure it ends with, go
    where ``answers`` sends them."""
    rules = context.ops.services.rules

    def lazy(body: dict[str, Any], request: BoltRequest | None = None) -> None:
        if not applies(body):
            return

        tell = answers(context, body)
        try:
            if not first_delivery(context.ops.services.store, body, request):
                return
            context.ops.services.team.learn(scope.team_of(body))
            if (where := channel(context, body)) is not None:
                rules.require_channel(where)
            if needed := permission(body):
                rules.require(user_of(body), needed)
            acts = _account_scope(context, body, needed) if scoped(body) else nullcontext()
            with acts as account, context.notifier.answering(body.get("response_url")):
                acting_in(account.id if account else "")
                work(context, body, tell)
        except Exception as exc:
            failed(exc, tell)
        else:
            finish("ok")

    return lazy


def failed(exc: BaseException, tell: Tell) -> None:
    """Answer a failure to whoever typed, clicked or submitted, and end the input's log line
    with it: refused (by the bot's own rules) or failed, named by its kind. Every listener
    ends this way, so one input never logs its outcome in other words than another."""
    answer_failure(exc, tell)
    finish("refused" if isinstance(exc, REFUSALS) else "failed", type(exc).__name__)
