"""The faithful layer: moto made as strict as IAM where the bot depends on it, plus injection.

Everything goes through ordinary boto3 clients at ``endpoint_url``, as the bot's calls do. The
clients never retry, so each API call is exactly one request the layer can count.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore import xform_name
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.paginate import Paginator

from sandbox.aws import PAGED_ACTIONS, REDACTED, FaithfulAws
from sandbox.seed import DEMO_PEOPLE, certificate, seed_demo, ssh_public_key
from tests.fixtures.aws import user_exists

NOW = datetime.now(UTC)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
)
SSC_PAGING = {  # ListServiceSpecificCredentials pages by Marker, but botocore has no paginator
    "input_token": "Marker",
    "output_token": "Marker",
    "more_results": "IsTruncated",
    "limit_key": "MaxItems",
    "result_key": "ServiceSpecificCredentials",
}


@dataclass
class Clients:
    iam: Any
    sts: Any
    secrets: Any


@pytest.fixture(scope="module")
def sandbox(aws_sandbox: FaithfulAws) -> FaithfulAws:
    """The session's sandbox: moto's state is process-wide, so there is only ever one."""
    return aws_sandbox


@pytest.fixture(scope="module")
def clients(sandbox: FaithfulAws) -> Clients:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=sandbox.endpoint_url, config=config)

    return Clients(client("iam"), client("sts"), client("secretsmanager"))


@pytest.fixture
def iam(aws: FaithfulAws, clients: Clients) -> Any:
    return clients.iam


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


# --- DeleteUser refuses while anything is attached --------------------------------------------


def _enable_mfa(iam: Any, user: str, name: str) -> str:
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"][
        "SerialNumber"
    ]
    iam.enable_mfa_device(
        UserName=user,
        SerialNumber=serial,
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    return serial


def _remove_mfa(iam: Any, user: str, serial: str) -> None:
    iam.deactivate_mfa_device(UserName=user, SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)


def _attach_policy(iam: Any, user: str) -> str:
    arn = iam.create_policy(PolicyName="p", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    return arn


def _join_group(iam: Any, user: str) -> str:
    iam.create_group(GroupName="g")
    iam.add_user_to_group(GroupName="g", UserName=user)
    return "g"


# kind: (attach -> handle, detach(handle), words IAM's message uses)
ATTACHMENTS: dict[str, tuple[Callable[[Any, str], Any], Callable[[Any, str, Any], None], str]] = {
    "login profile": (
        lambda iam, u: iam.create_login_profile(UserName=u, Password="Pa55-word-for-test!"),
        lambda iam, u, _: iam.delete_login_profile(UserName=u),
        "must delete login profile first",
    ),
    "access key": (
        lambda iam, u: iam.create_access_key(UserName=u)["AccessKey"]["AccessKeyId"],
        lambda iam, u, key: iam.delete_access_key(UserName=u, AccessKeyId=key),
        "must delete access keys first",
    ),
    "signing certificate": (
        lambda iam, u: iam.upload_signing_certificate(UserName=u, CertificateBody=certificate())[
            "Certificate"
        ]["CertificateId"],
        lambda iam, u, cert: iam.delete_signing_certificate(UserName=u, CertificateId=cert),
        "must delete signing certificates first",
    ),
    "SSH public key": (
        lambda iam, u: iam.upload_ssh_public_key(UserName=u, SSHPublicKeyBody=ssh_public_key())[
            "SSHPublicKey"
        ]["SSHPublicKeyId"],
        lambda iam, u, key: iam.delete_ssh_public_key(UserName=u, SSHPublicKeyId=key),
        "must delete SSH public keys first",
    ),
    "service-specific credential": (
        lambda iam, u: iam.create_service_specific_credential(
            UserName=u, ServiceName="codecommit.amazonaws.com"
        )["ServiceSpecificCredential"]["ServiceSpecificCredentialId"],
        lambda iam, u, cred: iam.delete_service_specific_credential(
            UserName=u, ServiceSpecificCredentialId=cred
        ),
        "must delete service specific credentials first",
    ),
    "MFA device": (
        lambda iam, u: _enable_mfa(iam, u, "leaver-mfa"),
        _remove_mfa,
        "must delete MFA device first",
    ),
    "inline policy": (
        lambda iam, u: iam.put_user_policy(UserName=u, PolicyName="inline", PolicyDocument=POLICY),
        lambda iam, u, _: iam.delete_user_policy(UserName=u, PolicyName="inline"),
        "must delete policies first",
    ),
    "managed policy": (
        _attach_policy,
        lambda iam, u, arn: iam.detach_user_policy(UserName=u, PolicyArn=arn),
        "must detach all policies first",
    ),
    "group membership": (
        _join_group,
        lambda iam, u, group: iam.remove_user_from_group(GroupName=group, UserName=u),
        "must remove user from all groups first",
    ),
}


@pytest.mark.parametrize("kind", list(ATTACHMENTS))
def test_delete_user_is_refused_while_anything_is_attached(
    aws: FaithfulAws, iam: Any, kind: str
) -> None:
    attach, detach, words = ATTACHMENTS[kind]
    iam.create_user(UserName="leaver")
    handle = attach(iam, "leaver")

    with pytest.raises(ClientError) as refused:
        iam.delete_user(UserName="leaver")
    assert _code(refused) == ("DeleteConflict", 409)
    assert refused.value.response["Error"]["Message"] == f"Cannot delete entity, {words}."
    assert user_exists(iam, "leaver")

    detach(iam, "leaver", handle)
    iam.delete_user(UserName="leaver")
    assert not user_exists(iam, "leaver")
    assert [c.status for c in aws.calls("DeleteUser")] == [409, 200]


def test_conflict_is_answered_in_iams_xml_shape(aws: FaithfulAws, iam: Any) -> None:
    iam.create_user(UserName="leaver")
    iam.create_access_key(UserName="leaver")
    host, port = aws.endpoint_url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    body = "Action=DeleteUser&Version=2010-05-08&UserName=leaver"
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/iam/aws4_request",
    }
    conn.request("POST", "/", body=body, headers=headers)
    answer = conn.getresponse()
    assert answer.status == 409
    assert re.fullmatch(
        r'<ErrorResponse xmlns="https://iam\.amazonaws\.com/doc/2010-05-08/"><Error>'
        r"<Type>Sender</Type><Code>DeleteConflict</Code>"
        r"<Message>Cannot delete entity, must delete access keys first\.</Message></Error>"
        r"<RequestId>[0-9a-f-]{36}</RequestId></ErrorResponse>",
        answer.read().decode(),
    )
    conn.close()


def test_the_first_blocker_in_iam_order_is_named(iam: Any) -> None:
    iam.create_user(UserName="leaver")
    _join_group(iam, "leaver")
    iam.create_access_key(UserName="leaver")
    with pytest.raises(ClientError, match="must delete access keys first"):
        iam.delete_user(UserName="leaver")


def test_permissions_boundary_and_tags_do_not_block(iam: Any) -> None:
    arn = iam.create_policy(PolicyName="boundary", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.create_user(UserName="leaver", Tags=[{"Key": "email", "Value": "l@example.com"}])
    iam.put_user_permissions_boundary(UserName="leaver", PermissionsBoundary=arn)
    iam.delete_user(UserName="leaver")
    assert not user_exists(iam, "leaver")


def test_permissions_boundary_of_a_user(iam: Any) -> None:
    arn = iam.create_policy(PolicyName="boundary", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.create_user(UserName="dev")
    iam.put_user_permissions_boundary(UserName="dev", PermissionsBoundary=arn)
    shown = iam.get_user(UserName="dev")["User"]["PermissionsBoundary"]
    assert shown == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": arn,
    }
    [detail] = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
    assert detail["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn

    iam.delete_user_permissions_boundary(UserName="dev")
    assert "PermissionsBoundary" not in iam.get_user(UserName="dev")["User"]

    made = iam.create_user(UserName="new", PermissionsBoundary=arn)["User"]
    assert made["PermissionsBoundary"]["PermissionsBoundaryArn"] == arn
    with pytest.raises(ClientError) as missing:
        iam.put_user_permissions_boundary(
            UserName="dev", PermissionsBoundary="arn:aws:iam::123456789012:policy/none"
        )
    assert _code(missing) == ("NoSuchEntity", 404)


def test_unknown_user_is_no_such_entity(iam: Any) -> None:
    with pytest.raises(ClientError) as missing:
        iam.delete_user(UserName="ghost")
    assert _code(missing) == ("NoSuchEntity", 404)


def test_the_layers_own_checks_are_not_recorded(aws: FaithfulAws, iam: Any) -> None:
    iam.create_user(UserName="leaver")
    iam.delete_user(UserName="leaver")
    assert [c.action for c in aws.calls()] == ["CreateUser", "DeleteUser"]


def test_enabled_virtual_mfa_device_cannot_be_deleted(iam: Any) -> None:
    iam.create_user(UserName="carol")
    serial = _enable_mfa(iam, "carol", "carol")
    with pytest.raises(ClientError) as refused:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert _code(refused) == ("DeleteConflict", 409)

    iam.deactivate_mfa_device(UserName="carol", SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


# --- service-specific credentials ---------------------------------------------------------------


def test_service_specific_credential_lifecycle(iam: Any) -> None:
    iam.create_user(UserName="dev")
    created = iam.create_service_specific_credential(
        UserName="dev", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    cred_id = created["ServiceSpecificCredentialId"]
    assert re.fullmatch(r"ACCA[A-Z0-9]{17}", cred_id)
    assert created["ServiceUserName"] == "dev-at-123456789012"
    assert len(created["ServicePassword"]) >= 20
    assert (created["UserName"], created["Status"]) == ("dev", "Active")
    assert abs(created["CreateDate"] - datetime.now(UTC)) < timedelta(minutes=1)

    listed = iam.list_service_specific_credentials(UserName="dev")
    assert listed["IsTruncated"] is False
    [meta] = listed["ServiceSpecificCredentials"]
    assert meta["ServiceSpecificCredentialId"] == cred_id
    assert "ServicePassword" not in meta  # only Create and Reset show the secret

    iam.update_service_specific_credential(
        UserName="dev", ServiceSpecificCredentialId=cred_id, Status="Inactive"
    )
    [meta] = iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]
    assert meta["Status"] == "Inactive"

    reset = iam.reset_service_specific_credential(
        UserName="dev", ServiceSpecificCredentialId=cred_id
    )["ServiceSpecificCredential"]
    assert reset["ServiceSpecificCredentialId"] == cred_id
    assert reset["ServicePassword"] != created["ServicePassword"]

    iam.delete_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=cred_id)
    assert iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"] == []
    with pytest.raises(ClientError) as gone:
        iam.delete_service_specific_credential(UserName="dev", ServiceSpecificCredentialId=cred_id)
    assert _code(gone) == ("NoSuchEntity", 404)


def test_service_filter_and_another_users_credential(iam: Any) -> None:
    for user in ("dev", "other"):
        iam.create_user(UserName=user)
    mine = iam.create_service_specific_credential(
        UserName="dev", ServiceName="cassandra.amazonaws.com"
    )["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    iam.create_service_specific_credential(UserName="dev", ServiceName="codecommit.amazonaws.com")
    only = iam.list_service_specific_credentials(
        UserName="dev", ServiceName="cassandra.amazonaws.com"
    )["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in only] == [mine]
    with pytest.raises(ClientError) as not_theirs:
        iam.delete_service_specific_credential(UserName="other", ServiceSpecificCredentialId=mine)
    assert _code(not_theirs) == ("NoSuchEntity", 404)


def test_at_most_two_credentials_per_user_and_service(iam: Any) -> None:
    iam.create_user(UserName="dev")
    for _ in range(2):
        iam.create_service_specific_credential(
            UserName="dev", ServiceName="codecommit.amazonaws.com"
        )
    with pytest.raises(ClientError) as limit:
        iam.create_service_specific_credential(
            UserName="dev", ServiceName="codecommit.amazonaws.com"
        )
    assert _code(limit) == ("LimitExceeded", 409)
    iam.create_service_specific_credential(UserName="dev", ServiceName="cassandra.amazonaws.com")
    listed = iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"]
    assert len(listed) == 3


def test_credentials_of_an_unknown_user_or_service(iam: Any) -> None:
    with pytest.raises(ClientError) as create:
        iam.create_service_specific_credential(
            UserName="ghost", ServiceName="codecommit.amazonaws.com"
        )
    assert _code(create) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as listing:
        iam.list_service_specific_credentials(UserName="ghost")
    assert _code(listing) == ("NoSuchEntity", 404)
    iam.create_user(UserName="dev")
    with pytest.raises(ClientError) as service:
        iam.create_service_specific_credential(UserName="dev", ServiceName="s3.amazonaws.com")
    assert _code(service) == ("NotSupportedService", 404)


def test_credentials_are_paged(aws: FaithfulAws, iam: Any) -> None:
    iam.create_user(UserName="dev")
    made = {
        iam.create_service_specific_credential(UserName="dev", ServiceName=service)[
            "ServiceSpecificCredential"
        ]["ServiceSpecificCredentialId"]
        for service in ("codecommit.amazonaws.com", "cassandra.amazonaws.com")
    }
    aws.set_page_size(1)
    assert not iam.can_paginate("list_service_specific_credentials")
    model = iam.meta.service_model.operation_model("ListServiceSpecificCredentials")
    pages = list(
        Paginator(iam.list_service_specific_credentials, SSC_PAGING, model).paginate(UserName="dev")
    )
    got = {c["ServiceSpecificCredentialId"] for p in pages for c in p["ServiceSpecificCredentials"]}
    assert got == made
    assert len(pages) == aws.count("ListServiceSpecificCredentials") == 2


# --- pagination ----------------------------------------------------------------------------------


def test_list_users_is_paged_with_page_size(aws: FaithfulAws, iam: Any) -> None:
    names = [f"user{i}" for i in range(5)]
    for name in names:
        iam.create_user(UserName=name)
    aws.page_size = 2
    got = [u["UserName"] for p in iam.get_paginator("list_users").paginate() for u in p["Users"]]
    assert sorted(got) == names
    requests = aws.calls("ListUsers")
    assert len(requests) == 3
    assert "Marker" not in requests[0].params and "Marker" in requests[1].params


def test_list_users_honours_max_items_without_page_size(iam: Any) -> None:
    for i in range(3):
        iam.create_user(UserName=f"user{i}")
    assert len(iam.list_users()["Users"]) == 3
    first = iam.list_users(MaxItems=2)
    assert (len(first["Users"]), first["IsTruncated"]) == (2, True)
    rest = iam.list_users(MaxItems=2, Marker=first["Marker"])
    assert (len(rest["Users"]), rest["IsTruncated"]) == (1, False)
    assert "Marker" not in rest
    seen = {u["UserName"] for u in first["Users"] + rest["Users"]}
    assert seen == {"user0", "user1", "user2"}


def _populate(iam: Any) -> None:
    """At least two items in every list of PAGED_ACTIONS, for user u and group g."""
    iam.create_user(UserName="u", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(2)])
    iam.create_user(UserName="w")
    for i in range(2):
        arn = iam.create_policy(PolicyName=f"p{i}", PolicyDocument=POLICY)["Policy"]["Arn"]
        iam.create_group(GroupName=f"g{i}")
        iam.add_user_to_group(GroupName=f"g{i}", UserName="u")
        iam.create_access_key(UserName="u")
        iam.put_user_policy(UserName="u", PolicyName=f"inline{i}", PolicyDocument=POLICY)
        iam.attach_user_policy(UserName="u", PolicyArn=arn)
        iam.put_group_policy(GroupName="g0", PolicyName=f"inline{i}", PolicyDocument=POLICY)
        iam.attach_group_policy(GroupName="g0", PolicyArn=arn)
        iam.upload_signing_certificate(UserName="u", CertificateBody=certificate())
        iam.upload_ssh_public_key(UserName="u", SSHPublicKeyBody=ssh_public_key())
        _enable_mfa(iam, "u", f"mfa{i}")
    iam.add_user_to_group(GroupName="g0", UserName="w")


@pytest.mark.parametrize("action", sorted(PAGED_ACTIONS))
def test_every_paged_list_yields_the_same_items_in_pages_of_one(
    aws: FaithfulAws, iam: Any, action: str
) -> None:
    _populate(iam)
    op = iam.meta.service_model.operation_model(action)
    whose = {"UserName": "u", "GroupName": "g0"}
    params = {k: v for k, v in whose.items() if k in op.input_shape.members}
    keys = PAGED_ACTIONS[action]
    unpaged = getattr(iam, xform_name(action))(**params)
    expected = [item for key in keys for item in unpaged.get(key, [])]
    assert len(expected) >= 2

    aws.set_page_size(1)
    before = aws.count(action)
    pages = list(iam.get_paginator(xform_name(action)).paginate(**params))
    got = [item for page in pages for key in keys for item in page.get(key, [])]
    assert got == expected
    assert aws.count(action) - before == len(pages) == len(expected)


# --- faults, gates, delay -------------------------------------------------------------------------


def test_fail_nth_fails_exactly_that_call_then_recovers(aws: FaithfulAws, iam: Any) -> None:
    aws.fail("ListUsers", nth=2)
    iam.list_users()
    with pytest.raises(ClientError) as failed:
        iam.list_users()
    assert _code(failed) == ("ServiceFailure", 500)
    iam.list_users()
    iam.list_users()
    assert [(c.status, c.error) for c in aws.calls("ListUsers")] == [
        (200, None),
        (500, "ServiceFailure"),
        (200, None),
        (200, None),
    ]


def test_a_failed_call_never_reaches_moto(aws: FaithfulAws, iam: Any) -> None:
    aws.fail("CreateUser", code="Throttling", status=400, times=2)
    for _ in range(2):
        with pytest.raises(ClientError) as throttled:
            iam.create_user(UserName="new")
        assert _code(throttled) == ("Throttling", 400)
        assert not user_exists(iam, "new")
    iam.create_user(UserName="new")
    assert user_exists(iam, "new")


def test_a_lost_answer_takes_effect_and_a_retry_does_it_again(
    aws: FaithfulAws, iam: Any, clients: Clients
) -> None:
    iam.create_user(UserName="u")
    aws.fail("CreateAccessKey", after_forward=True)
    with pytest.raises(ClientError) as lost:
        iam.create_access_key(UserName="u")
    assert _code(lost) == ("ServiceFailure", 500)
    assert len(iam.list_access_keys(UserName="u")["AccessKeyMetadata"]) == 1  # made all the same

    retrying = boto3.client(
        "iam",
        endpoint_url=aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    iam.delete_access_key(
        UserName="u",
        AccessKeyId=iam.list_access_keys(UserName="u")["AccessKeyMetadata"][0]["AccessKeyId"],
    )
    aws.fail("CreateAccessKey", after_forward=True)
    answered = retrying.create_access_key(UserName="u")["AccessKey"]["AccessKeyId"]
    listed = {k["AccessKeyId"] for k in iam.list_access_keys(UserName="u")["AccessKeyMetadata"]}
    assert len(listed) == 2 and answered in listed  # the SDK's retry made a second key
    assert [c.status for c in aws.calls("CreateAccessKey")][-2:] == [500, 200]


def test_fail_mutating_only_spares_reads(aws: FaithfulAws, iam: Any) -> None:
    aws.fail(mutating_only=True, code="ConcurrentModification", status=409)
    iam.list_users()
    iam.get_account_summary()
    with pytest.raises(ClientError) as failed:
        iam.create_user(UserName="new")
    assert _code(failed) == ("ConcurrentModification", 409)
    iam.create_user(UserName="new")


def test_json_protocol_passes_through_and_fails_in_its_own_shape(
    aws: FaithfulAws, clients: Clients
) -> None:
    clients.secrets.create_secret(Name="db", SecretString="s3cr3t-value")
    aws.fail("GetSecretValue", code="InternalServiceError")
    with pytest.raises(ClientError) as failed:
        clients.secrets.get_secret_value(SecretId="db")
    assert _code(failed) == ("InternalServiceError", 500)
    assert clients.secrets.get_secret_value(SecretId="db")["SecretString"] == "s3cr3t-value"
    assert [(c.service, c.action) for c in aws.calls()] == [
        ("secretsmanager", "CreateSecret"),
        ("secretsmanager", "GetSecretValue"),
        ("secretsmanager", "GetSecretValue"),
    ]


def test_hold_blocks_calls_until_released(aws: FaithfulAws, iam: Any) -> None:
    iam.create_user(UserName="u")
    aws.hold("ListUsers")
    result: list[Any] = []
    caller = threading.Thread(target=lambda: result.append(iam.list_users()["Users"]))
    caller.start()
    try:
        assert aws.wait_held("ListUsers")
        iam.get_user(UserName="u")  # other actions pass the gate
        assert [c.status for c in aws.calls("ListUsers")] == [0]  # in flight
        assert result == []
    finally:
        aws.release("ListUsers")
        caller.join(10)
    assert [u["UserName"] for u in result[0]] == ["u"]
    assert [c.status for c in aws.calls("ListUsers")] == [200]


def test_delay_is_a_knob_that_reset_clears(aws: FaithfulAws, iam: Any) -> None:
    aws.set_delay(0.01)
    iam.list_users()
    assert aws.delay == 0.01
    aws.reset()
    assert aws.delay == 0


# --- what is recorded ---------------------------------------------------------------------------


def test_passwords_and_secrets_never_appear_in_calls(
    aws: FaithfulAws, iam: Any, clients: Clients
) -> None:
    iam.create_user(UserName="dev")
    iam.create_login_profile(UserName="dev", Password="First-Pa55word!")
    iam.update_login_profile(UserName="dev", Password="Second-Pa55word!")
    ssc = iam.create_service_specific_credential(
        UserName="dev", ServiceName="codecommit.amazonaws.com"
    )["ServiceSpecificCredential"]
    again = iam.reset_service_specific_credential(
        UserName="dev", ServiceSpecificCredentialId=ssc["ServiceSpecificCredentialId"]
    )["ServiceSpecificCredential"]
    clients.secrets.create_secret(Name="db", SecretString="db-Pa55word")
    clients.secrets.put_secret_value(SecretId="db", SecretString="db-Pa55word-2")

    recorded = repr(aws.calls())
    for secret in (
        "First-Pa55word!",
        "Second-Pa55word!",
        ssc["ServicePassword"],
        again["ServicePassword"],
        "db-Pa55word",
    ):
        assert secret not in recorded
    assert aws.calls("CreateLoginProfile")[0].params == {"UserName": "dev", "Password": REDACTED}
    assert aws.calls("PutSecretValue")[0].params["SecretString"] == REDACTED


# --- data set-up and account boundaries ---------------------------------------------------------


def test_backdated_key_and_user_show_through_the_api(aws: FaithfulAws, iam: Any) -> None:
    iam.create_user(UserName="alice")
    key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    created, used = NOW - timedelta(days=200), NOW - timedelta(days=3)
    aws.backdate_access_key(key, created, (used, "s3", "us-east-1"))

    [meta] = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert abs(meta["CreateDate"] - created) < timedelta(seconds=1)
    last = iam.get_access_key_last_used(AccessKeyId=key)
    assert last["UserName"] == "alice"
    assert abs(last["AccessKeyLastUsed"]["LastUsedDate"] - used) < timedelta(seconds=1)
    assert (last["AccessKeyLastUsed"]["ServiceName"], last["AccessKeyLastUsed"]["Region"]) == (
        "s3",
        "us-east-1",
    )

    aws.backdate_access_key(key, created, None)
    never = iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"]
    assert "LastUsedDate" not in never and never["ServiceName"] == "N/A"

    aws.backdate_user("alice", NOW - timedelta(days=500), password_last_used=used)
    user = iam.get_user(UserName="alice")["User"]
    assert abs(user["CreateDate"] - (NOW - timedelta(days=500))) < timedelta(seconds=1)
    assert abs(user["PasswordLastUsed"] - used) < timedelta(seconds=1)


def test_keys_of_other_accounts(aws: FaithfulAws, iam: Any, clients: Clients) -> None:
    unknown = "AKIAZZZZZZZZZZZZZZZZ"
    # moto alone: any unknown key id is the caller's account, and has no last use.
    assert clients.sts.get_access_key_info(AccessKeyId=unknown)["Account"] == "123456789012"
    with pytest.raises(ClientError) as moto_says:
        iam.get_access_key_last_used(AccessKeyId=unknown)
    assert _code(moto_says) == ("NoSuchEntity", 404)

    aws.add_foreign_key(unknown, "210987654321")
    assert clients.sts.get_access_key_info(AccessKeyId=unknown)["Account"] == "210987654321"
    with pytest.raises(ClientError) as denied:
        iam.get_access_key_last_used(AccessKeyId=unknown)
    assert _code(denied) == ("AccessDenied", 403)


def test_reset_clears_moto_and_every_knob(aws: FaithfulAws, iam: Any, clients: Clients) -> None:
    iam.create_user(UserName="dev")
    iam.create_service_specific_credential(UserName="dev", ServiceName="codecommit.amazonaws.com")
    aws.set_page_size(1)
    aws.set_delay(0.01)
    aws.fail("ListUsers", nth=2, times=5)
    aws.add_foreign_key("AKIAZZZZZZZZZZZZZZZZ", "210987654321")
    iam.list_users()

    aws.reset()
    assert aws.calls() == []
    assert (aws.page_size, aws.delay, aws.foreign_keys) == (None, 0, {})
    for _ in range(3):
        assert iam.list_users()["Users"] == []  # no injected failure left
    iam.create_user(UserName="dev")
    assert iam.list_service_specific_credentials(UserName="dev")["ServiceSpecificCredentials"] == []
    assert (
        clients.sts.get_access_key_info(AccessKeyId="AKIAZZZZZZZZZZZZZZZZ")["Account"]
        == "123456789012"
    )


# --- demo data --------------------------------------------------------------------------------


def test_seed_demo_builds_the_story(aws: FaithfulAws, iam: Any) -> None:
    seed_demo(aws)
    users = {u["UserName"] for u in iam.list_users()["Users"]}
    assert users == {"alice", "bob", "carol", "dave", "break-glass-admin"}
    assert set(DEMO_PEOPLE) == {"U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U0SECLEAD"}
    assert "seclead" not in users and DEMO_PEOPLE["U0SECLEAD"][1] == "seclead@example.com"

    [alice_key] = iam.list_access_keys(UserName="alice")["AccessKeyMetadata"]
    assert (NOW - alice_key["CreateDate"]).days in (199, 200)
    used = iam.get_access_key_last_used(AccessKeyId=alice_key["AccessKeyId"])["AccessKeyLastUsed"]
    assert (used["ServiceName"], used["Region"]) == ("s3", "us-east-1")
    dave_keys = iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]
    assert sorted((NOW - k["CreateDate"]).days for k in dave_keys) in ([9, 399], [10, 400])

    carol = iam.get_user(UserName="carol")["User"]
    assert carol["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("developer-boundary")
    attached = iam.list_attached_user_policies(UserName="carol")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert len(iam.list_mfa_devices(UserName="carol")["MFADevices"]) == 1
    groups = {g["GroupName"] for g in iam.list_groups_for_user(UserName="carol")["Groups"]}
    assert groups == {"developers", "oncall"}
    with pytest.raises(ClientError, match="login profile"):
        iam.delete_user(UserName="carol")
