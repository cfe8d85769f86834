"""`/iam incidents`: the open incidents (AWS's alarms about leaked keys) in the account, and
`/iam incidents close <AKIA...> <resolved | false-positive> <reason>`.

Listing needs `keys` (it shows whose keys leaked, as `/iam whois` does); closing needs
`deactivate` too, as containing a leak does: whoever may act on a leak may say it is over. A
closed incident keeps its timeline, and opens again if AWS says more about the key.
"""

from __future__ import annotations

from bot.access import incidents
from bot.iam.sessions import current_account
from bot.ops.context import Services, UserError
from bot.slack.commands.parse import key_id, reason
from bot.slack.context import Request
from bot.slack.incidents import show_card
from bot.slack.messages.common import plain
from bot.slack.messages.incident import CLOSE_USAGE, incidents_reply

USAGE = "incidents [close <AKIA...> <resolved | false-positive> <reason>]"
_CLOSE = "close"


def check(args: tuple[str, ...]) -> None:
    if not args:
        return
    if args[0].lower() != _CLOSE or len(args) < 4 or args[2] not in incidents.CLOSED:
        raise UserError(f"Usage: `/iam {USAGE}`")
    key_id(args[1])
    reason(" ".join(args[3:]))


def run(services: Services, request: Request) -> None:
    if request.args:
        _close(services, request)
        return
    account = current_account()
    found = [
        i for i in incidents.listed(services.store) if account is None or i.account == account.id
    ]
    request.respond(response_type="ephemeral", **incidents_reply(found).as_kwargs())


def _close(services: Services, request: Request) -> None:
    account = current_account()
    services.rules.require(request.user_id, "deactivate", account)
    key, state, why = key_id(request.args[1]), request.args[2], " ".join(request.args[3:])
    found = incidents.get(services.store, key)
    if found is None or (account is not None and found.account != account.id):
        raise UserError(f"No incident about `{key}` in this account. Usage: `/iam {CLOSE_USAGE}`")
    closed = incidents.close(services.store, key, state, why, request.user_id, services.clock())
    show_card(request.ops.notify.outbox, closed)
    request.respond(
        response_type="ephemeral", **plain(f"Incident `{key}` closed as {state}.").as_kwargs()
    )
