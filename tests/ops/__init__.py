"""bot/ops, the workflows: the typed plans, outcomes and snapshots they store, and what they tell
people through the notifier."""
