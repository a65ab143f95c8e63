"""A test double of the Lattice AI native host's realtime routes (not on any registry).

Written from what its source (``rust/lattice-platform/src/realtime.rs``) does:
the stream sends the replay of the stored events as compact ``data:`` frames,
newest first, with no ids and no heartbeat, and then ends the response; only
presence publishes events; the only scope is ``personal``; there is no health
route. ``NativeHost`` runs it on a free loopback port in a thread.
"""

from __future__ import annotations

import http.server
import json
import threading
from datetime import UTC, datetime
from typing import Any

__all__ = ["NativeHost"]

REPLAY = 10


class NativeHost:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        #: while set, a stream request waits for ``released`` before it answers
        self.hold = threading.Event()
        self.released = threading.Event()
        self.presence: dict[str, dict[str, Any]] = {}
        self.streams = 0  # how many times the stream was opened
        self.lock = threading.Lock()
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _json(self, status: int, body: Any) -> None:
                data = json.dumps(body, separators=(",", ":")).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                path = self.path.split("?")[0]
                if path == "/realtime/stream":
                    with host.lock:
                        host.streams += 1
                    if host.hold.is_set():  # a test keeps this stream from opening
                        host.released.wait(30)
                    with host.lock:
                        replay = list(reversed(host.events[-REPLAY:]))
                    body = b"".join(b"data: " + json.dumps(e, separators=(",", ":")).encode()
                                    + b"\n\n" for e in replay)
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)  # the replay, and then the response ends
                elif path == "/realtime/feed":
                    with host.lock:
                        self._json(200, {"events": list(reversed(host.events))})
                elif path == "/realtime/presence":
                    with host.lock:
                        self._json(200, {"presence": list(host.presence.values())})
                else:
                    self._json(404, {"detail": "Not Found"})

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                client_id = str(body.get("client_id") or "anonymous")
                if self.path == "/realtime/presence/join":
                    entry = {"client_id": client_id, "user": None, "workspace_id": "personal"}
                    with host.lock:
                        host.presence[client_id] = entry
                    host.publish("join", {"client_id": client_id, "user": None})
                    self._json(200, {"presence": entry})
                elif self.path == "/realtime/presence/leave":
                    with host.lock:
                        known = host.presence.pop(client_id, None)
                    if known is not None:
                        host.publish("leave", {"client_id": client_id})
                    self._json(200, {"status": "ok"})
                else:
                    self._json(404, {"detail": "Not Found"})

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def publish(self, event_type: str, payload: dict[str, Any]) -> None:
        with self.lock:
            self.events.append({
                "seq": len(self.events) + 1, "area": "presence", "event_type": event_type,
                "workspace_id": "personal", "payload": payload,
                "received_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            })

    def __enter__(self) -> NativeHost:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)
