"""The takeover control: the one button an operator must find without looking, the three
modes (AI host, human on camera, human puppeteering the avatar), and what the camera, the
microphone and the face tracker are doing right now."""

from __future__ import annotations

import math
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from studio.engine.events import InputsChanged, ModeChanged
from studio.inputs import InputHealth, InputKind, InputState
from studio.program.switcher import DEFAULT_CROSSFADE_S, MAX_CROSSFADE_S, Mode
from studio.show.loader import IMAGE_SUFFIXES
from studio.ui import theme
from studio.ui.i18n import N_, tr

MODE_TITLES = {"ai": N_("AI ON AIR"), "human": N_("HUMAN ON AIR"),
               "puppet": N_("PUPPET ON AIR")}  # English keys: tr() where shown
MODE_BUTTONS = {"ai": N_("AI"), "human": N_("Human"), "puppet": N_("Puppet")}  # button titles
# Mode.label (engine English), translated where shown.
MODE_LABELS = (N_("AI host"), N_("Human on camera"), N_("Human puppeteering the avatar"))
# InputState values as the operator reads them.
STATE_NAMES = {"off": N_("off"), "starting": N_("starting"), "live": N_("live"),
               "lost": N_("lost"), "down": N_("down")}
STATE_COLORS = {InputState.LIVE: theme.GREEN, InputState.STARTING: theme.AMBER,
                InputState.LOST: theme.AMBER, InputState.DOWN: theme.RED,
                InputState.OFF: theme.MUTED}


def _big_style(mode: str) -> str:
    return (f"QPushButton {{ background: {theme.MODE_COLORS[mode]}; border: 2px solid "
            f"{theme.MODE_BORDERS[mode]}; color: white; border-radius: 8px; font-size: 22px;"
            " font-weight: 800; } QPushButton:hover { border-color: white; }")


def _mode_style(mode: str, on: bool) -> str:
    if on:
        return (f"QPushButton {{ background: {theme.MODE_COLORS[mode]}; color: white;"
                f" border: 2px solid {theme.MODE_BORDERS[mode]}; border-radius: 6px;"
                " font-weight: 800; padding: 6px; }")
    return (f"QPushButton {{ background: {theme.RAISED}; color: {theme.TEXT};"
            f" border: 2px solid {theme.BORDER}; border-radius: 6px; font-weight: 600;"
            " padding: 6px; } QPushButton:hover { border-color: "
            f"{theme.MODE_BORDERS[mode]}; }}")


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


def mode_name(mode: str) -> str:
    """ "ai" -> "AI host", as the log and tooltips say it."""
    try:
        return tr(Mode(mode).label)
    except ValueError:
        return mode


def describe_input(health: InputHealth | None, kind: InputKind) -> tuple[str, str]:
    """One line for a camera or microphone (text, colour): what it is and how it is."""
    what = tr("Camera") if kind == InputKind.CAMERA else tr("Mic")
    if health is None:
        return tr("{what}: none (Settings ▸ Inputs)", what=what), theme.MUTED
    state = InputState(health.state)
    name = health.name.removeprefix(f"{InputKind(kind).value}: ")  # "camera: x" -> "x"
    parts = [f"{what}: {name} · {tr(STATE_NAMES.get(state.value, state.value))}"]
    color = STATE_COLORS.get(state, theme.MUTED)
    if state == InputState.LIVE:
        if kind == InputKind.CAMERA and health.width_px:
            parts.append(f"{health.width_px}x{health.height_px} {health.fps:.0f} fps")
        if kind == InputKind.MIC:
            level = health.peak_dbfs
            parts.append(tr("silent") if health.silent or not level > -60
                         else f"{level:.0f} dBFS")
            if health.clipping:
                parts.append(tr("CLIPPING"))
                color = theme.RED
            elif health.silent:
                color = theme.AMBER
    if health.reason:
        parts.append(health.reason)
    return " · ".join(parts), color


