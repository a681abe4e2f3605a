"""Live lines the operator adds: typed, or one of nine saved quick phrases."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.engine.actions import QUICK_PHRASE_COUNT
from studio.ui.i18n import tr


class PhraseButton(QPushButton):
    """A button whose label is elided to its current width (phrases can be long)."""

    def __init__(self) -> None:
        super().__init__()
        self.full_text = ""

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(20, self.width() - 18)
        self.setText(self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideRight,
                                                   width))


class InterjectPanel(QWidget):
    """Emits ``interject_requested(text, interrupt)``; Enter in the box means "Say next"."""

    interject_requested = Signal(str, bool)
    quick_phrase_requested = Signal(int)  # 1..9

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.text = QLineEdit()
        self.text.setPlaceholderText(tr("Type a line for the host… (Enter says it next)"))
        self.text.setClearButtonEnabled(True)
        self.text.setMinimumHeight(34)
        self.text.returnPressed.connect(lambda: self._say(False))
        self.say_next_button = QPushButton(tr("Say next"))
        self.say_next_button.setObjectName("primary")
        self.say_next_button.setToolTip(tr("Say this at the next sentence boundary"))
        self.say_next_button.clicked.connect(lambda: self._say(False))
        self.interrupt_button = QPushButton(tr("Interrupt && say"))
        self.interrupt_button.setObjectName("danger")
        self.interrupt_button.setToolTip(tr("Cut the current sentence and say this now"))
        self.interrupt_button.clicked.connect(lambda: self._say(True))
        for b in (self.say_next_button, self.interrupt_button):
            b.setMinimumHeight(34)
        row = QHBoxLayout()
        row.addWidget(self.text, 1)
        row.addWidget(self.say_next_button)
        row.addWidget(self.interrupt_button)

        self.phrase_buttons: list[PhraseButton] = []
        grid = QGridLayout()
        grid.setSpacing(6)
        for n in range(QUICK_PHRASE_COUNT):
            b = PhraseButton()
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            b.setMinimumHeight(30)
            b.setStyleSheet("text-align: left; padding-left: 8px;")
            b.clicked.connect(
                lambda _=False, number=n + 1: self.quick_phrase_requested.emit(number))
            grid.addWidget(b, n // 3, n % 3)
            self.phrase_buttons.append(b)
        caption = QLabel(tr("QUICK PHRASES"))
        caption.setObjectName("sectionTitle")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.addLayout(row)
        layout.addSpacing(4)
        layout.addWidget(caption)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.phrases: list[str] = []

    def set_phrases(self, phrases: Sequence[str], keys: Sequence[str]) -> None:
        """Button n shows its phrase and hotkey; the tooltip has the whole phrase."""
        self.phrases = list(phrases)
        for n, b in enumerate(self.phrase_buttons):
            phrase = self.phrases[n] if n < len(self.phrases) else ""
            key = keys[n] if n < len(keys) else ""
            b.set_full_text(f"{n + 1}  {phrase}")
            b.setToolTip(f"{phrase}\n({key})" if key else phrase)
            b.setEnabled(bool(phrase))

    def _say(self, interrupt: bool) -> None:
        text = self.text.text().strip()
        if not text:
            self.text.setFocus()
            return
        self.interject_requested.emit(text, interrupt)
        self.text.clear()
