"""The IAM module on its own: every operation through boto3 to the faithful moto, pages of one.

With ``page_size=1`` the sandbox answers every list one item at a time, so any function that
stopped at the first page would come back short here.
"""

from __future__ import annotations

import json

import pytest

from bot.iam import account, credentials, errors, inventory, keys, planning, policies, steps, users
from bot.iam.aws import Aws
from bot.iam.models import KeyStatus, MfaKind
from sandbox.seed import attach_everything

DOC = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
}


@pytest.fixture
def gw(aws) -> Aws:
    """The bot's gateway, against a sandbox that pages everything one item at a time."""
    aws.set_page_size(1)
    return Aws(max_attempts=2)


def test_users_tags_and_boundary(gw: Aws, iam) -> None:
    for name in ("u1", "u2", "u3"):
        users.create_user(gw, name, {"team": "a", "slack-user-id": f"U{name.upper()}"})
    assert {u.name: u.tags["slack-user-id"] for u in users.users_with_tags(gw)} == {
        "u1": "UU1",
        "u2": "UU2",
        "u3": "UU3",
    }
    users.tag_user(gw, "u1", {"extra": "x"})
    assert users.get_user(gw, "u1").tags == {"team": "a", "slack-user-id": "UU1", "extra": "x"}
    arn = iam.create_policy(PolicyName="b", PolicyDocument=json.dumps(DOC))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="u1", PermissionsBoundary=arn)
    assert users.get_user(gw, "u1").boundary_arn == arn
    users.delete_permissions_boundary(gw, "u1")
    assert users.get_user(gw, "u1").boundary_arn is None
    users.delete_user(gw, "u3")
    with pytest.raises(errors.NotFound):
        users.get_user(gw, "u3")


def test_access_keys_lifecycle_and_owner(gw: Aws, aws) -> None:
    users.create_user(gw, "k")
    first, second = keys.create_access_key(gw, "k"), keys.create_access_key(gw, "k")
    assert first.secret.reveal() not in repr(first) and str(first.secret) == "Secret('********')"
    with pytest.raises(errors.LimitExceeded):
        keys.create_access_key(gw, "k")  # two keys per user
    listed = keys.access_keys_with_last_use(gw, "k")
    assert {k.key_id for k in listed} == {first.key_id, second.key_id}
    assert all(k.last_used is not None and k.last_used.when is None for k in listed)
    keys.set_access_key_status(gw, "k", first.key_id, KeyStatus.INACTIVE)
    assert {k.key_id: k.status for k in keys.list_access_keys(gw, "k")}[
        first.key_id
    ] is KeyStatus.INACTIVE
    owner = keys.key_owner(gw, second.key_id)
    assert owner.user_name == "k" and not owner.foreign
    aws.add_foreign_key("AKIAFOREIGNFOREIGN00", "444455556666")
    assert keys.key_owner(gw, "AKIAFOREIGNFOREIGN00").account_id == "444455556666"
    keys.delete_access_key(gw, "k", first.key_id)
    with pytest.raises(errors.NotFound):
        keys.delete_access_key(gw, "k", first.key_id)


def test_credentials_of_every_kind(gw: Aws, iam) -> None:
    made = attach_everything(iam, "c", keys=0, service_credentials=2, ssh_keys=2, certificates=2)
    assert credentials.get_login_profile(gw, "c").reset_required is True  # as created
    iam.update_login_profile(UserName="c", PasswordResetRequired=False)
    credentials.require_password_reset(gw, "c")  # keeps the password, as IAM does
    assert credentials.get_login_profile(gw, "c").reset_required is True
    assert len(credentials.list_signing_certificates(gw, "c")) == 2
    assert len(credentials.list_ssh_public_keys(gw, "c")) == 2
    creds = credentials.list_service_credentials(gw, "c")  # no boto3 paginator: ours pages it
    assert len(creds) == 2 and {c.service for c in creds} == {"codecommit.amazonaws.com"}
    credentials.delete_service_credential(gw, "c", creds[0].cred_id)
    assert [c.cred_id for c in credentials.list_service_credentials(gw, "c")] == [creds[1].cred_id]
    (device,) = credentials.list_mfa_devices(gw, "c")
    assert (
        device.serial == made.mfa_serial
        and device.kind is MfaKind.VIRTUAL
        and device.kind.deletable
    )
    with pytest.raises(errors.Conflict):
        credentials.delete_virtual_mfa_device(gw, device.serial)  # still enabled
    credentials.deactivate_mfa_device(gw, "c", device.serial)
    credentials.delete_virtual_mfa_device(gw, device.serial)
    credentials.delete_login_profile(gw, "c")
    assert credentials.get_login_profile(gw, "c") is None


