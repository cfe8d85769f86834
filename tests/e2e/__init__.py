"""End to end, one workflow at a time: signed HTTP in, the faithful AWS and the fake Slack behind
it, restarts and kill -9 included."""
