"""Everything a user can sign in or authenticate with, other than access keys.

Console password (login profile), signing certificates, SSH public keys, service-specific
credentials and MFA devices: each blocks DeleteUser until removed.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from bot.iam import errors
from bot.iam.aws import Aws
from bot.iam.models import (
    KeyStatus,
    LoginProfile,
    MfaDevice,
    PasswordPolicy,
    Secret,
    ServiceCredential,
    SigningCertificate,
    SshPublicKey,
)

# --- console password ---------------------------------------------------------------------


def get_login_profile(aws: Aws, user: str) -> LoginProfile | None:
    try:
        d = aws.call("iam", "GetLoginProfile", UserName=user)["LoginProfile"]
    except errors.NotFound:
        return None
    return LoginProfile(d["UserName"], d["CreateDate"], bool(d.get("PasswordResetRequired")))


def create_login_profile(aws: Aws, user: str, password: Secret, *, reset_required: bool) -> None:
    aws.call(
        "iam",
        "CreateLoginProfile",
        UserName=user,
        Password=password.reveal(),
        PasswordResetRequired=reset_required,
    )


def set_password(aws: Aws, user: str, password: Secret, *, reset_required: bool) -> None:
    """Replace the console password of a user that already has a login profile."""
    aws.call(
        "iam",
        "UpdateLoginProfile",
        UserName=user,
        Password=password.reveal(),
        PasswordResetRequired=reset_required,
    )


# Symbols IAM accepts in a password (its RequireSymbols set, less the quote: a generated
# password never needs quoting, in JSON, a shell or a log line).
PASSWORD_SYMBOLS = "!@#$%^&*()_+-=[]{}|"
_PASSWORD_CLASSES = (
    string.ascii_uppercase,
    string.ascii_lowercase,
    string.digits,
    PASSWORD_SYMBOLS,
)
MIN_PASSWORD_LENGTH = 24
MAX_PASSWORD_LENGTH = 128  # IAM's limit


def generate_password(policy: PasswordPolicy | None = None) -> Secret:
    """A random password with upper and lower case letters, digits and symbols, at least 24
    characters or the account policy's minimum: it satisfies any IAM password policy's
    character rules. (Reuse prevention does not apply to a user's first password.)"""
    wanted = (policy.settings.get("MinimumPasswordLength", 0) if policy else 0) or 0
    length = min(MAX_PASSWORD_LENGTH, max(MIN_PASSWORD_LENGTH, int(wanted)))
    rng = secrets.SystemRandom()
    chars = [secrets.choice(cls) for cls in _PASSWORD_CLASSES]
    alphabet = "".join(_PASSWORD_CLASSES)
    chars += [secrets.choice(alphabet) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    return Secret("".join(chars))


def require_password_reset(aws: Aws, user: str) -> None:
    aws.call("iam", "UpdateLoginProfile", UserName=user, PasswordResetRequired=True)


def delete_login_profile(aws: Aws, user: str) -> None:
    aws.call("iam", "DeleteLoginProfile", UserName=user)


# --- signing certificates and SSH keys ------------------------------------------------------


def list_signing_certificates(aws: Aws, user: str) -> list[SigningCertificate]:
    return [
        SigningCertificate(d["CertificateId"], d["UserName"], d["Status"], d.get("UploadDate"))
        for d in aws.items("iam", "ListSigningCertificates", "Certificates", UserName=user)
    ]


def set_signing_certificate_status(aws: Aws, user: str, cert_id: str, status: KeyStatus) -> None:
    aws.call(
        "iam",
        "UpdateSigningCertificate",
        UserName=user,
        CertificateId=cert_id,
        Status=status.value,
    )


def delete_signing_certificate(aws: Aws, user: str, cert_id: str) -> None:
    aws.call("iam", "DeleteSigningCertificate", UserName=user, CertificateId=cert_id)


def list_ssh_public_keys(aws: Aws, user: str) -> list[SshPublicKey]:
    return [
        SshPublicKey(d["SSHPublicKeyId"], d["UserName"], d["Status"], d.get("UploadDate"))
        for d in aws.items("iam", "ListSSHPublicKeys", "SSHPublicKeys", UserName=user)
    ]


def set_ssh_public_key_status(aws: Aws, user: str, key_id: str, status: KeyStatus) -> None:
    aws.call("iam", "UpdateSSHPublicKey", UserName=user, SSHPublicKeyId=key_id, Status=status.value)


def delete_ssh_public_key(aws: Aws, user: str, key_id: str) -> None:
    aws.call("iam", "DeleteSSHPublicKey", UserName=user, SSHPublicKeyId=key_id)


# --- service-specific credentials (CodeCommit, Keyspaces, Bedrock API keys) ---------------


def _service_credential(d: dict[str, Any]) -> ServiceCredential:
    return ServiceCredential(
        cred_id=d["ServiceSpecificCredentialId"],
        user_name=d["UserName"],
        service=d["ServiceName"],
        service_user_name=d.get("ServiceUserName", ""),
        status=d["Status"],
        created=d.get("CreateDate"),
        expires=d.get("ExpirationDate"),
    )


def list_service_credentials(aws: Aws, user: str) -> list[ServiceCredential]:
    items = aws.items(
        "iam", "ListServiceSpecificCredentials", "ServiceSpecificCredentials", UserName=user
    )
    return [_service_credential(d) for d in items]


def set_service_credential_status(aws: Aws, user: str, cred_id: str, status: KeyStatus) -> None:
    aws.call(
        "iam",
        "UpdateServiceSpecificCredential",
        UserName=user,
        ServiceSpecificCredentialId=cred_id,
        Status=status.value,
    )


def delete_service_credential(aws: Aws, user: str, cred_id: str) -> None:
    aws.call(
        "iam",
        "DeleteServiceSpecificCredential",
        UserName=user,
        ServiceSpecificCredentialId=cred_id,
    )


# --- MFA ------------------------------------------------------------------------------------


def list_mfa_devices(aws: Aws, user: str) -> list[MfaDevice]:
    return [
        MfaDevice(d["SerialNumber"], d["UserName"], d.get("EnableDate"))
        for d in aws.items("iam", "ListMFADevices", "MFADevices", UserName=user)
    ]


def deactivate_mfa_device(aws: Aws, user: str, serial: str) -> None:
    aws.call("iam", "DeactivateMFADevice", UserName=user, SerialNumber=serial)


def delete_virtual_mfa_device(aws: Aws, serial: str) -> None:
    """Only virtual devices can be deleted, and only once deactivated; hardware/FIDO cannot."""
    aws.call("iam", "DeleteVirtualMFADevice", SerialNumber=serial)
