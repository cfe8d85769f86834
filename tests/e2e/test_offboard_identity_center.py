"""`/iam offboard @person` reaches IAM Identity Center, over signed HTTP: Carol has IAM users
in staging and production, two direct assignments and two groups in the instance (in
management); one approval removes all of it, nothing of Bob's; the plan says how long issued
sessions may last; a SCIM-provisioned Carol keeps her user and groups; a deletion AWS ends
FAILED is reported by name and a retry finishes without repeating."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from sandbox.aws import FaithfulAws, is_mutating
from tests.fixtures.accounts import Org, listed_config, organization, source_identity
from tests.fixtures.aws import succeeded_changes
from tests.fixtures.served import served
from tests.fixtures.slack import Bot, current, flatten, open_request

OFFBOARD_CAROL = "offboard <@U0CAROL> left the company"
_CENTER = {"sso", "identitystore"}  # the services, as the sandbox records them


@dataclass(frozen=True)
class Center:
    """The instance and who is in it."""

    arn: str
    store: str
    carol: str
    bob: str
    admin: str  # permission set ARNs
    readonly: str
    billing: str
    engineers: str  # group IDs
    oncall: str

    def config(self, org: Org, extra: str = "") -> str:
        return listed_config(org) + "identity_center:\n  account: management\n" + extra


@pytest.fixture
def org(aws: FaithfulAws) -> Org:
    """Carol's IAM users: `carol` in staging, `cjones` in production."""
    org = organization(aws)
    tag = [{"Key": "slack-user-id", "Value": "U0CAROL"}]
    aws.client("iam", org.staging).create_user(UserName="carol", Tags=tag)
    aws.client("iam", org.production).create_user(UserName="cjones", Tags=tag)
    return org


@pytest.fixture
def center(aws: FaithfulAws, org: Org) -> Center:
    """In management's instance: Carol has Admin in production and ReadOnly in staging
    directly, and is in Engineers (ReadOnly in production) and Oncall (Billing in
    management); Bob has Admin in production directly and is in Engineers too."""
    aws.add_bot_role(org.management, "iam-bot-identity-center")  # the bot acts through it
    sso = aws.client("sso-admin", org.management)
    store = aws.client("identitystore", org.management)
    found = sso.list_instances()["Instances"][0]
    arn, store_id = found["InstanceArn"], found["IdentityStoreId"]

    def user(name: str) -> str:
        return store.create_user(
            IdentityStoreId=store_id,
            UserName=name,
            DisplayName=name.title(),
            Name={"GivenName": name.title(), "FamilyName": "Example"},
            Emails=[{"Value": f"{name}@example.com", "Type": "work", "Primary": True}],
        )["UserId"]

    def permission_set(name: str, hours: int | None) -> str:
        extra: dict[str, Any] = {"SessionDuration": f"PT{hours}H"} if hours else {}
        made = sso.create_permission_set(InstanceArn=arn, Name=name, **extra)
        return made["PermissionSet"]["PermissionSetArn"]

    def group(name: str, *members: str) -> str:
        group_id = store.create_group(IdentityStoreId=store_id, DisplayName=name)["GroupId"]
        for member in members:
            store.create_group_membership(
                IdentityStoreId=store_id, GroupId=group_id, MemberId={"UserId": member}
            )
        return group_id

    def assign(principal: str, kind: str, account: str, permission_set_arn: str) -> None:
        sso.create_account_assignment(
            InstanceArn=arn,
            TargetId=account,
            TargetType="AWS_ACCOUNT",
            PermissionSetArn=permission_set_arn,
            PrincipalType=kind,
            PrincipalId=principal,
        )

    carol, bob = user("carol"), user("bob")
    admin, readonly, billing = (
        permission_set("Admin", 8),
        permission_set("ReadOnly", 4),
        permission_set("Billing", None),
    )
    engineers, oncall = group("Engineers", carol, bob), group("Oncall", carol)
    assign(carol, "USER", org.production, admin)
    assign(carol, "USER", org.staging, readonly)
    assign(bob, "USER", org.production, admin)
    assign(engineers, "GROUP", org.production, readonly)
    assign(oncall, "GROUP", org.management, billing)
    return Center(arn, store_id, carol, bob, admin, readonly, billing, engineers, oncall)