class TakeoverPanel(QWidget):
    """Big state button (red: AI on air, green: human on camera, violet: human puppeteering),
    the three modes, crossfade, face calibration, input status, standby picture, and the log."""

    toggle_requested = Signal()
    mode_requested = Signal(str)  # "ai" | "human" | "puppet"
    crossfade_changed = Signal(float)  # seconds
    calibrate_requested = Signal()
    standby_image_requested = Signal(object)  # Path | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton()
        self.button.setMinimumHeight(96)
        self.button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # Space in a text box never hits it
        self.button.clicked.connect(lambda: self.toggle_requested.emit())
        self.mode = "ai"
        self.takeover_mode = "human"  # where the big button goes from the AI
        self.live = True
        self.key = "F9"
        self.mode_keys: dict[str, str] = {"ai": "F12", "human": "F10", "puppet": "F11"}
        self.resume_text = ""

        self.mode_buttons: dict[str, QPushButton] = {}
        modes = QHBoxLayout()
        modes.setSpacing(6)
        for mode, title in MODE_BUTTONS.items():
            b = QPushButton(tr(title))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(46)  # two lines (title, key), CJK fonts included
            b.setToolTip(mode_name(mode))
            b.clicked.connect(lambda _=False, m=mode: self.mode_requested.emit(m))
            self.mode_buttons[mode] = b
            modes.addWidget(b)

        self.crossfade = QDoubleSpinBox()
        self.crossfade.setRange(0.0, MAX_CROSSFADE_S)
        self.crossfade.setSingleStep(0.1)
        self.crossfade.setDecimals(2)
        self.crossfade.setSuffix(" s")
        self.crossfade.setValue(DEFAULT_CROSSFADE_S)
        self.crossfade.setToolTip(tr("How long a switch between modes crossfades the picture "
                                     "(0: a hard cut)"))
        self.crossfade.valueChanged.connect(lambda v: self.crossfade_changed.emit(float(v)))
        self.calibrate = QPushButton(tr("Calibrate face"))
        self.calibrate.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.calibrate.setToolTip(tr("Look at the camera with a neutral face and press: that "
                                     "becomes the avatar's rest pose (puppet mode)"))
        self.calibrate.clicked.connect(lambda: self.calibrate_requested.emit())
        fade_row = QHBoxLayout()
        fade_label = QLabel(tr("Crossfade"))
        fade_label.setObjectName("muted")
        fade_row.addWidget(fade_label)
        fade_row.addWidget(self.crossfade)
        fade_row.addStretch(1)
        fade_row.addWidget(self.calibrate)

        self.camera_status = QLabel()
        self.mic_status = QLabel()
        self.face_status = QLabel()
        status = QGridLayout()
        status.setVerticalSpacing(2)
        for row, label in enumerate((self.camera_status, self.mic_status, self.face_status)):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            status.addWidget(label, row, 0)
        self.inputs: tuple[InputHealth, ...] = ()
        self.face_found: bool | None = None

        self.thumb = QLabel()
        self.thumb.setFixedSize(96, 54)
        self.thumb.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumb.setStyleSheet(f"border: 1px solid {theme.BORDER}; background: #000;"
                                 f"color: {theme.MUTED}; font-size: 10px;")
        self.standby_path: Path | None = None
        pick = QPushButton(tr("Standby picture…"))
        pick.setToolTip(tr("The picture shown while the human is on air without a camera"))
        pick.clicked.connect(self._pick)
        builtin = QPushButton(tr("Built-in card"))
        builtin.setToolTip(tr("Use the built-in standby card"))
        builtin.clicked.connect(lambda: self.standby_image_requested.emit(None))
        standby = QHBoxLayout()
        standby.addWidget(self.thumb)
        buttons = QVBoxLayout()
        buttons.addWidget(pick)
        buttons.addWidget(builtin)
        standby.addLayout(buttons, 1)

        caption = QLabel(tr("TAKEOVER LOG"))
        caption.setObjectName("sectionTitle")
        self.log = QListWidget()
        self.log.setAlternatingRowColors(True)
        self.log.setMinimumHeight(60)
        self.log.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.button)
        layout.addLayout(modes)
        layout.addLayout(fade_row)
        layout.addLayout(status)
        layout.addLayout(standby)
        layout.addWidget(caption)
        layout.addWidget(self.log, 1)
        self.set_standby(None)
        self.set_inputs(None)
        self.set_mode("ai")

    @property
    def human(self) -> bool:
        """A human is on air (on camera or puppeteering)."""
        return self.mode != "ai"

    def set_key(self, key: str, mode_keys: dict[str, str] | None = None) -> None:
        self.key = key
        if mode_keys is not None:
            self.mode_keys = dict(mode_keys)
        self.set_mode(self.mode)

    def set_takeover_mode(self, mode: str) -> None:
        """Where the big button and the takeover key go from the AI (settings)."""
        self.takeover_mode = mode if mode in ("human", "puppet") else "human"
        self.set_mode(self.mode)

    def set_crossfade(self, seconds: float) -> None:
        """Show the stored crossfade without sending it again."""
        self.crossfade.blockSignals(True)
        self.crossfade.setValue(seconds)
        self.crossfade.blockSignals(False)

    def set_live(self, live: bool) -> None:
        """Without a show on air there is nothing to take over: a grey, disabled button."""
        self.live = live
        self.button.setEnabled(live)
        for b in self.mode_buttons.values():
            b.setEnabled(live)
        self.calibrate.setEnabled(live)
        if live:
            self.set_mode(self.mode)
        else:
            self.mode = "ai"
            self.set_inputs(None)
            self.button.setText(tr("NO SHOW ON AIR\nopen a show to go live"))
            self.button.setAccessibleName(tr("Takeover: no show on air"))
            self.button.setStyleSheet(_OFF_STYLE)
            for mode, b in self.mode_buttons.items():
                b.setStyleSheet(_mode_style(mode, False))

    def set_starting(self) -> None:
        """A show is starting: nothing is on air yet, so nothing can be taken over."""
        self._set_waiting(tr("STARTING THE SHOW…\nthe first frame comes in a moment"))

    def set_failed(self) -> None:
        """The show did not start: not on air, whatever the engine object still is."""
        self._set_waiting(tr("THE SHOW DID NOT START\nsee the message above the preview"))

    def _set_waiting(self, text: str) -> None:
        self.set_live(False)
        self.button.setText(text)
        self.button.setAccessibleName(text.replace("\n", ": "))

    def set_human(self, human: bool) -> None:
        """Compatibility: on air as the takeover mode (True) or the AI (False)."""
        self.set_mode(self.takeover_mode if human else "ai")

    def set_mode(self, mode: str) -> None:
        """Show who is on air now; the big button says what pressing it will do."""
        self.mode = mode if mode in theme.MODE_COLORS else "ai"
        if not self.live:
            return
        target = mode_name(self.takeover_mode)
        target = target.lower() if target.isascii() else target
        action = tr("hand back to AI") if self.human else tr("take over ({target})",
                                                             target=target)
        hint = f"{self.key}: {action}" if self.key else tr("click: {action}", action=action)
        self.button.setText(f"{tr(MODE_TITLES[self.mode])}\n{hint}")
        self.button.setStyleSheet(_big_style(self.mode))
        self.button.setAccessibleName(tr("Takeover: {mode} on air", mode=mode_name(self.mode)))
        for m, b in self.mode_buttons.items():
            key = self.mode_keys.get(m, "")
            title = tr(MODE_BUTTONS[m])
            b.setText(f"{title}\n{key}" if key else title)
            b.setStyleSheet(_mode_style(m, m == self.mode))
            b.setAccessibleName(f"{mode_name(m)}" + (tr(" (on air)") if m == self.mode else ""))
        self.calibrate.setEnabled(self.live)

    def on_mode_changed(self, event: ModeChanged) -> None:
        self.set_mode(event.mode)
        self.resume_text = event.resume.text if event.resume is not None and \
            event.mode != "ai" else ""

    def add_log(self, event: ModeChanged, rate_hz: int) -> None:
        """Newest first: wall time, from → to, the show time, and where the AI resumes."""
        wall = time.strftime("%H:%M:%S", time.localtime(event.wall_time_s))
        fade = tr(", {seconds} s fade", seconds=f"{event.crossfade_s:.2g}") \
            if event.crossfade_s > 0 else tr(", cut")
        line = (f"{wall}  {mode_name(event.previous)} → {mode_name(event.mode)}  "
                + tr("(show {clock}{fade})", clock=format_samples(event.at_samples, rate_hz),
                     fade=fade))
        if event.resume is not None:
            verb = tr("AI resumes at") if event.mode != "ai" else tr("AI resumed at")
            line += f"\n    {verb}: “{event.resume.text}”"
        self.log.insertItem(0, line)
        item = self.log.item(0)
        if item is not None:
            item.setForeground(QColor(theme.MODE_COLORS.get(event.mode, theme.TEXT)))
            item.setToolTip(line)

    def set_inputs(self, event: InputsChanged | None) -> None:
        """Camera, microphone and face tracking as the engine reports them."""
        self.inputs = event.inputs if event is not None else ()
        self.face_found = event.face_found if event is not None else None
        by_kind = {InputKind(h.kind): h for h in self.inputs}
        for label, kind in ((self.camera_status, InputKind.CAMERA),
                            (self.mic_status, InputKind.MIC)):
            text, color = describe_input(by_kind.get(kind), kind)
            label.setText(text)
            label.setToolTip(text)
            label.setStyleSheet(f"color: {color}; background: none;")
        face, color = self.face_text(event)
        self.face_status.setText(face)
        self.face_status.setStyleSheet(f"color: {color}; background: none;")

    @staticmethod
    def face_text(event: InputsChanged | None) -> tuple[str, str]:
        if event is None:
            return tr("Face: not tracking"), theme.MUTED
        parts: list[str] = []
        if event.face_found is None:
            parts.append(tr("Face: not tracking"))
            color = theme.MUTED
        elif event.face_found:
            parts.append(tr("Face: face tracked"))
            color = theme.GREEN
        else:
            parts.append(tr("Face: no face"))
            color = theme.AMBER
        if event.face_found is not None and math.isfinite(event.tracking_ms) \
                and event.tracking_ms > 0:
            parts.append(f"{event.tracking_ms:.0f} ms")
        if event.a2f_provider:
            parts.append(tr("voice→mouth on {provider}", provider=event.a2f_provider))
        return " · ".join(parts), color

    def set_standby(self, path: Path | None) -> None:
        self.standby_path = path
        pixmap = QPixmap(str(path)) if path is not None else _builtin_thumbnail(
            self.thumb.width(), self.thumb.height())
        if pixmap.isNull():
            self.thumb.setPixmap(QPixmap())
            self.thumb.setText(tr("built-in") if path is None else tr("unreadable"))
            self.thumb.setToolTip(tr("Built-in standby card") if path is None else str(path))
        elif path is None:
            self.thumb.setPixmap(pixmap)
            self.thumb.setToolTip(tr("Built-in standby card"))
        else:
            self.thumb.setPixmap(pixmap.scaled(self.thumb.size(),
                                               Qt.AspectRatioMode.KeepAspectRatio,
                                               Qt.TransformationMode.SmoothTransformation))
            self.thumb.setToolTip(str(path))

    def _pick(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        start = str(self.standby_path.parent) if self.standby_path else ""
        path, _ = QFileDialog.getOpenFileName(self, tr("Standby picture"), start,
                                              tr("Images ({patterns})", patterns=patterns))
        if path:
            self.standby_image_requested.emit(Path(path))
