"""Every Slack entry point, by kind: the slash command, buttons, modals, events (App Home),
Workflow Builder steps.

Each module's ``register`` names its listeners, one line each; the handlers are module-level
functions of a :class:`~bot.slack.listeners.guard.Context` and the input, and the checks they
share (channel, permission, failure words) are in :mod:`bot.slack.listeners.guard`.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.listeners import actions, commands, events, functions, views
from bot.slack.listeners.guard import Context


def register(app: App, context: Context) -> None:
    commands.register(app, context)
    actions.register(app, context)
    views.register(app, context)
    events.register(app, context)
    functions.register(app, context)
