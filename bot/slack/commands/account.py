"""`/iam account [alias set <name> | alias delete]`: the account's facts, and its alias.

Facts: alias, usage against quotas, password policy, SAML providers, fetched concurrently.
Changing the alias (it is in every console sign-in URL) is for `admin` only and confirmed.
"""

from __future__ import annotations

import re

from bot.iam import account
from bot.ops import account_alias
from bot.ops.context import Services, UserError
from bot.slack.context import Request
from bot.slack.messages.account import account_reply

USAGE = "account [alias set <name> | alias delete]"
_ALIAS = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]")


def _alias_change(args: tuple[str, ...]) -> tuple[str, str | None] | None:
    """None to show the facts, else ("set", name) or ("delete", None)."""
    if not args:
        return None
    if args[:2] == ("alias", "set") and len(args) == 3:
        if not _ALIAS.fullmatch(args[2]):
            raise UserError(
                "An account alias is 3-63 lowercase letters, digits and single hyphens."
            )
        return "set", args[2]
    if args == ("alias", "delete"):
        return "delete", None
    raise UserError(f"Usage: `/iam {USAGE}`")


def check(args: tuple[str, ...]) -> None:
    _alias_change(args)


def run(services: Services, request: Request) -> None:
    change = _alias_change(request.args)
    aws = services.aws
    if change is None:
        aliases, summary, policy, saml = aws.run_all(
            lambda: account.list_account_aliases(aws),
            lambda: account.account_summary(aws),
            lambda: account.password_policy(aws),
            lambda: account.saml_providers(aws),
        )
        reply = account_reply(aliases, summary, policy, saml)
        request.respond(response_type="ephemeral", **reply.as_kwargs())
        return
    services.rules.require(request.user_id, account_alias.DECLARED.permissions)
    account_alias.open_request(
        request.ops, change[1], requester=request.user_id, channel=request.channel_id
    )
