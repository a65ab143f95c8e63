"""How long the user has been idle, per platform.

The interface (base), the chooser (auto), the backends.
"""
