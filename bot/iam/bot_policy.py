"""The bot's own least-privilege IAM policy, derived from the code commands can reach.

Every AWS request goes through ``Aws.call/pages/items`` with literal service and operation
names, so the source names every action the bot could use. Only the calls a command can reach
count: starting from the Slack layer (every listener, executor and scheduled job) and the CLI
(the startup check), the derivation follows references from function to function across the
package; a helper nothing reaches grants nothing. Resources follow the operator's config: the
Secrets Manager name templates and the KMS key, and the protected users, whom every change the
bot could make to a user is denied on (so a bug in the bot cannot touch them either).
``deploy/iam-policy.json`` is tested to equal the derivation for the default config, so the two
can never drift apart.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.aws_patterns import EVENTS_QUEUE_PREFIX
from bot.iam.policies import CHANGE_PASSWORD_ARN
from bot.iam.quarantine import DENY_ALL_ARN, QUARANTINE_ARNS
from bot.iam.secrets import MARKER, MARKER_TAG, OWNER_TAG

PACKAGE = Path(__file__).resolve().parent.parent
_GATEWAY_METHODS = {"call", "pages", "items"}
# Where commands start: bot/slack/ (every Slack listener, executor and scheduled job) and the
# CLI (startup's check of the bot's AWS identity).
ENTRY_POINTS = ("slack", "cli.py")


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def gateway_calls(tree: ast.AST | str) -> list[tuple[str, str]]:
    """(service, operation) of every gateway call in a piece of source (or its syntax tree)."""
    found = []
    for node in ast.walk(ast.parse(tree) if isinstance(tree, str) else tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _GATEWAY_METHODS or len(node.args) < 2:
            continue
        service, operation = _literal(node.args[0]), _literal(node.args[1])
        if service and operation:
            found.append((service, operation))
    return found


# --- what commands can reach --------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    """A top-level function or class (with all its methods), or a module's own statements:
    what it calls through the gateway and the names it refers to, resolved to other units."""

    calls: frozenset[tuple[str, str]]
    refers_to: frozenset[str]


def _module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted name it stands for, from every import in the module (lazy ones in
    functions included). The package uses absolute imports only."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]  # `import a.b` binds `a`
                names[alias.asname or top] = alias.name if alias.asname else top
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _references(node: ast.AST, resolve: dict[str, str]) -> Iterator[str]:
    """Dotted names a piece of code refers to: ``name`` and ``module.name`` forms."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in resolve:
            yield resolve[sub.id]
        elif (
            isinstance(sub, ast.Attribute)
            and isinstance(sub.value, ast.Name)
            and sub.value.id in resolve
        ):
            yield f"{resolve[sub.value.id]}.{sub.attr}"


_DEFINITION = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def _units(root: Path) -> tuple[dict[str, _Unit], set[str]]:
    """Every unit of the shipped package under ``root``, and the units commands start from."""
    units: dict[str, _Unit] = {}
    entry: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        module = _module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        definitions = [n for n in tree.body if isinstance(n, _DEFINITION)]
        statements = [n for n in tree.body if not isinstance(n, _DEFINITION)]
        pieces: dict[str, ast.AST] = {
            module: ast.Module(body=statements, type_ignores=[]),
            **{f"{module}.{n.name}": n for n in definitions},
        }
        resolve = {**_imports(tree), **{n.name: f"{module}.{n.name}" for n in definitions}}
        for name, node in pieces.items():
            units[name] = _Unit(
                frozenset(gateway_calls(node)), frozenset(_references(node, resolve))
            )
        if path.relative_to(root).parts[0] in ENTRY_POINTS:
            entry.update(pieces)
    return units, entry


@functools.cache
def reachable_calls(root: Path = PACKAGE) -> frozenset[tuple[str, str]]:
    """The gateway calls of every unit a command reaches. Importing a module runs its own
    statements, so a reached unit also reaches its module's. Read once per process: the
    source does not change under it, and each policy asks for it twice (the accounts' actions,
    Identity Center's)."""
    units, entry = _units(root)
    seen: set[str] = set()
    todo = list(entry)
    while todo:
        name = todo.pop()
        if name in seen or name not in units:
            continue
        seen.add(name)
        todo += [*units[name].refers_to, name.rsplit(".", 1)[0]]
    return frozenset(call for name in seen for call in units[name].calls)


# Called in the scope of the Organization's read-only listing role, which grants them
# (deploy/org-reader-role.yaml), never in an account's action role.
LISTING_ROLE_ACTIONS = frozenset({"organizations:ListAccounts"})


