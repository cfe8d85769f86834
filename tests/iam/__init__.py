"""bot/iam on its own: every IAM operation against the faithful moto, and the bot's own IAM policy
derived from the calls its code makes."""
