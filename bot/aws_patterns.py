"""IAM's own input patterns: what the rooms check before anything reaches AWS
(:mod:`bot.iam.names`), and what the operator's rules check in the file."""

from __future__ import annotations

import re

# IAM's documented pattern for user, group and policy names; \w means ASCII here, as in IAM.
USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
GROUP_NAME = re.compile(r"[\w+=,.@-]{1,128}", re.ASCII)
# Long-term (AKIA) and temporary (ASIA) access key IDs; IAM allows 16-128 characters in all.
ACCESS_KEY_ID = re.compile(r"A[KS]IA[A-Z0-9]{12,124}")
# The SQS queue AWS's alarms about keys come by on a server: its name starts with this, which
# the bot's derived IAM policy allows reading (deploy/ makes ``iam-bot-events`` and its DLQ).
EVENTS_QUEUE_PREFIX = "iam-bot-events"
