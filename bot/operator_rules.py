"""The operator's rules: the ``IAM_BOT_CONFIG`` YAML file (who may do what, who approves, which
users are protected, which accounts, the audit), validated once at startup.

A bad value stops the bot with one line that names the setting. The operations the file may
name, and what the file needs to know of each, are passed in (:class:`OperationTerms`): this
floor knows no operation.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from bot.aws_patterns import USER_NAME
from bot.config_error import ConfigError

PERMISSIONS = (
    "keys",  # read a user's keys, whois
    "rotate",  # rotate keys
    "deactivate",  # leaked-key fast path
    "offboard",  # request a user's removal
    "onboard",  # request a new user
    "approve",  # approve destructive requests
    "audit",  # stale-key audits
    "account",  # read account facts
    "admin",  # account alias changes
    "grant",  # ask for a time-bound group membership, end one early
)
_PRINCIPAL = re.compile(r"\*|[UWS][A-Z0-9]{2,}")
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{2,}")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")  # us-east-1, us-gov-west-1
DEFAULT_CONFIG_TEXT = """\
# Used when IAM_BOT_CONFIG is not set. Everyone may look; nobody may change anything.
permissions:
  keys: ["*"]
"""


MAX_APPROVERS = 10
# Upper bounds keep every duration far inside what datetime arithmetic can hold (a huge value
# would pass here and fail every later command with OverflowError).
YEAR_MINUTES = 365 * 24 * 60
WEEK_MINUTES = 7 * 24 * 60
MAX_DAYS = 10 * 365


@dataclass(frozen=True)
class OperationTerms:
    """What the rules need to know of an operation the file may name: the permissions that
    may ask for it, whether its requester confirms it (no approver unless the file says so),
    and whether it always needs someone other than the requester (the file may not lower it
    to none). The composition root passes these for every operation it knows."""

    permissions: tuple[str, ...]
    requester_confirms: bool = False
    needs_approver: bool = False


@dataclass(frozen=True)
class Approvals:
    required: int = 1
    expire_minutes: int = 60
    commands: Mapping[str, int] = field(default_factory=dict)  # every known operation's count

    def required_for(self, command: str) -> int:
        return self.commands.get(command, self.required)


@dataclass(frozen=True)
class Rotation:
    """How `/iam rotate` hands over a key and retires the old one."""

    grace_minutes: int = 0  # new key -> old key deactivated (0: at once, for incidents)
    delete_after_minutes: int = 1440  # deactivated -> deleted
    last_use_margin_minutes: int = 240  # IAM's last-use data lags real use by up to hours
    extend_minutes: int = 1440  # what "extend" adds when the old key is still in use
    secret_name: str = "iam-bot/{user}/access-key"
    kms_key_id: str | None = None
    notify_owner: bool = True


@dataclass(frozen=True)
class Grants:
    """How `/iam grant` bounds a time-bound group membership, and when a removal that keeps
    failing is alerted (it is retried all the same)."""

    max_minutes: int = WEEK_MINUTES
    alert_after_failures: int = 3


@dataclass(frozen=True)
class Onboarding:
    """How `/iam onboard` hands over a new user's console password (its access key goes where
    rotation puts keys: ``rotation.secret_name``, encrypted with ``rotation.kms_key_id``)."""

    secret_name: str = "iam-bot/{user}/console-password"


@dataclass(frozen=True)
class Incidents:
    """Where AWS's alarms about leaked keys become incident cards (none: nowhere; the incidents
    are still kept and listed), who is on call for them, and which GuardDuty findings count."""

    channel: str | None = None
    oncall: str | None = None  # a user group, mentioned on every new card
    min_guardduty_severity: float = 7.0  # GuardDuty's "high" and above


@dataclass(frozen=True)
class Identity:
    tag: str = "slack-user-id"
    email_tag: str = "email"


AUDIT_SCOPES = ("account", "organization")


@dataclass(frozen=True)
class Audit:
    schedule: str | None = None  # cron expression for the audit posted to audit_channel
    dm_owners: bool = False  # also DM each linked owner about their own stale keys
    scope: str = "account"  # or "organization": the scheduled audit covers every known account


_ACCOUNT_ID = re.compile(r"\d{12}")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}")


@dataclass(frozen=True)
class AccountRule:
    """One account named in ``accounts.list``: its name, its role, and rules that apply in it
    on top of the global ones (they can only narrow who may act and add approvers)."""

    id: str
    name: str | None = None
    role: str | None = None
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    approvals: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Accounts:
    """Which AWS accounts the bot acts in. Empty: the one account of its own credentials."""

    role_name: str = "iam-bot-action"  # assumed in every account, the home account too
    default: str | None = None  # the account a command without --account acts in
    listing_role: str | None = None  # organizations:ListAccounts through this role
    cache_minutes: int = 60  # how long a fetched account list is used before asking again
    listed: tuple[AccountRule, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.listed or self.listing_role)

    def rule_for(self, account_id: str) -> AccountRule | None:
        return next((r for r in self.listed if r.id == account_id), None)


@dataclass(frozen=True)
class IdentityCenter:
    """Where the IAM Identity Center instance lives, so a person's offboarding reaches their
    permission sets too. Unset parts are discovered (``ListInstances``); ``role`` None acts
    through ``iam-bot-identity-center`` in that account. ``scim``: users come from an identity
    provider, which alone may delete them or change their groups (its next sync would undo
    the bot)."""

    account: str  # an account ID, or the name of one in accounts.list
    region: str = "us-east-1"
    instance_arn: str | None = None
    identity_store_id: str | None = None
    role: str | None = None
    scim: bool = False


@dataclass(frozen=True)
class Config:
    permissions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    channels: tuple[str, ...] = ()
    audit_channel: str | None = None
    approvals: Approvals = field(default_factory=Approvals)
    protected_users: tuple[str, ...] = ()
    identity: Identity = field(default_factory=Identity)
    rotation_age_days: int = 90
    unused_days: int = 45
    rotation: Rotation = field(default_factory=Rotation)
    onboarding: Onboarding = field(default_factory=Onboarding)
    grants: Grants = field(default_factory=Grants)
    audit: Audit = field(default_factory=Audit)
    accounts: Accounts = field(default_factory=Accounts)
    incidents: Incidents = field(default_factory=Incidents)
    # Where /iam investigate reads CloudTrail; none: every region each account has enabled.
    cloudtrail_regions: tuple[str, ...] = ()
    identity_center: IdentityCenter | None = None  # None: offboarding stays with IAM users

    def principals(self, permission: str) -> tuple[str, ...]:
        return self.permissions.get(permission, ())

    def account_principals(self, permission: str, account: str) -> tuple[str, ...] | None:
        """The account's own list for ``permission``, if it has one: there, a person needs
        both the global permission and a place on this list."""
        rule = self.accounts.rule_for(account)
        return rule.permissions.get(permission) if rule else None

    def required_for(self, command: str, account: str = "") -> int:
        """Approvers ``command`` needs in ``account``: an account may ask for more."""
        rule = self.accounts.rule_for(account)
        extra = rule.approvals.get(command, 0) if rule else 0
        return max(self.approvals.required_for(command), extra)


def _fail(where: str, problem: str) -> ConfigError:
    return ConfigError(f"IAM_BOT_CONFIG: {where}: {problem}")


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(where, "must be a mapping")
    return value


def _ids(value: Any, where: str, pattern: re.Pattern[str], kind: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(where, "must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, str) or pattern.fullmatch(item) is None:
            raise _fail(f"{where}[{i}]", f"{item!r} is not {kind}")
    return tuple(value)


def _count(value: Any, where: str, default: int, minimum: int, maximum: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _fail(where, f"must be a whole number from {minimum} to {maximum}")
    return value


def _flag(section: dict[str, Any], key: str, where: str, default: bool) -> bool:
    """A YAML boolean only: ``"no"`` in quotes is a string, and ``bool("no")`` is True."""
    value = section.get(key, default)
    if not isinstance(value, bool):
        raise _fail(f"{where}.{key}", "must be true or false (unquoted)")
    return value


def _tag_key(section: dict[str, Any], key: str, where: str, default: str) -> str:
    value = section.get(key, default)
    if not isinstance(value, str) or _TAG_KEY.fullmatch(value) is None:
        raise _fail(f"{where}.{key}", "must be an IAM tag key (1-128 letters, digits, _.:/=+-@)")
    return value


def _audit_scope(value: Any, accounts: Accounts) -> str:
    """``account`` or ``organization``; the latter only means something with ``accounts:``."""
    if value not in AUDIT_SCOPES:
        raise _fail("audit.scope", f"must be one of: {', '.join(AUDIT_SCOPES)}")
    if value == "organization" and not accounts.enabled:
        raise _fail("audit.scope", "organization needs accounts: (a list or an organization)")
    return str(value)


def _known_keys(data: dict[str, Any], where: str, known: set[str]) -> None:
    unknown = sorted(set(data) - known)
    if unknown:
        raise _fail(where, f"unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")


# What Secrets Manager accepts as a name; an IAM user name is at most 64 characters.
_SECRET_NAME = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
_LONGEST_USER = "u" * 64


def _secret_name(section: dict[str, Any], where: str, default: str) -> str:
    """A name template whose only field is ``{user}``, valid for Secrets Manager once filled."""
    where = f"{where}.secret_name"
    name = section.get("secret_name", default)
    if not isinstance(name, str):
        raise _fail(where, "must be a string containing {user}")
    try:
        fields = {
            (f, spec, conv) for _, f, spec, conv in string.Formatter().parse(name) if f is not None
        }
    except ValueError:
        raise _fail(where, "is not a valid template (unbalanced { or })") from None
    if fields != {("user", "", None)}:
        raise _fail(where, "may use only {user}, and must use it")
    if _SECRET_NAME.fullmatch(name.format(user=_LONGEST_USER)) is None:
        raise _fail(where, f"once filled must match {_SECRET_NAME.pattern}")
    return name


# A key ID, a key ARN, an alias name or an alias ARN: what CreateSecret's KmsKeyId accepts.
_KMS_KEY = re.compile(
    r"(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/)?"
    r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})"
    r"|(?:arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:)?alias/[A-Za-z0-9/_-]{1,250}"
)
_TAG_KEY = re.compile(r"[\w\s.:/=+@-]{1,128}")


def _approval_rules(
    raw: dict[str, Any], required: int, operations: Mapping[str, OperationTerms]
) -> dict[str, int]:
    """Every known operation's approvers: ``approvals.commands`` where it names the operation
    (only known operations, and never fewer than one approver for those that need a second
    person), else none for what its requester confirms and ``required`` for the rest."""
    counts = {name: 0 if t.requester_confirms else required for name, t in operations.items()}
    for command, rule in _mapping(raw, "approvals.commands").items():
        where = f"approvals.commands.{command}"
        if command not in operations:
            known = ", ".join(sorted(operations))
            raise _fail("approvals.commands", f"unknown command {command!r} (known: {known})")
        rule = _mapping(rule, where)
        _known_keys(rule, where, {"required"})
        value = _count(rule.get("required"), f"{where}.required", required, 0, MAX_APPROVERS)
        if operations[command].needs_approver and value < 1:
            raise _fail(f"{where}.required", "must be at least 1: someone other than the requester")
        counts[command] = value
    return counts


# (key, lowest, highest) of rotation's durations in minutes. 0 is allowed where "at once"
# makes sense; "Extend" must add something; IAM's last-use data lags by hours, not weeks.
_ROTATION_RANGES = (
    ("grace_minutes", 0, YEAR_MINUTES),
    ("delete_after_minutes", 0, YEAR_MINUTES),
    ("last_use_margin_minutes", 0, WEEK_MINUTES),
    ("extend_minutes", 1, YEAR_MINUTES),
)


# A grant lasts at least this long: shorter is a typo (30s for 30m), and the scheduler looks
# about every half minute.
GRANT_MIN_MINUTES = 5


def _grants(raw: Any) -> Grants:
    grants = _mapping(raw, "grants")
    _known_keys(grants, "grants", set(Grants.__dataclass_fields__))
    return Grants(
        max_minutes=_count(
            grants.get("max_minutes"),
            "grants.max_minutes",
            Grants.max_minutes,
            GRANT_MIN_MINUTES,
            YEAR_MINUTES,
        ),
        alert_after_failures=_count(
            grants.get("alert_after_failures"),
            "grants.alert_after_failures",
            Grants.alert_after_failures,
            1,
            100,
        ),
    )


def _permissions(raw: Any, where: str) -> dict[str, tuple[str, ...]]:
    raw = _mapping(raw, where)
    _known_keys(raw, where, set(PERMISSIONS))
    return {
        name: _ids(
            value, f"{where}.{name}", _PRINCIPAL, 'a Slack user (U/W...), group (S...) or "*"'
        )
        for name, value in raw.items()
    }


def _account_rule(raw: Any, where: str, operations: Collection[str]) -> AccountRule:
    raw = _mapping(raw, where)
    _known_keys(raw, where, {"id", "name", "role", "permissions", "approvals"})
    account_id, name, role = raw.get("id"), raw.get("name"), raw.get("role")
    if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id):
        raise _fail(
            f"{where}.id", 'must be a 12-digit account ID in quotes, such as "111122223333"'
        )
    if name is not None and (not isinstance(name, str) or not _ROLE_NAME.fullmatch(name)):
        raise _fail(f"{where}.name", "must be a short name (letters, digits, _+=,.@-)")
    if role is not None and (not isinstance(role, str) or not _ROLE_ARN.fullmatch(role)):
        raise _fail(f"{where}.role", "must be an IAM role ARN")
    approvals = {}
    for command, count in _mapping(raw.get("approvals"), f"{where}.approvals").items():
        if command not in operations:
            raise _fail(f"{where}.approvals", f"unknown command {command!r}")
        approvals[command] = _count(count, f"{where}.approvals.{command}", 1, 1, MAX_APPROVERS)
    permissions = _permissions(raw.get("permissions"), f"{where}.permissions")
    return AccountRule(account_id, name, role, permissions, approvals)


def _check_default(default: str, listed: tuple[AccountRule, ...]) -> None:
    """With the accounts all listed here, the default must be one of them (a 12-digit word by
    its ID, else by name), or every command without ``--account`` would be refused. With an
    Organization, it may name one of its accounts: checked when they are listed."""
    if _ACCOUNT_ID.fullmatch(default):
        found = any(r.id == default for r in listed)
    else:
        found = any((r.name or "").lower() == default.lower() for r in listed)
    if not found:
        names = ", ".join(r.name or r.id for r in listed)
        raise _fail("accounts.default", f"`{default}` is none of the listed accounts ({names})")


def _accounts(raw: Any, operations: Collection[str]) -> Accounts:
    raw = _mapping(raw, "accounts")
    _known_keys(raw, "accounts", {"role_name", "default", "organization", "list"})
    role_name = raw.get("role_name", Accounts.role_name)
    if not isinstance(role_name, str) or not _ROLE_NAME.fullmatch(role_name):
        raise _fail("accounts.role_name", "must be an IAM role name")
    organization = _mapping(raw.get("organization"), "accounts.organization")
    _known_keys(organization, "accounts.organization", {"listing_role", "cache_minutes"})
    listing_role = organization.get("listing_role")
    if organization and (
        not isinstance(listing_role, str) or not _ROLE_ARN.fullmatch(listing_role)
    ):
        raise _fail("accounts.organization.listing_role", "must be an IAM role ARN")
    entries = raw.get("list") or []
    if not isinstance(entries, list):
        raise _fail("accounts.list", "must be a list of accounts")
    listed = tuple(
        _account_rule(entry, f"accounts.list[{i}]", operations) for i, entry in enumerate(entries)
    )
    for label, values in (("id", [r.id for r in listed]), ("name", [r.name for r in listed])):
        seen = [v.lower() for v in values if v]
        if len(seen) != len(set(seen)):
            raise _fail("accounts.list", f"two accounts have the same {label}")
    default = raw.get("default")
    if default is not None and not isinstance(default, str | int):
        raise _fail("accounts.default", "must be an account name or ID")
    if raw and not listed and not listing_role:
        raise _fail("accounts", "needs a list of accounts or organization.listing_role")
    if default is not None and not listing_role:
        _check_default(str(default), listed)
    return Accounts(
        role_name=role_name,
        default=None if default is None else str(default),
        listing_role=listing_role,
        cache_minutes=_count(
            organization.get("cache_minutes"), "accounts.organization.cache_minutes", 60, 1, 1440
        ),
        listed=listed,
    )


class _DuplicateKey(yaml.YAMLError):
    """A mapping names the same key twice: YAML keeps the last, silently."""

    def __init__(self, key: object, line: int, first: int) -> None:
        super().__init__(f"line {line}: duplicate key {key!r} (first at line {first})")


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping, at any depth: a second
    ``permissions:`` or ``required:`` would otherwise replace the first without a word.
    (Merge keys, ``<<``, may still be overridden, as YAML means them to be.)"""

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise _DuplicateKey(key, line, seen[key])
                except TypeError:  # an unhashable key: SafeLoader's own error names it
                    break
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> Any:
    """The YAML document, or one line saying where it is broken or repeats a key."""
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _DuplicateKey as exc:
        raise ConfigError(f"IAM_BOT_CONFIG: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark else "the file"
        raise _fail(line, "is not valid YAML") from None


# What access.rules matches: "tag:" then a tag key (IAM's characters; no "=", which ends it),
# then optionally "=" and a value; no space at either end of key or value.
_PROTECTED_TAG = re.compile(
    r"tag:(?!\s)[\w\s.:/+@-]{1,128}(?<!\s)(?:=(?!\s)[\w\s.:/=+@-]{1,256}(?<!\s))?"
)


def _protected_users(value: Any) -> tuple[str, ...]:
    """Each entry an IAM user name or exactly ``tag:Key`` / ``tag:Key=Value``: anything else
    (``TAG:protected=true``, ``' break-glass'``, ``tag: protected=true``) would protect nobody."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail("protected_users", "must be a list of user names or tag:Key=Value")
    for i, entry in enumerate(value):
        if not isinstance(entry, str) or not (
            USER_NAME.fullmatch(entry) or _PROTECTED_TAG.fullmatch(entry)
        ):
            raise _fail(
                f"protected_users[{i}]",
                f"{entry!r} is neither an IAM user name nor tag:Key or tag:Key=Value "
                '(lower-case "tag:", no spaces around key or value)',
            )
    return tuple(value)


def _approvers_exist(config: Config, operations: Mapping[str, OperationTerms]) -> None:
    """Refuse a config under which a granted command could never be approved: ``approve``
    empty (globally, or in an account's own rules) while a permission whose every command
    needs an approver (``offboard``, by default ``onboard``) is granted there."""
    places = [("permissions", "")] + [
        (f"accounts.list[{i}].permissions", rule.id)
        for i, rule in enumerate(config.accounts.listed)
    ]
    for where, account in places:
        if _granted(config, "approve", account):
            continue
        for permission in PERMISSIONS:
            gated = [name for name, t in operations.items() if permission in t.permissions]
            if (
                gated
                and _granted(config, permission, account)
                and all(config.required_for(op, account) > 0 for op in gated)
            ):
                raise _fail(
                    f"{where}.approve",
                    f"nobody may approve, yet {permission} is granted: nothing it asks for "
                    "could ever be approved",
                )


def _granted(config: Config, permission: str, account: str) -> bool:
    """Someone holds ``permission`` in ``account`` ("": globally): an account's own list can
    only narrow the global one."""
    own = config.account_principals(permission, account) if account else None
    return bool(config.principals(permission)) and (own is None or bool(own))


def _audit_posts_somewhere(config: Config) -> None:
    if config.audit.schedule and not config.audit_channel:
        raise _fail("audit.schedule", "needs audit_channel, where the scheduled audit is posted")


def _identity_center_reached(config: Config) -> None:
    """An offboarding reaches Identity Center only as a person's, across the accounts the bot
    knows: without ``accounts:`` the section would be read and never used."""
    if config.identity_center and not config.accounts.enabled:
        raise _fail(
            "identity_center",
            "needs accounts: (offboarding a person reaches Identity Center across the accounts "
            "listed there; list this one, even alone)",
        )


_TOP_LEVEL = {
    "permissions",
    "channels",
    "audit_channel",
    "approvals",
    "protected_users",
    "identity",
    "rotation_age_days",
    "unused_days",
    "rotation",
    "onboarding",
    "grants",
    "audit",
    "accounts",
    "incidents",
    "cloudtrail_regions",
    "identity_center",
}


def _audit_channel(value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not _CHANNEL.fullmatch(value)):
        raise _fail("audit_channel", "must be a channel ID such as C0123ABC")
    return value


def _approvals(raw: Any, operations: Mapping[str, OperationTerms]) -> Approvals:
    raw = _mapping(raw, "approvals")
    _known_keys(raw, "approvals", {"required", "expire_minutes", "commands"})
    required = _count(raw.get("required"), "approvals.required", 1, 1, MAX_APPROVERS)
    return Approvals(
        required=required,
        expire_minutes=_count(
            raw.get("expire_minutes"), "approvals.expire_minutes", 60, 1, YEAR_MINUTES
        ),
        commands=_approval_rules(raw.get("commands"), required, operations),
    )


_GROUP = re.compile(r"S[A-Z0-9]{2,}")


def _incidents(raw: Any) -> Incidents:
    raw = _mapping(raw, "incidents")
    _known_keys(raw, "incidents", set(Incidents.__dataclass_fields__))
    channel, oncall = raw.get("channel"), raw.get("oncall")
    if channel is not None and (not isinstance(channel, str) or not _CHANNEL.fullmatch(channel)):
        raise _fail("incidents.channel", "must be a channel ID such as C0123ABC")
    if oncall is not None and (not isinstance(oncall, str) or not _GROUP.fullmatch(oncall)):
        raise _fail("incidents.oncall", "must be a user group ID such as S0123ABC")
    floor = raw.get("min_guardduty_severity", Incidents.min_guardduty_severity)
    if isinstance(floor, bool) or not isinstance(floor, int | float) or not 0 <= floor <= 10:
        raise _fail("incidents.min_guardduty_severity", "must be a number from 0 to 10")
    return Incidents(channel=channel, oncall=oncall, min_guardduty_severity=float(floor))


def _identity(raw: Any) -> Identity:
    raw = _mapping(raw, "identity")
    _known_keys(raw, "identity", {"tag", "email_tag"})
    return Identity(
        tag=_tag_key(raw, "tag", "identity", Identity.tag),
        email_tag=_tag_key(raw, "email_tag", "identity", Identity.email_tag),
    )


_INSTANCE_ARN = re.compile(r"arn:aws[a-z-]*:sso:::instance/(?:sso)?ins-[a-zA-Z0-9-.]{16}")
_STORE_ID = re.compile(r"d-[0-9a-f]{10}|[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}")


def _identity_center(raw: Any, accounts: Accounts) -> IdentityCenter | None:
    """The ``identity_center:`` section; absent, the feature is off."""
    if raw is None:
        return None
    where = "identity_center"
    raw = _mapping(raw, where)
    _known_keys(raw, where, set(IdentityCenter.__dataclass_fields__))
    account = _identity_center_account(raw.get("account"), accounts)
    checks = (
        ("region", _REGION, "an AWS region such as us-east-1"),
        ("instance_arn", _INSTANCE_ARN, "an Identity Center instance ARN"),
        ("identity_store_id", _STORE_ID, "an identity store ID such as d-1234567890"),
        ("role", _ROLE_ARN, "a role ARN"),
    )
    for key, pattern, kind in checks:
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not pattern.fullmatch(value)):
            raise _fail(f"{where}.{key}", f"must be {kind}")
    return IdentityCenter(
        account=account,
        region=raw.get("region", IdentityCenter.region),
        instance_arn=raw.get("instance_arn"),
        identity_store_id=raw.get("identity_store_id"),
        role=raw.get("role"),
        scim=_flag(raw, "scim", where, False),
    )


def _identity_center_account(value: Any, accounts: Accounts) -> str:
    """The instance's account ID, from an ID or the name of a listed account."""
    if isinstance(value, str) and _ACCOUNT_ID.fullmatch(value):
        return value
    named = [r.id for r in accounts.listed if isinstance(value, str) and r.name == value]
    if len(named) != 1:
        raise _fail(
            "identity_center.account", "must be a 12-digit account ID or a name in accounts.list"
        )
    return named[0]


def _rotation(raw: Any) -> Rotation:
    raw = _mapping(raw, "rotation")
    _known_keys(raw, "rotation", set(Rotation.__dataclass_fields__))
    defaults = Rotation()
    name = _secret_name(raw, "rotation", defaults.secret_name)
    kms = raw.get("kms_key_id")
    if kms is not None and (not isinstance(kms, str) or _KMS_KEY.fullmatch(kms) is None):
        raise _fail("rotation.kms_key_id", "must be a KMS key ID, key ARN, alias/name or alias ARN")
    return Rotation(
        **{
            key: _count(raw.get(key), f"rotation.{key}", getattr(defaults, key), low, high)
            for key, low, high in _ROTATION_RANGES
        },
        secret_name=name,
        kms_key_id=kms,
        notify_owner=_flag(raw, "notify_owner", "rotation", defaults.notify_owner),
    )


def _audit(raw: Any, accounts: Accounts) -> Audit:
    raw = _mapping(raw, "audit")
    _known_keys(raw, "audit", {"schedule", "dm_owners", "scope"})
    schedule = raw.get("schedule")
    if schedule is not None and (not isinstance(schedule, str) or not croniter.is_valid(schedule)):
        raise _fail("audit.schedule", "must be a cron expression such as '0 9 * * 1'")
    return Audit(
        schedule=schedule,
        dm_owners=_flag(raw, "dm_owners", "audit", False),
        scope=_audit_scope(raw.get("scope", "account"), accounts),
    )


def _onboarding(raw: Any) -> Onboarding:
    raw = _mapping(raw, "onboarding")
    _known_keys(raw, "onboarding", set(Onboarding.__dataclass_fields__))
    return Onboarding(secret_name=_secret_name(raw, "onboarding", Onboarding.secret_name))


def parse_config(text: str, operations: Mapping[str, OperationTerms]) -> Config:
    """The rules in ``text``, for a bot that knows ``operations`` (by name)."""
    data = _mapping(_load_yaml(text), "top level")
    _known_keys(data, "top level", _TOP_LEVEL)
    permissions = _permissions(data.get("permissions"), "permissions")
    audit_channel = _audit_channel(data.get("audit_channel"))
    approvals = _approvals(data.get("approvals"), operations)
    protected = _protected_users(data.get("protected_users"))
    identity = _identity(data.get("identity"))
    rotation = _rotation(data.get("rotation"))
    accounts = _accounts(data.get("accounts"), operations)
    config = Config(
        grants=_grants(data.get("grants")),
        accounts=accounts,
        incidents=_incidents(data.get("incidents")),
        audit=_audit(data.get("audit"), accounts),
        rotation=rotation,
        onboarding=_onboarding(data.get("onboarding")),
        permissions=permissions,
        channels=_ids(data.get("channels"), "channels", _CHANNEL, "a channel ID"),
        audit_channel=audit_channel,
        approvals=approvals,
        protected_users=protected,
        identity=identity,
        rotation_age_days=_count(
            data.get("rotation_age_days"), "rotation_age_days", 90, 1, MAX_DAYS
        ),
        unused_days=_count(data.get("unused_days"), "unused_days", 45, 1, MAX_DAYS),
        cloudtrail_regions=_ids(
            data.get("cloudtrail_regions"), "cloudtrail_regions", _REGION, "an AWS region"
        ),
        identity_center=_identity_center(data.get("identity_center"), accounts),
    )
    _audit_posts_somewhere(config)
    _identity_center_reached(config)
    _approvers_exist(config, operations)
    return config


def load_config(path: str | None, operations: Mapping[str, OperationTerms]) -> Config:
    """The rules file at ``path`` (none: the built-in read-only defaults)."""
    if not path:
        return parse_config(DEFAULT_CONFIG_TEXT, operations)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"IAM_BOT_CONFIG: cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"IAM_BOT_CONFIG: {path} is not UTF-8 text (byte {exc.start})") from None
    return parse_config(text, operations)
