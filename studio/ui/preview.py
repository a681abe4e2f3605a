"""The program preview: exactly the frames the outputs got, scaled to fit, never stretched."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from studio.engine.events import FrameDelivered
from studio.ui import theme
from studio.ui.i18n import tr


def rgba_to_qimage(rgba: npt.NDArray[np.uint8]) -> QImage:
    """Wrap an HxWx4 RGBA array (top row first) without copying; the caller keeps the array."""
    height, width = int(rgba.shape[0]), int(rgba.shape[1])
    return QImage(rgba.data, width, height, int(rgba.strides[0]), QImage.Format.Format_RGBA8888)


class PreviewWidget(QWidget):
    """Paints the latest delivered frame letterboxed on black; a hint when nothing is on air."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._image: QImage | None = None
        self._pixels: npt.NDArray[np.uint8] | None = None  # keeps the QImage's memory alive
        self.last_shown_frame_index = -1
        self.last_shown_mode = "ai"  # who was on air in the frame shown last
        self.last_shown_label = True  # whether it carried the AI label
        self.frames_shown = 0
        self.placeholder = tr("No show on air")
        self.placeholder_hint = tr("File ▸ Open show… (Ctrl+O)   ·   File ▸ Open demo show")

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    def set_frame(self, frame: FrameDelivered) -> None:
        pixels = frame.rgba if frame.rgba.flags.c_contiguous else np.ascontiguousarray(frame.rgba)
        self._pixels = pixels
        self._image = rgba_to_qimage(pixels)
        self.last_shown_frame_index = frame.index
        self.last_shown_mode = frame.mode
        self.last_shown_label = frame.label
        self.frames_shown += 1
        self.update()

    @property
    def last_shown_human(self) -> bool:
        return self.last_shown_mode != "ai"

    def clear(self) -> None:
        self._image = None
        self._pixels = None
        self.last_shown_frame_index = -1
        self.update()

    def image_rect(self) -> QRectF:
        """Where the frame is drawn: the largest aspect-correct rectangle, centred."""
        if self._image is None:
            return QRectF()
        iw, ih = self._image.width(), self._image.height()
        scale = min(self.width() / iw, self.height() / ih)
        w, h = iw * scale, ih * scale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#000000"))
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(self.image_rect(), self._image)
        else:
            painter.setPen(QColor(theme.MUTED))
            painter.setFont(theme.scaled_font(self.font(), 1.8, bold=True))
            upper = QRectF(self.rect()).adjusted(0, 0, 0, -self.height() * 0.08)
            painter.drawText(upper, Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.setFont(theme.scaled_font(self.font(), 1.05, bold=False))
            lower = QRectF(self.rect()).adjusted(0, self.height() * 0.1, 0, 0)
            painter.drawText(lower, Qt.AlignmentFlag.AlignCenter, self.placeholder_hint)
        painter.end()
