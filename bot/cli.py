"""`iam-bot serve | serve --socket | config check | policy | store create | --version`.

`serve` checks every outside dependency before it takes a request (settings, config, state
store, port, AWS identity, an IAM read in every configured account, Slack), in that order, and
stops at the first problem with one line naming it and exit code 2: an operator fixes a setting,
not a stack trace. `config check` runs the config and IAM checks alone, one line per account.

On SIGTERM (an orchestrator's rolling restart) or SIGINT it stops gracefully: no new Slack
request, the work in flight finishes for up to ``IAM_BOT_DRAIN_SECONDS``, the scheduler stops,
and the leases on requests still running are released, so another replica takes them over at
its next look instead of once they have run out; then it exits 0 with one line saying what
finished and what was handed over.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from importlib.metadata import version
from typing import TYPE_CHECKING

from slack_bolt.error import BoltError

from bot.access import reach
from bot.access.accounts import AccountBook
from bot.access.approvals import utc_now
from bot.access.backends import open_store
from bot.access.schedule import Scheduler
from bot.access.store import Record, SqliteStore, Store
from bot.config_error import ConfigError
from bot.iam import errors, keys, sessions
from bot.iam.aws import Aws
from bot.iam.models import CallerIdentity
from bot.logs import fatal_line, redact, setup_logging
from bot.operator_rules import Config, load_config
from bot.ops.terms import OPERATIONS
from bot.process_settings import load_settings

if TYPE_CHECKING:
    from bot.iam.bot_policy import PolicyInputs
    from bot.slack.jobs import Jobs

log = logging.getLogger("iam-bot")

# The settings hold the tokens once read. Bolt falls back to these variables by itself and, given
# a client as well, warns at every start that it ignores the token; nothing needs them afterwards
# (and a child process should not inherit them).
_TOKEN_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
# Versions start at 1, so a compare-and-set on version -1 never matches: a write that proves the
# store accepts writes (a read-only file refuses it) without changing anything.
_WRITE_PROBE = Record(id="iam-bot:write-check", kind="check", state="check", data={}, version=-1)
_NO_CREDENTIALS = {
    "NoCredentialsError": "no AWS credentials found (environment, AWS_PROFILE, or a role)",
    "EndpointConnectionError": "cannot connect to the AWS endpoint",
}


def open_state(url: str, retention_days: int) -> Store:
    """The state store, opened and written to once, or one line saying why it cannot be."""
    try:
        store = open_store(url, retention_days=retention_days)
        store.put_if_version(_WRITE_PROBE)
    except ValueError as exc:  # unsupported URL; the message names IAM_BOT_STATE
        raise ConfigError(str(exc)) from None
    except (sqlite3.Error, RuntimeError) as exc:  # missing directory, read-only, corrupt, newer
        raise ConfigError(f"IAM_BOT_STATE: cannot use {url} ({exc})") from None
    except Exception as exc:  # a table the bot may not write (AccessDenied), an endpoint down
        raise ConfigError(f"IAM_BOT_STATE: cannot use {url} ({type(exc).__name__})") from None
    return store


@contextlib.contextmanager
def _listening(port: int, setting: str = "PORT") -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise ConfigError(
            f"{setting}: cannot listen on port {port} ({os.strerror(exc.errno or 0)})"
        ) from None


def _port_free(port: int, setting: str) -> None:
    """Fail before any work starts; the server binds the port again when it serves."""
    with _listening(port, setting), socket.create_server(("0.0.0.0", port)):
        pass


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Silence a library's own logging for one startup step whose failure we report."""
    target = logging.getLogger(logger)
    level = target.level
    target.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        target.setLevel(level)


def _check_aws(attributed: bool, workers: int) -> tuple[Aws, CallerIdentity]:
    """The AWS gateway and who it acts as: no credentials (or a wrong profile) stop startup
    here, instead of every command answering "try again" later."""
    try:
        aws = Aws(attributed=attributed, max_workers=workers)
    except Exception as exc:  # botocore's ProfileNotFound & co.; botocore stays behind aws.py
        raise ConfigError(f"AWS configuration: {exc}") from None
    try:
        return aws, keys.caller_identity(aws)
    except errors.IamError as exc:
        reason = _NO_CREDENTIALS.get(exc.code) or f"{exc.code or 'error'}: {exc.message}"
        raise ConfigError(f"AWS: sts:GetCallerIdentity failed: {reason}") from None


