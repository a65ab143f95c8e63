"""The tray's decisions in plain Python (no Qt).

Notifications, digests, do-not-disturb, status, text.
"""
