"""`/iam accounts`: the AWS accounts the bot knows, and whether it can act in each.

Each account's IAM is read for real (its role assumed as the person asking, like every call),
all at once on the gateway's pool, with the check `iam-bot config check` runs: a role that is
missing, refuses the bot or has no IAM rights shows up here, in the same one-line words,
instead of in the middle of someone's incident. It needs no default account and no
``accounts:`` at all (then it shows the one account of the bot's own credentials), so it
answers in exactly the setups where the others need explaining.
"""

from __future__ import annotations

from bot.access import reach
from bot.access.accounts import UnknownAccount
from bot.iam import errors, keys
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
        reply = own_account_reply(_own_account(services))
        request.respond(response_type="ephemeral", **reply.as_kwargs())
        return
    book = services.accounts
    listing = book.listing()
    actor = Actor(request.user_id, services.team())

    def read_iam(account: Account) -> AccountCheck:
        return AccountCheck(account, reach.read(services.aws, account, actor).problem)

    checks = services.aws.map(read_iam, listing.accounts)
    try:
        default, problem = book.default(), None
    except UnknownAccount as exc:
        default, problem = None, str(exc)
    handles = book.handles(listing.accounts)
    reply = accounts_reply(checks, handles, default, problem, listing.stale_since)
    request.respond(response_type="ephemeral", **reply.as_kwargs())


def _own_account(services: Services) -> AccountCheck:
    """Whether the bot can read IAM with its own credentials, in the account STS names."""
    try:
        me = keys.caller_identity(services.aws)
    except errors.IamError as exc:
        return AccountCheck(Account("", ""), f"{exc.code or 'error'}: {exc.message}")
    problem = reach.read(services.aws, None).problem
    return AccountCheck(Account(me.account, me.account), problem)
