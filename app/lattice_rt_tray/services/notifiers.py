"""The notifier interface, the tray-balloon fallback and the recording double.

Every notifier takes :class:`~lattice_rt_tray.logic.coalescer.Notice` values and
emits ``activated(server, seq)`` when the user clicks a notification: the
event to open is ``seq`` of connection ``server`` (-1 when there is none).
Which backend is used is decided once, in the composition root
(:func:`lattice_rt_tray.main.choose_notifier`).
"""

from __future__ import annotations

import json
from typing import TextIO

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QSystemTrayIcon

from lattice_rt_tray.logic.notices import Notice

__all__ = ["MUTE_ACTION", "READ_ACTION", "Notifier", "RecordingNotifier",
           "TrayMessageNotifier", "target"]

MUTE_ACTION = "mute"
READ_ACTION = "read"

MESSAGE_MS = 8000


def target(notice: Notice) -> tuple[str, int]:
    """What a click on ``notice`` opens: (connection key, seq), seq -1 for none."""
    return notice.server, notice.seq if notice.seq is not None else -1


class Notifier(QObject):
    """Base class.

    Signals:
        activated(str, int): a notification was clicked; its event's connection and
            seq, or -1.
        acted(str, str, str): one of its actions was chosen (action, connection,
            workspace): ``mute`` that workspace for an hour, ``read`` mark all read.
    """

    activated = Signal(str, int)
    #: (action, server, workspace): MUTE_ACTION (that workspace, for an hour) or
    #: READ_ACTION (mark all read), chosen on a notification that offers them
    acted = Signal(str, str, str)
    name = "none"

    def show(self, notice: Notice) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (connections, threads)."""


class TrayMessageNotifier(Notifier):
    """``QSystemTrayIcon.showMessage``: works wherever there is a tray.

    A balloon carries no id, so a click is taken to mean the latest one, and a
    later notice replaces whatever balloon is showing.
    """

    name = "tray"

    def __init__(self, tray: QSystemTrayIcon, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray = tray
        self._last: tuple[str, int] = ("", -1)
        tray.messageClicked.connect(self.on_message_clicked)

    def show(self, notice: Notice) -> None:
        self._last = target(notice)
        icon = (QSystemTrayIcon.MessageIcon.Critical if notice.critical
                else QSystemTrayIcon.MessageIcon.Information)
        self._tray.showMessage(notice.title, notice.body, icon, MESSAGE_MS)

    @Slot()
    def on_message_clicked(self) -> None:
        self.activated.emit(*self._last)


class RecordingNotifier(Notifier):
    """Shows nothing; records every notice (tests, benchmarks, ``--notifier=record``).

    With ``out`` (``--notifier record`` gives stdout), each notice is also written
    there as one JSON line, so anything outside the app sees what a user would.

    Signals:
        shown(object): the Notice that was just recorded.
    """

    name = "record"
    shown = Signal(object)

    def __init__(self, parent: QObject | None = None, out: TextIO | None = None) -> None:
        super().__init__(parent)
        self.notices: list[Notice] = []
        self._out = out

    def show(self, notice: Notice) -> None:
        self.notices.append(notice)
        if self._out is not None:
            line = {"kind": notice.kind.value, "key": notice.key, "title": notice.title,
                    "body": notice.body, "server": notice.server, "seq": notice.seq,
                    "count": notice.count, "quiet": notice.quiet,
                    "critical": notice.critical}
            try:
                self._out.write(json.dumps(line, ensure_ascii=False) + "\n")
                self._out.flush()
            except (OSError, ValueError):  # the reader went away: keep recording
                self._out = None
        self.shown.emit(notice)

    def click(self, notice: Notice) -> None:
        """Act as if the user clicked ``notice``."""
        self.activated.emit(*target(notice))
