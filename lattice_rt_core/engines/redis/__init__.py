"""The Redis engine: one server made of any number of nodes."""
