"""Events API: the App Home tab, published afresh each time someone opens it.

The event is acknowledged at once; the view is gathered and published after (a lazy listener),
showing only what that person may already see through commands: what `/iam pending` lists
for them, and with `keys` their own keys (read as `/iam keys me` reads them: in the default
account, through its role, for them) and the latest requests they could have asked for or
decided. Keys that cannot be read never keep the rest of the view from them.

The event passes the guard a command does (:func:`bot.slack.listeners.guard.guarded`): claimed
once (Slack's retries do nothing), the workspace it names learned, so the keys read for the
viewer are signed with it even when `auth.test` fails; the Home is in no channel, so the
``channels`` rule is judged on what is pressed in it, and there is nobody to answer but the
log.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.access import incidents
from bot.access.identity import NotLinked
from bot.iam import errors, keys
from bot.iam.sessions import Account
from bot.logs import finish
from bot.ops.context import Ops, Services
from bot.ops.pending import latest_for, opened_by, running_grants, waiting_on
from bot.ops.scope import acting
from bot.slack.commands.who import known_in_slack
from bot.slack.listeners.guard import Context, Tell, ack_only, guarded
from bot.slack.messages.home import SHOWN, Home, MyKeys, home_view
from bot.slack.replies import words_for

log = logging.getLogger(__name__)


def opened(context: Context, body: dict[str, Any], tell: Tell) -> None:
    """``app_home_opened`` also comes for the Messages tab, which has nothing to publish."""
    event = body["event"]
    if event.get("tab") != "home":
        return
    finish("ok" if refresh_home(context, event["user"]) else "failed")


def _in_no_channel(context: Context, body: dict[str, Any]) -> None:
    return None


def _to_the_log(context: Context, body: dict[str, Any]) -> Tell:
    """Nobody asked: what went wrong is in the input's log line (:func:`guard.failed`)."""
    return lambda reply: None


def pressed_in_home(body: dict[str, Any]) -> bool:
    """Whether a button press came from the Home tab (its payload carries the Home view)."""
    return (body.get("view") or {}).get("type") == "home"


def refresh_home(context: Context, user: str) -> bool:
    """Publish ``user``'s Home view as things stand now: when they open the tab, and after a
    button they pressed in it changed something. False (and logged) when that failed, which
    never undoes or fails what the press did."""
    try:
        publish_home(context, user)
    except Exception:
        log.exception("the App Home of %s could not be published", user)
        return False
    return True


def publish_home(context: Context, user: str) -> None:
    ops = context.ops
    services = ops.services
    can_see = services.rules.allowed(user, "keys")
    home = Home(
        user=user,
        waiting=waiting_on(ops, user),
        mine=opened_by(ops, user),
        grants=running_grants(ops, user),
        keys=_own_keys(ops, user) if can_see else None,
        recent=latest_for(services, user, SHOWN) if can_see else None,
        new_requests_in=_new_requests_in(services, user),
        incidents=_incidents_seen(services, user) if can_see else None,
    )
    view = home_view(home, services.config, services.clock())
    context.notifier.client.views_publish(user_id=user, view=view)


def _incidents_seen(services: Services, user: str) -> list[incidents.Incident]:
    """The open incidents about keys of the accounts where ``user`` may read keys (an
    account's own rules may narrow who does)."""
    rules = services.rules
    found = incidents.listed(services.store)
    return [i for i in found if rules.allowed(user, "keys", account=i.account)]


def _own_keys(ops: Ops, user: str) -> MyKeys | str | None:
    """The person's keys as `/iam keys me` shows them: in the default account (never the one
    a press in this Home just acted in), through its role with their identity; None when that
    account's rules hide keys from them; a sentence when they could not be read."""
    rules = ops.services.rules
    try:
        with acting(ops, user, "", None) as account:
            where = account.id if account else ""
            if not rules.allowed(user, "keys", account=where):
                return None
            return _my_keys(
                ops.services, user, account, rules.allowed(user, "rotate", account=where)
            )
    except Exception as exc:  # a role it cannot assume, IAM refusing: the rest still shows
        return f"Your keys could not be read: {words_for(exc)}"


def _my_keys(
    services: Services, user: str, account: Account | None, can_rotate: bool
) -> MyKeys | str:
    try:
        with known_in_slack(user):
            name = services.identity.iam_user_for(user)
        found = keys.access_keys_with_last_use(services.aws, name)
    except (NotLinked, errors.NotFound) as exc:
        return words_for(exc)
    if account is None:
        return MyKeys(name, found, can_rotate=can_rotate)
    return MyKeys(name, found, account.id, account.label, can_rotate)


def _new_requests_in(services: Services, user: str) -> str:
    """Where a request opened from Home is posted: the first channel /iam works in, or, when it
    works anywhere, the DM with the person (Slack delivers a post to a user ID there)."""
    channels = services.config.channels
    return channels[0] if channels else user


def register(app: App, context: Context) -> None:
    lazy = guarded(
        context, opened, scoped=lambda _: False, channel=_in_no_channel, answers=_to_the_log
    )
    app.event("app_home_opened")(ack=ack_only, lazy=[lazy])
