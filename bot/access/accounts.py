"""The AWS accounts the bot may act in, by name and ID, and which one a command means.

The list is the operator's (``accounts.list``) or the Organization's (``ListAccounts`` through
a read-only listing role), merged so the operator's names and rules win. The Organization's
answer is kept in the state store, so every replica shares it and the bot keeps working from
it when the Organizations API is unreachable; :attr:`Listing.stale_since` says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.access.store import Record, Store
from bot.iam import errors, organization
from bot.iam.aws import Aws
from bot.iam.sessions import Account, acting, current
from bot.operator_rules import Accounts

log = logging.getLogger(__name__)
CACHE_ID = "iam-bot:organization-accounts"
# After Organizations failed, the kept list is used this long before asking it again, so that
# a command does not wait on its retries each time.
RETRY_AFTER = timedelta(minutes=1)
_NAME_CHARS = re.compile(r"[^\w+=,.@-]+")
ACCOUNT_ID = re.compile(r"\d{12}")
LISTS = "`/iam accounts` lists them."
SAY_WHICH = f"Say which with `--account <name or ID>`; {LISTS}"
NO_DEFAULT = f"No default account. {SAY_WHICH}"


class UnknownAccount(Exception):
    """``--account`` names no account the bot knows, or more than one."""


@dataclass(frozen=True)
class Listing:
    accounts: tuple[Account, ...]
    stale_since: datetime | None = None  # the Organization did not answer: cached list from then


def short_name(name: str) -> str:
    """An Organization's account name ("Production Account") as a name to type."""
    return _NAME_CHARS.sub("-", name.strip()).strip("-").lower() or "account"


