"""What ships and how an operator meets it: the wheel, the Docker image, the command line and
`iam-bot serve` starting up (or refusing to, in one line)."""
