"""AWS's own answer to a leaked key: the compromised-key quarantine policies, and AWSDenyAll.

Within about a minute of a key appearing in a public repository, AWS attaches
``AWSCompromisedKeyQuarantine`` (or its V2, V3, V4) to the key's user; it does not deactivate
the key. V3 denies ``s3:GetObject``, instance launches and changes to the user's own keys,
so applications using the user's keys may already be failing. Which users carry one is read
in a fixed number of calls per account however many users it has, never one call per user:
one ``ListPolicies`` of the AWS managed policies attached there says which quarantine versions
are attached at all, and only those are listed (``ListEntitiesForPolicy``, ``EntityFilter=User``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.iam.aws import Aws

_AWS_POLICY = "arn:aws:iam::aws:policy/"
# Each version AWS has published, by the name people see, oldest first.
QUARANTINE_VERSIONS = ("V1", "V2", "V3", "V4")
QUARANTINE_ARNS: Mapping[str, str] = {
    version: f"{_AWS_POLICY}AWSCompromisedKeyQuarantine{'' if version == 'V1' else version}"
    for version in QUARANTINE_VERSIONS
}
# Denies everything, sessions minted with GetSessionToken from the user's keys too (they carry
# the user's permissions, evaluated at each request): what containment may attach.
DENY_ALL = "AWSDenyAll"
DENY_ALL_ARN = f"{_AWS_POLICY}{DENY_ALL}"


def quarantine_version(arn: str) -> str | None:
    """The version a policy ARN is of the quarantine policy ("V3"), None if it is not one."""
    return next((v for v, known in QUARANTINE_ARNS.items() if known == arn), None)


def quarantined_users(aws: Aws) -> dict[str, str]:
    """Every user of the current account carrying a quarantine policy, by name, with the
    newest version it carries: the versions attached in the account, then one listing per
    attached version, asked concurrently. Where no key leaked (nearly every account an audit
    reads) that is one call, not one per version."""
    attached = {
        policy["Arn"]
        for policy in aws.items(
            "iam",
            "ListPolicies",
            "Policies",
            Scope="AWS",
            OnlyAttached=True,
            PolicyUsageFilter="PermissionsPolicy",
        )
    }
    versions = [v for v, arn in QUARANTINE_ARNS.items() if arn in attached]

    def carrying(version: str) -> list[str]:
        users = aws.items(
            "iam",
            "ListEntitiesForPolicy",
            "PolicyUsers",
            PolicyArn=QUARANTINE_ARNS[version],
            EntityFilter="User",
        )
        return [u["UserName"] for u in users]

    found: dict[str, str] = {}
    for version, names in zip(versions, aws.map(carrying, versions), strict=True):
        found.update(dict.fromkeys(names, version))  # oldest first: the newest one wins
    return found


def version_of(quarantined: Mapping[str, str], user: str) -> str | None:
    """The quarantine version ``user`` carries, by its name regardless of case (IAM's names
    are unique regardless of case), None if none."""
    name = user.casefold()
    return next((v for n, v in quarantined.items() if n.casefold() == name), None)


def policy_name(version: str) -> str:
    """The quarantine policy of ``version`` by its name: AWSCompromisedKeyQuarantineV3."""
    return QUARANTINE_ARNS[version].removeprefix(_AWS_POLICY)


def carried(attached: Iterable[str]) -> str | None:
    """The newest quarantine version among a user's attached policy ARNs, None if none."""
    versions = [v for v in map(quarantine_version, attached) if v]
    return max(versions, key=QUARANTINE_VERSIONS.index) if versions else None