def test_policies_and_groups(gw: Aws, iam) -> None:
    users.create_user(gw, "p")
    for name in ("one", "two"):
        iam.put_user_policy(UserName="p", PolicyName=name, PolicyDocument=json.dumps(DOC))
        iam.create_group(GroupName=f"g-{name}")
        policies.add_user_to_group(gw, "p", f"g-{name}")
        arn = iam.create_policy(PolicyName=f"m-{name}", PolicyDocument=json.dumps(DOC))["Policy"][
            "Arn"
        ]
        policies.attach_policy(gw, "p", arn)
    assert policies.list_inline_policy_names(gw, "p") == ["one", "two"]
    assert policies.get_inline_policy(gw, "p", "one").document == DOC
    assert [g.name for g in policies.list_groups_for_user(gw, "p")] == ["g-one", "g-two"]
    attached = policies.list_attached_policies(gw, "p")
    assert [p.name for p in attached] == ["m-one", "m-two"]
    assert policies.get_group(gw, "g-one").name == "g-one"
    with pytest.raises(errors.NotFound):
        policies.get_group(gw, "no-such-group")
    policies.detach_policy(gw, "p", attached[0].arn)
    policies.remove_user_from_group(gw, "p", "g-one")
    policies.delete_inline_policy(gw, "p", "one")
    assert len(policies.list_attached_policies(gw, "p")) == 1
    assert iam.get_policy(PolicyArn=attached[0].arn)  # detached, never deleted


def test_delete_user_refused_until_everything_is_gone(gw: Aws, iam) -> None:
    attach_everything(iam, "leaver")
    with pytest.raises(errors.Conflict):
        users.delete_user(gw, "leaver")
    inv = inventory.take_inventory(gw, "leaver")
    for step in planning.removal_steps(inv):
        assert steps.run_step(gw, "leaver", step) == "done"
    assert steps.run_step(gw, "leaver", planning.removal_steps(inv)[-1]) == "gone"


def test_account_facts_and_report(gw: Aws, iam) -> None:
    assert account.list_account_aliases(gw) == []
    account.create_account_alias(gw, "acme-sandbox")
    assert account.list_account_aliases(gw) == ["acme-sandbox"]
    account.delete_account_alias(gw, "acme-sandbox")
    assert account.password_policy(gw) is None
    iam.update_account_password_policy(MinimumPasswordLength=12)
    assert account.password_policy(gw).settings["MinimumPasswordLength"] == 12
    users.create_user(gw, "r1")
    users.create_user(gw, "r2")
    assert account.account_summary(gw).usage("Users")[0] == 2
    assert account.saml_providers(gw) == []
    report = account.fetch_credential_report(gw, sleep=lambda _: None)
    assert [r["user"] for r in report.rows] == ["<root_account>", "r1", "r2"]


def test_a_report_being_built_is_read_as_soon_as_iam_has_it(gw: Aws, aws) -> None:
    """IAM answers STARTED, then COMPLETE: the report is asked for again after a moment, not
    after the longest wait (a first audit's answer came 2 s late)."""
    users.create_user(gw, "r1")
    waits: list[float] = []
    report = account.fetch_credential_report(gw, sleep=waits.append)
    assert [r["user"] for r in report.rows] == ["<root_account>", "r1"]
    assert [c.action for c in aws.calls() if "Credential" in c.action] == [
        "GenerateCredentialReport",
        "GenerateCredentialReport",
        "GetCredentialReport",
    ]
    assert sum(waits) <= 0.25  # one short wait, where there was one of 2 s


@pytest.mark.parametrize(
    ("code", "status", "domain"),
    [
        ("AccessDenied", 403, errors.AccessDenied),
        ("Throttling", 400, errors.Throttled),
        ("ServiceFailure", 500, errors.Unavailable),
        ("NoSuchEntity", 404, errors.NotFound),
    ],
)
def test_aws_errors_become_domain_errors(
    gw: Aws, aws, code: str, status: int, domain: type
) -> None:
    aws.fail("ListAccountAliases", code=code, status=status, times=10)
    with pytest.raises(domain) as err:
        account.list_account_aliases(gw)
    assert err.value.operation == "ListAccountAliases"
    if domain is errors.AccessDenied:
        assert err.value.action == "iam:ListAccountAliases"


def test_fan_out_keeps_order_and_never_deadlocks_when_nested(gw: Aws) -> None:
    nested = gw.map(lambda i: gw.map(lambda j: (i, j), range(3)), range(40))
    assert nested == [[(i, j) for j in range(3)] for i in range(40)]
