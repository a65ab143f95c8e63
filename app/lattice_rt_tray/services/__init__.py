"""Qt objects without windows: connections, presence, settings, the token vault, notifiers."""
