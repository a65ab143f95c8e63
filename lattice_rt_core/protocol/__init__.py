"""The protocol's facts.

Defaults, limits, the name rule, events, SSE frames, scope, people (plain Python; imports only
other facts).
"""
