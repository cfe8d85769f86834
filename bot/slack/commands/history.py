"""`/iam history <user | @person | me>`: past requests about a user, and the snapshot of what
was removed; for a person, their person-wide requests too (their IAM Identity Center part
included), even once no IAM user of theirs is left."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.access.approvals import Request as ApprovalRequest
from bot.access.approvals import State
from bot.access.identity import NotLinked
from bot.iam.snapshot import Snapshot
from bot.ops import identity_center, offboard_person
from bot.ops.context import Services, UserError
from bot.ops.offboard import saved_snapshot
from bot.ops.offboard_person import PersonPlan
from bot.ops.operation import Operation
from bot.ops.outcome import Outcome
from bot.slack.commands.parse import Target, TargetKind, user_word
from bot.slack.commands.who import iam_user
from bot.slack.context import Request
from bot.slack.messages.approval import go_ahead, standing, title, with_reason
from bot.slack.messages.common import Reply, context, escape, mention, section
from bot.wording import counted

USAGE = "history <user | @person | me>"
HELD = "held: old key still in use"  # a rotation done but for its held step: not "done"


def _parse(args: tuple[str, ...]) -> Target:
    if len(args) != 1:
        raise UserError(f"Usage: `/iam {USAGE}`")
    return user_word(args[0])


def check(args: tuple[str, ...]) -> None:
    _parse(args)


def _snapshot_summary(snap: Snapshot) -> str:
    counts = {
        ("access key", "access keys"): len(snap.access_keys),
        ("group", "groups"): len(snap.groups),
        ("inline policy", "inline policies"): len(snap.inline_policies),
        ("managed policy", "managed policies"): len(snap.attached_policies),
        ("MFA device", "MFA devices"): len(snap.mfa_devices),
        ("SSH key", "SSH keys"): len(snap.ssh_public_keys),
        ("signing certificate", "signing certificates"): len(snap.signing_certificates),
        ("service credential", "service credentials"): len(snap.service_credentials),
    }
    had = ", ".join(counted(n, one, many) for (one, many), n in counts.items() if n)
    groups = ", ".join(snap.groups)
    password = "console password, " if snap.login_profile else ""
    return f"Snapshot: {password}{had or 'nothing attached'}" + (
        f" · groups: {groups}" if groups else ""
    )


def _how_it_went(item: ApprovalRequest) -> list[str]:
    """Who asked and why, then who decided it and how: a denial with who denied and their
    reason (quoted: typed by a person), a cancellation, an expiry, else who let it go ahead."""
    asked = f"by {mention(item.requester)}"
    denial = item.decided_by("deny")
    match item.state:
        case State.DENIED if denial:
            by = f"denied by {mention(denial.who)}"
            return [with_reason(asked, item.reason), with_reason(by, denial.reason)]
        case State.CANCELLED:
            return [with_reason(f"{asked} · cancelled by the requester", item.reason)]
        case State.EXPIRED:
            return [with_reason(f"{asked} · expired without a decision", item.reason)]
        case State.PENDING:
            return [with_reason(f"{asked} · {standing(item)}", item.reason)]
    return [with_reason(f"{asked} · {go_ahead(item)}", item.reason)]


def _person(request: Request, target: Target) -> str | None:
    """The chat user ``target`` names, if it names one."""
    match target.kind:
        case TargetKind.ME:
            return request.user_id
        case TargetKind.SLACK_USER:
            return target.value
    return None


def _center_snapshot(services: Services, item: ApprovalRequest) -> str:
    """What a person-wide request's Identity Center part held when its run started."""
    if item.command != Operation.OFFBOARD_PERSON or not (part := PersonPlan.of(item).center()):
        return ""
    held = identity_center.snapshot_of(services, item, part).person
    groups = ", ".join(escape(m.group) for m in held.groups)
    direct = counted(len(held.direct), "direct assignment")
    return f"Identity Center snapshot: {direct}" + (f" · groups: {groups}" if groups else "")


def run(services: Services, request: Request) -> None:
    target = _parse(request.args)
    person = _person(request, target)
    theirs = offboard_person.about_person(services, person) if person else []
    try:
        user: str | None = iam_user(services, request, target)
    except NotLinked:
        if not theirs:
            raise
        user = None  # no IAM user of theirs here any more: their person-wide requests only
    own = services.approvals.history(user) if user else []
    merged = {r.id: r for r in [*own, *theirs]}.values()
    past = sorted(merged, key=lambda r: r.created, reverse=True)
    held = {job.request_id for job in request.ops.scheduler.held()}
    blocks: list[Block] = [HeaderBlock(text=f"History of {user or 'the person'}")]
    if not past:
        blocks.append(section(f"No /iam requests about *{user}*."))
    for item in past[:20]:
        lines = [
            f"*{title(item)}* · {HELD if item.id in held else item.state.value} · "
            f"{item.created:%Y-%m-%d %H:%M} UTC",
            *_how_it_went(item),
        ]
        if summary := Outcome.of(item).summary:
            lines.append(summary)
        if snap := saved_snapshot(services, item.id):
            lines.append(_snapshot_summary(snap))
        if center := _center_snapshot(services, item):
            lines.append(center)
        blocks.append(section("\n".join(lines)))
    if len(past) > 20:
        blocks.append(context(f"{counted(len(past) - 20, 'older request')} not shown."))
    request.respond(
        response_type="ephemeral", **Reply(text=f"History of {user}", blocks=blocks).as_kwargs()
    )
