"""The test peers' own tests: the faithful AWS and the fake Slack with its signed sender behave as
the real services do where the bot depends on them."""