def reach_accounts(config: Config, aws: Aws, store: Store) -> list[reach.Reach]:
    """One IAM read in every configured account, through the sessions commands use."""
    return reach.check(aws, AccountBook(config.accounts, aws, store, utc_now))


def _check_iam(config: Config, aws: Aws, store: Store) -> None:
    """Startup's IAM read in every account. A bot that can read IAM nowhere can do nothing, so
    that stops it like any broken setting; an account it cannot read while others work (a new
    account the member role's StackSet has not reached yet) is a loud warning, not a reason to
    leave every other account without the bot: `/iam accounts` shows it too."""
    results = reach_accounts(config, aws, store)
    line = reach.summary(results)
    if not line:
        return
    if all(r.problem for r in results):
        raise ConfigError(line)
    log.warning("%s", line)


def describe(config_path: str | None, aws: Aws, config: Config) -> str:
    """Where the bot runs, for the startup line: config file, accounts and region."""
    where = config_path or "none (built-in defaults: read-only)"
    accounts = "several accounts" if config.accounts.enabled else "one account"
    return f"config {where}, {accounts}, region {aws.region}"


def _serve(args: argparse.Namespace) -> int:
    from bot.slack.app import build_app
    from bot.slack.socket_mode import SocketModeServer
    from bot.slack.wsgi import HttpServer

    settings = load_settings(socket_mode=args.socket, port=args.port)
    setup_logging("INFO", settings.log_format, sessions.current_account_id)
    for name in _TOKEN_VARIABLES:
        os.environ.pop(name, None)
    config = load_config(settings.config_path, OPERATIONS)
    store = open_state(settings.state_url, settings.retention_days)
    if args.socket and args.health_port:
        _port_free(args.health_port, "--health-port")
    elif not args.socket and settings.port:
        _port_free(settings.port, "PORT")
    aws, caller = _check_aws(config.accounts.enabled, settings.workers)
    _check_iam(config, aws, store)
    try:
        with _quiet("slack_sdk"):  # its retries of auth.test; the failure is reported below
            app = build_app(settings, config, aws=aws, store=store)
    except BoltError:
        raise ConfigError("SLACK_BOT_TOKEN was refused by Slack (auth.test failed)") from None
    except OSError as exc:  # auth.test could not connect
        url = settings.slack_api_url or "https://slack.com/api/"
        reason = getattr(exc, "reason", None) or exc
        raise ConfigError(f"Slack: cannot reach {url} (auth.test: {reason})") from None
    identity = f"as {caller.arn} (account {caller.account})"
    running = describe(settings.config_path, aws, config)
    server: HttpServer | SocketModeServer
    if args.socket:
        server = SocketModeServer(app, settings.app_token, args.health_port)
        log.info("Socket Mode, %s, %s; health on port %s", running, identity, args.health_port)
    else:
        with _listening(settings.port):
            server = HttpServer(app, port=settings.port)
        log.info("listening on port %s (HTTP), %s, %s", server.port, running, identity)
    server.start()
    stop_signal = _signalled()
    app.readiness.stop()
    server.stop_listening()
    if app.events:  # a message received but not handled stays in the queue for another replica
        app.events.stop()
    log.info("stopping on %s: draining for up to %g s", stop_signal, settings.drain_seconds)
    finished, left = _drain(app.jobs, app.scheduler, settings.drain_seconds)
    server.stop()
    handed_over = app.leases.hand_over()  # last: a run handed over must not go on here for long
    log.info(
        "stopped: %d job(s) in flight finished, %d did not; handed over to another replica: %s",
        finished, left, ", ".join(handed_over) or "nothing",
    )  # fmt: skip
    if left:  # their threads would hold the interpreter's exit until SIGKILL
        logging.shutdown()
        os._exit(0)
    return 0


def _signalled() -> str:
    """Wait for SIGTERM or SIGINT; its name. (A flag polled, not an Event: a handler setting an
    Event could deadlock on the lock the waiting thread holds.)"""
    received: list[str] = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda n, _: received.append(signal.Signals(n).name))
    while not received:
        time.sleep(0.2)
    return received[0]


def _drain(jobs: Jobs, scheduler: Scheduler, seconds: float) -> tuple[int, int]:
    """Stop the scheduler and let the jobs in flight finish, all within ``seconds``; jobs not
    started by then never start. How many finished, and how many are still running."""
    deadline = time.monotonic() + seconds
    in_flight = jobs.in_flight()
    stopper = threading.Thread(target=scheduler.stop, name="stop-scheduler", daemon=True)
    stopper.start()  # a step it is running is work in flight too
    stopper.join(max(0.0, deadline - time.monotonic()))
    jobs.wait_idle(max(0.0, deadline - time.monotonic()))
    left = jobs.in_flight()
    jobs.shutdown(wait=False, cancel_futures=True)
    return max(0, in_flight - left), left


