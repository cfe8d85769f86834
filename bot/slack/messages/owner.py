"""What the owner of an IAM user is told by DM when a finished request changed their access, and
how whoever a delivered secret is for reads it.

Rotation and onboarding tell their owners themselves, as part of their runs (the new key's or
user's DM); the other operations that change someone's access are told here, once they are done:
what changed, who asked and who let it go ahead, the reason as typed (quoted), and, for a new
console password, where the secret is and who can read it. Never the secret itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.access.approvals import Request
from bot.iam.secrets import OWNER_TAG, account_of, console_link, read_command
from bot.ops.offboard import Mode, is_disable
from bot.ops.offboard_person import PersonPlan
from bot.ops.operation import Operation
from bot.ops.outcome import Outcome
from bot.ops.plan import Plan
from bot.slack.messages.approval import go_ahead, plan_lines, titled, with_reason
from bot.slack.messages.common import escape, labelled_link, mention

# What each operation that changes an owner's access means to them, once done.
_WHAT_IT_MEANS = {
    Operation.DEACTIVATE: "Anything still using that key now fails.",
    Operation.DELETE_KEY: "That key is gone for good.",
    Operation.ENABLE: "What its disable switched off is back on.",
    Operation.GRANT: "What the group allows is yours until the grant's end, when the bot "
    "removes you from it; its message says when.",
    Operation.REVOKE: "What the group allowed is no longer yours.",
}
TOLD = frozenset({*_WHAT_IT_MEANS, Operation.OFFBOARD, Operation.OFFBOARD_PERSON})


def _disables(request: Request) -> bool:
    if request.command == Operation.OFFBOARD_PERSON:
        return PersonPlan.of(request).mode is Mode.DISABLE
    return is_disable(request)


def _meaning(request: Request) -> str:
    if request.command in _WHAT_IT_MEANS:
        return _WHAT_IT_MEANS[Operation(request.command)]
    if _disables(request):
        return "Its console password and access keys no longer work until it is enabled again."
    return "It no longer exists."


def access_changed(request: Request, kms_key_id: str | None) -> str:
    """The DM to the owner of what ``request`` (one of ``TOLD``, done) changed."""
    asked = f"Requested by {mention(request.requester)}, {go_ahead(request)}"
    lines = [
        f":information_source: A change to your AWS access: *{titled(request)}*, done. "
        + _meaning(request),
        plan_lines(Plan.of(request).steps),
        with_reason(asked, request.reason),
    ]
    if arn := Outcome.of(request).password_secret_arn:
        lines.append(
            f":key: Your new console password (change it at first sign-in) is in Secrets "
            f"Manager: {labelled_link(console_link(arn), arn)}"
        )
        lines.append(
            reading_secrets([arn], user=request.target, ask=request.requester, kms=kms_key_id)
        )
    lines.append(
        f"_Request `{request.id}`: ask {mention(request.requester)} if anything is unclear._"
    )
    return "\n".join(lines)


def reading_secrets(arns: Sequence[str], *, user: str, ask: str, kms: str | None) -> str:
    """How whoever the secrets ``arns`` (delivered for IAM user ``user``) are for reads them,
    and who may: read from what the bot gives every secret it delivers
    (:mod:`bot.iam.secrets`), so it is true of these."""
    it = "it" if len(arns) == 1 else "them"
    account = account_of(arns[0])
    commands = "\n".join(f"`{read_command(arn)}`" for arn in arns)
    decrypt = f" (and `kms:Decrypt` on KMS key `{escape(kms)}`)" if kms else ""
    return (
        f"Read {it} in the AWS console (the link, signed in to account {account}) or with the "
        f"AWS CLI:\n{commands}\n"
        f"*Who can read {it}:* whoever account {account}'s IAM policies allow "
        f"`secretsmanager:GetSecretValue` on {it}{decrypt}; iam-bot gives {it} no resource "
        f"policy, only the tag `{OWNER_TAG}={escape(user)}`, which such a policy can match. "
        f"If you cannot (a new IAM user may do nothing until a policy allows it), ask your AWS "
        f"admins, or {mention(ask)} who asked for it, to open it with you. Never paste it in chat."
    )
