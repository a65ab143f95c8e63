"""The local engine: the bus, its SQLite journal and presence in this process."""
