"""Preferences: hotkeys (conflicts refused) and the nine quick phrases."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from studio.engine.actions import ACTIONS, QUICK_PHRASE_COUNT, action_by_id, key_conflicts
from studio.ui import theme


def portable(sequence: QKeySequence) -> str:
    return sequence.toString(QKeySequence.SequenceFormat.PortableText)


class SettingsDialog(QDialog):
    """Edit key overrides and quick phrases; ``accept`` refuses keys used twice."""

    def __init__(self, parent: QWidget | None, keys: dict[str, str],
                 phrases: Sequence[str], reserved: dict[str, str] | None = None) -> None:
        super().__init__(parent)
        self._reserved = reserved or {}  # menu keys (title -> key) actions may not take
        self.setWindowTitle("Preferences")
        self.resize(720, 560)
        tabs = QTabWidget()

        self.key_edits: dict[str, QKeySequenceEdit] = {}
        table = QTableWidget(len(ACTIONS), 3)
        table.setHorizontalHeaderLabels(["Action", "Key", ""])
        table.verticalHeader().hide()
        table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        table.horizontalHeader().resizeSection(1, 200)
        table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        table.verticalHeader().setDefaultSectionSize(36)
        for row, spec in enumerate(ACTIONS):
            item = QTableWidgetItem(spec.title)
            item.setToolTip(spec.description)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            table.setItem(row, 0, item)
            edit = QKeySequenceEdit(QKeySequence(keys.get(spec.id, ""),
                                                 QKeySequence.SequenceFormat.PortableText))
            edit.setMaximumSequenceLength(1)
            edit.setClearButtonEnabled(True)
            edit.keySequenceChanged.connect(lambda _seq: self._check())
            table.setCellWidget(row, 1, edit)
            reset = QPushButton("Default")
            reset.setToolTip(f"Back to {spec.default_key}")
            reset.clicked.connect(lambda _=False, e=edit, d=spec.default_key: e.setKeySequence(
                QKeySequence(d, QKeySequence.SequenceFormat.PortableText)))
            table.setCellWidget(row, 2, reset)
            self.key_edits[spec.id] = edit
        reset_all = QPushButton("Reset all keys")
        reset_all.clicked.connect(self.reset_keys)
        keys_tab = QWidget()
        keys_layout = QVBoxLayout(keys_tab)
        keys_layout.addWidget(table, 1)
        row_layout = QHBoxLayout()
        row_layout.addStretch(1)
        row_layout.addWidget(reset_all)
        keys_layout.addLayout(row_layout)
        tabs.addTab(keys_tab, "Keyboard")

        self.phrase_edits: list[QLineEdit] = []
        phrases_tab = QWidget()
        form = QFormLayout(phrases_tab)
        for n in range(QUICK_PHRASE_COUNT):
            phrase = QLineEdit(phrases[n] if n < len(phrases) else "")
            phrase.setPlaceholderText("(empty: the button is disabled)")
            self.phrase_edits.append(phrase)
            key = keys.get(f"quick_phrase_{n + 1}", "") or "no key"
            form.addRow(f"{n + 1}  ({key})", phrase)
        tabs.addTab(phrases_tab, "Quick phrases")

        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {theme.RED}; background: none; font-weight: 600;")
        self.error.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def keys(self) -> dict[str, str]:
        return {aid: portable(edit.keySequence()) for aid, edit in self.key_edits.items()}

    def key_overrides(self) -> dict[str, str]:
        """Only the keys that differ from the defaults are stored."""
        return {aid: key for aid, key in self.keys().items()
                if key != action_by_id(aid).default_key}

    def quick_phrases(self) -> list[str]:
        return [e.text().strip() for e in self.phrase_edits]

    def set_key(self, action_id: str, key: str) -> None:
        self.key_edits[action_id].setKeySequence(
            QKeySequence(key, QKeySequence.SequenceFormat.PortableText))

    def reset_keys(self) -> None:
        for spec in ACTIONS:
            self.set_key(spec.id, spec.default_key)

    def _check(self) -> bool:
        keys = self.keys()
        reserved = {f"menu:{title}": key for title, key in self._reserved.items()}
        conflicts = key_conflicts({**keys, **reserved})
        if not conflicts:
            self.error.hide()
            self.ok_button.setEnabled(True)
            return True
        lines = []
        for ids in conflicts.values():
            titles = ", ".join(i.removeprefix("menu:") + " (menu)" if i.startswith("menu:")
                               else action_by_id(i).title for i in ids)
            shown = keys.get(ids[0]) or reserved.get(ids[0], "")
            lines.append(f"{shown}: used by {titles}")
        self.error.setText("Each key can do only one thing:\n" + "\n".join(lines))
        self.error.show()
        return False

    def accept(self) -> None:
        if self._check():
            super().accept()