class AccountBook:
    def __init__(
        self, config: Accounts, aws: Aws, store: Store, clock: Callable[[], datetime]
    ) -> None:
        self._config = config
        self._aws = aws
        self._store = store
        self._clock = clock
        self._failed_at: datetime | None = None  # Organizations' last failure, in this process
        self._default_checked = False  # accounts.default against the Organization's list

    @property
    def enabled(self) -> bool:
        return self._config.enabled

    def _account(self, account_id: str, name: str) -> Account:
        rule = self._config.rule_for(account_id)
        partition = "aws"
        role = f"arn:{partition}:iam::{account_id}:role/{self._config.role_name}"
        return Account(
            account_id, (rule.name if rule and rule.name else name), (rule and rule.role) or role
        )

    def listing(self) -> Listing:
        """Every known account: the operator's list, then the Organization's."""
        listed = {r.id: self._account(r.id, r.name or r.id) for r in self._config.listed}
        if not self._config.listing_role:
            return Listing(tuple(listed.values()))
        found, stale_since = self._organization()
        for account in found:
            listed.setdefault(account.id, self._account(account.id, account.name))
        if found and not self._default_checked:
            self._default_checked = True
            self._check_default(tuple(listed.values()))
        return Listing(tuple(listed.values()), stale_since)

    def _check_default(self, accounts: tuple[Account, ...]) -> None:
        """A default only the Organization's list can confirm is checked on its first answer
        (startup checks one naming listed accounts): the operator reads why commands without
        ``--account`` are refused in the log, not from each person who asks."""
        wanted = self._config.default
        found = len(self._named(wanted, accounts)) if wanted is not None else 1
        if found != 1:
            log.warning(
                "accounts.default: %r names %s of the accounts listed and in the Organization: "
                "every command without --account is refused until it names one",
                wanted,
                "several" if found else "none",
            )

    def _organization(self) -> tuple[list[Account], datetime | None]:
        cached = self._store.get(CACHE_ID)
        now = self._clock()
        if cached is not None:
            fetched = datetime.fromisoformat(cached.data["fetched"])
            if now - fetched < timedelta(minutes=self._config.cache_minutes):
                return _accounts(cached), None
        if self._failed_at and now - self._failed_at < RETRY_AFTER:
            return self._fallback(cached, now)  # asked moments ago: do not make people wait
        try:
            fresh = self._fetch()
        except errors.IamError as exc:
            log.warning("Organizations did not answer (%s); using the cached account list", exc)
            self._failed_at = now
            return self._fallback(cached, now)
        self._failed_at = None
        data = {"fetched": now.isoformat(), "accounts": [[a.id, a.name] for a in fresh]}
        self._store.put_if_version(
            Record(CACHE_ID, "accounts", "cached", data, cached.version if cached else 0)
        )  # a replica that wrote first wrote the same list: losing the race is fine
        return fresh, None

    @staticmethod
    def _fallback(cached: Record | None, now: datetime) -> tuple[list[Account], datetime]:
        if cached is None:
            return [], now
        return _accounts(cached), datetime.fromisoformat(cached.data["fetched"])

    def _fetch(self) -> list[Account]:
        role = self._config.listing_role or ""
        scope = current()
        where = Account(role.split(":")[4], "organization", role)
        with acting(where, scope.actor if scope else None):
            return [
                Account(a.id, short_name(a.name)) for a in organization.list_accounts(self._aws)
            ]

    def resolve(self, wanted: str | None) -> Account:
        """The account ``--account`` names; without it, the default (:meth:`default`)."""
        if wanted is None:
            return self.default()
        return self._one(wanted, self._named(wanted, self.listing().accounts))

    def default(self) -> Account:
        """The account a command without ``--account`` acts in: the configured default, or
        the only account. Refused when there is none (several accounts and no default, or a
        default that names no account or several), with what to do instead."""
        accounts = self.listing().accounts
        wanted = self._config.default
        if wanted is None:
            if len(accounts) == 1:
                return accounts[0]
            raise UnknownAccount(NO_DEFAULT)
        return self._one(wanted, self._named(wanted, accounts), default=True)

    def handles(self, accounts: Sequence[Account]) -> dict[str, str]:
        """What to type after ``--account`` for each of ``accounts`` (by ID): its name, or
        its ID when that name means another account or several."""
        return {a.id: a.name if self._named(a.name, accounts) == [a] else a.id for a in accounts}

    def _named(self, wanted: str, accounts: Sequence[Account]) -> list[Account]:
        """The accounts ``wanted`` means: a 12-digit word, the account with that ID only;
        a name, case-insensitively, the operator's (``accounts.list``) before the
        Organization's, so that an Organization's account cannot take a listed name."""
        if ACCOUNT_ID.fullmatch(wanted):
            return [a for a in accounts if a.id == wanted]
        named = [a for a in accounts if a.name.lower() == wanted.lower()]
        operators = [a for a in named if self._operator_named(a)]
        return operators or named

    def _operator_named(self, account: Account) -> bool:
        rule = self._config.rule_for(account.id)
        return bool(rule and rule.name)

    @staticmethod
    def _one(wanted: str, matches: list[Account], *, default: bool = False) -> Account:
        """The one account of ``matches``; refused in words for ``--account`` or, when
        ``wanted`` is the configured default, for the operator's setting."""
        if len(matches) == 1:
            return matches[0]
        ids = ", ".join(a.id for a in matches)
        if not default:
            if matches:
                raise UnknownAccount(
                    f"More than one account is called `{wanted}` ({ids}): use its ID."
                )
            raise UnknownAccount(f"`{wanted}` is not an account the bot knows; {LISTS}")
        what = f"the name of several accounts ({ids})" if matches else "not an account it knows"
        raise UnknownAccount(f"`accounts.default` says `{wanted}`, {what}. {SAY_WHICH}")

    def known(self, account_id: str) -> Account | None:
        return next((a for a in self.listing().accounts if a.id == account_id), None)

    def get(self, account_id: str) -> Account:
        """The account a stored request acts in (known by ID, named if still listed)."""
        return self.known(account_id) or self._account(account_id, account_id)


def _accounts(record: Record) -> list[Account]:
    return [Account(account_id, name) for account_id, name in record.data["accounts"]]
