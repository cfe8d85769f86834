"""The operator's rules (``IAM_BOT_CONFIG`` YAML) and the process settings (environment).

Both are validated once at startup; a bad value stops the bot with one line that names the
setting, and a secret value is never echoed.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from croniter import croniter

from bot.access.dynamo import DEFAULT_RETENTION_DAYS
from bot.access.leases import DEFAULT_SECONDS as DEFAULT_LEASE_SECONDS
from bot.iam import names
from bot.iam.aws import DEFAULT_WORKERS
from bot.logs import LOG_FORMATS
from bot.ops.operation import Operation

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
DEFAULT_CONFIG_TEXT = """\
# Used when IAM_BOT_CONFIG is not set. Everyone may look; nobody may change anything.
permissions:
  keys: ["*"]
"""


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and never contains its value."""


MAX_APPROVERS = 10
# Upper bounds keep every duration far inside what datetime arithmetic can hold (a huge value
# would pass here and fail every later command with OverflowError).
YEAR_MINUTES = 365 * 24 * 60
WEEK_MINUTES = 7 * 24 * 60
MAX_DAYS = 10 * 365


@dataclass(frozen=True)
class Approvals:
    required: int = 1
    expire_minutes: int = 60
    commands: Mapping[str, int] = field(default_factory=dict)

    def required_for(self, command: str) -> int:
        default = 0 if Operation(command).requester_confirms else self.required
        return self.commands.get(command, default)


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


def _approval_rules(raw: dict[str, Any], required: int) -> dict[str, int]:
    """``approvals.commands``: only known operations, and never fewer than one approver for
    the operations that need a second person."""
    overrides = {}
    for command, rule in _mapping(raw, "approvals.commands").items():
        where = f"approvals.commands.{command}"
        if command not in set(Operation):
            known = ", ".join(sorted(Operation))
            raise _fail("approvals.commands", f"unknown command {command!r} (known: {known})")
        rule = _mapping(rule, where)
        _known_keys(rule, where, {"required"})
        value = _count(rule.get("required"), f"{where}.required", required, 0, MAX_APPROVERS)
        if Operation(command).needs_approver and value < 1:
            raise _fail(f"{where}.required", "must be at least 1: someone other than the requester")
        overrides[command] = value
    return overrides


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


def _account_rule(raw: Any, where: str) -> AccountRule:
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
        if command not in set(Operation):
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


def _accounts(raw: Any) -> Accounts:
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
    listed = tuple(_account_rule(entry, f"accounts.list[{i}]") for i, entry in enumerate(entries))
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
            names.USER_NAME.fullmatch(entry) or _PROTECTED_TAG.fullmatch(entry)
        ):
            raise _fail(
                f"protected_users[{i}]",
                f"{entry!r} is neither an IAM user name nor tag:Key or tag:Key=Value "
                '(lower-case "tag:", no spaces around key or value)',
            )
    return tuple(value)


def _approvers_exist(config: Config) -> None:
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
            gated = [op for op in Operation if permission in op.permissions]
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


