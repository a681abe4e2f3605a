"""The program level meter: what the audience hears, in dBFS, with a peak hold and a mute.

The engine measures the program mix (``AudioMeter``, a few times per frame period's worth);
the bar shows the loudness (RMS), a thin line the peak, and a held tick the highest peak of
the last seconds, so a clipped syllable stays visible after it passed. The mute button only
silences this machine's sound device; streams and recordings keep the program level.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QRectF, QSize, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from studio.engine.events import AudioMeter
from studio.ui import theme
from studio.ui.i18n import tr

FLOOR_DBFS = -60.0
YELLOW_FROM_DBFS = -18.0  # above: loud speech
RED_FROM_DBFS = -6.0  # above: close to clipping
PEAK_HOLD_S = 1.5
PEAK_FALL_DB_PER_S = 20.0


def db_fraction(dbfs: float) -> float:
    """Where ``dbfs`` sits on the scale: 0 at the floor (and for silence), 1 at 0 dBFS."""
    if math.isnan(dbfs) or dbfs <= FLOOR_DBFS:
        return 0.0
    return min(1.0, (dbfs - FLOOR_DBFS) / -FLOOR_DBFS)


def level_color(dbfs: float) -> str:
    if dbfs >= RED_FROM_DBFS:
        return theme.RED
    if dbfs >= YELLOW_FROM_DBFS:
        return theme.AMBER
    return theme.GREEN


class LevelMeter(QWidget):
    """A horizontal bar, -60..0 dBFS, green/yellow/red zones; the newest reading wins."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(120)
        self.rms_dbfs = -math.inf
        self.peak_dbfs = -math.inf
        self.hold_dbfs = -math.inf
        self._hold_peak_dbfs = -math.inf
        self._hold_at_s = 0.0
        self.readings = 0
        self.setToolTip(tr("Program level (dBFS): bar = loudness, line = peak, tick = peak hold"))

    def sizeHint(self) -> QSize:
        return QSize(220, 14)

    def set_level(self, meter: AudioMeter, now_s: float | None = None) -> None:
        now = time.monotonic() if now_s is None else now_s
        self.rms_dbfs = meter.rms_dbfs
        self.peak_dbfs = meter.peak_dbfs
        if meter.peak_dbfs >= self.held_at(now):
            self._hold_peak_dbfs = meter.peak_dbfs
            self._hold_at_s = now
        self.hold_dbfs = self.held_at(now)
        self.readings += 1
        self.update()

    def held_at(self, now_s: float) -> float:
        """The held peak: kept for PEAK_HOLD_S, then falling, gone below the floor."""
        late_s = max(0.0, now_s - self._hold_at_s - PEAK_HOLD_S)
        held = self._hold_peak_dbfs - PEAK_FALL_DB_PER_S * late_s
        return held if held > FLOOR_DBFS else -math.inf

    def reset(self) -> None:
        self.rms_dbfs = self.peak_dbfs = self.hold_dbfs = self._hold_peak_dbfs = -math.inf
        self.update()

    @property
    def bar_fraction(self) -> float:
        """How much of the bar is lit (the loudness)."""
        return db_fraction(self.rms_dbfs)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect())
        painter.fillRect(rect, QColor("#0c0d10"))
        width = rect.width()
        # The zones, dim, so the scale reads even in silence.
        for low, high, color in ((FLOOR_DBFS, YELLOW_FROM_DBFS, theme.GREEN_DARK),
                                 (YELLOW_FROM_DBFS, RED_FROM_DBFS, "#5a4010"),
                                 (RED_FROM_DBFS, 0.0, theme.RED_DARK)):
            x0, x1 = db_fraction(low) * width, db_fraction(high) * width
            dim = QColor(color)
            dim.setAlpha(90)
            painter.fillRect(QRectF(x0, 0, x1 - x0, rect.height()), dim)
        lit = self.bar_fraction * width
        for low, high in ((FLOOR_DBFS, YELLOW_FROM_DBFS), (YELLOW_FROM_DBFS, RED_FROM_DBFS),
                          (RED_FROM_DBFS, 0.0)):
            x0, x1 = db_fraction(low) * width, min(lit, db_fraction(high) * width)
            if x1 > x0:
                painter.fillRect(QRectF(x0, 2, x1 - x0, rect.height() - 4),
                                 QColor(level_color(low + 0.01)))
        for dbfs, color in ((self.peak_dbfs, theme.TEXT), (self.hold_dbfs, level_color(
                self.hold_dbfs))):
            if db_fraction(dbfs) > 0:
                x = db_fraction(dbfs) * width
                painter.fillRect(QRectF(max(0.0, x - 2), 0, 2, rect.height()), QColor(color))
        painter.end()


class ProgramMeter(QWidget):
    """The meter, its reading in numbers, and the sound device's mute toggle."""

    mute_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.meter = LevelMeter()
        self.reading = QLabel("—")
        self.reading.setMinimumWidth(74)
        self.reading.setStyleSheet(f"color: {theme.MUTED}; background: none;")
        self.reading.setToolTip(tr("Peak level of the program (dBFS)"))
        self.mute = QToolButton()
        self.mute.setCheckable(True)
        self.mute.setText(tr("Mute"))
        self.mute.setToolTip(tr("Silence this machine's sound device; streams and recordings "
                                "keep the sound"))
        self.mute.toggled.connect(self._muted)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        title = QLabel(tr("AUDIO"))
        title.setObjectName("sectionTitle")
        layout.addWidget(title)
        layout.addWidget(self.meter, 1)
        layout.addWidget(self.reading)
        layout.addWidget(self.mute)

    def set_level(self, meter: AudioMeter) -> None:
        self.meter.set_level(meter)
        peak = meter.peak_dbfs
        self.reading.setText(tr("silence") if not peak > FLOOR_DBFS else f"{peak:5.1f} dBFS")

    def set_muted(self, muted: bool) -> None:
        """Show the stored state without asking the engine again."""
        self.mute.blockSignals(True)
        self.mute.setChecked(muted)
        self.mute.blockSignals(False)
        self._label(muted)

    def reset(self) -> None:
        self.meter.reset()
        self.reading.setText("—")

    def _label(self, muted: bool) -> None:
        self.mute.setText(tr("Muted") if muted else tr("Mute"))
        self.mute.setStyleSheet(f"color: white; background: {theme.RED_DARK};" if muted else "")

    def _muted(self, muted: bool) -> None:
        self._label(muted)
        self.mute_toggled.emit(muted)
