"""`/iam accounts`: the AWS accounts the bot knows, and whether it can act in each.

Each account's role is assumed for real (as the person asking, like every call), all at once
on the gateway's pool, so a role that is missing or refuses the bot shows up here, named,
instead of in the middle of someone's incident.
"""

from __future__ import annotations

from bot.iam import errors, keys, sessions
from bot.iam.sessions import Account, Actor
from bot.ops.context import Services, UserError
from bot.slack.context import Request
from bot.slack.messages.accounts import AccountCheck, accounts_reply

USAGE = "accounts"


def check(args: tuple[str, ...]) -> None:
    if args:
        raise UserError(f"Usage: `/iam {USAGE}`")


def run(services: Services, request: Request) -> None:
    if not services.accounts.enabled:
        raise UserError("The bot acts in one account: its config has no `accounts:`.")
    listing = services.accounts.listing()
    actor = Actor(request.user_id, services.team())

    def reach(account: Account) -> AccountCheck:
        with sessions.acting(account, actor):
            try:
                keys.caller_identity(services.aws)
            except errors.IamError as exc:
                return AccountCheck(account, f"{exc.code or 'error'}: {exc.message}")
        return AccountCheck(account, None)

    checks = services.aws.map(reach, listing.accounts)
    default = services.config.accounts.default
    reply = accounts_reply(checks, default, listing.stale_since)
    request.respond(response_type="ephemeral", **reply.as_kwargs())