def _policy(_: argparse.Namespace) -> int:
    """The policy for the config the bot will run with (``IAM_BOT_CONFIG``): its secret name
    templates and KMS key are part of the policy."""
    from bot.iam.bot_policy import policy_json

    rules = load_config(os.environ.get("IAM_BOT_CONFIG") or None, OPERATIONS)
    sys.stdout.write(policy_json(policy_inputs(rules)))
    return 0


def policy_inputs(rules: Config) -> PolicyInputs:
    """What of the operator's rules the bot's IAM policy follows."""
    from bot.iam.bot_policy import PolicyInputs

    return PolicyInputs(
        secret_names=(rules.rotation.secret_name, rules.onboarding.secret_name),
        kms_key_id=rules.rotation.kms_key_id,
        protected_users=rules.protected_users,
    )


def _config_check(_: argparse.Namespace) -> int:
    """The config file, who the AWS credentials are, and one IAM read in every account it
    names: one line for each, then exit 2 with one line naming what is missing. Needs no Slack
    setting; the Organization's account list is fetched into a throwaway store."""
    path = os.environ.get("IAM_BOT_CONFIG") or None
    config = load_config(path, OPERATIONS)
    aws, caller = _check_aws(config.accounts.enabled, 4)
    print(f"{describe(path, aws, config)}, as {caller.arn} (account {caller.account})")
    with tempfile.TemporaryDirectory() as scratch:
        results = reach_accounts(config, aws, SqliteStore(f"{scratch}/check.db"))
    for result in results:
        print(f"{'ok  ' if result.problem is None else 'FAIL'} {result.where}: "
              f"{result.problem or 'IAM read (iam:GetAccountSummary)'}")  # fmt: skip
    if line := reach.summary(results):
        raise ConfigError(line)
    return 0


def _store_create(args: argparse.Namespace) -> int:
    """A development table; production tables come from the deploy template. The region is
    named: a table made in a region the bot does not use looks like a table that vanished."""
    from bot.access import dynamo

    url = args.state or os.environ.get("IAM_BOT_STATE") or ""
    try:
        table = dynamo.table_name(url)
        dynamo.create_table(table)
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(str(exc)) from None
    print(
        f"created DynamoDB table {table} in {Aws().region} "
        f"(index {dynamo.INDEX}, TTL on {dynamo.TTL_ATTRIBUTE})"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="iam-bot", description="Manage AWS IAM from Slack, safely."
    )
    parser.add_argument("--version", action="version", version=f"iam-bot {version('iam-bot')}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the bot (HTTP, or Socket Mode with --socket)")
    serve.add_argument("--port", type=int, default=None, help="HTTP port (default $PORT or 3000)")
    serve.add_argument(
        "--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)"
    )
    serve.add_argument(
        "--health-port",
        type=int,
        default=8080,
        help="Socket Mode: port of /healthz, /readyz and /metrics (default 8080)",
    )
    serve.set_defaults(run=_serve)
    config = sub.add_parser("config", help="the config file").add_subparsers(
        dest="action", required=True
    )
    config.add_parser(
        "check",
        help="load IAM_BOT_CONFIG and read IAM in every account it names, one line for each",
    ).set_defaults(run=_config_check)
    policy = sub.add_parser(
        "policy", help="print the IAM policy the bot needs (for the config in IAM_BOT_CONFIG)"
    )
    policy.set_defaults(run=_policy)
    store = sub.add_parser("store", help="the state store").add_subparsers(
        dest="action", required=True
    )
    create = store.add_parser(
        "create", help="create the DynamoDB table of IAM_BOT_STATE=dynamodb://TABLE (development)"
    )
    create.add_argument("--state", help="dynamodb://TABLE (default $IAM_BOT_STATE)")
    create.set_defaults(run=_store_create)
    args = parser.parse_args(argv)
    setup_logging("INFO")
    # botocore announces where it found credentials at every start; startup logs who the bot
    # acts as instead, from sts:GetCallerIdentity.
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        return args.run(args)
    except ConfigError as exc:
        line = fatal_line(f"iam-bot: {redact(str(exc))}", os.environ.get("LOG_FORMAT", ""))
        print(line, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
