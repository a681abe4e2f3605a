"""Going on air from the window: the outputs panel, the settings pages, the level meter and
the clean program window, against the real live engine (320x180) in offscreen Qt.

This machine has no /dev/video device and no sound card: the virtual camera really fails
(and says why), and the show really runs silent (and says so once, quietly).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import stat
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from studio.engine.commands import SetAudioVolume
from studio.engine.events import (
    AudioMeter,
    FrameDelivered,
    ModeChanged,
    OutputsChanged,
    Problem,
    SentenceStarted,
)
from studio.outputs.base import OutputSpec, OutputState
from studio.show.model import Show
from studio.ui.bridge import Engine
from studio.ui.level_meter import FLOOR_DBFS
from studio.ui.main_window import SILENT_NOTE, StudioWindow
from studio.ui.settings import OBS_PASSWORD_ENV, SCHEMA_VERSION, SettingsStore
from tests.test_ui import TEST_SHOW, WAIT_MS, Recorder

SECRET_KEY = "sk_live_9f8e7d6c5b4a"
OBS_SECRET = "hunter2-obs-pass"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "config"
    monkeypatch.setenv("LIVEHOST_CONFIG_DIR", str(directory))
    monkeypatch.delenv(OBS_PASSWORD_ENV, raising=False)
    return directory


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def extra_outputs() -> list[OutputSpec]:
    """Outputs a test adds beside the settings' own (a recording, say)."""
    return []


@pytest.fixture
def studio(qtbot: Any, config_dir: Path, recorder: Recorder,
           extra_outputs: list[OutputSpec]) -> Iterator[StudioWindow]:
    """A shown window whose engines are real LiveEngines at 320x180, built from the window's
    own output list (``StudioWindow.output_specs``), as ``studio app`` builds them."""
    from studio.engine.live import LiveEngine

    windows: list[StudioWindow] = []

    def factory(show: Show, path: Path | None) -> Engine:
        engine = LiveEngine(show, width_px=320, height_px=180, fps=Fraction(30),
                            show_path=path, outputs=[*windows[0].output_specs(),
                                                     *extra_outputs])
        engine.subscribe(recorder)
        return engine

    window = StudioWindow(engine_factory=factory)
    windows.append(window)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close()


@pytest.fixture
def show_file(write_show: Callable[..., Path]) -> Path:
    return write_show(TEST_SHOW)


def on_air(qtbot: Any, window: StudioWindow, path: Path) -> None:
    assert window.open_show(path)
    qtbot.waitUntil(lambda: window.preview.last_shown_frame_index >= 3, timeout=WAIT_MS)


