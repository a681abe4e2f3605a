"""OBS Studio from the studio window: set up its scene, start and stop its stream and recording.

The controller does the talking (on its own thread); this panel only shows the last state the
bridge brought to the GUI thread and turns clicks into the controller's non-blocking calls.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from studio.obs.state import ObsState
from studio.ui import theme
from studio.ui.i18n import tr


def obs_summary(state: ObsState | None) -> tuple[str, str]:
    """A short text and its colour for the status bar."""
    if state is None:
        return "", theme.MUTED
    if not state.connected:
        return tr("OBS: not connected"), theme.AMBER if state.error else theme.MUTED
    parts = ["OBS"]
    if state.streaming:
        parts.append(tr("● STREAMING"))
    if state.recording:
        parts.append(tr("● REC"))
    if state.scene:
        parts.append(tr("scene {scene}", scene=state.scene))
    color = theme.RED if state.streaming or state.recording else theme.GREEN
    return " · ".join(parts), color


class ObsPanel(QWidget):
    """Buttons for OBS's own outputs, and what OBS says it is doing."""

    setup_requested = Signal()
    streaming_requested = Signal(bool)  # True: start
    recording_requested = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: ObsState | None = None
        self.available = False
        self.setup_button = QPushButton(tr("Set up OBS"))
        self.setup_button.setToolTip(tr("Create (or repair) the LiveHost scene in OBS with the "
                                        "program, the product text and the standby source"))
        self.stream_button = QPushButton(tr("Start streaming"))
        self.record_button = QPushButton(tr("Start recording"))
        for button in (self.setup_button, self.stream_button, self.record_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # hotkeys keep working
        self.setup_button.clicked.connect(lambda: self.setup_requested.emit())
        self.stream_button.clicked.connect(
            lambda: self.streaming_requested.emit(not self._streaming))
        self.record_button.clicked.connect(
            lambda: self.recording_requested.emit(not self._recording))
        self.fields: dict[str, QLabel] = {}
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        for row, (key, title) in enumerate((("connection", "OBS"), ("scene", tr("Scene")),
                                            ("streaming", tr("Streaming")),
                                            ("recording", tr("Recording")))):
            label = QLabel(title)
            label.setStyleSheet(f"color: {theme.MUTED}; background: none;")
            value = QLabel("—")
            value.setTextFormat(Qt.TextFormat.PlainText)
            value.setWordWrap(True)
            grid.addWidget(label, row, 0)
            grid.addWidget(value, row, 1)
            self.fields[key] = value
        buttons = QHBoxLayout()
        buttons.addWidget(self.stream_button)
        buttons.addWidget(self.record_button)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet(f"color: {theme.MUTED}; background: none;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(grid)
        layout.addWidget(self.setup_button)
        layout.addLayout(buttons)
        layout.addWidget(self.hint)
        layout.addStretch(1)
        self.set_available(False, tr("OBS is off: turn it on in Settings ▸ Preferences ▸ OBS."))

    @property
    def _streaming(self) -> bool:
        return self.state is not None and self.state.streaming

    @property
    def _recording(self) -> bool:
        return self.state is not None and self.state.recording

    def set_available(self, available: bool, hint: str = "") -> None:
        """``available``: a controller exists (OBS enabled and a show on air)."""
        self.available = available
        if not available:
            self.state = None
        self.hint.setText(hint)
        self.hint.setStyleSheet(f"color: {theme.MUTED}; background: none;")
        self.hint.setVisible(bool(hint))
        self._draw()

    def set_state(self, state: ObsState) -> None:
        self.state = state
        self._draw()

    def _draw(self) -> None:
        s = self.state
        f = self.fields
        connected = s is not None and s.connected
        if s is None:
            f["connection"].setText("—")
        elif s.connected:
            f["connection"].setText(tr("connected") + (f" ({s.version})" if s.version else ""))
        else:
            f["connection"].setText(tr("not connected"))
        failing = s is not None and bool(s.error)
        color = theme.GREEN if connected else theme.AMBER if failing else theme.TEXT
        f["connection"].setStyleSheet(f"color: {color}; background: none;")
        f["scene"].setText(s.scene if s is not None and s.scene else "—")
        f["streaming"].setText(tr("yes") if self._streaming else tr("no") if connected else "—")
        f["recording"].setText(tr("yes") if self._recording else tr("no") if connected else "—")
        for key, on in (("streaming", self._streaming), ("recording", self._recording)):
            f[key].setStyleSheet(f"color: {theme.RED if on else theme.TEXT}; "
                                 "font-weight: 700; background: none;")
        self.setup_button.setEnabled(self.available)
        self.stream_button.setEnabled(connected)
        self.record_button.setEnabled(connected)
        self.stream_button.setText(tr("Stop streaming") if self._streaming
                                   else tr("Start streaming"))
        self.record_button.setText(tr("Stop recording") if self._recording
                                   else tr("Start recording"))
        if s is not None:  # OBS's complaint (what to do) in full, under the buttons
            self.hint.setText(s.error)
            self.hint.setStyleSheet(f"color: {theme.AMBER if s.error else theme.MUTED}; "
                                    "background: none;")
            self.hint.setVisible(bool(s.error))
