"""Events API: the App Home tab, published afresh each time someone opens it.

The event is acknowledged at once; the view is gathered and published after (a lazy listener),
showing only what that person may already see through commands: what `/iam pending` lists
for them, and with `keys` their own keys and the latest requests.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltRequest

from bot.access.approvals import Request, State
from bot.access.identity import NotLinked
from bot.iam import errors, keys
from bot.logs import finish
from bot.ops.context import Services
from bot.slack.commands.pending import opened_by, waiting_on
from bot.slack.listeners.guard import Context, ack_only, first_delivery
from bot.slack.messages.home import SHOWN, Home, MyKeys, home_view
from bot.slack.replies import words_for

log = logging.getLogger(__name__)


def opened(context: Context, event: dict[str, Any]) -> None:
    """``app_home_opened`` also comes for the Messages tab, which has nothing to publish."""
    if event.get("tab") != "home":
        return
    finish("ok" if refresh_home(context, event["user"]) else "failed")


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
    services = context.ops.services
    can_see = services.rules.allowed(user, "keys")
    home = Home(
        waiting=waiting_on(services, user),
        mine=opened_by(services, user),
        keys=_my_keys(services, user) if can_see else None,
        recent=_recent(services) if can_see else None,
        can_rotate=services.rules.allowed(user, "rotate"),
        new_requests_in=_new_requests_in(services, user),
    )
    view = home_view(home, services.config, services.clock())
    context.notifier.client.views_publish(user_id=user, view=view)


def _my_keys(services: Services, user: str) -> MyKeys | str:
    try:
        name = services.identity.iam_user_for(user)
        return MyKeys(name, keys.access_keys_with_last_use(services.aws, name))
    except (NotLinked, errors.NotFound) as exc:
        return words_for(exc)


def _recent(services: Services) -> list[Request]:
    everything = services.approvals.in_state(*State)
    return sorted(everything, key=lambda r: r.created, reverse=True)[:SHOWN]


def _new_requests_in(services: Services, user: str) -> str:
    """Where a request opened from Home is posted: the first channel /iam works in, or, when it
    works anywhere, the DM with the person (Slack delivers a post to a user ID there)."""
    channels = services.config.channels
    return channels[0] if channels else user


def register(app: App, context: Context) -> None:
    def lazy(event: dict[str, Any], body: dict[str, Any], request: BoltRequest) -> None:
        if first_delivery(context.ops.services.store, body, request):  # not Slack's retry
            opened(context, event)

    app.event("app_home_opened")(ack=ack_only, lazy=[lazy])
