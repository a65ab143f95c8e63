"""Start a web browser on a URL and find out whether it really started.

:func:`webbrowser.open` answers True as soon as a launcher such as
``xdg-open`` is running, even when that launcher then fails ("no method
available for opening ..."), so ``lattice-rt open`` and the tray app would
claim a page was opened that never was. Here a background launcher is given
a few seconds: if it exits with an error, that is reported; if it is still
running, it is the browser itself. A launcher that exits cleanly has started
a browser, which may still fail at once (Chromium run as root): on Linux the
launcher runs under :mod:`.launch_watch`, which also waits
:data:`HANDOVER_WAIT` seconds for what it started and reports a browser that
died. Other controllers (macOS, Windows, a ``$BROWSER`` command that runs in
the foreground) report their own outcome.

Blocking (up to ``wait`` seconds): call it off any GUI thread.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import webbrowser

__all__ = ["HANDOVER_WAIT", "LAUNCH_WAIT", "open_browser"]

#: seconds a background launcher has to fail before it counts as started
LAUNCH_WAIT = 5.0
#: seconds the browser a launcher started has to fail (Linux)
HANDOVER_WAIT = 2.0


def open_browser(url: str, *, wait: float = LAUNCH_WAIT) -> str | None:
    """Open ``url``; None when a browser started, else one line saying why not."""
    try:
        controller = webbrowser.get()
    except webbrowser.Error as exc:
        return f"no web browser found ({exc})"
    # a launcher, or a browser run in the background (webbrowser's Chrome, Firefox...: it
    # answers True as soon as the process exists, even one that exits at once)
    if isinstance(controller, webbrowser.BackgroundBrowser) or (
            isinstance(controller, webbrowser.UnixBrowser) and controller.background):
        return _launch([controller.name, *(a.replace("%s", url) for a in controller.args)], wait)
    name = getattr(controller, "name", None) or type(controller).__name__
    try:
        opened = controller.open(url)
    except OSError as exc:
        return f"{name} could not be started: {exc.strerror or exc}"
    return None if opened else f"{name} did not open the page"


def _launch(command: list[str], wait: float) -> str | None:
    name = os.path.basename(command[0])
    watched = sys.platform.startswith("linux") and not getattr(sys, "frozen", False)
    argv = ([sys.executable, "-m", "lattice_rt_core.net.launch_watch", str(wait),
             str(HANDOVER_WAIT), "--", *command] if watched else command)
    # stderr goes to a file, not a pipe: a browser that outlives us must not
    # die of a closed pipe the first time it writes a warning
    with tempfile.TemporaryFile() as errors, tempfile.TemporaryFile() as whose:
        try:
            proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=whose if watched else subprocess.DEVNULL,
                stderr=errors, start_new_session=True,
            )
        except OSError as exc:
            return f"{name} could not be started: {exc.strerror or exc}"
        try:
            code = proc.wait(wait + HANDOVER_WAIT + 5.0 if watched else wait)
        except subprocess.TimeoutExpired:
            return None  # still running: the browser itself
        if code == 0:
            return None
        errors.seek(0)
        said = [line.strip() for line in errors.read(4096).decode(errors="replace").splitlines()]
        whose.seek(0)
        browser = whose.read(64).strip() == b"browser"
    # the last line says why (a browser's log line without its "[pid:tid:time:LEVEL:file]")
    detail = re.sub(r"^\[[^\]]*\]\s*", "", next((line for line in reversed(said) if line), ""))
    who = f"the browser {name} started" if browser else name
    return f"{who} exited with status {code}" + (f": {detail}" if detail else "")
