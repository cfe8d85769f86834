"""bot/access and the operator's rules: the approval state machine, the state store, and the
config and environment that set who may do what."""
