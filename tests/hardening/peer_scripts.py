"""Programs the peer tests run in child processes: ``python -m tests.hardening.peer_scripts``.

``present URL TOKEN CLIENT_ID``
    A desktop client as the app is asked to behave: it keeps the stream open
    naming its client_id (``RealtimeClient``) and joins presence each time a
    line arrives on stdin (the test plays the app's re-join timer, on the
    server's test clock). Prints ``joined N`` after each join. The test
    SIGSTOPs it.

``vanish DATA_DIR HEARTBEAT``
    Run inside a private network namespace (``unshare --net``): a server, one
    stream reading its first bytes, then the loopback interface goes down, as
    when a laptop leaves the network. Prints one JSON line: whether the server
    dropped the stream, and how many seconds it took.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path


def present(url: str, token: str, client_id: str) -> None:
    from lattice_rt_core.client import RealtimeClient

    with RealtimeClient(url, token, client_ids=[client_id], heartbeat=1.0) as client:
        client.start()
        for count, _ in enumerate(sys.stdin, start=1):
            client.join(client_id=client_id)
            print(f"joined {count}", flush=True)


def vanish(data_dir: str, heartbeat: float) -> None:
    from lattice_rt_core.server import RealtimeServer, ServerConfig

    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    srv = RealtimeServer(ServerConfig(port=0, data_dir=Path(data_dir), heartbeat=heartbeat))
    srv.start()
    assert srv.bus is not None
    try:
        sock = socket.create_connection(("127.0.0.1", srv.port))
        sock.sendall(
            f"GET /realtime/stream HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
            f"Authorization: Bearer {srv.owner_token}\r\n\r\n".encode()
        )
        head = sock.recv(65536)
        assert head.startswith(b"HTTP/1.1 200"), head
        deadline = time.monotonic() + 10
        while srv.bus.subscriber_count < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        subprocess.run(["ip", "link", "set", "lo", "down"], check=True)
        lost = time.monotonic()
        deadline = lost + 20 * heartbeat  # far beyond the promise, far below TCP's 15 min
        while srv.bus.subscriber_count and time.monotonic() < deadline:
            time.sleep(0.02)
        dropped = srv.bus.subscriber_count == 0
        print(json.dumps({"dropped": dropped, "seconds": round(time.monotonic() - lost, 2)}),
              flush=True)
        sock.close()
    finally:
        srv.stop(timeout=1.0)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "present":
        present(args[0], args[1], args[2])
    elif command == "vanish":
        vanish(args[0], float(args[1]))
    else:
        sys.exit(f"unknown command {command!r}")