def parse_config(text: str) -> Config:
    data = _mapping(_load_yaml(text), "top level")
    _known_keys(
        data,
        "top level",
        {
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
        },
    )
    permissions = _permissions(data.get("permissions"), "permissions")
    audit = data.get("audit_channel")
    if audit is not None and (not isinstance(audit, str) or not _CHANNEL.fullmatch(audit)):
        raise _fail("audit_channel", "must be a channel ID such as C0123ABC")
    raw_approvals = _mapping(data.get("approvals"), "approvals")
    _known_keys(raw_approvals, "approvals", {"required", "expire_minutes", "commands"})
    required = _count(raw_approvals.get("required"), "approvals.required", 1, 1, MAX_APPROVERS)
    approvals = Approvals(
        required=required,
        expire_minutes=_count(
            raw_approvals.get("expire_minutes"), "approvals.expire_minutes", 60, 1, YEAR_MINUTES
        ),
        commands=_approval_rules(raw_approvals.get("commands"), required),
    )
    protected = _protected_users(data.get("protected_users"))
    raw_identity = _mapping(data.get("identity"), "identity")
    _known_keys(raw_identity, "identity", {"tag", "email_tag"})
    identity = Identity(
        tag=_tag_key(raw_identity, "tag", "identity", Identity.tag),
        email_tag=_tag_key(raw_identity, "email_tag", "identity", Identity.email_tag),
    )
    raw_rotation = _mapping(data.get("rotation"), "rotation")
    _known_keys(raw_rotation, "rotation", set(Rotation.__dataclass_fields__))
    defaults = Rotation()
    name = _secret_name(raw_rotation, "rotation", defaults.secret_name)
    kms = raw_rotation.get("kms_key_id")
    if kms is not None and (not isinstance(kms, str) or _KMS_KEY.fullmatch(kms) is None):
        raise _fail("rotation.kms_key_id", "must be a KMS key ID, key ARN, alias/name or alias ARN")
    rotation = Rotation(
        **{
            key: _count(raw_rotation.get(key), f"rotation.{key}", getattr(defaults, key), low, high)
            for key, low, high in _ROTATION_RANGES
        },
        secret_name=name,
        kms_key_id=kms,
        notify_owner=_flag(raw_rotation, "notify_owner", "rotation", defaults.notify_owner),
    )
    raw_audit = _mapping(data.get("audit"), "audit")
    _known_keys(raw_audit, "audit", {"schedule", "dm_owners", "scope"})
    schedule = raw_audit.get("schedule")
    if schedule is not None and (not isinstance(schedule, str) or not croniter.is_valid(schedule)):
        raise _fail("audit.schedule", "must be a cron expression such as '0 9 * * 1'")
    accounts = _accounts(data.get("accounts"))
    audit_rules = Audit(
        schedule=schedule,
        dm_owners=_flag(raw_audit, "dm_owners", "audit", False),
        scope=_audit_scope(raw_audit.get("scope", "account"), accounts),
    )
    raw_onboarding = _mapping(data.get("onboarding"), "onboarding")
    _known_keys(raw_onboarding, "onboarding", set(Onboarding.__dataclass_fields__))
    onboarding = Onboarding(
        secret_name=_secret_name(raw_onboarding, "onboarding", Onboarding.secret_name)
    )
    config = Config(
        grants=_grants(data.get("grants")),
        accounts=accounts,
        audit=audit_rules,
        rotation=rotation,
        onboarding=onboarding,
        permissions=permissions,
        channels=_ids(data.get("channels"), "channels", _CHANNEL, "a channel ID"),
        audit_channel=audit,
        approvals=approvals,
        protected_users=protected,
        identity=identity,
        rotation_age_days=_count(
            data.get("rotation_age_days"), "rotation_age_days", 90, 1, MAX_DAYS
        ),
        unused_days=_count(data.get("unused_days"), "unused_days", 45, 1, MAX_DAYS),
    )
    _audit_posts_somewhere(config)
    _approvers_exist(config)
    return config


def load_config(path: str | None) -> Config:
    if not path:
        return parse_config(DEFAULT_CONFIG_TEXT)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"IAM_BOT_CONFIG: cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"IAM_BOT_CONFIG: {path} is not UTF-8 text (byte {exc.start})") from None
    return parse_config(text)


@dataclass(frozen=True)
class Settings:
    """Process settings from the environment. Tokens are kept out of ``repr``."""

    bot_token: str = field(repr=False)
    signing_secret: str = field(default="", repr=False)
    app_token: str = field(default="", repr=False)
    slack_api_url: str | None = None
    config_path: str | None = None
    state_url: str = "sqlite:///iam-bot.sqlite3"
    port: int = 3000
    # A running request whose runner is silent this long is taken over.
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    log_format: str = "text"  # or "json": one JSON object per line, for log pipelines
    # DynamoDB state: finished records expire this long after they finish (the audit channel
    # and the logs keep the lasting trail).
    retention_days: int = DEFAULT_RETENTION_DAYS
    # How many Slack answers run at once (each may wait on AWS); the gateway's fan-out matches.
    workers: int = DEFAULT_WORKERS
    # On SIGTERM, how long work in flight may run on before its leases are handed over.
    drain_seconds: float = 20.0
    # How often the scheduler looks for due steps and runs to take over (at least once per
    # heartbeat of a lease whatever this says).
    poll_seconds: float = 30.0
    # Between slack_sdk's own tries after a connection error or a 5xx: its backoff with jitter
    # (None), or this many seconds (the sandbox's tests: 0: Slack failing costs them no time).
    slack_retry_wait_s: float | None = None


