"""Show health at a glance (status bar) and problems the operator must see (banner)."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import Problem, Status
from studio.ui import theme
from studio.ui.i18n import problem_text, tr
from studio.ui.teleprompter import format_clock


def _pill(text: str, color: str, filled: bool = True) -> str:
    if filled:
        return (f"<span style='background:{color}; color:white; font-weight:700;'>"
                f"&nbsp;{text}&nbsp;</span>")
    return f"<span style='color:{color}; font-weight:700;'>{text}</span>"


def mode_pill(mode: str) -> str:
    """AI HOST / HUMAN / PUPPET in the mode's colour."""
    text = tr(theme.MODE_PILLS[mode]) if mode in theme.MODE_PILLS else mode.upper()
    return _pill(text, theme.PILL_COLORS.get(mode, theme.MUTED))


class StatusPanel:
    """Fills a QStatusBar with labelled fields; warnings turn a field amber or red."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.fields: dict[str, QLabel] = {}
        spec = [("air", tr("On air / paused")), ("who", tr("Who is on air")),
                ("rec", tr("Recording")), ("fps", tr("Delivered vs target frame rate")),
                ("dropped", tr("Dropped frames")), ("audio", tr("Audio buffer (underruns)")),
                ("synth", tr("Sentences waiting for the voice")),
                ("ep", tr("Voice execution provider")), ("elapsed", tr("Elapsed show time")),
                ("obs", tr("OBS Studio: connection, its stream and recording, the current "
                           "scene"))]
        for key, tip in spec:
            label = QLabel()
            label.setToolTip(tip)
            label.setTextFormat(Qt.TextFormat.RichText)
            self.fields[key] = label
            bar.addPermanentWidget(label)
        self.last: Status | None = None
        self.clear()

    def set_obs(self, text: str, color: str) -> None:
        """OBS's own state; kept apart from the engine's fields (``clear`` leaves it)."""
        self.fields["obs"].setText(_pill(text, color, filled=False) if text else "")
        self.fields["obs"].setVisible(bool(text))

    def clear(self) -> None:
        self.last = None
        self.fields["air"].setText(_pill(tr("OFF AIR"), "#4a4f5c"))
        for key in ("who", "rec", "fps", "dropped", "audio", "synth", "ep", "elapsed"):
            self.fields[key].setText("")

    def update(self, s: Status) -> None:
        self.last = s
        f = self.fields
        # The program is live whenever the engine reports, whoever is on air.
        if s.paused:
            f["air"].setText(_pill(tr("PAUSED"), theme.AMBER))
        else:
            f["air"].setText(_pill(tr("ON AIR"), theme.RED))
        f["who"].setText(mode_pill(s.mode))
        f["rec"].setText(_pill(tr("● REC"), theme.RED, filled=False) if s.recording else "")
        slow = s.fps_target > 0 and s.fps_delivered < s.fps_target * 0.95
        fps = f"{s.fps_delivered:.1f} / {s.fps_target:.0f} fps"
        f["fps"].setText(_pill(fps, theme.AMBER, filled=False) if slow else fps)
        dropped = tr("dropped {count}", count=s.frames_dropped)
        f["dropped"].setText(_pill(dropped, theme.AMBER, False) if s.frames_dropped else dropped)
        audio = tr("audio {buffer_ms} ms · {underruns} underruns",
                   buffer_ms=f"{s.audio_buffer_ms:.0f}", underruns=s.audio_underruns)
        f["audio"].setText(_pill(audio, theme.RED, False) if s.audio_underruns else audio)
        f["synth"].setText(tr("voice queue {count}", count=s.synthesis_queue))
        f["ep"].setText(s.execution_provider)
        f["elapsed"].setText(tr("elapsed {clock}", clock=format_clock(s.elapsed_s)))


class ProblemBanner(QFrame):
    """Non-modal banner above the preview: the newest problem, its fix, and how many more."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.fix = QLabel()
        self.fix.setWordWrap(True)
        self.fix.setTextFormat(Qt.TextFormat.PlainText)
        self.count = QLabel()
        close = QPushButton(tr("Dismiss"))
        close.clicked.connect(self.dismiss)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.message)
        text.addWidget(self.fix)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addLayout(text, 1)
        layout.addWidget(self.count)
        layout.addWidget(close)
        self.history: deque[tuple[float, Problem]] = deque(maxlen=200)
        self._unseen = 0
        self.hide()

    def show_problem(self, problem: Problem) -> None:
        self.history.append((time.time(), problem))
        self._unseen += 1
        color = theme.AMBER if problem.severity == "warning" else theme.RED
        self.setStyleSheet(
            f"ProblemBanner {{ background: {'#3a2a0c' if color == theme.AMBER else '#3b1115'};"
            f" border: 1px solid {color}; border-radius: 6px; }}"
            "QLabel { background: transparent; }")
        stamp = time.strftime("%H:%M:%S")
        message, fix = problem_text(problem)
        self.message.setText(f"{stamp}  {message}")
        self.message.setStyleSheet("color: white; font-weight: 700; background: transparent;")
        self.fix.setText(fix)
        self.fix.setVisible(bool(fix))
        self.fix.setStyleSheet(f"color: {theme.TEXT}; background: transparent;")
        self.count.setText(tr("+{count} more", count=self._unseen - 1)
                           if self._unseen > 1 else "")
        self.count.setToolTip("\n".join(f"{time.strftime('%H:%M:%S', time.localtime(t))} "
                                        f"{problem_text(p)[0]}"
                                        for t, p in list(self.history)[-15:]))
        self.show()

    def dismiss(self) -> None:
        self._unseen = 0
        self.hide()

    @property
    def text(self) -> str:
        return f"{self.message.text()}\n{self.fix.text()}"
