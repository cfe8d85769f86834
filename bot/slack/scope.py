"""Which AWS account a Slack input acts in, and for whom: the scope its work runs in.

A command names its account with ``--account <name or ID>`` (else the configured default); a
button acts where what it decides lives: the request it belongs to, or the account its key
reference carries, by the ID stored there (a name could since mean another account). The
person is whoever typed or clicked, so every AWS call made for them carries their Slack
identity into CloudTrail (see :mod:`bot.iam.sessions`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from bot.access.accounts import UnknownAccount
from bot.iam import keys, sessions
from bot.iam.sessions import Account, Actor
from bot.ops.context import Ops, UserError
from bot.ops.followups import Carries, FollowUp, KeyRef
from bot.slack.words import split_account, tokens

ONE_ACCOUNT = (
    "This bot acts in one AWS account (its config has no `accounts:`): leave out `--account`."
)


def team_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    return body.get("team_id") or (team.get("id", "") if isinstance(team, dict) else "")


@contextlib.contextmanager
def acting(
    ops: Ops, user: str, team: str, wanted: Account | str | None, permission: tuple[str, ...] = ()
) -> Iterator[Account | None]:
    """Work inside acts in the account ``wanted`` is (a stored request's or key's) or names
    (``--account`` as typed; None: the default), for ``user``; ``permission`` (any one of
    them) is checked against that account's own rules. Yields the account (None with no
    ``accounts:`` config, where ``--account`` is refused rather than ignored)."""
    services = ops.services
    if not services.accounts.enabled:
        if isinstance(wanted, str):
            raise UserError(ONE_ACCOUNT)
        yield None
        return
    try:
        account = wanted if isinstance(wanted, Account) else services.accounts.resolve(wanted)
    except UnknownAccount as exc:
        raise UserError(str(exc)) from None
    if permission:
        services.rules.require(user, permission, account)
    with sessions.acting(account, Actor(user, team or services.team())):
        yield account


def wanted_account(
    ops: Ops, body: dict[str, Any], request_buttons: tuple[str, ...]
) -> Account | str | None:
    """The account an input acts in: a command's ``--account`` as typed; a click's request's
    (or its scheduled step's request's), or its key's, by the ID stored with it, never by
    name. None: the default account."""
    if "command" in body:
        return split_account(tokens(body.get("text", "")))[0]
    action = (body.get("actions") or [{}])[0]
    action_id, value = action.get("action_id"), str(action.get("value", ""))
    request_id, account_id = "", ""
    kind = next((k for k in FollowUp if k.value == action_id), None)
    carries = kind.carries if kind else None
    if action_id in request_buttons:
        request_id = value.partition(":")[0]
    elif carries is Carries.REQUEST:
        request_id = value
    elif carries is Carries.STEP and (job := ops.scheduler.get(value)):
        request_id = job.request_id
    elif carries is Carries.KEY:
        account_id = KeyRef.decode(value).account
    if request_id and (request := ops.services.approvals.get(request_id)):
        account_id = request.account
    return ops.services.accounts.get(account_id) if account_id else None


@contextlib.contextmanager
def in_key_account(ops: Ops, key_id: str, permission: tuple[str, ...]) -> Iterator[None]:
    """Work on a key (whois, deactivate) acts in the account the key belongs to: STS names it
    in one call however many accounts there are, and that account's rules are checked. A key
    of an account the bot does not know stays where it was asked, and is reported as
    another account's there."""
    services, here = ops.services, sessions.current()
    if not services.accounts.enabled or here is None or here.actor is None:
        yield
        return
    owner = keys.key_account(services.aws, key_id)
    known = services.accounts.known(owner)
    if known is None or owner == here.account.id:
        yield
        return
    with acting(ops, here.actor.user, here.actor.team, known, permission):
        yield
