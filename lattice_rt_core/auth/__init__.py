"""Who is calling and what they may do.

Tokens, accounts, launch codes, sessions, the access decisions.
"""
