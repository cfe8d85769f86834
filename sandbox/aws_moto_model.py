"""What no AWS API can set, set in moto's in-process model for the faithful layer
(``sandbox/aws.py``): keys' and users' ages and last use, and AWS managed policies."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

from sandbox.aws_accounts import key_owner


class SetsMotoModel:
    """FaithfulAws's set-up of test data inside moto."""

    account_id: str

    def backdate_access_key(
        self,
        key_id: str,
        created: datetime,
        last_used: tuple[datetime, str, str] | None = None,
        account_id: str | None = None,
    ) -> None:
        """Set a key's create date and last use ``(when, service, region)``; None: never used.

        No API can, so this reaches into moto's in-process model; ListAccessKeys,
        GetAccessKeyLastUsed and the credential report then report these values. The key is
        looked for in ``account_id``, by default in the account that holds it.
        """
        from moto.iam.models import AccessKeyLastUsed

        owner = key_owner(key_id)
        key = self._find_access_key(key_id, account_id or (owner[0] if owner else self.account_id))
        key.create_date = _naive_utc(created)
        if last_used is None:
            key.last_used = None
        else:
            when, service, region = last_used
            key.last_used = AccessKeyLastUsed(
                timestamp=_naive_utc(when), service=service, region=region
            )

    def backdate_user(
        self,
        user_name: str,
        created: datetime,
        password_last_used: datetime | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
    ) -> None:
        """Set a user's create date and its password's last use (GetUser, credential report)."""
        user = self._iam_backend(account_id).get_user(user_name)
        user.create_date = _naive_utc(created)
        if password_last_used is not None:
            user.password_last_used = _naive_utc(password_last_used)

    def add_aws_managed_policy(self, name: str, account_id: str = DEFAULT_ACCOUNT_ID) -> str:
        """Make the AWS managed policy ``name`` attachable in ``account_id`` (moto's bundled
        copy); its ARN.

        moto 5 loads none by default, and loading all ~1,400 would slow every reset. A version
        of the compromised-key quarantine policy newer than moto's copy (V4, published
        2026-11) gets V3's document under its own name: what matters to the bot is that it is
        attached and listed (ListEntitiesForPolicy), as IAM lists it.
        """
        from moto.iam.models import AWSManagedPolicy

        backend = self._iam_backend(account_id)
        bundled = _aws_managed_policies()
        newer = name not in bundled and name.startswith("AWSCompromisedKeyQuarantine")
        data = bundled[_NEWEST_BUNDLED_QUARANTINE if newer else name]
        policy = AWSManagedPolicy.from_data(name, backend.account_id, backend.region_name, data)
        backend.managed_policies.setdefault(policy.arn, policy)
        return policy.arn

    def _iam_backend(self, account_id: str = DEFAULT_ACCOUNT_ID) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[account_id]["aws"]

    def _find_access_key(self, key_id: str, account_id: str) -> Any:
        for user in list(self._iam_backend(account_id).users.values()):
            for key in list(user.access_keys):
                if key.access_key_id == key_id:
                    return key
        raise KeyError(f"no access key {key_id} in moto")


def _naive_utc(when: datetime) -> datetime:
    """moto keeps naive UTC datetimes; naive input is taken to be UTC already."""
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


_NEWEST_BUNDLED_QUARANTINE = "AWSCompromisedKeyQuarantineV3"


@functools.cache
def _aws_managed_policies() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    data: dict[str, Any] = json.loads(aws_managed_policies_data)
    return data
