"""How the account's facts read."""

from __future__ import annotations

from slack_sdk.models.blocks import Block, HeaderBlock

from bot.iam.models import AccountSummary, PasswordPolicy, SamlProvider
from bot.slack.messages.common import Reply, section

# (label, usage metric, quota metric) from IAM's account summary.
_USAGE = (
    ("Users", "Users", "UsersQuota"),
    ("Groups", "Groups", "GroupsQuota"),
    ("Roles", "Roles", "RolesQuota"),
    ("Managed policies", "Policies", "PoliciesQuota"),
    ("MFA devices in use", "MFADevicesInUse", "MFADevices"),
    ("Server certificates", "ServerCertificates", "ServerCertificatesQuota"),
)


def account_reply(
    aliases: list[str],
    summary: AccountSummary,
    policy: PasswordPolicy | None,
    saml: list[SamlProvider],
) -> Reply:
    alias = f"`{aliases[0]}`" if aliases else "none"
    usage = []
    for label, used, quota in _USAGE:
        count, limit = summary.values.get(used, 0), summary.values.get(quota)
        usage.append(f"• {label}: {count}" + (f" of {limit}" if limit else ""))
    keys_quota = summary.values.get("AccessKeysPerUserQuota")
    if keys_quota:
        usage.append(f"• Access keys per user: at most {keys_quota}")
    if policy is None:
        password = "none set: IAM's default applies (8+ characters, no expiry)"
    else:
        password = ", ".join(f"{k}={v}" for k, v in sorted(policy.settings.items()))
    providers = "\n".join(f"• `{p.arn}`" for p in saml) or "none"
    blocks: list[Block] = [
        HeaderBlock(text="AWS account"),
        section(f"*Alias* {alias}"),
        section("*Usage against quotas*\n" + "\n".join(usage)),
        section(f"*Password policy* {password}"),
        section(f"*SAML providers*\n{providers}"),
    ]
    return Reply(text=f"AWS account: alias {alias}", blocks=blocks)
