"""The app factory: wires config, AWS and Slack together into one Bolt app.

Production (`iam-bot serve`), Socket Mode and the terminal demo all build the app here, so there
is exactly one code path from a Slack request to IAM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.access.accounts import AccountBook
from bot.access.approvals import Approvals, utc_now
from bot.access.backends import open_store
from bot.access.identity import IdentityMap
from bot.access.leases import Leases, require_held
from bot.access.rules import Rules
from bot.access.schedule import Scheduler
from bot.access.store import Store
from bot.iam.audit import CredentialReports
from bot.iam.aws import Aws
from bot.iam.events_queue import QueuePoller
from bot.iam.keys import caller_identity
from bot.operator_rules import Config
from bot.ops import owner
from bot.ops.context import Ops, Services, Team
from bot.ops.registry import GATES, schedule_all
from bot.ops.runner import Runner
from bot.process_settings import Settings
from bot.slack import listeners
from bot.slack.bot_app import BotApp
from bot.slack.commands import audit
from bot.slack.decisions import Decisions
from bot.slack.incidents import IncidentDesk
from bot.slack.jobs import Jobs
from bot.slack.listeners.guard import Context, forget_deliveries
from bot.slack.metrics import Metrics
from bot.slack.notifier import SlackNotifier
from bot.slack.outbox import Outbox, retry_handlers
from bot.slack.readiness import Probe, Readiness

log = logging.getLogger(__name__)
# A record nobody writes: reading it proves the store answers.
_READY_PROBE_ID = "iam-bot:ready-check"


def slack_client(settings: Settings) -> WebClient:
    return WebClient(
        token=settings.bot_token,
        base_url=settings.slack_api_url or WebClient.BASE_URL,
        retry_handlers=retry_handlers(settings.slack_retry_wait_s),
    )


def build_services(
    config: Config,
    aws: Aws,
    store: Store,
    client: WebClient,
    clock: Callable[[], datetime] | None = None,
    leases: Leases | None = None,
) -> Services:
    def group_members(group_id: str) -> frozenset[str]:
        """Who is in a user group. Slack's "no" to the question (``no_such_subteam``, a
        missing scope: HTTP 200) means a group that grants nothing; any other failure (429 or
        5xx after the client's retries, no connection) is Slack not answering, raised."""
        try:
            answer = client.usergroups_users_list(usergroup=group_id)
        except SlackApiError as exc:
            if exc.response.status_code != 200:
                raise
            log.warning("Slack cannot list user group %s: %s", group_id, exc.response.get("error"))
            return frozenset()
        return frozenset(answer.get("users", []))

    def profile_of(user_id: str) -> dict[str, Any]:
        return client.users_info(user=user_id)["user"].get("profile", {})

    def email_of(user_id: str) -> str | None:
        return profile_of(user_id).get("email")

    def name_of(user_id: str) -> str | None:
        profile = profile_of(user_id)
        return profile.get("display_name") or profile.get("real_name") or None

    def user_by_email(email: str) -> str | None:
        try:
            return str(client.users_lookupByEmail(email=email)["user"]["id"])
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                return None
            raise

    clock = clock or utc_now
    rules = Rules(config, group_members, self_user=lambda: caller_identity(aws).user_name)
    identity = IdentityMap(
        aws, config.identity, email_of, slack_name=name_of, slack_user_by_email=user_by_email
    )
    return Services(
        config=config,
        aws=aws,
        rules=rules,
        identity=identity,
        store=store,
        approvals=Approvals(store, rules, config, clock, leases, identity, gates=GATES),
        accounts=AccountBook(config.accounts, aws, store, clock),
        clock=clock,
        team=Team(lambda: str(client.auth_test().get("team_id") or ""), store),
    )


def build_app(
    settings: Settings,
    config: Config,
    *,
    aws: Aws | None = None,
    store: Store | None = None,
    jobs: Jobs | None = None,
    clock: Callable[[], datetime] | None = None,
    scheduler: Scheduler | None = None,
    leases: Leases | None = None,
    background: bool = True,
) -> BotApp:
    """The Bolt app with every listener, and its scheduler started (pass one to control it).
    ``background=False`` starts no thread and no recovery: on AWS Lambda nothing may outlive an
    invocation, and the scheduler's tick event does both (:mod:`bot.lambda_handler`)."""
    client = slack_client(settings)
    listener_pool = jobs or Jobs(settings.workers)
    aws = aws or Aws(attributed=config.accounts.enabled, max_workers=settings.workers)
    store = store or open_store(settings.state_url, retention_days=settings.retention_days)
    metrics = Metrics()
    app = BotApp(
        metrics=metrics,
        readiness=Readiness(
            [
                Probe("store", lambda: store.get(_READY_PROBE_ID), ttl=0),
                Probe("aws", lambda: caller_identity(aws)),
                Probe("slack", client.auth_test),
            ]
        ),
        client=client,
        signing_secret=settings.signing_secret or None,
        request_verification_enabled=bool(settings.signing_secret),
        process_before_response=True,  # ack on the request thread; AWS work on the job pool
        listener_executor=listener_pool,
    )
    lease = leases or Leases(settings.lease_seconds)
    services = build_services(config, aws, store, client, clock, lease)
    aws.watch(metrics.aws_attempt)
    aws.check_each_attempt(require_held)  # a run taken over sends no retry of its own
    metrics.watch_jobs(listener_pool.queued, listener_pool.running)
    metrics.watch_requests(store, services.approvals)
    outbox = Outbox(services.store, client, listener_pool.submit, services.clock)
    notifier = SlackNotifier(config, services.approvals, client, outbox)
    ops = Ops(
        services,
        # The tick also takes over runs whose lease ran out: tick at least once per lease.
        scheduler
        or Scheduler(services.store, services.clock, poll_s=settings.poll_seconds, leases=lease),
        notifier,
        CredentialReports(services.aws, services.clock),
    )
    notifier.tell_owners(lambda request: owner.owner_of(ops, request))
    runner = Runner(ops, listener_pool.submit, on_takeover=metrics.lease_takeovers.inc)
    schedule_all(ops)
    ops.scheduler.on_tick += [runner.tick, outbox.deliver_due, lambda: audit.scheduled(ops, outbox)]
    ops.scheduler.on_tick.append(lambda: forget_deliveries(services.store, services.clock()))
    listeners.register(app, Context(ops, notifier, Decisions(services.approvals, runner, notifier)))
    app.jobs, app.scheduler, app.leases = listener_pool, ops.scheduler, lease
    app.incidents = IncidentDesk(ops, notifier)
    url = settings.events_queue_url
    app.events = QueuePoller(services.aws, url, app.incidents.intake) if url else None
    if background:
        listener_pool.submit(runner.recover)
        ops.scheduler.start()
        if app.events:
            app.events.start()

    @app.error
    def log_unhandled(error: Exception) -> None:
        log.error("unhandled error in a Slack listener", exc_info=error)

    return app
