"""Block Kit builders: what each reply looks like. No I/O here, only data in, blocks out."""
