"""The engines behind the HTTP layer.

The interface, the delivery machinery and presence both engines share.
"""
