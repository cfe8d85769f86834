"""Which AWS account work acts in, and for whom: the scope a command's or a button's work runs
in, entered the same way by the chat room and by the benchmarks.

A command names its account with ``--account <name or ID>`` (else the configured default); work on
a key acts in the key's own account. The person is whoever asked, so every AWS call made for them
carries their chat identity into CloudTrail (see :mod:`bot.iam.sessions`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from bot.access.accounts import UnknownAccount
from bot.iam import keys, sessions
from bot.iam.sessions import Account, Actor
from bot.ops.context import Ops, UserError

ONE_ACCOUNT = (
    "This bot acts in one AWS account (its config has no `accounts:`): leave out `--account`."
)


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
