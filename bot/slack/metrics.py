"""What the bot shows Prometheus on ``GET /metrics``: one registry per app instance.

A registry of its own (not prometheus_client's global one) lets the tests, the demo and several
bots in one process each count only their own work. Counters are updated where the work happens
(the serving layer, the AWS gateway's hook, the runner's takeover hook); what lives in the state
store (requests by state, approvals awaited) and the job pool's depth are read at scrape time,
so they are never stale and never double-counted across replicas' restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from bot.access.approvals import KIND, Approvals, State
from bot.access.records import unreadable_counts
from bot.access.store import Store
from bot.ops.incidents import dropped_counts

# Slack waits 3 s for an ack; the buckets resolve the range that matters around it.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)


class Metrics:
    """The bot's metrics, named by Prometheus conventions (``iambot_..._total``, ``_seconds``)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.commands = Counter(
            "iambot_commands",
            "Slash commands by subcommand and how they ended (ok, refused, failed)",
            ["subcommand", "outcome"],
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "iambot_ack_seconds",
            "Time from a Slack request reaching the HTTP server to the ack response",
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.aws_calls = Counter(
            "iambot_aws_calls",
            "AWS HTTP attempts by operation and outcome (ok, throttled, error), retries included",
            ["service", "operation", "outcome"],
            registry=self.registry,
        )
        self.lease_takeovers = Counter(
            "iambot_lease_takeovers",
            "Running requests taken over because their runner's lease ran out",
            registry=self.registry,
        )

    def command(self, subcommand: str, outcome: str) -> None:
        self.commands.labels(subcommand, outcome).inc()

    def aws_attempt(self, service: str, operation: str, outcome: str) -> None:
        self.aws_calls.labels(service, operation, outcome).inc()

    def watch_jobs(self, queued: Callable[[], int], running: Callable[[], int]) -> None:
        """The job pool's depth, read at scrape time."""
        for name, what, read in (
            ("iambot_jobs_queued", "Jobs waiting for a worker", queued),
            ("iambot_jobs_running", "Jobs being worked on", running),
        ):
            Gauge(name, what, registry=self.registry).set_function(read)

    def watch_requests(self, store: Store, approvals: Approvals) -> None:
        self.registry.register(RequestsCollector(store, approvals))
        self.registry.register(UnreadableCollector())
        self.registry.register(DroppedEventsCollector())

    def exposition(self) -> tuple[bytes, str]:
        """The text format Prometheus scrapes, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class RequestsCollector:
    """Requests by state and the approvals still awaited, counted in the store at scrape time
    (the store is shared by every replica, so each replica reports the same totals). Only the
    pending requests are read; the others are counted by the store, so a scrape costs the same
    however long the history."""

    def __init__(self, store: Store, approvals: Approvals) -> None:
        self._store, self._approvals = store, approvals

    def collect(self) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "iambot_requests", "Requests in the store by state", labels=["state"]
        )
        counts = self._store.count_by_state(KIND, [s.value for s in State])
        for state in State:
            by_state.add_metric([state.value], counts.get(state.value, 0))
        yield by_state
        awaited = sum(
            max(0, r.required - len(r.approvers)) for r in self._approvals.in_state(State.PENDING)
        )
        yield GaugeMetricFamily(
            "iambot_pending_approvals",
            "Approvals still needed by the requests waiting for them",
            value=awaited,
        )


class UnreadableCollector:
    """Stored records this process could not read and skipped (each counted once), by kind:
    any at all means a hand edit, a corruption or a newer bot's record to look at (the log
    names each one)."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "iambot_unreadable_records",
            "Stored records that could not be read and were skipped, by kind",
            labels=["kind"],
        )
        for kind, count in sorted(unreadable_counts().items()):
            family.add_metric([kind], count)
        yield family


class DroppedEventsCollector:
    """AWS events this process dropped as about nothing it follows, by why (each logged once
    as it came): many of one reason may mean a rule wider than deploy/'s."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "iambot_events_dropped",
            "AWS events not about a user's access key, by why",
            labels=["why"],
        )
        for why, count in sorted(dropped_counts().items()):
            family.add_metric([why], count)
        yield family
