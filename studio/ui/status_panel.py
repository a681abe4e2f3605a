"""Show health at a glance (status bar) and problems the operator must see (banner)."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
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
            label.setMinimumWidth(24)  # a narrow screen squeezes a field, not the window
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

    def update(self, s: Status, *, idle: bool = False) -> None:
        """``idle``: the run-down is finished, the host on air with nothing to say."""
        self.last = s
        f = self.fields
        # The program is live whenever the engine reports, whoever is on air.
        if idle:
            f["air"].setText(_pill(tr("ON AIR · IDLE"), theme.AMBER))
        elif s.paused:
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


def _replace_overlay(widget: QWidget) -> None:
    """A banner was shown or hidden: its overlay fits itself around what is shown now."""
    parent = widget.parentWidget()
    if isinstance(parent, Overlay):
        parent.place()


class ProblemBanner(QFrame):
    """Non-modal banner above the preview: the newest problem, its fix, and a link to all of
    them (``show_all``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.fix = QLabel()
        self.fix.setWordWrap(True)
        self.fix.setTextFormat(Qt.TextFormat.PlainText)
        self.count = QLabel()
        self.count.setTextFormat(Qt.TextFormat.RichText)
        self.count.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                           | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.count.linkActivated.connect(lambda _link: self.show_all())
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
        self.list_dialog: ProblemList | None = None
        self.hide()

    def show_problem(self, problem: Problem) -> None:
        self.history.append((time.time(), problem))
        self._unseen += 1
        self._show_newest()

    def _show_newest(self) -> None:
        if not self.history or self._unseen <= 0:
            self._unseen = 0
            for label in (self.message, self.fix, self.count):
                label.setText("")  # nothing stale is left to read (or to find in a test)
            self.hide()
            return
        stamp_s, problem = self.history[-1]
        color = theme.AMBER if problem.severity == "warning" else theme.RED
        self.setStyleSheet(
            f"ProblemBanner {{ background: {'#3a2a0c' if color == theme.AMBER else '#3b1115'};"
            f" border: 1px solid {color}; border-radius: 6px; }}"
            "QLabel { background: transparent; }")
        stamp = time.strftime("%H:%M:%S", time.localtime(stamp_s))
        message, fix = problem_text(problem)
        self.message.setText(f"{stamp}  {message}")
        self.message.setStyleSheet("color: white; font-weight: 700; background: transparent;")
        self.fix.setText(fix)
        self.fix.setVisible(bool(fix))
        self.fix.setStyleSheet(f"color: {theme.TEXT}; background: transparent;")
        more = tr("+{count} more", count=self._unseen - 1) if self._unseen > 1 else ""
        self.count.setText(f"<a href='#all' style='color: {theme.TEXT};'>{more}</a>"
                           if more else "")
        self.count.setToolTip(tr("Show every problem") if more else "")
        self.show()
        if self.list_dialog is not None and self.list_dialog.isVisible():
            self.list_dialog.set_problems(self.history)

    @property
    def more_text(self) -> str:
        """The "+N more" link as the operator reads it ("" when there is no other)."""
        return re.sub(r"<[^>]+>", "", self.count.text())

    def show_all(self) -> ProblemList:
        """Every problem since the start (newest first), each with its fix: non-modal."""
        if self.list_dialog is None:
            self.list_dialog = ProblemList(self.window())
        self.list_dialog.set_problems(self.history)
        self.list_dialog.show()
        self.list_dialog.raise_()
        return self.list_dialog

    def withdraw(self, code: str) -> None:
        """Problems with ``code`` no longer hold (e.g. "no show on air" once one is): they
        leave the banner and its list."""
        kept = [(t, p) for t, p in self.history if p.code != code]
        gone = len(self.history) - len(kept)
        if not gone:
            return
        unseen_gone = sum(1 for _, p in list(self.history)[-self._unseen:] if p.code == code) \
            if self._unseen else 0
        self.history.clear()
        self.history.extend(kept)
        self._unseen = max(0, self._unseen - unseen_gone)
        if self.isVisible() or self._unseen:
            self._show_newest()

    def dismiss(self) -> None:
        self._unseen = 0
        self.hide()

    @property
    def text(self) -> str:
        return f"{self.message.text()}\n{self.fix.text()}"

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        _replace_overlay(self)


class ProblemList(QDialog):
    """All problems, newest first, readable and copyable; it does not block the show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Problems"))
        self.setModal(False)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        close = QPushButton(tr("Close"))
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.list, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)
        self.resize(560, 360)

    def set_problems(self, history: Iterable[tuple[float, Problem]]) -> None:
        self.list.clear()
        for stamp_s, problem in reversed(list(history)):
            message, fix = problem_text(problem)
            stamp = time.strftime("%H:%M:%S", time.localtime(stamp_s))
            self.list.addItem(f"{stamp}  {message}" + (f"\n    {fix}" if fix else ""))

    @property
    def texts(self) -> list[str]:
        return [item.text() for item in (self.list.item(i) for i in range(self.list.count()))
                if item is not None]


class RunDownEnd(QFrame):
    """The run-down is finished: the host is on air, idle. Start it again, or go off air."""

    restart_requested = Signal()
    off_air_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunDownEnd")
        self.setStyleSheet(f"#RunDownEnd {{ background: {theme.RAISED}; border: 1px solid "
                           f"{theme.BORDER}; border-radius: 6px; }}"
                           "QLabel { background: transparent; }")
        self.message = QLabel(tr("The run-down is finished: the host is on air, idle."))
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: white; font-weight: 700;")
        self.restart = QPushButton(tr("Restart run-down"))
        self.restart.setToolTip(tr("Start again from the first product in the run-down"))
        self.restart.clicked.connect(lambda: self.restart_requested.emit())
        self.off_air = QPushButton(tr("Go off air"))
        self.off_air.setToolTip(tr("Stop the show: the outputs end (a recording is finished "
                                   "and kept)"))
        self.off_air.clicked.connect(lambda: self.off_air_requested.emit())
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 8, 8)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.restart)
        layout.addWidget(self.off_air)
        self.hide()

    def setVisible(self, visible: bool) -> None:
        super().setVisible(visible)
        _replace_overlay(self)


class Overlay(QWidget):
    """Holds the banners over the top edge of ``target`` instead of in the layout, so that
    a banner appearing never resizes the preview or the panels around it."""

    def __init__(self, target: QWidget, *widgets: QWidget) -> None:
        super().__init__(target.parentWidget())
        self.target = target
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.widgets = widgets
        for widget in widgets:
            layout.addWidget(widget)
        target.installEventFilter(self)
        self.place()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.target and event.type() in (QEvent.Type.Resize, QEvent.Type.Move):
            self.place()
        return False

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.place()
        return super().event(event)

    def place(self) -> None:
        shown = any(not w.isHidden() for w in self.widgets)
        if not shown:
            self.hide()
            return
        g = self.target.geometry()
        layout = self.layout()
        height = layout.heightForWidth(g.width()) if layout is not None and \
            layout.hasHeightForWidth() else self.sizeHint().height()
        self.setGeometry(g.x(), g.y(), g.width(), min(max(height, 0), g.height()))
        self.show()
        self.raise_()
