"""A clean program window for capture tools on machines without a virtual camera.

OBS's Window Capture (or any screen grabber) records exactly this window: borderless, the
size of the program, and nothing but the program picture, pixel for pixel, with no banner,
badge or scaling. It shows the same frames as the preview (the bridge's newest frame).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QColor,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import QWidget

from studio.engine.events import FrameDelivered
from studio.ui.preview import rgba_to_qimage

WINDOW_TITLE = "LiveHost Program"  # what a capture tool lists


class ProgramWindow(QWidget):
    """Frameless, fixed to the program size; drag it anywhere, Esc or a double-click closes."""

    closed = Signal()

    def __init__(self, width_px: int = 1280, height_px: int = 720,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
        self.setWindowTitle(WINDOW_TITLE)
        self.setObjectName("ProgramWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._image: QImage | None = None
        self._pixels: npt.NDArray[np.uint8] | None = None
        self._drag_from: QPoint | None = None
        self.last_frame_index = -1
        self.frames_shown = 0
        self.setFixedSize(QSize(width_px, height_px))

    def set_frame(self, frame: FrameDelivered) -> None:
        pixels = frame.rgba if frame.rgba.flags.c_contiguous else np.ascontiguousarray(frame.rgba)
        height, width = int(pixels.shape[0]), int(pixels.shape[1])
        if (width, height) != (self.width(), self.height()):
            self.setFixedSize(QSize(width, height))  # the program's size, always
        self._pixels = pixels
        self._image = rgba_to_qimage(pixels)
        self.last_frame_index = frame.index
        self.frames_shown += 1
        if self.isVisible():
            self.update()

    def clear(self) -> None:
        self._image = None
        self._pixels = None
        self.last_frame_index = -1
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._image is None:
            painter.fillRect(self.rect(), QColor("#000000"))
        else:
            painter.drawImage(QPoint(0, 0), self._image)  # 1:1, no scaling, no smoothing
        painter.end()

    # -- moving and closing a window that has no title bar -----------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.globalPosition().toPoint() - self.frameGeometry().topLeft()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self.move(event.globalPosition().toPoint() - self._drag_from)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._drag_from = None
        event.accept()
        self.closed.emit()