# Called in the scope of the role in the IAM Identity Center instance's account
# (deploy/identity-center-role.yaml), never in an account's action role; by the gateway's
# service name, the prefix IAM gives their actions (SSO admin's actions are "sso:").
IDENTITY_CENTER_SERVICES = {"sso-admin": "sso", "identitystore": "identitystore"}


def required_actions(root: Path = PACKAGE) -> list[str]:
    """What the role the bot assumes in each account must allow."""
    actions = {
        f"{service}:{operation}"
        for service, operation in reachable_calls(root)
        if service not in IDENTITY_CENTER_SERVICES
    }
    return sorted(actions.union(*(_IMPLIED.get(a, ()) for a in actions)) - LISTING_ROLE_ACTIONS)


def identity_center_actions(root: Path = PACKAGE) -> list[str]:
    """What the role in the Identity Center instance's account must allow: the Identity Center
    and identity store calls a command can reach."""
    return sorted(
        f"{IDENTITY_CENTER_SERVICES[service]}:{operation}"
        for service, operation in reachable_calls(root)
        if service in IDENTITY_CENTER_SERVICES
    )


def identity_center_policy(root: Path = PACKAGE) -> dict[str, Any]:
    """That role's policy: each action on the kinds of resource it takes (the instance, its
    permission sets and accounts; the identity store, its users, groups and memberships),
    which are only known at run time; ``ListInstances`` takes none."""
    grouped: dict[str, list[str]] = {}
    for action in identity_center_actions(root):
        sid = "IdentityCenterInstances" if action == "sso:ListInstances" else action.split(":")[0]
        grouped.setdefault(sid, []).append(action)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": _IC_SIDS.get(sid, sid),
                "Effect": "Allow",
                "Action": actions,
                "Resource": _one_or_list(_IC_RESOURCES[sid]),
            }
            for sid, actions in sorted(grouped.items())
        ],
    }


_IC_RESOURCES = {
    "IdentityCenterInstances": ("*",),
    "sso": (
        "arn:aws:sso:::instance/*",
        "arn:aws:sso:::permissionSet/*/*",
        "arn:aws:sso:::account/*",
    ),
    "identitystore": (
        "arn:aws:identitystore::*:identitystore/*",
        "arn:aws:identitystore:::user/*",
        "arn:aws:identitystore:::group/*",
        "arn:aws:identitystore:::membership/*",
    ),
}
_IC_SIDS = {"sso": "IdentityCenterAssignments", "identitystore": "IdentityStorePeople"}


# Actions IAM authorises in addition to the one called, for parameters the bot passes: tags
# given to CreateSecret need secretsmanager:TagResource (CreateUser's need iam:TagUser, which
# the bot also calls directly).
_IMPLIED = {
    "secretsmanager:CreateSecret": ("secretsmanager:TagResource",),
    "iam:CreateUser": ("iam:TagUser",),
}


# --- each action on the narrowest resource ----------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    sid: str
    resources: tuple[str, ...]
    condition: tuple[tuple[str, str, tuple[str, ...]], ...] = ()  # (operator, key, values)


# IAM actions scoped to a resource other than the user they act on; IAM actions with no
# resource at all (account-wide reads and settings). Every other IAM action acts on a user.
_ON_GROUP = {"AddUserToGroup", "RemoveUserFromGroup", "GetGroup", "ListAttachedGroupPolicies"}
_ON_MFA = {"DeleteVirtualMFADevice"}
_ON_POLICY = {"ListEntitiesForPolicy"}  # who carries AWS's quarantine policies, and only those
# Their ARNs with any account (the AWS-managed ones have "aws" there, which IAM's wildcard
# matches and policy linters refuse as an account).
_QUARANTINE_POLICIES = tuple(arn.replace("::aws:", "::*:") for arn in QUARANTINE_ARNS.values())
_ACCOUNT_WIDE = {
    "CreateAccountAlias",
    "DeleteAccountAlias",
    "GenerateCredentialReport",
    "GetAccountAuthorizationDetails",
    "GetAccountPasswordPolicy",
    "GetAccountSummary",
    "GetCredentialReport",
    "ListAccountAliases",
    "ListPolicies",  # which AWS managed policies are attached: IAM takes no resource for it
    "ListSAMLProviders",
}
_USERS = ("arn:aws:iam::*:user/*",)


