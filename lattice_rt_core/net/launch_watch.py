"""``python -m lattice_rt_core.net.launch_watch WAIT GRACE -- COMMAND...`` (Linux).

Runs a browser launcher and watches everything it starts, not only itself.
``xdg-open`` exits 0 as soon as it has started a browser, and the browser may
then fail at once (Chromium run as root: "Running as root without
--no-sandbox is not supported"): the launcher's own status says nothing about
that. As a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``) this process
inherits every orphaned descendant of the launcher, so it can wait for them
and read their exit statuses:

* the launcher fails within ``WAIT`` seconds: its status;
* it exits 0 (or is still running after ``WAIT``): its descendants get
  ``GRACE`` seconds more; one that is still running then is the browser
  (success); if they all ended and one failed, the first failure's status;
* everything ended cleanly: the page was handed to a running browser.

Exit status 0 means a browser has the page; otherwise the status is the
failed process's, and stdout says whose: ``launcher`` or ``browser``. Its
stderr is the launcher's and the browser's (the caller reads it).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time

__all__ = ["main"]

_PR_SET_CHILD_SUBREAPER = 36


def _reap(until: float) -> tuple[bool, int]:
    """Wait for descendants until none is left or ``until``: (any left, first failure)."""
    failure = 0
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False, failure
        if pid:
            code = os.waitstatus_to_exitcode(status)
            if code and not failure:
                failure = code if code > 0 else 128 - code
            continue
        if time.monotonic() >= until:
            return True, failure
        time.sleep(0.02)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    wait, grace, command = float(args[0]), float(args[1]), args[3:]
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        os.execvp(command[0], command)  # cannot watch: be the launcher itself
    launcher = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        code = launcher.wait(wait)
    except subprocess.TimeoutExpired:
        return 0  # still running: the browser itself
    if code != 0:
        print("launcher", flush=True)
        return code if code > 0 else 128 - code
    running, failure = _reap(time.monotonic() + grace)
    if running or not failure:
        return 0
    print("browser", flush=True)
    return failure


if __name__ == "__main__":
    raise SystemExit(main())
