"""The keyboard help overlay: every action, its key and what it does, generated from ACTIONS."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QVBoxLayout, QWidget

from studio.engine.actions import ACTIONS
from studio.ui import theme
from studio.ui.i18n import action_description, action_group, action_title, tr


class HelpOverlay(QWidget):
    """Covers its parent with a dimmed sheet; Esc, a click or the help key closes it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.card = QFrame(self)
        self.card.setObjectName("card")
        self.card.setStyleSheet(f"QFrame#card {{ background: {theme.PANEL};"
                                f" border: 1px solid {theme.BORDER}; border-radius: 10px; }}"
                                "QLabel { background: transparent; }")
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(18)
        self.grid.setVerticalSpacing(5)
        title = QLabel(tr("Keyboard shortcuts"))
        title.setStyleSheet("font-size: 20px; font-weight: 800;")
        hint = QLabel(tr("Esc or click to close · change keys in Settings ▸ Preferences"))
        hint.setObjectName("muted")
        layout = QVBoxLayout(self.card)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.addWidget(title)
        layout.addLayout(self.grid)
        layout.addWidget(hint)
        self.rows: dict[str, tuple[str, str]] = {}  # id -> (title, key) as shown
        parent.installEventFilter(self)
        self.hide()

    def set_keys(self, keys: dict[str, str]) -> None:
        """Rebuild the table from ACTIONS with the effective keys (native text)."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.rows = {}
        row = 0
        group = None
        for spec in ACTIONS:
            if spec.group != group:
                group = spec.group
                head = QLabel(action_group(group).upper())
                head.setStyleSheet(f"color: {theme.ACCENT}; font-weight: 700; padding-top: 6px;")
                self.grid.addWidget(head, row, 0, 1, 3)
                row += 1
            key = keys.get(spec.id, "")
            if spec.id == "help" and "F1" not in keys.values():
                key = f"{key}  /  F1" if key else "F1"
            key_label = QLabel(key or "—")
            key_label.setStyleSheet(f"background: {theme.RAISED}; border: 1px solid "
                                    f"{theme.BORDER}; border-radius: 4px; padding: 2px 8px;"
                                    "font-family: 'DejaVu Sans Mono', monospace;"
                                    "font-weight: 700;")
            key_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            title = QLabel(action_title(spec))
            title.setStyleSheet("font-weight: 600;")
            description = QLabel(action_description(spec))
            description.setObjectName("muted")
            self.grid.addWidget(key_label, row, 0)
            self.grid.addWidget(title, row, 1)
            self.grid.addWidget(description, row, 2)
            self.rows[spec.id] = (action_title(spec), key)
            row += 1

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
        else:
            self.open()

    def open(self) -> None:
        self._fit()
        self.show()
        self.raise_()
        self.setFocus()

    def _fit(self) -> None:
        parent = self.parentWidget()
        if parent is None:
            return
        self.setGeometry(parent.rect())
        hint = self.card.sizeHint()
        w = min(hint.width(), self.width() - 40)
        h = min(hint.height(), self.height() - 40)
        self.card.setGeometry(QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self._fit()
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(5, 6, 10, 200))
        painter.end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.hide()
        else:
            super().keyPressEvent(event)