def attachable_policies() -> tuple[str, ...]:
    """The managed policies a command attaches to a user: onboarding's ``IAMUserChangePassword``
    (so a new user can set the password it must reset) and containment's ``AWSDenyAll``.
    AttachUserPolicy is allowed for these only: a bot that may attach any policy could make
    any user an administrator."""
    return (CHANGE_PASSWORD_ARN, DENY_ALL_ARN)


@dataclass(frozen=True)
class PolicyInputs:
    """What of the operator's rules shapes the policy, passed in by whoever read them: the
    Secrets Manager name templates, the KMS key those secrets are encrypted with, and the
    protected users."""

    secret_names: tuple[str, ...]
    kms_key_id: str | None = None
    protected_users: tuple[str, ...] = ()


def secret_resources(inputs: PolicyInputs) -> tuple[str, ...]:
    """The secrets the bot names: each template with ``{user}`` as a wildcard, plus the six
    random characters Secrets Manager appends to a secret's ARN."""
    return tuple(
        sorted(
            f"arn:aws:secretsmanager:*:*:secret:{name.replace('{user}', '*')}-??????"
            for name in set(inputs.secret_names)
        )
    )


# IAM holds the bot to its mark on secrets (``bot.iam.secrets.MARKER_TAG``), so that no bug
# can write a credential into a secret someone else made (and opened to others).
_MARKED_WRITES = {"PutSecretValue"}  # on an existing secret: only one the bot marked
_MARKED_CREATES = {"CreateSecret", "TagResource"}  # only with the bot's mark, and its tags


def secret_scope(operation: str, inputs: PolicyInputs) -> _Scope:
    """A Secrets Manager action on the secrets the config names: a write only into a secret
    carrying the bot's mark, a creation only with it; reads (the checks before a write)
    unconditioned."""
    resources = secret_resources(inputs)
    if operation in _MARKED_WRITES:
        marked = ("StringEquals", f"secretsmanager:ResourceTag/{MARKER_TAG}", (MARKER,))
        return _Scope("SecretsManagerWriteOwnSecrets", resources, (marked,))
    if operation in _MARKED_CREATES:
        marking = ("StringEquals", f"aws:RequestTag/{MARKER_TAG}", (MARKER,))
        only = ("ForAllValues:StringEquals", "aws:TagKeys", tuple(sorted((MARKER_TAG, OWNER_TAG))))
        return _Scope("SecretsManagerCreateMarkedSecrets", resources, (marking, only))
    return _Scope("SecretsManagerDeliveredSecrets", resources)


_KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[^:]+:\d{12}:key/.+")


def kms_scope(key: str) -> _Scope:
    """Secrets Manager encrypts with the configured key on the bot's behalf, which needs
    GenerateDataKey and Decrypt on that key, and only through Secrets Manager."""
    via = ("StringLike", "kms:ViaService", ("secretsmanager.*.amazonaws.com",))
    if _KEY_ARN.fullmatch(key):
        return _Scope("KmsSecretsKey", (key,), (via,))
    if key.startswith(("alias/", "arn:")):  # an alias, by name or ARN: the key it names
        alias = "alias/" + key.split(":alias/", 1)[-1].removeprefix("alias/")
        return _Scope(
            "KmsSecretsKey",
            ("arn:aws:kms:*:*:key/*",),
            (via, ("ForAnyValue:StringEquals", "kms:ResourceAliases", (alias,))),
        )
    return _Scope("KmsSecretsKey", (f"arn:aws:kms:*:*:key/{key}",), (via,))


def _scope(action: str, inputs: PolicyInputs) -> _Scope:
    """Each action on the narrowest resource it takes."""
    service, _, operation = action.partition(":")
    if service == "secretsmanager":
        return secret_scope(operation, inputs)
    if service == "sqs":  # the queue AWS's alarms come by, on a server
        return _Scope("SqsEventsQueue", (f"arn:aws:sqs:*:*:{EVENTS_QUEUE_PREFIX}*",))
    if service != "iam" or operation in _ACCOUNT_WIDE:
        return _Scope(f"{service.capitalize()}AccountWide", ("*",))
    if operation == "AttachUserPolicy":
        arns = ("ArnEquals", "iam:PolicyARN", attachable_policies())
        return _Scope("IamAttachKnownPolicies", _USERS, (arns,))
    if operation in _ON_GROUP:
        return _Scope("IamGroups", ("arn:aws:iam::*:group/*",))
    if operation in _ON_MFA:
        return _Scope("IamMfaDevices", ("arn:aws:iam::*:mfa/*",))
    if operation in _ON_POLICY:
        return _Scope("IamQuarantinePolicies", _QUARANTINE_POLICIES)
    return _Scope("IamUsers", _USERS)


