"""manifest.yml is kept in step with the code: commands registered, scopes needed."""

from __future__ import annotations

import ast
import inspect
import re

import yaml
from slack_sdk import WebClient

from bot.iam.bot_policy import PACKAGE
from bot.slack.commands import SLASH_COMMAND, SUBCOMMANDS
from bot.slack.listeners.functions import OFFBOARD_PERSON
from bot.slack.workflow_steps import OUTCOMES
from tests.fixtures.project import ROOT

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())

# Scopes each Web API method needs (api.slack.com/methods). users.info is used for the e-mail.
SCOPES_OF = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write", "chat:write.public"},  # also channels it was not invited to
    "chat.postEphemeral": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.delete": {"chat:write"},
    "chat.getPermalink": set(),
    "users.info": {"users:read", "users:read.email"},
    "users.lookupByEmail": {"users:read.email"},  # who an IAM user's e-mail tag names
    "usergroups.users.list": {"usergroups:read"},
    "conversations.open": {"im:write"},
    "views.open": set(),
    "views.update": set(),
    "views.push": set(),
    "views.publish": set(),  # the App Home tab: no scope, and its event app_home_opened none
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
    "functions.completeSuccess": set(),  # a workflow step's end: no scope
    "functions.completeError": set(),
}


# WebClient helpers that call other methods rather than one API method of their own.
COMPOSITES = {"files_upload_v2": "files.getUploadURLExternal"}


def _api_method(client_method: str) -> str:
    if client_method in COMPOSITES:
        return COMPOSITES[client_method]
    source = inspect.getsource(getattr(WebClient, client_method))
    return re.search(r'api_call\(\s*"([^"]+)"', source).group(1)


def _is_client(node: ast.expr) -> bool:
    """``client`` or ``<anything>.client`` (or ``._client``): how the bot holds its WebClient."""
    return (isinstance(node, ast.Name) and node.id == "client") or (
        isinstance(node, ast.Attribute) and node.attr in ("client", "_client")
    )


def web_api_methods_called() -> set[str]:
    """Every Web API method the shipped bot calls on a WebClient, read from the source."""
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and _is_client(node.func.value)
                and callable(getattr(WebClient, node.func.attr, None))
            ):
                found.add(_api_method(node.func.attr))
    return found


def test_every_registered_command_is_declared() -> None:
    declared = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    assert declared == {SLASH_COMMAND}
    assert all(c.get("should_escape") for c in MANIFEST["features"]["slash_commands"]), (
        "mentions must arrive as <@U...> for /iam keys @person"
    )
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_the_usage_hint_names_every_subcommand() -> None:
    (iam,) = MANIFEST["features"]["slash_commands"]
    hinted = set(iam["usage_hint"].replace("·", " ").split())
    assert hinted == {s.name for s in SUBCOMMANDS} | {"help"}


def test_scopes_are_exactly_what_the_calls_need() -> None:
    called = web_api_methods_called()
    assert {"users.info", "chat.update", "views.open"} <= called  # the scan does see the calls
    unknown = called - SCOPES_OF.keys()
    assert not unknown, f"add the scopes of {unknown} to SCOPES_OF and manifest.yml"
    needed = {"commands"}.union(*(SCOPES_OF[m] for m in called))
    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) == needed


def test_the_home_tab_and_its_event_are_declared() -> None:
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
    events = MANIFEST["settings"]["event_subscriptions"]
    assert "app_home_opened" in events["bot_events"]
    assert events["request_url"] == MANIFEST["settings"]["interactivity"]["request_url"]
    assert "views.publish" in web_api_methods_called()


def test_the_workflow_step_is_declared_as_the_bot_runs_it() -> None:
    """The step, run by this app (remote), its event, and the inputs and outputs it reads and
    writes; custom steps need an org-ready app."""
    settings = MANIFEST["settings"]
    assert settings["function_runtime"] == "remote"
    assert settings["org_deploy_enabled"] is True
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]
    assert set(MANIFEST["functions"]) == {OFFBOARD_PERSON}
    step = MANIFEST["functions"][OFFBOARD_PERSON]
    inputs = step["input_parameters"]
    assert inputs["person"]["type"] == "slack#/types/user_id"
    assert inputs["requester"]["type"] == "slack#/types/user_context"
    assert inputs["channel"]["type"] == "slack#/types/channel_id"
    required = {name for name, p in inputs.items() if p.get("is_required")}
    assert required == {"person", "reason", "requester"}
    assert set(step["output_parameters"]) == {"outcome", "request_id"}
    outcome = step["output_parameters"]["outcome"]["title"]
    assert all(word in outcome for word in OUTCOMES.values())
    assert {"functions.completeSuccess", "functions.completeError"} <= web_api_methods_called()