def _assignments(aws: FaithfulAws, org: Org, center: Center, principal: str, kind: str) -> set:
    sso = aws.client("sso-admin", org.management)
    found = sso.list_account_assignments_for_principal(
        InstanceArn=center.arn, PrincipalId=principal, PrincipalType=kind
    )["AccountAssignments"]
    return {(a["AccountId"], a["PermissionSetArn"]) for a in found}


def _groups_of(aws: FaithfulAws, org: Org, center: Center, user: str) -> set[str]:
    store = aws.client("identitystore", org.management)
    found = store.list_group_memberships_for_member(
        IdentityStoreId=center.store, MemberId={"UserId": user}
    )["GroupMemberships"]
    return {m["GroupId"] for m in found}


def _users(aws: FaithfulAws, org: Org, center: Center) -> set[str]:
    store = aws.client("identitystore", org.management)
    return {u["UserName"] for u in store.list_users(IdentityStoreId=center.store)["Users"]}


def _finished(bot: Bot, request) -> str:
    bot.slack.wait_for(lambda: any(s in flatten(current(bot, request)) for s in (":x:", "Done.")))
    return flatten(current(bot, request))


def test_one_approval_removes_iam_users_assignments_groups_and_user(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    bot: Bot = make_bot(center.config(org))
    request = open_request(bot, OFFBOARD_CAROL)
    shown = flatten(request)
    assert f"IAM Identity Center in management ({org.management}): user carol" in shown, shown
    assert f"`Admin in production ({org.production})`" in shown
    assert f"`ReadOnly in staging ({org.staging})`" in shown
    assert "`Engineers` (through it: ReadOnly in production" in shown
    assert "which stays for the group's other members" in shown
    assert "`Oncall` (through it: Billing in management" in shown
    assert "delete Identity Center user" in shown
    assert "sessions already issued may last up to 8 hours: no API ends them" in shown

    bot.press(request, "Approve", user="U0SEC1")
    said = _finished(bot, request)
    assert "Done." in said, said
    assert f"IAM Identity Center in management ({org.management}): carol removed" in said
    assert _users(aws, org, center) == {"bob"}
    assert _assignments(aws, org, center, center.carol, "USER") == set()
    # nobody else's: Bob's own assignment and membership, the groups' assignments
    assert _assignments(aws, org, center, center.bob, "USER") == {(org.production, center.admin)}
    assert _groups_of(aws, org, center, center.bob) == {center.engineers}
    assert _assignments(aws, org, center, center.engineers, "GROUP") == {
        (org.production, center.readonly)
    }
    assert _assignments(aws, org, center, center.oncall, "GROUP") == {
        (org.management, center.billing)
    }
    # each deletion waited for its status; every change ran in management through the
    # Identity Center role, signed with Alice's source identity
    assert aws.count("DescribeAccountAssignmentDeletionStatus", account=org.management) >= 2
    changes = [c for c in aws.calls() if c.service in _CENTER and is_mutating(c.action)]
    assert len(changes) == 5, changes  # 2 assignments, 2 memberships, the user
    for change in changes:
        assert change.account == org.management
        assert change.source_identity == source_identity("U0ALICE")
        assert "assumed-role/iam-bot-identity-center/" in change.principal, change

    # her history shows the Identity Center part, though no IAM user of hers is left
    history = bot.said(bot.command("history <@U0CAROL>"))
    assert f"IAM Identity Center in management ({org.management}): carol removed" in history
    assert "Identity Center snapshot: 2 direct assignments · groups: Engineers, Oncall" in history


def test_a_provisioned_person_keeps_user_and_groups_only_direct_assignments_go(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    aws.provision_externally(center.carol)
    bot: Bot = make_bot(center.config(org))
    request = open_request(bot, OFFBOARD_CAROL)
    shown = flatten(request)
    assert "the identity provider must deprovision the person" in shown, shown
    assert "remove from Identity Center group" not in shown
    assert "delete Identity Center user" not in shown

    bot.press(request, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, request)
    assert "carol" in _users(aws, org, center)
    assert _groups_of(aws, org, center, center.carol) == {center.engineers, center.oncall}
    assert _assignments(aws, org, center, center.carol, "USER") == set()


def test_scim_setting_keeps_the_user_too(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    bot: Bot = make_bot(center.config(org, "  scim: true\n"))
    request = open_request(bot, OFFBOARD_CAROL)
    assert "the identity provider must deprovision the person" in flatten(request)
    assert "delete Identity Center user" not in flatten(request)


def test_a_failed_deletion_is_reported_by_name_and_a_retry_does_not_repeat(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    bot: Bot = make_bot(center.config(org))
    request = open_request(bot, OFFBOARD_CAROL)
    aws.fail_assignment_deletion("Access denied to the account")
    bot.press(request, "Approve", user="U0SEC1")
    said = _finished(bot, request)
    assert ":x:" in said, said
    assert "FAILED: Access denied to the account" in said
    assert "carol" in _users(aws, org, center)  # later steps wait for the failed one

    deletions = aws.count("DeleteAccountAssignment")
    memberships = aws.count("DeleteGroupMembership")
    bot.press(current(bot, request), "Retry", user="U0SEC2")
    said = _finished(bot, request)
    assert "Done." in said, said
    assert _users(aws, org, center) == {"bob"}
    assert _assignments(aws, org, center, center.carol, "USER") == set()
    assert aws.count("DeleteAccountAssignment") == deletions + 1  # only the failed one again
    assert aws.count("DeleteGroupMembership") == memberships + 2


def test_disable_keeps_the_user_and_enable_gives_back_what_it_took(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    bot: Bot = make_bot(center.config(org))
    disable = open_request(bot, OFFBOARD_CAROL + " --disable")
    assert "delete Identity Center user" not in flatten(disable)
    bot.press(disable, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, disable)
    assert "carol" in _users(aws, org, center)
    assert _assignments(aws, org, center, center.carol, "USER") == set()
    assert _groups_of(aws, org, center, center.carol) == set()

    before = {m.ts for m in bot.channel()}
    bot.command("enable <@U0CAROL> back from leave")
    opened = [m for m in bot.channel() if m.ts not in before]
    (restore,) = [m for m in opened if "Identity Center" in flatten(m)]
    shown = flatten(restore)
    assert "Enable Identity Center user carol" in shown, shown
    assert f"`Admin in production ({org.production})`" in shown
    assert "add back to Identity Center group" in shown and "`Oncall`" in shown
    bot.press(restore, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, restore), flatten(current(bot, restore))
    assert _assignments(aws, org, center, center.carol, "USER") == {
        (org.production, center.admin),
        (org.staging, center.readonly),
    }
    assert _groups_of(aws, org, center, center.carol) == {center.engineers, center.oncall}


def test_an_assignment_identity_center_fails_to_give_back_is_reported_and_retried(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    """CreateAccountAssignment only starts the creation, as deletion does: the enable waits for
    its end, and one that ends FAILED fails the step by name instead of saying "Done"."""
    bot: Bot = make_bot(center.config(org))
    disable = open_request(bot, OFFBOARD_CAROL + " --disable")
    bot.press(disable, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, disable)
    before = {m.ts for m in bot.channel()}
    bot.command("enable <@U0CAROL> back from leave")
    (restore,) = [
        m for m in bot.channel() if m.ts not in before and "Identity Center" in flatten(m)
    ]

    aws.fail_assignment_creation("Access denied to the account")
    bot.press(restore, "Approve", user="U0SEC1")
    said = _finished(bot, restore)
    assert ":x:" in said and "FAILED: Access denied to the account" in said, said
    assert "Done." not in said
    assert len(_assignments(aws, org, center, center.carol, "USER")) == 1  # one of two back

    bot.press(current(bot, restore), "Retry", user="U0SEC2")
    assert "Done." in _finished(bot, restore)
    assert _assignments(aws, org, center, center.carol, "USER") == {
        (org.production, center.admin),
        (org.staging, center.readonly),
    }
    assert aws.count("DescribeAccountAssignmentCreationStatus") >= 2


def test_a_fault_mid_run_resumes_without_repeating_a_change(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    bot: Bot = make_bot(center.config(org))
    request = open_request(bot, OFFBOARD_CAROL)
    aws.fail("DeleteGroupMembership", code="AccessDeniedException", status=400)
    bot.press(request, "Approve", user="U0SEC1")
    said = _finished(bot, request)
    assert ":x:" in said and "remove from Identity Center group" in said, said
    assert _assignments(aws, org, center, center.carol, "USER") == set()  # wave 1 finished

    bot.press(current(bot, request), "Retry", user="U0SEC2")
    assert "Done." in _finished(bot, request)
    assert _users(aws, org, center) == {"bob"}
    assert aws.count("DeleteAccountAssignment") == 2  # none of the first run's again
    assert aws.count("DeleteGroupMembership") == 2  # each membership went once
    assert aws.count("DeleteGroupMembership", ok_only=False) == 3  # the refused one again


def test_a_person_with_no_iam_user_is_offboarded_from_identity_center_alone(
    make_bot, aws: FaithfulAws, org: Org, center: Center
) -> None:
    bot: Bot = make_bot(center.config(org))
    request = open_request(bot, "offboard <@U0BOB> moved on")
    shown = flatten(request)
    assert "Offboard @bob: Identity Center user bob" in shown, shown
    assert "IAM user" not in shown
    bot.press(request, "Approve", user="U0SEC1")
    assert "Done." in _finished(bot, request)
    assert _users(aws, org, center) == {"carol"}
    assert _assignments(aws, org, center, center.carol, "USER") == {
        (org.production, center.admin),
        (org.staging, center.readonly),
    }
    assert _groups_of(aws, org, center, center.carol) == {center.engineers, center.oncall}


def test_a_bot_killed_mid_run_is_resumed_and_repeats_no_change(
    aws: FaithfulAws, slack, org: Org, center: Center, tmp_path
) -> None:
    """SIGKILL while Identity Center's memberships are being removed; those calls still reach
    AWS with nobody to hear. The restarted bot resumes from the journal: what is gone is gone,
    and no change succeeds twice."""
    config = center.config(org)
    arranged = len(aws.calls())
    with served(tmp_path, slack, config) as sender:
        assert sender.command(OFFBOARD_CAROL, user_id="U0ALICE").status == 200
        plan = slack.wait_for(lambda: [m for m in slack.messages("C0OPS") if m.blocks])[0]
        aws.hold("DeleteGroupMembership")  # the run stops in the part's second wave
        assert sender.press(plan, user_id="U0SEC1", label="Approve").status == 200
        assert aws.wait_held("DeleteGroupMembership", count=2, timeout=30)
    aws.release("DeleteGroupMembership")  # the held removals reach AWS, nobody listening
    assert "carol" in _users(aws, org, center)  # the crash left the person half-removed

    def shown() -> str:
        return flatten(next(m for m in slack.messages("C0OPS") if m.ts == plan.ts))

    with served(tmp_path, slack, config):  # the same state; the dead run's lease runs out
        slack.wait_for(lambda: "Done." in shown(), timeout=60)
    assert _users(aws, org, center) == {"bob"}
    assert _assignments(aws, org, center, center.carol, "USER") == set()
    succeeded = succeeded_changes(aws, arranged)
    assert len(succeeded) == len(set(succeeded)), "a change succeeded twice"
    assert aws.count("DeleteUser", ok_only=True) == 3  # cjones, carol and carol in IC
