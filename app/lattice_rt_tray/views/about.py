"""The About dialog: what the app is, its version and licence, and everyone else's licences.

The licences are read from the installed packages' metadata (see
:mod:`.licences`) the first time their tab is opened, on a thread of their
own (a few hundred files: the GUI thread does not wait for them).
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, Signal, SignalInstance, Slot, qVersion
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_core.version import __version__
from lattice_rt_tray.logic.identity import APP_NAME, SUMMARY
from lattice_rt_tray.system.licences import Licence, own_licence, project_urls, third_party_licences
from lattice_rt_tray.views.icons import app_icon

__all__ = ["AboutDialog"]

ICON_SIZE = 64


class AboutDialog(QDialog):
    """``licences`` reads the third-party licences (the installed metadata by default).

    Signals:
        licences_loaded(): the Third-party licences tab lists them.
    """

    licences_loaded = Signal()
    _read = Signal(object)  # the list read on the reading thread

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        licences: Callable[[], list[Licence]] = third_party_licences,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("about-dialog")
        self.setWindowTitle(f"About {APP_NAME}")
        self.resize(760, 540)
        self._read_licences = licences
        self.licences: list[Licence] | None = None
        self._reading = False
        self._read.connect(self._on_read, Qt.ConnectionType.QueuedConnection)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._about_page(), "About")
        self.tabs.addTab(self._licences_page(), "Third-party licences")
        self.tabs.currentChanged.connect(self.on_tab)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.about_qt = QPushButton("About Qt")
        self.buttons.addButton(self.about_qt, QDialogButtonBox.ButtonRole.HelpRole)
        self.about_qt.clicked.connect(lambda: QMessageBox.aboutQt(self))
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.buttons)

    def _about_page(self) -> QWidget:
        page = QWidget()
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(ICON_SIZE, ICON_SIZE))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.name = QLabel(APP_NAME)
        font = QFont(self.name.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.name.setFont(font)
        self.version = QLabel(f"Version {__version__}")
        self.version.setObjectName("about-version")
        self.version.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        summary = QLabel(f"{SUMMARY}, in the system tray.")
        summary.setWordWrap(True)
        self.licence = QLabel(
            f"Released under the {own_licence()} licence. It is built on the free software "
            "listed under Third-party licences, each under its own licence."
        )
        self.licence.setObjectName("about-licence")
        self.licence.setWordWrap(True)
        links = project_urls()
        self.links = QLabel(
            " · ".join(f'<a href="{url}">{label}</a>' for label, url in links)
        )
        self.links.setOpenExternalLinks(True)
        self.links.setVisible(bool(links))
        self.runtime = QLabel(
            f"Python {platform.python_version()} · Qt {qVersion()} · PySide6 {pyside_version}"
        )
        self.runtime.setObjectName("about-runtime")
        self.runtime.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.runtime.setEnabled(False)  # quieter: for bug reports, not for reading

        text = QVBoxLayout()
        for widget in (self.name, self.version, summary, self.licence, self.links):
            text.addWidget(widget)
        text.addStretch(1)
        text.addWidget(self.runtime)
        row = QHBoxLayout(page)
        row.setContentsMargins(16, 16, 16, 16)
        row.setSpacing(16)
        row.addWidget(icon)
        row.addLayout(text, 1)
        return page

    def _licences_page(self) -> QWidget:
        page = QWidget()
        intro = QLabel("The app ships these packages; pick one to read its licence.")
        intro.setWordWrap(True)
        self.package_list = QListWidget()
        self.package_list.setObjectName("licence-list")
        self.package_list.setUniformItemSizes(True)
        self.package_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.package_list.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.licence_title = QLabel()
        self.licence_title.setObjectName("licence-title")
        self.licence_title.setWordWrap(True)
        self.licence_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bold = QFont(self.licence_title.font())
        bold.setBold(True)
        self.licence_title.setFont(bold)
        self.licence_text = QPlainTextEdit()
        self.licence_text.setObjectName("licence-text")
        self.licence_text.setReadOnly(True)
        self.licence_text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.package_list.currentRowChanged.connect(self.on_package)
        reading = QWidget()
        column = QVBoxLayout(reading)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.licence_title)
        column.addWidget(self.licence_text, 1)
        split = QSplitter()
        split.addWidget(self.package_list)
        split.addWidget(reading)
        split.setStretchFactor(1, 1)
        split.setSizes([200, 520])
        layout = QVBoxLayout(page)
        layout.addWidget(intro)
        layout.addWidget(split, 1)
        return page

    @Slot(int)
    def on_tab(self, index: int) -> None:
        if index == 1:
            self.load_licences()

    def load_licences(self) -> None:
        """Start reading the licences (once); ``licences_loaded`` says when they are listed."""
        if self._reading or self.licences is not None:
            return
        self._reading = True
        self.licence_text.setPlainText("Reading the licences…")
        threading.Thread(
            target=_read_in_background, args=(self._read_licences, self._read),
            name="licences", daemon=True,
        ).start()

    @Slot(object)
    def _on_read(self, answer: list[Licence] | str) -> None:
        if isinstance(answer, str):
            self.licence_text.setPlainText(f"The licences could not be read: {answer}")
            answer = []
        self.licences = licences = answer
        for licence in licences:
            item = QListWidgetItem(f"{licence.name} {licence.version}")
            item.setToolTip(f"{licence.name} {licence.version}: {licence.licence}")
            self.package_list.addItem(item)
        if licences:
            self.package_list.setCurrentRow(0)
        self.licences_loaded.emit()

    @Slot(int)
    def on_package(self, row: int) -> None:
        if self.licences is not None and 0 <= row < len(self.licences):
            licence = self.licences[row]
            self.licence_title.setText(f"{licence.name} {licence.version} — {licence.licence}")
            self.licence_text.setPlainText(licence.text)
            self.licence_text.moveCursor(self.licence_text.textCursor().MoveOperation.Start)


def _read_in_background(read: Callable[[], list[Licence]], done: SignalInstance) -> None:
    """On the reading thread: the licences, or why not, to ``done`` (a queued signal)."""
    try:
        answer: list[Licence] | str = read()
    except Exception as exc:  # noqa: BLE001 - a broken package's metadata: say so
        answer = str(exc) or type(exc).__name__
    try:
        done.emit(answer)
    except RuntimeError:  # the dialog is gone already
        pass
