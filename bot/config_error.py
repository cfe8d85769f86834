"""What stops the bot's start: a setting or a rule that is missing or invalid."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting is missing or invalid; the message names it and never contains its value."""
