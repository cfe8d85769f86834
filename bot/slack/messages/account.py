"""How the account's facts read."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.iam.models import AccountSummary, PasswordPolicy, SamlProvider
from bot.slack.messages.common import Reply, section
from bot.wording import counted

# (label, usage metric, quota metric) from IAM's account summary: what the account has
# against what it may have.
_USAGE = (
    ("Users", "Users", "UsersQuota"),
    ("Groups", "Groups", "GroupsQuota"),
    ("Roles", "Roles", "RolesQuota"),
    ("Managed policies", "Policies", "PoliciesQuota"),
    ("Server certificates", "ServerCertificates", "ServerCertificatesQuota"),
)
# (one, many, quota metric): what each user may hold at most.
_PER_USER = (
    ("access key", "access keys", "AccessKeysPerUserQuota"),
    ("group", "groups", "GroupsPerUserQuota"),
    ("managed policy", "managed policies", "AttachedPoliciesPerUserQuota"),
    ("signing certificate", "signing certificates", "SigningCertificatesPerUserQuota"),
)


def _usage(summary: AccountSummary) -> list[str]:
    values = summary.values
    usage = []
    for label, used, quota in _USAGE:
        count, limit = values.get(used, 0), values.get(quota)
        usage.append(f"• {label}: {count}" + (f" of {limit}" if limit else ""))
    per_user = [counted(values[q], one, many) for one, many, q in _PER_USER if values.get(q)]
    if per_user:
        usage.append(f"• Per user: at most {', '.join(per_user)}")
    return usage


def _mfa(summary: AccountSummary) -> str:
    """IAM counts MFA devices (``MFADevices``: every one in the account, assigned or not;
    ``MFADevicesInUse``: those assigned to a user or the root user); neither is a quota."""
    values = summary.values
    devices = counted(values.get("MFADevices", 0), "device")
    root = "on" if values.get("AccountMFAEnabled") else "*off*"
    return (
        f"*MFA* {devices} in the account, {values.get('MFADevicesInUse', 0)} assigned "
        f"(to users or the root user) · root user MFA {root}"
    )


def account_reply(
    aliases: list[str],
    summary: AccountSummary,
    policy: PasswordPolicy | None,
    saml: list[SamlProvider],
) -> Reply:
    alias = f"`{aliases[0]}`" if aliases else "none"
    if policy is None:
        password = "none set: IAM's default applies (8+ characters, no expiry)"
    else:
        password = ", ".join(f"{k}={v}" for k, v in sorted(policy.settings.items()))
    providers = "\n".join(f"• `{p.arn}`" for p in saml) or "none"
    blocks: list[Block] = [
        HeaderBlock(text="AWS account"),
        section(f"*Alias* {alias}"),
        section("*Usage against quotas*\n" + "\n".join(_usage(summary))),
        section(_mfa(summary)),
        section(f"*Password policy* {password}"),
        section(f"*SAML providers*\n{providers}"),
    ]
    return Reply(text=f"AWS account: alias {alias}", blocks=blocks)
