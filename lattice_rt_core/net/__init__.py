"""The client side's plumbing.

The client's facts and errors, backoff, TLS, finding the local server, the browser, the admin
client.
"""
