"""The project's server in the foreground, as ``lattice-rt serve --no-auth`` runs it.

The same :class:`lattice_rt_core.server.RealtimeServer` with the journal on,
started in its own process so the load generator talks to it over loopback:
``python -m bench.project_server --port P --data-dir DIR [--auth]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lattice_rt_core.server import RealtimeServer, ServerConfig, ServerError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The project's realtime server, for benchmarks")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--auth", action="store_true", help="require the owner token")
    args = parser.parse_args(argv)
    server = RealtimeServer(
        ServerConfig(host="127.0.0.1", port=args.port, data_dir=args.data_dir, auth=args.auth)
    )
    try:
        server.serve_forever()
    except ServerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
