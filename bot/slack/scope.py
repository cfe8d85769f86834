"""Which AWS account a Slack input acts in, and for whom: the scope its work runs in.

A command names its account with ``--account <name or ID>`` (else the configured default); a
button acts where what it decides lives: the request it belongs to, or the account its key
reference carries, by the ID stored there (a name could since mean another account). The
person is whoever typed or clicked, so every AWS call made for them carries their Slack
identity into CloudTrail (see :mod:`bot.iam.sessions`). Entering the scope is
:mod:`bot.ops.scope`'s, which work outside chat (the benchmarks) enters the same way.
"""

from __future__ import annotations

from typing import Any

from bot.iam.sessions import Account
from bot.ops.context import Ops
from bot.ops.followups import Carries, FollowUp, KeyRef
from bot.slack.words import split_account, tokens


def team_of(body: dict[str, Any]) -> str:
    team = body.get("team")
    return body.get("team_id") or (team.get("id", "") if isinstance(team, dict) else "")


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
