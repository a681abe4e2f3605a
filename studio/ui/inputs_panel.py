"""Settings ▸ Inputs: the human host's camera and microphone, seen and heard before use.

The page opens the chosen camera and microphone itself (not the show's): a live picture
with what the camera delivers, and a level meter with silence and clipping, so a wrong
device or a muted microphone is found before the takeover, not during it. Opening a
device can take seconds, so it happens on a helper thread; the page polls on a timer and
closes whatever it opened when the dialog closes.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from studio.core.clock import ENGINE_SAMPLE_RATE_HZ
from studio.engine.events import AudioMeter
from studio.inputs import (
    AudioInput,
    CameraInfo,
    InputHealth,
    InputSpec,
    MicrophoneInfo,
    VideoInput,
    build_audio_input,
    build_video_input,
    list_cameras,
    list_microphones,
    parse_camera,
    parse_mic,
)
from studio.inputs.base import AUDIO_SUFFIXES, VIDEO_SUFFIXES
from studio.program.switcher import MAX_CROSSFADE_S
from studio.ui import theme
from studio.ui.i18n import tr
from studio.ui.level_meter import FLOOR_DBFS, LevelMeter
from studio.ui.settings import InputSettings
from studio.ui.takeover_panel import STATE_NAMES

T = TypeVar("T")
POLL_MS = 33
HEALTH_EVERY_S = 0.4
MAX_READ_S = 0.25  # the meter reads at most this much sound per tick (after a stall)
PREVIEW_SIZE = (320, 180)
NONE = ""
FILE = "\x00file"  # the "File…" entry's data: asks for a file instead of naming a device


def _dbfs(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def health_text(h: InputHealth, camera: bool) -> str:
    parts = [tr(STATE_NAMES.get(str(h.state), str(h.state)))]
    if camera and h.width_px:
        parts.append(f"{h.width_px}x{h.height_px}")
        parts.append(f"{h.fps:.0f} fps")
    if not camera:
        parts.append(tr("silent") if h.silent else tr("peak {level} dBFS",
                                                      level=f"{h.peak_dbfs:.0f}"))
        if h.clipping:
            parts.append(tr("CLIPPING"))
    if h.reason:
        parts.append(h.reason)
    return " · ".join(parts)


def _opener(spec: InputSpec) -> VideoInput | AudioInput:
    """Build and open (on the helper thread): raises what the input raises."""
    if spec.kind == "camera":
        video = build_video_input(spec)
        video.open()
        return video
    audio = build_audio_input(spec)
    audio.open(ENGINE_SAMPLE_RATE_HZ)
    return audio


class _Opening:
    """An input being opened off the GUI thread; ``result`` once done."""

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self.result: queue.SimpleQueue[VideoInput | AudioInput | Exception] = \
            queue.SimpleQueue()
        threading.Thread(target=self._run, name=f"preview-{spec.kind}", daemon=True).start()

    def _run(self) -> None:
        try:
            self.result.put(_opener(spec=self.spec))
        except Exception as exc:
            self.result.put(exc)


def _close_quietly(opened: VideoInput | AudioInput | None) -> None:
    if opened is None:
        return
    with contextlib.suppress(Exception):  # a device that already went away
        opened.close()


class InputsPage(QWidget):
    """Camera and microphone choosers with a live preview and a level meter, the takeover
    mode (what F9 switches to) and the crossfade."""

    def __init__(self, inputs: InputSettings, *,
                 cameras: Sequence[CameraInfo] | None = None,
                 microphones: Sequence[MicrophoneInfo] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        if cameras is None:
            cameras = _listed(list_cameras)
        if microphones is None:
            microphones = _listed(list_microphones)
        form = QFormLayout(self)

        self.camera = QComboBox()
        self.camera.addItem(tr("None (the standby picture stands in)"), NONE)
        for cam in cameras:
            self.camera.addItem(f"{cam.name}  ({cam.device})", cam.device)
        self.camera.addItem(tr("File… (a video file stands in for the camera)"), FILE)
        self.preview = QLabel()
        self.preview.setFixedSize(*PREVIEW_SIZE)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet(f"background: #000; border: 1px solid {theme.BORDER};"
                                   f" color: {theme.MUTED};")
        self.camera_health = QLabel()
        self.camera_health.setWordWrap(True)
        self.camera_health.setTextFormat(Qt.TextFormat.PlainText)
        camera_box = QVBoxLayout()
        camera_box.addWidget(self.camera)
        camera_box.addWidget(self.preview)
        camera_box.addWidget(self.camera_health)
        form.addRow(tr("Camera"), camera_box)

        self.mic = QComboBox()
        self.mic.addItem(tr("None (silent while a human is on air)"), NONE)
        for m in microphones:
            self.mic.addItem(f"{m.name}  ({m.host_api})"
                             + (tr("  · default") if m.default else ""), m.name)
        self.mic.addItem(tr("File… (an audio file stands in for the microphone)"), FILE)
        self.meter = LevelMeter()
        self.meter.setToolTip(tr("Microphone level (dBFS): bar = loudness, line = peak"))
        self.mic_reading = QLabel("—")
        self.mic_reading.setMinimumWidth(90)
        self.mic_health = QLabel()
        self.mic_health.setWordWrap(True)
        self.mic_health.setTextFormat(Qt.TextFormat.PlainText)
        meter_row = QHBoxLayout()
        meter_row.addWidget(self.meter, 1)
        meter_row.addWidget(self.mic_reading)
        mic_box = QVBoxLayout()
        mic_box.addWidget(self.mic)
        mic_box.addLayout(meter_row)
        mic_box.addWidget(self.mic_health)
        form.addRow(tr("Microphone"), mic_box)

        self.takeover_mode = QComboBox()
        self.takeover_mode.addItem(tr("Human on camera (no AI label)"), "human")
        self.takeover_mode.addItem(tr("Puppet: my face and voice drive the avatar"), "puppet")
        self.takeover_mode.setCurrentIndex(max(0, self.takeover_mode.findData(
            inputs.takeover_mode)))
        form.addRow(tr("Takeover key goes to"), self.takeover_mode)
        self.crossfade = QDoubleSpinBox()
        self.crossfade.setRange(0.0, MAX_CROSSFADE_S)
        self.crossfade.setSingleStep(0.1)
        self.crossfade.setDecimals(2)
        self.crossfade.setSuffix(" s")
        self.crossfade.setValue(inputs.crossfade_s)
        self.crossfade.setToolTip(tr("0 is a hard cut"))
        form.addRow(tr("Crossfade"), self.crossfade)
        note = QLabel(tr("The preview opens the device itself: a camera the show is using may "
                         "not open twice on some systems. Files loop, for rehearsals."))
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.MUTED}; background: none;")
        form.addRow(note)

        self._video: VideoInput | None = None
        self._audio: AudioInput | None = None
        self._opening: dict[str, _Opening] = {}
        self._video_t0 = 0.0
        self._audio_pos = 0
        self._audio_t0 = 0.0
        self._last_sequence = -1
        self._health_at = 0.0
        self.frames_shown = 0
        self.last_frame: npt.NDArray[np.uint8] | None = None  # the RGB picture shown last (tests)
        self.mic_readings = 0
        self.errors: dict[str, str] = {}
        self._previous = {"camera": 0, "mic": 0}
        self._select(self.camera, inputs.camera)
        self._select(self.mic, inputs.microphone)
        self.camera.currentIndexChanged.connect(lambda _i: self._changed("camera"))
        self.mic.currentIndexChanged.connect(lambda _i: self._changed("mic"))
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._start("camera")
        self._start("mic")

    # -- choosing ----------------------------------------------------------------------------
    def _combo(self, which: str) -> QComboBox:
        return self.camera if which == "camera" else self.mic

    def _select(self, combo: QComboBox, text: str) -> None:
        """Select ``text`` (a device or a file), adding it when the list does not have it."""
        text = text.strip()
        index = combo.findData(text)
        if index < 0:
            exists = not Path(text).suffix or Path(text).expanduser().exists()
            combo.insertItem(combo.count() - 1, text if exists else tr("{text}  (not found)",
                                                                       text=text),
                             text)
            index = combo.findData(text)
        combo.blockSignals(True)
        combo.setCurrentIndex(index)
        combo.blockSignals(False)
        self._previous["camera" if combo is self.camera else "mic"] = index

    def set_camera(self, text: str) -> None:
        """Choose a camera by its ``--camera`` text (device, file, lavfi:…)."""
        self._select(self.camera, text)
        self._start("camera")

    def set_microphone(self, text: str) -> None:
        self._select(self.mic, text)
        self._start("mic")

    def _changed(self, which: str) -> None:
        combo = self._combo(which)
        if combo.currentData() == FILE:
            path = self._ask_file(which)
            if not path:
                combo.blockSignals(True)
                combo.setCurrentIndex(self._previous[which])
                combo.blockSignals(False)
                return
            self._select(combo, path)
        self._previous[which] = combo.currentIndex()
        self._start(which)

    def _ask_file(self, which: str) -> str:
        suffixes = VIDEO_SUFFIXES if which == "camera" else AUDIO_SUFFIXES
        patterns = " ".join(f"*{s}" for s in sorted(suffixes))
        kind = tr("Videos") if which == "camera" else tr("Audio")
        path, _ = QFileDialog.getOpenFileName(
            self, tr("A video file for the camera") if which == "camera" else
            tr("An audio file for the microphone"), "",
            tr("{kind} ({patterns});;All files (*)", kind=kind, patterns=patterns))
        return path

    def chosen(self, which: str) -> str:
        data = self._combo(which).currentData()
        return "" if data in (None, FILE) else str(data)

    def spec(self, which: str) -> InputSpec | None:
        """The chosen camera or microphone; ``UserInputError`` on text that names none."""
        text = self.chosen(which)
        if not text:
            return None
        return parse_camera(text) if which == "camera" else parse_mic(text)

    def inputs_settings(self) -> InputSettings:
        return InputSettings(camera=self.chosen("camera"), microphone=self.chosen("mic"),
                             takeover_mode=str(self.takeover_mode.currentData() or "human"),
                             crossfade_s=round(self.crossfade.value(), 3))

    # -- opening and closing -----------------------------------------------------------------
    def _start(self, which: str) -> None:
        """Close what the page has open for ``which`` and open the chosen one."""
        self._stop(which)
        health = self.camera_health if which == "camera" else self.mic_health
        try:
            spec = self.spec(which)
        except Exception as exc:
            self.fail(which, str(exc))
            return
        self.errors.pop(which, None)
        if spec is None:
            health.setText(tr("No camera: a human on air shows the standby picture.")
                           if which == "camera" else tr("No microphone."))
            health.setStyleSheet(f"color: {theme.MUTED}; background: none;")
            return
        health.setText(tr("Opening {target}…", target=spec.target))
        health.setStyleSheet(f"color: {theme.AMBER}; background: none;")
        self._opening[which] = _Opening(spec)

    def _stop(self, which: str) -> None:
        opening = self._opening.pop(which, None)
        if opening is not None:  # closed as soon as it arrives (see _abandon)
            threading.Thread(target=_abandon, args=(opening,), daemon=True).start()
        if which == "camera":
            video, self._video = self._video, None
            _close_quietly(video)
            self.preview.setPixmap(QPixmap())
            self.preview.setText(tr("no picture"))
            self._last_sequence = -1
            self.last_frame = None
        else:
            audio, self._audio = self._audio, None
            _close_quietly(audio)
            self.meter.reset()
            self.mic_reading.setText("—")

    def close_inputs(self) -> None:
        """Close the preview's camera and microphone (the dialog closes)."""
        self._timer.stop()
        self._stop("camera")
        self._stop("mic")

    def fail(self, which: str, message: str) -> None:
        self.errors[which] = message
        health = self.camera_health if which == "camera" else self.mic_health
        health.setText(message)
        health.setStyleSheet(f"color: {theme.RED}; background: none;")

    # -- polling -----------------------------------------------------------------------------
    def _tick(self) -> None:
        for which, opening in list(self._opening.items()):
            try:
                result = opening.result.get_nowait()
            except queue.Empty:
                continue
            del self._opening[which]
            if isinstance(result, Exception):
                self.fail(which, str(result))
            elif isinstance(result, VideoInput):
                self._video, self._video_t0 = result, time.monotonic()
            elif isinstance(result, AudioInput):
                self._audio, self._audio_t0, self._audio_pos = result, time.monotonic(), 0
        now = time.monotonic()
        try:
            self._show_picture(now)
        except Exception as exc:
            _close_quietly(self._video)
            self._video = None
            self.fail("camera", tr("the camera stopped: {error}", error=exc))
        try:
            self._read_sound(now)
        except Exception as exc:
            _close_quietly(self._audio)
            self._audio = None
            self.fail("mic", tr("the microphone stopped: {error}", error=exc))
        if now - self._health_at >= HEALTH_EVERY_S:
            self._health_at = now
            self._show_health()

    def _show_picture(self, now: float) -> None:
        video = self._video
        if video is None:
            return
        pts = round((now - self._video_t0) * ENGINE_SAMPLE_RATE_HZ)
        frame = video.frame_at(pts, ENGINE_SAMPLE_RATE_HZ)
        if frame is None or frame.sequence == self._last_sequence:
            return
        self._last_sequence = frame.sequence
        rgb = np.ascontiguousarray(frame.rgb)
        h, w = int(rgb.shape[0]), int(rgb.shape[1])
        image = QImage(rgb.data, w, h, int(rgb.strides[0]), QImage.Format.Format_RGB888)
        self.preview.setPixmap(QPixmap.fromImage(image).scaled(
            self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))  # fromImage copies the pixels
        self.last_frame = rgb
        self.frames_shown += 1

    def _read_sound(self, now: float) -> None:
        audio = self._audio
        if audio is None:
            return
        due = round((now - self._audio_t0) * ENGINE_SAMPLE_RATE_HZ)
        n = min(due - self._audio_pos, round(MAX_READ_S * ENGINE_SAMPLE_RATE_HZ))
        if n <= 0:
            return
        if due - self._audio_pos > n:  # a stall: skip ahead instead of catching up
            self._audio_pos = due - n
        samples = audio.read(self._audio_pos, n)
        self._audio_pos += n
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        rms = math.sqrt(float(np.dot(samples, samples)) / samples.size) if samples.size else 0.0
        self.meter.set_level(AudioMeter(_dbfs(peak), _dbfs(rms), self._audio_pos))
        self.mic_reading.setText(tr("silence") if not _dbfs(peak) > FLOOR_DBFS
                                 else f"{_dbfs(peak):5.1f} dBFS")
        self.mic_readings += 1

    def _show_health(self) -> None:
        for which, opened, label in (("camera", self._video, self.camera_health),
                                     ("mic", self._audio, self.mic_health)):
            if opened is None or which in self.errors:
                continue
            h = opened.health()
            label.setText(f"{opened.name}: {health_text(h, which == 'camera')}")
            bad = (which == "mic" and (h.clipping or h.silent)) or h.state in ("lost", "down")
            color = theme.AMBER if bad else theme.GREEN if h.state == "live" else theme.MUTED
            label.setStyleSheet(f"color: {color}; background: none;")


def _abandon(opening: _Opening) -> None:
    """Close an input that finished opening after the page stopped wanting it."""
    result = opening.result.get()
    if not isinstance(result, Exception):
        _close_quietly(result)


def _listed(lister: Callable[[], Sequence[T]]) -> list[T]:
    try:
        return list(lister())
    except Exception:  # no FFmpeg devices, no PortAudio: files still work
        return []
