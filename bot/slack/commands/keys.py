"""`/iam keys <user | @mention | me | AKIA...>`: a user's access keys, status, age and last use."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.iam import errors, keys, names, quarantine, users
from bot.iam.models import AccessKey
from bot.iam.sessions import Account, current_account
from bot.ops.context import Services, UserError
from bot.ops.followups import FollowUp, KeyRef, Tone, Viewer, offer
from bot.ops.keys import KeyOffers, key_offers
from bot.ops.scope import in_key_account
from bot.slack.commands.parse import Target, TargetKind, one_target
from bot.slack.commands.who import iam_user
from bot.slack.context import Request
from bot.slack.messages.common import Reply
from bot.slack.messages.keys import foreign_key_reply, keys_reply
from bot.slack.messages.whois import protected_key_steps, temporary_key_reply

USAGE = "keys <user | @person | me | AKIA...>"


def check(args: tuple[str, ...]) -> None:
    one_target(args, USAGE)


def run(services: Services, request: Request) -> None:
    show_keys(services, request, one_target(request.args, USAGE))


def show_keys(
    services: Services, request: Request, target: Target, *, key_actions: bool = False
) -> None:
    """Reply with a user's keys; with ``key_actions``, buttons to act on the key that was named
    (or, for a protected user's key, how to deal with it outside the bot). A temporary key has
    no user: the reply says what it is and how to cut it off."""
    if target.kind is TargetKind.KEY_ID and names.is_temporary_key_id(target.value):
        where = keys.key_account(services.aws, target.value)
        known = services.accounts.known(where) if services.accounts.enabled else None
        reply = temporary_key_reply(target.value, where=known.label if known else where)
        request.respond(response_type="ephemeral", **reply.as_kwargs())
    elif target.kind is TargetKind.KEY_ID:
        with in_key_account(request.ops, target.value, ("keys",)):
            _show(services, request, target, key_actions)
    else:
        _show(services, request, target, key_actions)


def _show(services: Services, request: Request, target: Target, key_actions: bool) -> None:
    owner, account = None, current_account()
    if target.kind is TargetKind.KEY_ID:
        try:
            owner = keys.key_owner(services.aws, target.value)
        except errors.NotFound:
            raise UserError(f"No access key `{target.value}` exists in this account.") from None
        if owner.foreign:
            reply = foreign_key_reply(owner, organization=services.accounts.enabled)
            request.respond(response_type="ephemeral", **reply.as_kwargs())
            return
        user = owner.user_name
    else:
        user = iam_user(services, request, target)
    try:
        found = keys.access_keys_with_last_use(services.aws, user)
    except errors.NotFound:
        raise UserError(f"No IAM user named `{user}`.") from None
    if owner is not None:
        on = [owner.key_id] if key_actions else []
    else:
        on = _own(services, request, target, user, found)
    viewer = Viewer(services.rules, request.user_id)
    offers = key_offers(services, viewer, user, found, on=on, account=account.id if account else "")
    reply = keys_reply(
        user,
        found,
        rotation_age_days=services.config.rotation_age_days,
        unused_days=services.config.unused_days,
        at=services.clock(),
        owner=owner,
        offers=offers,
        quarantine=quarantine.version_of(quarantine.quarantined_users(services.aws), user),
    )
    if key_actions and owner is not None and _protected(services, offers, user):
        ref = KeyRef(user, owner.key_id, account.id if account else "")
        steps = _protected_steps(services, ref, account, Viewer(services.rules, request.user_id))
        reply = Reply(text=reply.text, blocks=[*reply.blocks, *steps])
    request.respond(response_type="ephemeral", **reply.as_kwargs())


def _protected(services: Services, offers: KeyOffers, user: str) -> bool:
    """Whether the user is protected: known already when buttons were weighed for it, else
    asked (a whois whose reader may press nothing still says how to proceed)."""
    if offers.protected is not None:
        return offers.protected
    return services.rules.is_protected(users.get_user(services.aws, user))


def _protected_steps(
    services: Services, ref: KeyRef, account: Account | None, viewer: Viewer
) -> list[Block]:
    """How a protected user's key is dealt with outside the bot, and who to tell: the
    approvers of its account (the account's own list, if it has one); and Contain, which
    acts on a protected user too, if the reader may press it."""
    approvers = account and services.config.account_principals("approve", account.id)
    where = account.label if account and services.accounts.enabled else ""
    contacts = approvers or services.config.principals("approve")
    contain = offer("Contain", FollowUp.CONTAIN, ref, Tone.DANGER)
    pressable = viewer.pressable([contain], ref.account)
    return protected_key_steps(
        ref, where=where, contacts=contacts, contain=pressable[0] if pressable else None
    )


def _own(
    services: Services, request: Request, target: Target, user: str, found: list[AccessKey]
) -> list[str]:
    """The keys of the person asking, acting on them one click away (`me`, or the identity
    tag names them); none of anyone else's."""
    mine = target.kind is TargetKind.ME or services.identity.slack_user_for(user) == request.user_id
    return [k.key_id for k in found] if mine else []
