"""Start a web browser on a URL and find out whether it really started.

:func:`webbrowser.open` answers True as soon as a launcher such as
``xdg-open`` is running, even when that launcher then fails ("no method
available for opening ..."), so ``lattice-rt open`` and the tray app would
claim a page was opened that never was. Here a background launcher is given
a few seconds: if it exits with an error, that is reported; if it exits
cleanly it has handed the URL to a browser; if it is still running, it is the
browser itself. Other controllers (macOS, Windows, a ``$BROWSER`` command that
runs in the foreground) report their own outcome.

Blocking (up to ``wait`` seconds): call it off any GUI thread.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import webbrowser

__all__ = ["LAUNCH_WAIT", "open_browser"]

#: seconds a background launcher has to fail before it counts as started
LAUNCH_WAIT = 5.0


def open_browser(url: str, *, wait: float = LAUNCH_WAIT) -> str | None:
    """Open ``url``; None when a browser started, else one line saying why not."""
    try:
        controller = webbrowser.get()
    except webbrowser.Error as exc:
        return f"no web browser found ({exc})"
    if isinstance(controller, webbrowser.BackgroundBrowser):
        return _launch([controller.name, *(a.replace("%s", url) for a in controller.args)], wait)
    name = getattr(controller, "name", None) or type(controller).__name__
    try:
        opened = controller.open(url)
    except OSError as exc:
        return f"{name} could not be started: {exc.strerror or exc}"
    return None if opened else f"{name} did not open the page"


def _launch(command: list[str], wait: float) -> str | None:
    name = os.path.basename(command[0])
    # stderr goes to a file, not a pipe: a browser that outlives us must not
    # die of a closed pipe the first time it writes a warning
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                start_new_session=True,
            )
        except OSError as exc:
            return f"{name} could not be started: {exc.strerror or exc}"
        try:
            code = proc.wait(wait)
        except subprocess.TimeoutExpired:
            return None  # still running: the browser itself
        if code == 0:
            return None
        errors.seek(0)
        said = [line.strip() for line in errors.read(4096).decode(errors="replace").splitlines()]
    detail = next((line for line in said if line), "")
    return f"{name} exited with status {code}" + (f": {detail}" if detail else "")
