"""bot/slack, how Slack talks to the bot: hostile text and requests, fuzzed input, Slack failing,
and the app manifest kept in step with the code."""
