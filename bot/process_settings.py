"""The process settings: the environment (tokens, port, state store, log format, pools and
timings), validated once at startup; a bad value stops the bot with one line that names the
setting, and a secret value is never echoed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.aws_patterns import EVENTS_QUEUE_PREFIX
from bot.config_error import ConfigError
from bot.logs import LOG_FORMATS

# A running request whose runner is silent this long (and an AWS attempt's length more) is
# taken over.
DEFAULT_LEASE_SECONDS = 20.0
# How long one AWS attempt may take: to connect, then for each read of its answer. A replica
# whose lease ran out may have sent one just before, so the work waits about that long more
# before another replica takes it over (bot.access.leases).
AWS_CONNECT_TIMEOUT_S = 5
AWS_READ_TIMEOUT_S = 30
# DynamoDB state: finished records expire this long after they finish (the audit channel and
# the logs keep the lasting trail).
DEFAULT_RETENTION_DAYS = 90
# Threads that may wait on AWS at once, in each of the two pools that do: the Slack answers
# (``IAM_BOT_WORKERS``) and the AWS gateway's fan-out. 100 fan-out threads take the largest user
# IAM's quotas allow (about 80 attachments: 20 managed policies, 10 groups, 8 MFA devices,
# inline policies up to 2,048 characters...) apart in one round trip.
DEFAULT_WORKERS = 100


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
    # A running request whose runner is silent this long (and an AWS attempt's length more)
    # is taken over.
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
    # The SQS queue EventBridge delivers AWS's alarms about keys to (a server polls it; on
    # Lambda, EventBridge invokes the function instead). None: no queue is polled.
    events_queue_url: str | None = None


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
        events_queue_url=_queue_url(env),
    )


_QUEUE_URL = re.compile(
    rf"https?://[A-Za-z0-9.:-]+/[0-9]{{12}}/{EVENTS_QUEUE_PREFIX}[A-Za-z0-9_-]{{0,66}}"
)


def _queue_url(env: Mapping[str, str]) -> str | None:
    """``IAM_BOT_EVENTS_QUEUE_URL``: an SQS queue's URL, or unset."""
    url = env.get("IAM_BOT_EVENTS_QUEUE_URL") or None
    if url is not None and _QUEUE_URL.fullmatch(url) is None:
        raise ConfigError(
            "IAM_BOT_EVENTS_QUEUE_URL must be the URL of an SQS queue whose name starts with "
            f"{EVENTS_QUEUE_PREFIX} (the bot's policy allows those), such as "
            f"https://sqs.us-east-1.amazonaws.com/123456789012/{EVENTS_QUEUE_PREFIX}"
        )
    return url