# --- protected users: what IAM itself refuses the bot ---------------------------------------------

_READ_VERBS = ("Get", "List")
# Containing a protected user's leaked key (bot.ops.contain), the one change the bot makes to a
# protected user, deactivates its keys and may attach AWSDenyAll: UpdateAccessKey is not denied
# on protected users, AttachUserPolicy is denied for every policy but AWSDenyAll
# (:func:`attach_scope`). Giving a key back to a protected user is refused by the bot itself.
_CONTAINMENT = ("iam:UpdateAccessKey", "iam:AttachUserPolicy")


def user_changes(actions: list[str], inputs: PolicyInputs) -> list[str]:
    """Of ``actions``, every one that changes a user and is authorised on the user
    itself, but containment's: what the protected users are denied. (Group membership is
    authorised on the group, a virtual MFA device's deletion on the device: a deny on the user
    cannot reach those.)"""
    return [
        action
        for action in actions
        if _scope(action, inputs).resources == _USERS
        and not action.partition(":")[2].startswith(_READ_VERBS)
        and action not in _CONTAINMENT
    ]


def attach_scope(protected: _Scope) -> _Scope:
    """The protected users of ``protected`` denied AttachUserPolicy of any policy but
    AWSDenyAll (what containment attaches)."""
    other = ("ArnNotEquals", "iam:PolicyARN", (DENY_ALL_ARN,))
    return _Scope(f"{protected.sid}Attach", protected.resources, (*protected.condition, other))


def protected_scopes(inputs: PolicyInputs) -> list[_Scope]:
    """One deny scope for the named protected users and one per protected tag.

    In a policy's Resource, IAM compares the user name case-sensitively, though no two users'
    names differ only by case: a name denies the user spelled as configured (under any path),
    so write it as IAM spells it. A tag is tested with ``aws:ResourceTag/<key>`` (what the IAM
    User Guide documents for users' tags; ``iam:ResourceTag`` is the older key, unknown to
    parliament for these actions); its key is matched regardless of case (condition key
    names are), and its value too (``StringEqualsIgnoreCase``), as the bot's own check does;
    ``tag:Key`` alone protects whatever the value (``Null`` false: the tag is there)."""
    names, scopes = [], []
    for entry in inputs.protected_users:
        if not entry.startswith("tag:"):
            names.append(entry)
            continue
        key, has_value, value = entry[4:].partition("=")
        test = ("StringEqualsIgnoreCase", value) if has_value and value else ("Null", "false")
        condition = ((test[0], f"aws:ResourceTag/{key}", (test[1],)),)
        scopes.append(_Scope(f"DenyProtectedTag{len(scopes) + 1}", _USERS, condition))
    if names:
        arns = (f"arn:aws:iam::*:user{path}{name}" for name in names for path in ("/", "/*/"))
        scopes.append(_Scope("DenyProtectedUsers", tuple(arns)))
    return scopes


def _one_or_list(values: tuple[str, ...]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def _statement(scope: _Scope, actions: list[str], effect: str = "Allow") -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": scope.sid,
        "Effect": effect,
        "Action": actions,
        "Resource": _one_or_list(scope.resources),
    }
    if scope.condition:
        statement["Condition"] = {}
        for operator, key, values in scope.condition:
            statement["Condition"].setdefault(operator, {})[key] = _one_or_list(values)
    return statement


def policy_document(inputs: PolicyInputs, root: Path = PACKAGE) -> dict[str, Any]:
    """The policy for the rules that ``inputs`` come from."""
    actions = required_actions(root)
    grouped: dict[_Scope, list[str]] = {}
    for action in actions:
        grouped.setdefault(_scope(action, inputs), []).append(action)
    key = inputs.kms_key_id
    if key and any(action.startswith("secretsmanager:") for action in actions):
        grouped[kms_scope(key)] = ["kms:Decrypt", "kms:GenerateDataKey"]
    denied = user_changes(actions, inputs)
    return {
        "Version": "2012-10-17",
        "Statement": [
            *(
                _statement(scope, actions)
                for scope, actions in sorted(grouped.items(), key=lambda kv: kv[0].sid)
            ),
            *(
                statement
                for scope in protected_scopes(inputs)
                for statement in (
                    _statement(scope, denied, "Deny"),
                    _statement(attach_scope(scope), ["iam:AttachUserPolicy"], "Deny"),
                )
            ),
        ],
    }


def policy_json(inputs: PolicyInputs) -> str:
    return json.dumps(policy_document(inputs), indent=2) + "\n"
