"""The HTTP layer: the ASGI app, its routes, the stream, the guard and the documents it serves."""
