"""The notification rules as a table: match fields and a level per row, first match wins.

:class:`RulesEditor` edits the user's :class:`~lattice_rt_tray.logic.rules.Rule`
values in order (Add, Remove, Move up, Move down) and shows the built-in rules
that come after them, and why a rule of the settings file was skipped. It
checks each row with the same :func:`~lattice_rt_tray.logic.rules.parse_rule`
the settings file is read with.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lattice_rt_tray.logic.rules import BUILT_IN, LEVELS, Level, Rule, RuleError, parse_rule
from lattice_rt_tray.views.tones import tone

__all__ = ["COLUMNS", "RulesEditor"]

#: (rule field, column title); the failure tick and the level come after them
_TEXT_COLUMNS = (("server", "Server"), ("workspace", "Workspace"), ("area", "Area"),
                 ("type", "Event type"), ("text", "Mentions"))
COLUMNS = (*(title for _, title in _TEXT_COLUMNS), "Failures only", "Level")
_FAILURE = len(_TEXT_COLUMNS)
_LEVEL = _FAILURE + 1
_HINT = ("Patterns may use * (deploy*, ws_*); case is ignored. The first rule that matches "
         "an event decides its level.")


class RulesEditor(QWidget):
    """Signals:
    edited(): a rule was added, removed, moved or changed.
    """

    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("rules-editor")
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName("rules-table")
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for column in (_FAILURE, _LEVEL):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemChanged.connect(self._on_item_changed)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.add = QPushButton("Add rule")
        self.remove = QPushButton("Remove")
        self.up = QPushButton("Move up")
        self.down = QPushButton("Move down")
        self.add.clicked.connect(self.on_add)
        self.remove.clicked.connect(self.on_remove)
        self.up.clicked.connect(lambda: self._move(-1))
        self.down.clicked.connect(lambda: self._move(1))
        buttons = QHBoxLayout()
        for button in (self.add, self.remove, self.up, self.down):
            buttons.addWidget(button)
        buttons.addStretch(1)
        hint = QLabel(_HINT)
        hint.setWordWrap(True)
        self.built_in = QLabel("Then, built in: " + " · ".join(
            _built_in_text(rule) for rule in BUILT_IN))
        self.built_in.setObjectName("rules-built-in")
        self.built_in.setWordWrap(True)
        self.problems = QLabel("")
        self.problems.setObjectName("rules-problems")
        self.problems.setStyleSheet(f"color: {tone('failure', self.palette())};")
        self.problems.setWordWrap(True)
        self.problems.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.built_in)
        layout.addWidget(self.problems)
        self._update_buttons()

    # ------------------------------------------------------------- loading
    def load(self, rules: Sequence[Rule]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for rule in rules:
            self._append(rule)
        self.table.blockSignals(False)
        self._update_buttons()

    def show_file_problems(self, problems: Sequence[str]) -> None:
        """Why rules of the settings file were skipped (they stay in the file as they are)."""
        text = "\n".join(f"{p[:1].upper()}{p[1:]} (it stays in the file as it is)."
                         for p in problems)
        self.problems.setText(text)
        self.problems.setVisible(bool(problems))

    def _append(self, rule: Rule) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        for column, (name, _) in enumerate(_TEXT_COLUMNS):
            self.table.setItem(row, column, QTableWidgetItem(getattr(rule, name)))
        tick = QTableWidgetItem("")
        tick.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable
                      | Qt.ItemFlag.ItemIsSelectable)
        tick.setCheckState(Qt.CheckState.Checked if rule.failure else Qt.CheckState.Unchecked)
        self.table.setItem(row, _FAILURE, tick)
        level = QComboBox()
        for value in LEVELS:
            level.addItem(value.capitalize(), value)
        level.setCurrentIndex(LEVELS.index(rule.level.value))
        level.currentIndexChanged.connect(lambda _index: self.edited.emit())
        self.table.setCellWidget(row, _LEVEL, level)

    # ------------------------------------------------------------- reading
    def _row(self, row: int) -> dict[str, object]:
        data: dict[str, object] = {}
        for column, (name, _) in enumerate(_TEXT_COLUMNS):
            item = self.table.item(row, column)
            data[name] = item.text() if item is not None else ""
        tick = self.table.item(row, _FAILURE)
        data["failure"] = tick is not None and tick.checkState() == Qt.CheckState.Checked
        level = self.table.cellWidget(row, _LEVEL)
        data["level"] = level.currentData() if isinstance(level, QComboBox) else ""
        return data

    def rules(self) -> tuple[Rule, ...]:
        """The rows that make rules, in order (see :meth:`problem` for the others)."""
        out = []
        for row in range(self.table.rowCount()):
            try:
                out.append(self._checked(row))
            except RuleError:
                continue
        return tuple(out)

    def problem(self) -> str | None:
        """Why a row cannot be a rule (the first such row), else None."""
        for row in range(self.table.rowCount()):
            try:
                self._checked(row)
            except RuleError as exc:
                return f"Rule {row + 1}: {exc}"
        return None

    def _checked(self, row: int) -> Rule:
        rule = parse_rule(self._row(row))
        if rule == Rule(rule.level):
            raise RuleError("it matches every event: give it a server, workspace, area, "
                            "event type or text, or tick Failures only")
        return rule

    # ------------------------------------------------------------- editing
    @Slot()
    def on_add(self) -> None:
        self._append(Rule(Level.CRITICAL))
        row = self.table.rowCount() - 1
        self.table.selectRow(row)
        self.table.setCurrentCell(row, _TEXT_COLUMNS.index(("type", "Event type")))
        self._update_buttons()
        self.edited.emit()

    @Slot()
    def on_remove(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < self.table.rowCount():
            self.table.removeRow(row)
            self._update_buttons()
            self.edited.emit()

    def _move(self, step: int) -> None:
        row = self.table.currentRow()
        target = row + step
        if not (0 <= row < self.table.rowCount() and 0 <= target < self.table.rowCount()):
            return
        rows = [self._row(r) for r in range(self.table.rowCount())]
        rows[row], rows[target] = rows[target], rows[row]
        column = max(0, self.table.currentColumn())
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        for data in rows:
            try:
                rule = parse_rule(data)
            except RuleError:  # keep the row as typed; the problem is said on OK
                rule = Rule(Level(str(data["level"]) or "normal"))
            self._append(rule)
            self._refill(self.table.rowCount() - 1, data)
        self.table.blockSignals(False)
        self.table.setCurrentCell(target, column)
        self.table.selectRow(target)
        self._update_buttons()
        self.edited.emit()

    def _refill(self, row: int, data: dict[str, object]) -> None:
        for column, (name, _) in enumerate(_TEXT_COLUMNS):
            item = self.table.item(row, column)
            if item is not None:
                item.setText(str(data[name]))

    @Slot(QTableWidgetItem)
    def _on_item_changed(self, _item: QTableWidgetItem) -> None:
        self.edited.emit()

    @Slot()
    def _update_buttons(self) -> None:
        row = self.table.currentRow()
        rows = self.table.rowCount()
        chosen = 0 <= row < rows and bool(self.table.selectedItems())
        self.remove.setEnabled(chosen)
        self.up.setEnabled(chosen and row > 0)
        self.down.setEnabled(chosen and row < rows - 1)


def _built_in_text(rule: Rule) -> str:
    if rule.failure:
        return f"failures → {rule.level.value}"
    if rule.area == "presence" and rule.type == "status":
        return f"people's status changes → {rule.level.value}"
    return f"anything else → {rule.level.value}"