def _require(env: Mapping[str, str], name: str, prefix: str = "") -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    if prefix and not value.startswith(prefix):
        raise ConfigError(f"{name} must start with {prefix} (value not shown)")
    return value


# ASCII digits only: str.isdigit() also takes "²" (which int() refuses) and Arabic-Indic "٣"
# (which it reads as 3); at most 9 of them, far from int()'s limit on digits.
_DIGITS = re.compile(r"[0-9]{1,9}")


def _whole_number(
    env: Mapping[str, str], name: str, default: int, low: int, high: int, what: str
) -> int:
    """An integer setting from the environment (unset or empty: ``default``), or one line."""
    raw = env.get(name) or str(default)
    if _DIGITS.fullmatch(raw) is None or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be {what} between {low} and {high}")
    return int(raw)


def _port(env: Mapping[str, str], port: int | None) -> int:
    """``--port`` when given, else ``PORT``."""
    if port is None:
        return _whole_number(env, "PORT", Settings.port, 0, 65535, "a port number")
    if not 0 <= port <= 65535:
        raise ConfigError("PORT must be a port number between 0 and 65535")
    return port


def _seconds(env: Mapping[str, str], name: str, default: float, low: float) -> float:
    """A duration setting from the environment (unset or empty: ``default``), or one line."""
    raw = env.get(name) or str(default)
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= 3600:  # NaN too
        raise ConfigError(f"{name} must be a number of seconds between {low:g} and 3600")
    return seconds


def load_settings(
    env: Mapping[str, str] | None = None, *, socket_mode: bool = False, port: int | None = None
) -> Settings:
    env = os.environ if env is None else env
    port_number = _port(env, port)
    try:
        lease = float(env.get("IAM_BOT_LEASE_SECONDS") or Settings.lease_seconds)
    except ValueError:
        raise ConfigError("IAM_BOT_LEASE_SECONDS must be a number of seconds") from None
    if not 1 <= lease <= 3600:
        raise ConfigError("IAM_BOT_LEASE_SECONDS must be between 1 and 3600")
    log_format = env.get("LOG_FORMAT") or Settings.log_format
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of: {', '.join(LOG_FORMATS)}")
    retention_days = _whole_number(
        env, "IAM_BOT_RETENTION_DAYS", Settings.retention_days, 1, 3650, "a number of days"
    )
    return Settings(
        bot_token=_require(env, "SLACK_BOT_TOKEN", "xoxb-"),
        signing_secret="" if socket_mode else _require(env, "SLACK_SIGNING_SECRET"),
        app_token=_require(env, "SLACK_APP_TOKEN", "xapp-") if socket_mode else "",
        slack_api_url=env.get("SLACK_API_URL") or None,
        config_path=env.get("IAM_BOT_CONFIG") or None,
        state_url=env.get("IAM_BOT_STATE") or Settings.state_url,
        port=port_number,
        lease_seconds=lease,
        log_format=log_format,
        retention_days=retention_days,
        workers=_whole_number(
            env, "IAM_BOT_WORKERS", Settings.workers, 4, 1000, "a number of threads"
        ),
        drain_seconds=_seconds(env, "IAM_BOT_DRAIN_SECONDS", Settings.drain_seconds, 0),
        poll_seconds=_seconds(env, "IAM_BOT_POLL_SECONDS", Settings.poll_seconds, 0.1),
    )
