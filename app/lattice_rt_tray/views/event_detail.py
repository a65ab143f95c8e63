"""The detail view of one event: what it says, where it came from, and all of it as JSON.

A window of its own, not modal: the Activity list keeps updating behind it,
and opening another event shows that one in the same window. Escape (or
Close) closes it; Copy puts the JSON on the clipboard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_tray.logic.identity import PRODUCT
from lattice_rt_tray.logic.summary import (
    event_actor,
    event_json,
    event_summary,
    event_title,
    humanize,
    is_failure,
    workspace_label,
)
from lattice_rt_tray.logic.timefmt import full_time
from lattice_rt_tray.views.activity_model import FAILURE_MARK
from lattice_rt_tray.views.tones import tone

__all__ = ["EventDetail"]

COPIED_MS = 1500  # how long the button says "Copied"


class EventDetail(QDialog):
    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
    ) -> None:
        super().__init__(parent)
        self.setObjectName("event-detail")
        self.setWindowTitle(f"{PRODUCT} — Event")
        self.setModal(False)
        self.resize(620, 560)
        self._now = now
        self.shown_event: Mapping[str, Any] = {}

        self.title = QLabel()
        self.title.setObjectName("event-title")
        font = QFont(self.title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.title.setFont(font)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setObjectName("event-summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.facts = QFormLayout()
        self.facts.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, QLabel] = {}
        for name in ("Server", "Time", "Workspace", "Area", "Type", "Actor", "Seq"):
            value = QLabel()
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(True)
            self.fields[name] = value
            self.facts.addRow(f"{name}:", value)

        self.json = QPlainTextEdit()
        self.json.setObjectName("event-json")
        self.json.setReadOnly(True)
        self.json.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.json.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("Copy JSON")
        self.copy_button.setObjectName("copy-json")
        self.buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.on_copy)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.summary)
        layout.addLayout(self.facts)
        layout.addWidget(QLabel("The whole event:"))
        layout.addWidget(self.json, 1)
        layout.addWidget(self.buttons)

        self._copied = QTimer(self)
        self._copied.setSingleShot(True)
        self._copied.setInterval(COPIED_MS)
        self._copied.timeout.connect(lambda: self.copy_button.setText("Copy JSON"))

    def show_event(self, event: Mapping[str, Any], server: str = "") -> None:
        """Fill the view with ``event`` (from the connection named ``server``) and show it."""
        self.shown_event = event
        failed = is_failure(event)
        title = event_title(event)
        self.title.setText(f"{FAILURE_MARK} {title}" if failed else title)
        self.title.setStyleSheet(f"color: {tone('failure', self.palette())};" if failed else "")
        summary = event_summary(event)
        self.summary.setText(summary)
        self.summary.setVisible(bool(summary))
        seq = event.get("seq")
        values = {
            "Server": server,
            "Time": full_time(event.get("received_at"), self._now()),
            "Workspace": workspace_label(event),
            "Area": humanize(event.get("area") or "workspace"),
            "Type": str(event.get("event_type") or ""),
            "Actor": event_actor(event),
            "Seq": str(seq) if isinstance(seq, int) else "",
        }
        for name, value in values.items():
            self.fields[name].setText(value)
            self.facts.setRowVisible(self.fields[name], bool(value))
        self.json.setPlainText(event_json(event))
        self._copied.stop()
        self.copy_button.setText("Copy JSON")
        self.show()
        self.raise_()
        self.activateWindow()

    @Slot()
    def on_copy(self) -> None:
        QGuiApplication.clipboard().setText(event_json(self.shown_event))
        self.copy_button.setText("Copied")
        self._copied.start()
