"""The takeover control: the one button an operator must find without looking."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import TakeoverChanged
from studio.show.loader import IMAGE_SUFFIXES
from studio.ui import theme

_AI_STYLE = (f"QPushButton {{ background: {theme.RED}; border: 2px solid #ff6b75;"
             " color: white; border-radius: 8px; font-size: 22px; font-weight: 800; }"
             "QPushButton:hover { border-color: white; }")
_HUMAN_STYLE = (f"QPushButton {{ background: {theme.GREEN}; border: 2px solid #5fe08f;"
                " color: white; border-radius: 8px; font-size: 22px; font-weight: 800; }"
                "QPushButton:hover { border-color: white; }")


_OFF_STYLE = (f"QPushButton {{ background: {theme.RAISED}; border: 2px solid {theme.BORDER};"
              f" color: {theme.MUTED}; border-radius: 8px; font-size: 18px; font-weight: 800; }}")


def _builtin_thumbnail(width_px: int, height_px: int) -> QPixmap:
    """The engine's own built-in standby card, small, so the operator sees what airs."""
    try:
        from studio.compose.standby import render_standby
        from studio.ui.preview import rgba_to_qimage

        rgba = render_standby(width_px * 2, height_px * 2)
        return QPixmap.fromImage(rgba_to_qimage(rgba).copy()).scaled(
            width_px, height_px, Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation)
    except Exception:  # fonts or assets missing: the label says "built-in" instead
        return QPixmap()


def format_samples(samples: int, rate_hz: int) -> str:
    seconds = samples / max(1, rate_hz)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{int(h)}:{int(m):02d}:{s:04.1f}"


class TakeoverPanel(QWidget):
    """Big state button (red: AI on air, green: human on air), standby picture, and the log."""

    toggle_requested = Signal()
    standby_image_requested = Signal(object)  # Path | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton()
        self.button.setMinimumHeight(96)
        self.button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space in a text box never hits it
        self.button.clicked.connect(lambda: self.toggle_requested.emit())
        self.human = False
        self.live = True
        self.key = "F9"

        self.thumb = QLabel()
        self.thumb.setFixedSize(96, 54)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet(f"border: 1px solid {theme.BORDER}; background: #000;"
                                 f"color: {theme.MUTED}; font-size: 10px;")
        self.standby_path: Path | None = None
        pick = QPushButton("Standby picture…")
        pick.setToolTip("The picture shown while a human has taken over")
        pick.clicked.connect(self._pick)
        builtin = QPushButton("Built-in card")
        builtin.setToolTip("Use the built-in standby card")
        builtin.clicked.connect(lambda: self.standby_image_requested.emit(None))
        standby = QHBoxLayout()
        standby.addWidget(self.thumb)
        buttons = QVBoxLayout()
        buttons.addWidget(pick)
        buttons.addWidget(builtin)
        standby.addLayout(buttons, 1)

        caption = QLabel("TAKEOVER LOG")
        caption.setObjectName("sectionTitle")
        self.log = QListWidget()
        self.log.setAlternatingRowColors(True)
        self.log.setMinimumHeight(60)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.button)
        layout.addLayout(standby)
        layout.addWidget(caption)
        layout.addWidget(self.log, 1)
        self.set_standby(None)
        self.set_human(False)

    def set_key(self, key: str) -> None:
        self.key = key
        self.set_human(self.human)

    def set_live(self, live: bool) -> None:
        """Without a show on air there is nothing to take over: a grey, disabled button."""
        self.live = live
        self.button.setEnabled(live)
        if live:
            self.set_human(self.human)
        else:
            self.human = False
            self.button.setText("NO SHOW ON AIR\nopen a show to go live")
            self.button.setStyleSheet(_OFF_STYLE)

    def set_human(self, human: bool) -> None:
        """Show who is on air now; the button text says what pressing it will do."""
        self.human = human
        if not self.live:
            return
        hint = f"{self.key}: hand back to AI" if human else f"{self.key}: take over"
        if not self.key:
            hint = "click: hand back to AI" if human else "click: take over"
        self.button.setText(("HUMAN ON AIR" if human else "AI ON AIR") + f"\n{hint}")
        self.button.setStyleSheet(_HUMAN_STYLE if human else _AI_STYLE)
        self.button.setAccessibleName("Takeover: " + ("human on air" if human else "AI on air"))

    def add_log(self, event: TakeoverChanged, rate_hz: int) -> None:
        wall = time.strftime("%H:%M:%S", time.localtime(event.wall_time_s))
        who = "HUMAN took over" if event.human else "AI back on air"
        self.log.insertItem(0, f"{wall}  {who}  (show {format_samples(event.at_samples, rate_hz)})")
        item = self.log.item(0)
        if item is not None:
            item.setForeground(QColor(theme.GREEN if event.human else theme.RED))

    def set_standby(self, path: Path | None) -> None:
        self.standby_path = path
        pixmap = QPixmap(str(path)) if path is not None else _builtin_thumbnail(
            self.thumb.width(), self.thumb.height())
        if pixmap.isNull():
            self.thumb.setPixmap(QPixmap())
            self.thumb.setText("built-in" if path is None else "unreadable")
            self.thumb.setToolTip("Built-in standby card" if path is None else str(path))
        elif path is None:
            self.thumb.setPixmap(pixmap)
            self.thumb.setToolTip("Built-in standby card")
        else:
            self.thumb.setPixmap(pixmap.scaled(self.thumb.size(),
                                               Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
            self.thumb.setToolTip(str(path))

    def _pick(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        start = str(self.standby_path.parent) if self.standby_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Standby picture", start,
                                              f"Images ({patterns})")
        if path:
            self.standby_image_requested.emit(Path(path))

