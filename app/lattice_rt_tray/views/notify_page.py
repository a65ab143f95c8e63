"""Settings' Notifications tab: what is notified, quiet hours, cut-through, the rules.

:class:`NotifyPage` edits a :class:`~lattice_rt_tray.logic.settings_values.NotifyPrefs`:
on/off, presence and status notices, mutes, recurring quiet hours (days, from,
to: crossing midnight when "to" is earlier), whether critical notifications
cut through do-not-disturb and quiet hours, and the rules
(:class:`~lattice_rt_tray.views.rules_editor.RulesEditor`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from PySide6.QtCore import QTime
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTimeEdit,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_tray.logic.quiet_hours import DAYS, WEEKDAYS, QuietHours
from lattice_rt_tray.logic.settings_values import NotifyPrefs, parse_list
from lattice_rt_tray.views.rules_editor import RulesEditor

__all__ = ["NotifyPage"]

_EVENINGS = (time(19, 0), time(8, 0))  # what a first tick of "Quiet hours" offers


class NotifyPage(QWidget):
    def __init__(self, field_width: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("notify-page")
        self.enabled = QCheckBox("Show notifications")
        self.presence = QCheckBox("Notify when people join or leave")
        self.status = QCheckBox("Notify when people's status changes (away, back, …)")
        self.muted_workspaces = QLineEdit()
        self.muted_workspaces.setPlaceholderText("workspaces to keep quiet, comma separated")
        self.muted_areas = QLineEdit()
        self.muted_areas.setPlaceholderText("e.g. memory, graph")
        for edit in (self.muted_workspaces, self.muted_areas):
            edit.setMinimumWidth(field_width)
        what = QGroupBox("Notifications")
        what_form = QFormLayout(what)
        what_form.addRow(self.enabled)
        what_form.addRow(self.presence)
        what_form.addRow(self.status)
        what_form.addRow("Muted workspaces", self.muted_workspaces)
        what_form.addRow("Muted areas", self.muted_areas)

        self.quiet = QCheckBox("Quiet hours")
        self.quiet.setObjectName("quiet-hours")
        self.quiet.toggled.connect(self._enable_quiet)
        self.days = [QCheckBox(name.capitalize()) for name in DAYS]
        self.start = QTimeEdit()
        self.end = QTimeEdit()
        for clock in (self.start, self.end):
            clock.setDisplayFormat("HH:mm")
        days = QHBoxLayout()
        for box in self.days:
            days.addWidget(box)
        days.addStretch(1)
        times = QHBoxLayout()
        times.addWidget(QLabel("from"))
        times.addWidget(self.start)
        times.addWidget(QLabel("to"))
        times.addWidget(self.end)
        times.addWidget(QLabel("(the next morning when it is earlier)"))
        times.addStretch(1)
        self.through = QCheckBox(
            "Critical notifications (failures) cut through do-not-disturb and quiet hours")
        self.through.setObjectName("critical-through")
        quiet = QGroupBox("Quiet hours (beside do-not-disturb in the tray menu)")
        quiet_layout = QVBoxLayout(quiet)
        quiet_layout.addWidget(self.quiet)
        quiet_layout.addLayout(days)
        quiet_layout.addLayout(times)
        quiet_layout.addWidget(self.through)

        self.rules = RulesEditor()
        rules = QGroupBox("Rules: which events go at which level")
        rules_layout = QVBoxLayout(rules)
        rules_layout.addWidget(self.rules)
        layout = QVBoxLayout(self)
        layout.addWidget(what)
        layout.addWidget(quiet)
        layout.addWidget(rules, 1)
        self._enable_quiet(False)

    def load(self, prefs: NotifyPrefs, problems: Sequence[str] = ()) -> None:
        self.enabled.setChecked(prefs.enabled)
        self.presence.setChecked(prefs.presence)
        self.status.setChecked(prefs.status)
        self.muted_workspaces.setText(", ".join(sorted(prefs.muted_workspaces)))
        self.muted_areas.setText(", ".join(sorted(prefs.muted_areas)))
        hours = prefs.quiet_hours
        self.quiet.setChecked(hours is not None)
        chosen = hours.days if hours is not None else WEEKDAYS
        for number, box in enumerate(self.days):
            box.setChecked(number in chosen)
        start, end = (hours.start, hours.end) if hours is not None else _EVENINGS
        self.start.setTime(QTime(start.hour, start.minute))
        self.end.setTime(QTime(end.hour, end.minute))
        self._enable_quiet(hours is not None)
        self.through.setChecked(prefs.critical_through)
        self.rules.load(prefs.rules)
        self.rules.show_file_problems(problems)

    def _enable_quiet(self, on: bool) -> None:
        for widget in (*self.days, self.start, self.end):
            widget.setEnabled(on)

    def quiet_hours(self) -> QuietHours | None:
        """The quiet hours shown (None: off, or no day ticked)."""
        if not self.quiet.isChecked():
            return None
        days = frozenset(n for n, box in enumerate(self.days) if box.isChecked())
        start, end = self.start.time(), self.end.time()
        if not days:
            return None
        return QuietHours(days, time(start.hour(), start.minute()),
                          time(end.hour(), end.minute()))

    def problem(self) -> str | None:
        """What keeps these settings from being used, for a person, else None."""
        if self.quiet.isChecked():
            if not any(box.isChecked() for box in self.days):
                return "Quiet hours: tick the days they start on"
            if self.start.time() == self.end.time():
                return "Quiet hours: they start and end at the same time"
        return self.rules.problem()

    def prefs(self) -> NotifyPrefs:
        return NotifyPrefs(
            enabled=self.enabled.isChecked(),
            presence=self.presence.isChecked(),
            status=self.status.isChecked(),
            muted_workspaces=frozenset(parse_list(self.muted_workspaces.text())),
            muted_areas=frozenset(parse_list(self.muted_areas.text())),
            rules=self.rules.rules(),
            quiet_hours=self.quiet_hours(),
            critical_through=self.through.isChecked(),
        )