def test_outputs_panel_shows_each_output_and_stopping_a_recording_finishes_the_file(
        qtbot: Any, studio: StudioWindow, show_file: Path, recorder: Recorder,
        extra_outputs: list[OutputSpec], tmp_path: Path) -> None:
    recording = tmp_path / "rec.mkv"
    extra_outputs.append(OutputSpec("file", str(recording)))
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # where the stream lands
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.05)
    stream = f"udp://127.0.0.1:{receiver.getsockname()[1]}"
    studio.settings.outputs.virtualcam = True  # no /dev/video here: it must fail, and say why
    studio.settings.outputs.stream_targets = [stream]
    studio.settings.outputs.stream_bitrate_kbps = 800
    studio.apply_output_settings()
    panel = studio.outputs_panel
    assert [r.name for r in panel.rows] == ["virtual camera", stream]  # rows before air
    assert panel.state_of("virtual camera") == "stopped" and not panel.live
    received: list[bytes] = []

    def receive() -> int:
        with contextlib.suppress(TimeoutError):
            while True:
                received.append(receiver.recv(65536))
        return sum(len(d) for d in received)

    on_air(qtbot, studio, show_file)

    name = str(recording)
    qtbot.waitUntil(lambda: panel.state_of("virtual camera") == "down"
                    and panel.state_of(name) == "up" and panel.state_of(stream) == "up",
                    timeout=WAIT_MS)
    qtbot.waitUntil(lambda: receive() > 20_000 and panel.cell(1, 2).text() != "—",
                    timeout=WAIT_MS)
    assert received[0][0] == 0x47  # MPEG-TS sync byte: the program really goes out
    assert panel.cell(1, 2).text().endswith("kb/s") or panel.cell(1, 2).text().endswith("Mb/s")

    # Stop and start the stream from its row; the show does not notice.
    panel.button_for(stream).click()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: panel.state_of(stream) == "stopped", timeout=WAIT_MS)
    assert panel.button_for(stream).text() == "Start"  # type: ignore[union-attr]
    panel.button_for(stream).click()  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: panel.state_of(stream) == "up", timeout=WAIT_MS)
    received.clear()
    qtbot.waitUntil(lambda: receive() > 5_000, timeout=WAIT_MS)
    receiver.close()
    camera = panel.row("virtual camera")
    assert camera is not None and camera.health is not None
    assert "v4l2loopback" in camera.health.reason  # the reason names the fix
    assert "v4l2loopback" in panel.cell(0, 1).toolTip()
    assert panel.cell(0, 1).text() == "DOWN"
    assert panel.button_for("virtual camera") is not None
    assert panel.button_for("virtual camera").text() == "Restart"  # type: ignore[union-attr]
    assert any("virtual camera" in p.message for p in recorder.of(Problem))
    def frames_sent() -> int:
        row = panel.row(name)
        return row.health.frames_sent if row is not None and row.health is not None else 0

    qtbot.waitUntil(lambda: frames_sent() >= 20, timeout=WAIT_MS)
    stop = panel.button_for(name)
    assert stop is not None and stop.text() == "Stop" and stop.isEnabled()

    stop.click()
    assert panel.state_of(name) == "stopping"
    qtbot.waitUntil(lambda: panel.state_of(name) == "stopped", timeout=WAIT_MS)
    assert not panel.button_for(name).isVisible()  # type: ignore[union-attr]
    reported = max(h.frames_sent for e in recorder.of(OutputsChanged) for h in e.outputs
                   if h.name == name)
    with av.open(str(recording)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (320, 180)
        assert container.streams.audio, "the recording has the program sound"
        decoded = sum(1 for _ in container.decode(video=0))
    assert decoded >= reported >= 20  # finished: every frame it reported is in the file
    # The show goes on without it; the failed camera keeps its row.
    shown = studio.preview.last_shown_frame_index
    qtbot.waitUntil(lambda: studio.preview.last_shown_frame_index > shown + 5, timeout=WAIT_MS)
    assert panel.state_of("virtual camera") == "down"

    studio.stop_show()
    assert panel.state_of("virtual camera") == "stopped" and panel.row(name) is None


def test_settings_pages_round_trip_migrate_v2_and_keep_secrets_private(
        qtbot: Any, config_dir: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)
    config_dir.mkdir(parents=True)
    path = config_dir / "settings.json"
    path.write_text(json.dumps({"schema_version": 2, "last_record_dir": str(tmp_path),
                                "recent_files": ["/shows/a.toml"]}), encoding="utf-8")
    os.chmod(path, 0o644)
    window = StudioWindow()
    qtbot.addWidget(window)
    s = window.settings
    assert s.recent_files == ["/shows/a.toml"] and s.outputs.record_dir == str(tmp_path)
    assert s.audio.enabled and not s.obs.enabled and s.obs.url == "ws://127.0.0.1:4455"
    assert not window.banner.isVisibleTo(window)  # adding new pages is no news

    dialog = window.open_preferences()
    assert dialog is not None
    dialog.virtualcam.setChecked(True)
    dialog.target_edit.setText("ftp://example.com/live")
    dialog.accept()  # refused, with the reason next to the field
    assert dialog.isVisible() and dialog.targets_error.isVisibleTo(dialog)
    assert "udp://" in dialog.targets_error.text()
    rtmp = f"rtmp://live.example.com/app/{SECRET_KEY}"
    dialog.target_edit.setText(rtmp)
    assert dialog.add_target()
    dialog.target_edit.setText("udp://127.0.0.1:5004")
    dialog.bitrate.setValue(2500)
    dialog.obs_enabled.setChecked(True)
    dialog.obs_url.setText("http://obs.local")
    dialog.accept()
    assert dialog.isVisible() and "ws://" in dialog.obs_error.text()
    dialog.obs_url.setText("ws://127.0.0.1:4466")
    dialog.obs_password.setText(OBS_SECRET)
    dialog.volume.setValue(150)
    dialog.accept()
    assert not dialog.isVisible()
    assert dialog.shown_targets == ["rtmp://live.example.com/app/••••", "udp://127.0.0.1:5004"]
    window.close()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds secrets: owner only
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION == 6
    assert data["outputs"]["stream_targets"] == [rtmp, "udp://127.0.0.1:5004"]
    assert data["obs"] == {"enabled": True, "url": "ws://127.0.0.1:4466",
                           "password": OBS_SECRET}
    assert data["audio"]["volume_percent"] == 150

    loaded = SettingsStore().load()
    specs = loaded.output_specs()
    assert [(x.kind, x.target, x.options) for x in specs] == [
        ("virtualcam", "", ()),
        ("stream", rtmp, (("bitrate_kbps", "2500"),)),
        ("stream", "udp://127.0.0.1:5004", (("bitrate_kbps", "2500"),))]  # no sound card here
    assert loaded.output_specs(audio_device="hw:2")[-1] == OutputSpec("audio", "hw:2")
    assert SECRET_KEY not in repr(specs) and SECRET_KEY not in repr(loaded)
    assert OBS_SECRET not in repr(loaded)
    assert loaded.obs.effective_password() == OBS_SECRET
    monkeypatch.setenv(OBS_PASSWORD_ENV, "from-the-environment")
    assert loaded.obs.effective_password() == "from-the-environment"

    second = StudioWindow()  # the key is never shown again in full
    qtbot.addWidget(second)
    again = second.open_preferences()
    assert again is not None
    assert again.shown_targets[0] == "rtmp://live.example.com/app/••••"
    assert "from-the-environment" not in again.obs_password.displayText()
    assert OBS_SECRET not in again.obs_password.displayText()
    assert second.outputs_panel.row("rtmp://live.example.com/app/••••") is not None
    again.reject()
    second.close()
    for record in caplog.records:
        text = record.getMessage()
        assert SECRET_KEY not in text and OBS_SECRET not in text, text


def test_silent_machine_meter_and_volume_commands(
        qtbot: Any, studio: StudioWindow, show_file: Path, recorder: Recorder,
        write_show: Callable[..., Path]) -> None:
    assert [s.kind for s in studio.output_specs()] == []  # no sound card: nothing to add
    readings: list[tuple[AudioMeter, float, float]] = []  # event, shown peak, lit fraction
    meter = studio.meter.meter

    def seen(event: AudioMeter) -> None:  # runs after the window's own slot
        readings.append((event, meter.peak_dbfs, meter.bar_fraction))

    studio.bridge.audio_meter.connect(seen)
    on_air(qtbot, studio, show_file)
    assert studio.notes == [SILENT_NOTE]
    assert studio.statusBar().currentMessage() == SILENT_NOTE
    assert not studio.banner.isVisibleTo(studio) and not studio.banner.history

    def spoken(event: AudioMeter) -> bool:
        return any(s.start_samples + 4800 <= event.at_samples <= s.end_samples - 4800
                   for s in recorder.of(SentenceStarted))

    qtbot.waitUntil(lambda: sum(spoken(e) for e, _, _ in readings) >= 10, timeout=WAIT_MS)
    talking = [(e, peak, lit) for e, peak, lit in readings if spoken(e)]
    assert max(peak for _, peak, _ in talking) > -30  # speech level, as the meter shows it
    assert all(peak == e.peak_dbfs for e, peak, _ in talking)
    assert max(lit for _, _, lit in talking) > 0.3
    assert meter.hold_dbfs > -30

    # Mute (the meter's button) and volume reach the engine, which accepts them.
    studio.meter.mute.click()
    assert studio.settings.audio.muted and studio.meter.mute.text() == "Muted"
    dialog = studio.open_preferences()
    assert dialog is not None
    dialog.volume.setValue(180)
    dialog.accept()
    assert studio.settings.audio.volume_percent == 180 and studio.settings.audio.muted
    studio.send(SetAudioVolume(2.5))  # out of range: the engine answers, so it got there
    qtbot.waitUntil(lambda: any("SetAudioVolume" in p.message for p in recorder.of(Problem)),
                    timeout=WAIT_MS)
    refused = [p.message for p in recorder.of(Problem)]
    assert len(refused) == 1 and "2.5" in refused[0]  # the window's own values were fine

    # The human takes over: the program goes silent, and the meter drops to the bottom.
    studio.takeover.button.click()
    qtbot.waitUntil(lambda: bool(recorder.of(ModeChanged)), timeout=WAIT_MS)
    switch = recorder.of(ModeChanged)[0].at_samples
    qtbot.waitUntil(lambda: sum(e.at_samples > switch + 4800 for e, _, _ in readings) >= 5,
                    timeout=WAIT_MS)
    silent = [(e, peak, lit) for e, peak, lit in readings if e.at_samples > switch + 4800]
    assert all(e.peak_dbfs == -math.inf and lit == 0.0 for e, _, lit in silent)
    assert studio.meter.reading.text() == "silence"
    assert meter.peak_dbfs < FLOOR_DBFS

    assert studio.open_show(write_show(TEST_SHOW.replace("UI Test", "Again"), "again.toml"))
    assert studio.notes == [SILENT_NOTE]  # said once, not every show


def _rgba_of(image: QImage) -> np.ndarray[Any, np.dtype[np.uint8]]:
    image = image.convertToFormat(QImage.Format.Format_RGBA8888)
    height, width = image.height(), image.width()
    data = np.frombuffer(image.constBits(), dtype=np.uint8)
    rows = data.reshape(height, image.bytesPerLine())[:, :width * 4]
    return rows.reshape(height, width, 4).copy()  # a copy: the QImage's memory goes with it


def test_program_window_is_exactly_the_program_picture(
        qtbot: Any, studio: StudioWindow, show_file: Path) -> None:
    from PySide6.QtCore import Qt

    on_air(qtbot, studio, show_file)
    studio.program_window_action.trigger()  # View ▸ Program window
    window = studio.program_window
    qtbot.waitExposed(window)
    assert window.windowFlags() & Qt.WindowType.FramelessWindowHint
    assert (window.width(), window.height()) == (320, 180)
    grabs: list[tuple[FrameDelivered, np.ndarray[Any, np.dtype[np.uint8]]]] = []

    def grab(frame: FrameDelivered) -> None:  # after the program window took this frame
        if len(grabs) < 3 and window.last_frame_index == frame.index:
            grabs.append((frame, _rgba_of(window.grab().toImage())))

    studio.bridge.frame_delivered.connect(grab)
    qtbot.waitUntil(lambda: len(grabs) == 3, timeout=WAIT_MS)
    for frame, pixels in grabs:
        assert pixels.shape == frame.rgba.shape
        assert np.array_equal(pixels[..., :3], frame.rgba[..., :3])
    studio.bridge.frame_delivered.disconnect(grab)
    QApplication.processEvents()
    window.close()
    assert not studio.program_window_action.isChecked()


def test_outputs_panel_matches_reports_to_rows(qtbot: Any) -> None:
    from studio.outputs.base import OutputHealth
    from studio.ui.outputs_panel import OutputsPanel, format_bitrate

    panel = OutputsPanel()
    qtbot.addWidget(panel)
    cam = OutputSpec("virtualcam", "")
    stream = OutputSpec("stream", f"rtmp://h/app/{SECRET_KEY}", (("bitrate_kbps", "4500"),))
    panel.set_targets([cam, stream])
    panel.set_live(True)
    asked: list[OutputSpec] = []
    panel.start_requested.connect(asked.append)
    panel.set_health([
        OutputHealth("virtual camera /dev/video10", "virtualcam", OutputState.UP,
                     frames_sent=90),
        OutputHealth("rtmp://h/app/••••", "stream", OutputState.DEGRADED, "reconnecting",
                     frames_sent=80, frames_dropped=7, bitrate_bps=2_400_000, reconnects=2)])
    assert [r.state_text for r in panel.rows] == ["up", "degraded"]  # the camera named itself
    assert panel.cell(1, 2).text() == format_bitrate(2_400_000) == "2.40 Mb/s"
    assert panel.cell(1, 3).text() == "7" and "reconnects 2" in panel.cell(
        1, 1).toolTip()
    assert all(SECRET_KEY not in panel.cell(r, 0).text() for r in range(2))
    panel.set_health([OutputHealth("rtmp://h/app/••••", "stream", OutputState.DOWN, "refused")])
    assert panel.state_of("virtual camera") == "stopped"
    button = panel.button_for("rtmp://h/app/••••")
    assert button is not None and button.text() == "Restart"
    button.click()
    assert asked == [stream] and asked[0].target.endswith(SECRET_KEY)  # the real target
    assert panel.state_of("rtmp://h/app/••••") == "starting"


def test_obs_panel_follows_obs_through_the_bridge_and_the_password_stays_secret(
        qtbot: Any, studio: StudioWindow, show_file: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    from studio.obs.client import ObsClient
    from studio.obs.setup import AI_SCENE, HUMAN_SCENE
    from tests.obs_server import ObsServer, ensure_stream_output, free_port

    caplog.set_level(logging.DEBUG)
    ensure_stream_output()
    with ObsServer(tmp_path / "obs", password=OBS_SECRET) as obs:
        s = studio.settings
        s.obs.enabled, s.obs.url, s.obs.password = True, obs.url, "a-stale-stored-password"
        monkeypatch.setenv(OBS_PASSWORD_ENV, OBS_SECRET)  # the environment wins
        s.outputs.stream_targets = [f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}"]
        studio.apply_output_settings()
        threads: list[bool] = []
        studio.bridge.obs_state.connect(
            lambda _state: threads.append(threading.current_thread() is threading.main_thread()))
        panel = studio.obs_panel
        on_air(qtbot, studio, show_file)
        assert studio.obs is not None and panel.setup_button.isEnabled()
        qtbot.waitUntil(lambda: panel.state is not None and panel.state.connected,
                        timeout=WAIT_MS)
        assert panel.fields["connection"].text().startswith("connected (OBS 29.")
        assert "OBS" in studio.status_panel.fields["obs"].text()

        panel.setup_button.click()  # Set up OBS: our scenes, the AI one on OBS's program
        qtbot.waitUntil(lambda: panel.fields["scene"].text() == AI_SCENE, timeout=WAIT_MS)
        assert f"scene {AI_SCENE}" in studio.status_panel.fields["obs"].text()
        studio.takeover.button.click()  # OBS follows the takeover by itself
        qtbot.waitUntil(lambda: panel.fields["scene"].text() == HUMAN_SCENE, timeout=WAIT_MS)

        panel.record_button.click()  # OBS's own recording
        qtbot.waitUntil(lambda: panel.fields["recording"].text() == "yes", timeout=WAIT_MS)
        assert panel.record_button.text() == "Stop recording"
        assert "● REC" in studio.status_panel.fields["obs"].text()
        checker = ObsClient(obs.host, obs.port, obs.password)
        checker.connect(timeout_s=5)
        assert checker.record_status().active and checker.current_program_scene() == HUMAN_SCENE
        panel.record_button.click()
        qtbot.waitUntil(lambda: panel.fields["recording"].text() == "no", timeout=WAIT_MS)
        checker.close()

        studio.stop_show()  # off air: the controller is closed, the fields say nothing
        assert studio.obs is None and panel.state is None
        assert not panel.setup_button.isEnabled()
        assert studio.status_panel.fields["obs"].text() == ""
    assert threads and all(threads)  # every state reached the widgets on the GUI thread
    for record in caplog.records:
        assert OBS_SECRET not in record.getMessage()
        assert "a-stale-stored-password" not in record.getMessage()
