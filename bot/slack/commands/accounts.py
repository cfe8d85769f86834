"""`/iam accounts`: the AWS accounts the bot knows, and whether it can act in each.

Each account's role is assumed for real (as the person asking, like every call), all at once
on the gateway's pool, so a role that is missing or refuses the bot shows up here, named,
instead of in the middle of someone's incident. It needs no default account and no
``accounts:`` at all (then it shows the one account of the bot's own credentials), so it
answers in exactly the setups where the others need explaining.
"""

from __future__ import annotations

from bot.access.accounts import UnknownAccount
from bot.iam import errors, keys, sessions
from bot.iam.sessions import Account, Actor
from bot.ops.context import Services, UserError
from bot.slack.context import Request
from bot.slack.messages.accounts import AccountCheck, accounts_reply, own_account_reply

USAGE = "accounts"


def check(args: tuple[str, ...]) -> None:
    if args:
        raise UserError(f"Usage: `/iam {USAGE}`")


def run(services: Services, request: Request) -> None:
    if not services.accounts.enabled:
        reply = own_account_reply(_reach(services, None))
        request.respond(response_type="ephemeral", **reply.as_kwargs())
        return
    book = services.accounts
    listing = book.listing()
    actor = Actor(request.user_id, services.team())

    def reach(account: Account) -> AccountCheck:
        with sessions.acting(account, actor):
            return _reach(services, account)

    checks = services.aws.map(reach, listing.accounts)
    try:
        default, problem = book.default(), None
    except UnknownAccount as exc:
        default, problem = None, str(exc)
    handles = book.handles(listing.accounts)
    reply = accounts_reply(checks, handles, default, problem, listing.stale_since)
    request.respond(response_type="ephemeral", **reply.as_kwargs())


def _reach(services: Services, account: Account | None) -> AccountCheck:
    """Whether the bot can act in ``account`` (None: the one of its own credentials), asked of
    STS in the current scope."""
    try:
        me = keys.caller_identity(services.aws)
    except errors.IamError as exc:
        return AccountCheck(account or Account("", ""), f"{exc.code or 'error'}: {exc.message}")
    return AccountCheck(account or Account(me.account, me.account), None)
