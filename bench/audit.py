"""Stale-key audit of 1000 users: the credential report against per-user listing, 5 ms per call.

Per-user listing is what seed 002 does for one user, repeated for all: ListUsers (every page),
then ListAccessKeys per user and GetAccessKeyLastUsed per key, one after another. The bot's
audit reads the credential report (generate, fetch) and asks ListAccessKeys only for the users
whose findings it shows with a button. Same sandbox, same latency, same run; both paths must
find the same stale keys. The sandbox runs in a process of its own (sandbox/process.py), as AWS
does its work elsewhere; seeding runs there too.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3

from bench.rig import seed_users, timed
from bot.iam import audit as audit_module
from bot.iam.aws import Aws
from bot.ops.audit import WORST
from sandbox.aws import FaithfulAws
from sandbox.harness import point_boto3_at
from sandbox.process import SandboxProcess

USERS = 1000
STALE = "stale keys"
DELAY_S = 0.005
ROTATION_AGE, UNUSED = 90, 45


def seed(sandbox: FaithfulAws) -> None:
    """In the sandbox's process: the account's users and keys."""
    seed_users(sandbox, USERS, 7)


def per_user(iam) -> set[tuple[str, str]]:
    """Seed 002's calls for every user; returns (user, key) of stale active keys."""
    stale = set()
    now = datetime.now(UTC)
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            name = user["UserName"]
            for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])[
                    "AccessKeyLastUsed"
                ]
                last = used.get("LastUsedDate")
                age = (now - key["CreateDate"]).days
                idle = (now - last).days if last else age
                if key["Status"] == "Active" and (age > ROTATION_AGE or idle >= UNUSED):
                    stale.add((name, _second(key["CreateDate"])))
    return stale


def report_path(aws: Aws) -> set[tuple[str, str]]:
    report = audit_module.CredentialReports(aws).get()
    found = audit_module.findings(
        report, rotation_age_days=ROTATION_AGE, unused_days=UNUSED, at=datetime.now(UTC)
    )
    audit_module.name_keys(aws, found[:WORST])
    return {(f.user, _second(f.key_created)) for f in found if f.key_created}


def _second(when: datetime) -> str:
    return when.replace(microsecond=0).isoformat()


def main() -> None:
    with SandboxProcess() as sandbox:
        point_boto3_at(sandbox.endpoint_url)
        sandbox.run(seed)
        # Both paths get a ready client, as a running bot has: building one is not the audit.
        iam = boto3.client("iam", endpoint_url=sandbox.endpoint_url, region_name="us-east-1")
        bot_aws = Aws()
        bot_aws.client("iam")
        slow, slow_calls, a = timed(
            sandbox, DELAY_S, "per-user listing (seed 002 x 1000)", STALE, lambda: per_user(iam)
        )
        cold, cold_calls, _ = timed(
            sandbox, DELAY_S, "report built now (first in 4 h)", STALE, lambda: report_path(bot_aws)
        )
        fast, fast_calls, b = timed(
            sandbox, DELAY_S, "report already built (usual)", STALE, lambda: report_path(bot_aws)
        )
    assert a == b, f"the two paths disagree on {len(a ^ b)} keys"
    fewer, faster = slow_calls / fast_calls, slow / fast
    met = "met" if fewer >= 100 and faster >= 100 else "NOT met"
    print(
        f"{USERS} users, {DELAY_S * 1000:.0f} ms per call; both found the same {len(a)} stale keys"
    )
    print(
        f"report already built: {fewer:.0f}x fewer calls, {faster:.0f}x faster (goal 100x: {met})"
    )
    cold_fewer, cold_faster = slow_calls / cold_calls, slow / cold
    print(f"report built now:     {cold_fewer:.0f}x fewer calls, {cold_faster:.0f}x faster")


if __name__ == "__main__":
    main()
