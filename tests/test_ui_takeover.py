"""Takeover for real, in the window: the mode keys, the resume mark on the teleprompter, and
the camera and microphone chosen in the settings with a live preview and a level meter.

A video file and an audio file stand in for the camera and the microphone (no machine here
has either); the engine is the real LiveEngine at 320x180, in real time.
"""

from __future__ import annotations

import json
import wave
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog

from studio.engine.events import AudioMeter, InputsChanged, ModeChanged, SentenceStarted
from studio.inputs import InputKind, InputState
from studio.show.model import Show
from studio.ui.bridge import Engine
from studio.ui.main_window import StudioWindow
from studio.ui.settings import SCHEMA_VERSION, InputSettings, Settings, SettingsStore
from tests.test_ui import TEST_SHOW, WAIT_MS, Recorder

RATE_HZ = 48_000
ORANGE = (230, 120, 30)
CYAN = (30, 180, 220)
SIZE = (320, 180)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 1 s camera clip (orange for half a second, then cyan, looping), a loud 440 Hz tone
    and silence, as files."""
    import av

    folder = tmp_path_factory.mktemp("takeover_media")
    video = folder / "camera.mp4"
    with av.open(str(video), mode="w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "veryfast"}
        for i in range(30):
            rgb = np.empty((SIZE[1], SIZE[0], 3), dtype=np.uint8)
            rgb[:] = ORANGE if i < 15 else CYAN
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))

    def write_wav(path: Path, samples: npt.NDArray[np.float64]) -> Path:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE_HZ)
            w.writeframes((np.clip(samples, -1, 1) * 32767).round().astype("<i2").tobytes())
        return path

    t = np.arange(2 * RATE_HZ) / RATE_HZ
    return {"video": video,
            "tone": write_wav(folder / "tone.wav", 0.7 * np.sin(2 * np.pi * 440 * t)),
            "silence": write_wav(folder / "silence.wav", np.zeros_like(t))}


def _write_settings(config_dir: Path, inputs: InputSettings) -> None:
    settings = Settings(inputs=inputs)
    settings.audio.enabled = False  # no sound card here anyway: no note about it
    SettingsStore(config_dir).save(settings)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def studio(qtbot: Any, config_dir: Path, recorder: Recorder, media: dict[str, Path]
           ) -> Iterator[StudioWindow]:
    """A window whose settings name the video file as the camera and puppet as the takeover
    mode; its engines are real LiveEngines built from ``StudioWindow.engine_inputs``."""
    from studio.engine.live import LiveEngine

    _write_settings(config_dir, InputSettings(camera=str(media["video"]),
                                              takeover_mode="puppet", crossfade_s=0.2))

    def factory(show: Show, path: Path | None) -> Engine:
        inputs = window.engine_inputs()
        engine = LiveEngine(show, width_px=SIZE[0], height_px=SIZE[1], fps=Fraction(30),
                            show_path=path, camera=inputs.camera, mic=inputs.mic,
                            crossfade_s=inputs.crossfade_s)
        engine.subscribe(recorder)
        return engine

    window = StudioWindow(engine_factory=factory)
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    yield window
    window.close()


def _near(rgb: npt.NDArray[Any] | tuple[int, int, int], color: tuple[int, int, int],
          tolerance: int = 12) -> bool:
    return bool(np.abs(np.asarray(rgb, dtype=int) - color).max() <= tolerance)


def _median(frame_rgba: npt.NDArray[np.uint8]) -> npt.NDArray[Any]:
    return np.median(frame_rgba[..., :3].reshape(-1, 3), axis=0)


def _pixmap_centre(label: Any) -> tuple[int, int, int]:
    image = label.pixmap().toImage().convertToFormat(QImage.Format.Format_RGB888)
    c = image.pixelColor(image.width() // 2, image.height() // 2)
    return c.red(), c.green(), c.blue()


def test_mode_keys_switch_the_program_and_the_teleprompter_marks_where_the_ai_resumes(
        qtbot: Any, studio: StudioWindow, recorder: Recorder, write_show: Any,
        media: dict[str, Path]) -> None:
    assert studio.open_show(write_show(TEST_SHOW))
    prompter = studio.teleprompter.view
    qtbot.waitUntil(lambda: prompter.highlighted_word is not None, timeout=WAIT_MS)
    assert studio.engine is not None
    engine: Any = studio.engine
    assert [h.kind for h in engine.inputs] == [InputKind.CAMERA]  # passed at open

    # Settings applied on air: the microphone (a loud tone file) and a hard cut.
    dialog = studio.open_preferences()
    assert dialog is not None
    dialog.inputs_page.set_microphone(str(media["tone"]))
    dialog.inputs_page.crossfade.setValue(0.0)
    dialog.accept()
    assert studio.settings.inputs.microphone == str(media["tone"])
    assert studio.takeover.crossfade.value() == 0.0
    qtbot.waitUntil(lambda: any(h.kind == InputKind.MIC and h.state == InputState.LIVE
                                for h in engine.inputs), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "Mic:" in studio.takeover.mic_status.text()
                    and "live" in studio.takeover.mic_status.text(), timeout=WAIT_MS)

    def switches() -> list[ModeChanged]:
        return list(recorder.of(ModeChanged))

    def press(key: Qt.Key, mode: str) -> ModeChanged:
        count = len(switches())
        qtbot.keyClick(studio, key)  # the real shortcut, through the window's QActions
        qtbot.waitUntil(lambda: len(switches()) > count, timeout=WAIT_MS)
        switch = switches()[-1]
        assert switch.mode == mode
        later = switch.at_samples + 4800  # past the AI voice's fade-out
        qtbot.waitUntil(lambda: recorder.frame_from(later) is not None, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: studio.takeover.mode == mode, timeout=WAIT_MS)
        return switch

    # F10 mid-sentence: the human is on camera, no AI label, the mic is heard.
    qtbot.waitUntil(lambda: prompter.highlighted_word is not None, timeout=WAIT_MS)
    human = press(Qt.Key.Key_F10, "human")
    assert human.crossfade_s == 0.0 and human.resume is not None
    cut = recorder.frame_from(human.at_samples)
    assert cut is not None and cut.mode == "human"
    assert _near(_median(cut.rgba), ORANGE) or _near(_median(cut.rgba), CYAN)
    frame = recorder.frame_from(human.at_samples + 4800)
    assert frame is not None and frame.mode == "human" and not frame.label
    qtbot.waitUntil(lambda: any(m.at_samples > human.at_samples + 4800 and m.peak_dbfs > -12
                                for m in recorder.of(AudioMeter)), timeout=WAIT_MS)
    assert "HUMAN" in studio.program_state.text()
    assert "HUMAN ON AIR" in studio.takeover.button.text()
    # The teleprompter marks the interrupted sentence.
    qtbot.waitUntil(lambda: prompter.resume_text == human.resume.text, timeout=WAIT_MS)
    assert prompter.resume_sentence_index == human.resume.sentence_index
    assert prompter.highlighted_word is not None or prompter.resume_row >= 0

    # F11: the puppet: the avatar (with its label) comes back, driven by the operator.
    puppet = press(Qt.Key.Key_F11, "puppet")
    frame = recorder.frame_from(puppet.at_samples + 4800)
    assert frame is not None and frame.mode == "puppet" and frame.label
    assert not _near(_median(frame.rgba), ORANGE, 30) and not _near(_median(frame.rgba), CYAN, 30)
    qtbot.waitUntil(lambda: "no face" in studio.takeover.face_status.text(), timeout=WAIT_MS)
    assert any(e.face_found is False for e in recorder.of(InputsChanged))
    assert "PUPPET" in studio.program_state.text()
    assert prompter.resume_text == human.resume.text  # still a human on air: still marked

    # F12: the AI host is back, the mark is gone, and it says the interrupted sentence again.
    spoken_before = len(recorder.of(SentenceStarted))
    ai = press(Qt.Key.Key_F12, "ai")
    frame = recorder.frame_from(ai.at_samples)
    assert frame is not None and frame.mode == "ai" and frame.label
    qtbot.waitUntil(lambda: prompter.resume_row == -1, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: len(recorder.of(SentenceStarted)) > spoken_before, timeout=WAIT_MS)
    assert recorder.of(SentenceStarted)[spoken_before].text == human.resume.text
    assert "AI HOST" in studio.program_state.text()

    # F9 goes to the takeover mode the settings name (puppet) and back.
    assert press(Qt.Key.Key_F9, "puppet").previous == "ai"
    assert press(Qt.Key.Key_F9, "ai").previous == "puppet"

    log = [studio.takeover.log.item(i).text() for i in range(studio.takeover.log.count())]
    assert len(log) == 5
    assert "AI host → Human on camera" in log[-1] and human.resume.text in log[-1]
    assert "Human on camera → Human puppeteering the avatar" in log[-2]
    assert "Human puppeteering the avatar → AI host" in log[-3]


def test_the_settings_page_previews_the_camera_and_meters_the_microphone(
        qtbot: Any, config_dir: Path, media: dict[str, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    window = StudioWindow()
    qtbot.addWidget(window)
    dialog = window.open_preferences()
    assert dialog is not None
    page = dialog.inputs_page
    dialog.tabs.setCurrentWidget(page)
    assert page.chosen("camera") == "" and page.chosen("mic") == ""

    # "File…" asks for a video file; the preview then shows its pictures as they change.
    monkeypatch.setattr(QFileDialog, "getOpenFileName",
                        staticmethod(lambda *a, **k: (str(media["video"]), "")))
    page.camera.setCurrentIndex(page.camera.findData("\x00file"))
    assert page.chosen("camera") == str(media["video"])
    seen: set[str] = set()

    def colours() -> bool:
        if page.last_frame is not None and not page.preview.pixmap().isNull():
            centre = _pixmap_centre(page.preview)
            for name, colour in (("orange", ORANGE), ("cyan", CYAN)):
                if _near(centre, colour) and _near(page.last_frame[90, 160], colour):
                    seen.add(name)
        return seen == {"orange", "cyan"}

    qtbot.waitUntil(colours, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "320x180" in page.camera_health.text(), timeout=WAIT_MS)
    assert "live" in page.camera_health.text()

    # A loud tone lifts the meter high; silence leaves it at the floor.
    page.set_microphone(str(media["tone"]))
    qtbot.waitUntil(lambda: page.meter.bar_fraction > 0.8, timeout=WAIT_MS)
    assert "dBFS" in page.mic_reading.text()
    page.set_microphone(str(media["silence"]))
    readings = page.mic_readings
    qtbot.waitUntil(lambda: page.mic_readings > readings + 10, timeout=WAIT_MS)
    assert page.meter.bar_fraction == 0.0 and page.meter.peak_dbfs == -np.inf
    assert page.mic_reading.text() == "silence"

    # A camera that cannot open says why, next to it.
    page.set_camera(str(config_dir / "missing.mp4"))
    qtbot.waitUntil(lambda: "camera" in page.errors, timeout=WAIT_MS)
    assert "missing.mp4" in page.camera_health.text()
    page.set_camera(str(media["video"]))

    page.takeover_mode.setCurrentIndex(page.takeover_mode.findData("puppet"))
    page.crossfade.setValue(0.5)
    dialog.accept()
    assert not dialog.isVisible()
    assert page._video is None and page._audio is None  # the preview's inputs are closed
    assert window.settings.inputs == InputSettings(str(media["video"]), str(media["silence"]),
                                                   "puppet", 0.5)
    assert window.takeover.crossfade.value() == 0.5
    assert window.takeover.takeover_mode == "puppet"
    window.close()

    data = json.loads((config_dir / "settings.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION == 6
    assert data["inputs"] == {"camera": str(media["video"]), "microphone": str(media["silence"]),
                              "takeover_mode": "puppet", "crossfade_s": 0.5}
    again = StudioWindow()
    qtbot.addWidget(again)
    assert again.settings.inputs == window.settings.inputs
    assert again.takeover.crossfade.value() == 0.5
    inputs = again.engine_inputs()
    assert inputs.camera is not None and inputs.camera.is_file
    assert inputs.mic is not None and inputs.mic.target == str(media["silence"])
    again.close()

    # `studio app --camera/--mic` win over the settings for the run, and are not saved.
    override = StudioWindow(camera="lavfi:", mic="")
    qtbot.addWidget(override)
    inputs = override.engine_inputs()
    assert inputs.camera is None and inputs.mic is None
    assert "camera" in override.banner.text and "filter graph" in override.banner.text
    assert override.settings.inputs.camera == str(media["video"])
    override.close()


def test_old_settings_migrate_and_bad_input_settings_reset(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    v3 = {"schema_version": 3, "recent_files": ["/shows/a.toml"],
          "audio": {"enabled": False, "device": "", "volume_percent": 80, "muted": False}}
    path.write_text(json.dumps(v3), encoding="utf-8")
    store = SettingsStore(tmp_path)
    loaded = store.load()
    assert store.warnings == []  # adding defaults loses nothing: silent
    assert loaded.inputs == InputSettings("", "", "human", 0.2)
    assert loaded.recent_files == ["/shows/a.toml"] and loaded.audio.volume_percent == 80
    store.save(loaded)
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION

    path.write_text(json.dumps({"schema_version": 4, "inputs": {
        "camera": 3, "microphone": " default ", "takeover_mode": "robot",
        "crossfade_s": 9}}), encoding="utf-8")
    loaded = store.load()
    assert loaded.inputs == InputSettings("", "default", "human", 0.2)
    assert len(store.warnings) == 3
    assert any("takeover_mode" in w for w in store.warnings)

    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}), encoding="utf-8")
    assert store.load() == Settings() and str(SCHEMA_VERSION + 1) in store.warnings[0]


def test_help_overlay_and_menus_list_the_mode_keys(qtbot: Any, config_dir: Path) -> None:
    window = StudioWindow()
    qtbot.addWidget(window)
    rows = window.help_overlay.rows
    assert rows["mode_human"] == ("Human on camera", "F10")
    assert rows["mode_puppet"] == ("Puppet (human drives the avatar)", "F11")
    assert rows["mode_ai"] == ("AI host", "F12")
    assert rows["calibrate_face"][1] == window.registry.key_text("calibrate_face")
    assert [window.takeover.mode_buttons[m].text().split("\n") for m in ("ai", "human", "puppet")
            ] == [["AI", "F12"], ["Human", "F10"], ["Puppet", "F11"]]
    window.close()
