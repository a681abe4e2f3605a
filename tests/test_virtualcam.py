"""The virtual camera output, and the script that creates the camera on Linux.

No machine here can load the v4l2loopback kernel module, so the device behind pyvirtualcam
is faked at exactly that boundary (``pyvirtualcam.Camera``): the fake checks what a capture
app would receive (size, pixel format, dtype) and when. Everything above it is real: the
paced engine, its outputs, the frame queue. Without the fake, the real pyvirtualcam runs and
finds no device, which must end in a message that names the fix.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import pyvirtualcam

from studio.core.errors import DependencyError
from studio.engine.events import Event, FrameDelivered, Problem
from studio.engine.live import LiveEngine
from studio.outputs.base import OutputSpec, OutputState, ProgramFormat, build_output, parse_target
from studio.outputs.virtualcam import VirtualCameraOutput, rgb_of
from studio.show.loader import load_show
from tests.test_live_engine import SHOW

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "installers" / "v4l2loopback.sh"
W, H = 320, 180


class FakeCamera:
    """pyvirtualcam.Camera with no kernel device behind it: records what it is sent."""

    made: ClassVar[list[FakeCamera]] = []
    send_delay_s = 0.0  # a slow capture app

    def __init__(self, width: int, height: int, fps: float, *,
                 fmt: pyvirtualcam.PixelFormat = pyvirtualcam.PixelFormat.RGB,
                 device: str | None = None, backend: str | None = None,
                 **kw: Any) -> None:
        self.width, self.height, self.fps, self.fmt = width, height, fps, fmt
        self.device_arg, self.backend_arg = device, backend
        self.frames: list[np.ndarray] = []
        self.arrivals_s: list[float] = []
        self.closed = False
        FakeCamera.made.append(self)

    @property
    def device(self) -> str:
        return self.device_arg or "/dev/video10"

    @property
    def backend(self) -> str:
        return self.backend_arg or "v4l2loopback"

    def send(self, frame: np.ndarray) -> None:
        arrived = time.monotonic()
        assert not self.closed, "a frame after close"
        # What pyvirtualcam itself demands of an RGB frame before it reaches the device.
        assert frame.dtype == np.uint8, frame.dtype
        assert frame.shape == (self.height, self.width, 3), frame.shape
        assert frame.flags.c_contiguous
        self.arrivals_s.append(arrived)
        self.frames.append(frame.copy())
        if self.send_delay_s:
            time.sleep(self.send_delay_s)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_camera(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[FakeCamera]]:
    FakeCamera.made = []
    FakeCamera.send_delay_s = 0.0
    monkeypatch.setattr(pyvirtualcam, "Camera", FakeCamera)
    yield FakeCamera


def _paced_engine(write_show: Callable[[str], Path], piper_voice: object,
                  outputs: list[Any]) -> tuple[LiveEngine, list[Event]]:
    events: list[Event] = []
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H,
                        outputs=outputs, tts=piper_voice)  # type: ignore[arg-type]
    engine.subscribe(events.append)
    return engine, events


def _wait_on_air(events: list[Event], n_frames: int = 15) -> None:
    deadline = time.monotonic() + 20
    while sum(isinstance(e, FrameDelivered) for e in events) < n_frames:
        assert time.monotonic() < deadline, "the show did not go on air"
        time.sleep(0.01)


def test_camera_gets_the_program_at_its_frame_rate(fake_camera: type[FakeCamera],
                                                   write_show: Callable[[str], Path],
                                                   piper_voice: object) -> None:
    spec = parse_target("virtualcam")
    assert spec == OutputSpec("virtualcam", "")
    output = build_output(spec)
    engine, events = _paced_engine(write_show, piper_voice, [output])
    engine.start()
    _wait_on_air(events)
    time.sleep(3.0)
    engine.stop()

    assert len(fake_camera.made) == 1
    camera = fake_camera.made[0]
    assert (camera.width, camera.height, camera.fps) == (W, H, 30.0)
    assert camera.fmt == pyvirtualcam.PixelFormat.RGB
    assert camera.device_arg is None and camera.backend_arg == "v4l2loopback"
    assert camera.closed
    assert output.health().state == OutputState.STOPPED
    assert output.name == "virtual camera /dev/video10"

    # The camera shows exactly the program pictures, in order (a frame the camera could not
    # take in time is dropped, never shown late or out of order).
    delivered = [e.rgba for e in events if isinstance(e, FrameDelivered)]
    assert len(camera.frames) == len(delivered) - output.frames_dropped
    assert output.frames_dropped <= len(delivered) // 10  # a busy CPU may cost a few
    position = 0
    for sent in camera.frames:
        while not np.array_equal(sent, delivered[position][..., :3]):
            position += 1
            assert position < len(delivered), "the camera got a picture that was not on air"
        position += 1

    # Paced by the engine: ~30 frames a second, ~33 ms apart, over the last three seconds
    # (within 10%: a busy 2-core machine delays a few frames).
    arrivals = np.array(camera.arrivals_s)
    window = arrivals[arrivals >= arrivals[-1] - 3.0]
    assert 90 - 9 <= len(window) <= 90 + 9
    mean_interval_ms = float(np.diff(window).mean()) * 1000
    assert 30.0 <= mean_interval_ms <= 36.7
    assert not [e for e in events if isinstance(e, Problem)]


def test_slow_camera_app_never_holds_the_show_up(fake_camera: type[FakeCamera],
                                                 write_show: Callable[[str], Path],
                                                 piper_voice: object) -> None:
    fake_camera.send_delay_s = 0.1  # the app takes 100 ms a frame: it can show 10 a second
    output = build_output(OutputSpec("virtualcam", "/dev/video10"))
    engine, events = _paced_engine(write_show, piper_voice, [output])
    engine.start()
    _wait_on_air(events)
    n_start = sum(isinstance(e, FrameDelivered) for e in events)
    time.sleep(2.0)
    n_end = sum(isinstance(e, FrameDelivered) for e in events)
    engine.stop()
    camera = fake_camera.made[0]
    assert camera.device_arg == "/dev/video10"
    assert 60 - 6 <= n_end - n_start <= 60 + 6  # the program stays at 30 frames a second
    assert output.frames_dropped > 30  # the camera dropped what it could not take
    # Every program frame either reached the camera or was dropped for it.
    n_total = sum(isinstance(e, FrameDelivered) for e in events)
    assert len(camera.frames) + output.frames_dropped == n_total


def test_alpha_is_dropped_exactly() -> None:
    rgba = np.random.default_rng(1).integers(0, 256, (H, W, 4), dtype=np.uint8)
    rgb = rgb_of(rgba)
    assert rgb.flags.c_contiguous and rgb.shape == (H, W, 3)
    assert np.array_equal(rgb, rgba[..., :3])


def _loopback_devices() -> list[str]:
    names = []
    for path in glob.glob("/sys/devices/virtual/video4linux/video*"):
        names.append("/dev/" + os.path.basename(path))
    return names


def test_no_virtual_camera_names_the_fix() -> None:
    """The real pyvirtualcam: on a machine without v4l2loopback, the message says what to run."""
    fmt = ProgramFormat(W, H, Fraction(30))
    if _loopback_devices():  # a machine with a virtual camera: it opens
        output = VirtualCameraOutput(parse_target("virtualcam"))
        output.open(fmt, 0)
        output.close()
        assert output.state == OutputState.STOPPED
    else:
        with pytest.raises(DependencyError) as raised:
            VirtualCameraOutput(parse_target("virtualcam")).open(fmt, 0)
        message = str(raised.value)
        assert "no virtual camera found" in message
        assert "sudo bash installers/v4l2loopback.sh" in message
        assert "exclusive_caps=1" in message and "LiveHost Camera" in message
    with pytest.raises(DependencyError) as raised:
        VirtualCameraOutput(parse_target("virtualcam:/dev/video63")).open(fmt, 0)
    assert "/dev/video63 does not exist" in str(raised.value)
    assert "installers/v4l2loopback.sh" in str(raised.value)


def test_recording_goes_on_without_the_camera(write_show: Callable[[str], Path],
                                              piper_voice: object, tmp_path: Path) -> None:
    import av

    target = "virtualcam" if not _loopback_devices() else "virtualcam:/dev/video63"
    path = tmp_path / "show.mp4"
    events: list[Event] = []
    engine = LiveEngine(load_show(write_show(SHOW)), width_px=W, height_px=H, realtime=False,
                        outputs=[parse_target(target), parse_target(str(path))],
                        tts=piper_voice)  # type: ignore[arg-type]
    engine.subscribe(events.append)
    engine.run_frames(45)
    engine.close()

    problems = [e for e in events if isinstance(e, Problem)]
    assert problems and all("virtual camera" in p.message for p in problems)
    assert "installers/v4l2loopback.sh" in problems[0].message
    assert "other outputs" in problems[0].fix
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 45  # the whole recording, every frame


# --- installers/v4l2loopback.sh -----------------------------------------------------------
WATCHED = (Path("/etc/modules-load.d"), Path("/etc/modprobe.d"))


def _snapshot() -> dict[str, tuple[float, int]]:
    state = {}
    for folder in WATCHED:
        for path in folder.glob("*") if folder.is_dir() else []:
            stat = path.lstat()
            state[str(path)] = (stat.st_mtime, stat.st_size)
    return state


def test_installer_dry_run_prints_the_plan_and_changes_nothing(tmp_path: Path) -> None:
    # Tripwires: if the dry run ran any of these, the test would know (and the machine
    # would be spared: they only record the call).
    shims = tmp_path / "bin"
    shims.mkdir()
    called = tmp_path / "called"
    for name in ("apt-get", "modprobe", "dkms", "mokutil", "usermod"):
        shim = shims / name
        shim.write_text(f"#!/bin/sh\necho {name} \"$@\" >> {called}\nexit 1\n")
        shim.chmod(0o755)
    before = _snapshot()
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}"}
    result = subprocess.run(["bash", str(SCRIPT), "--dry-run"], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert not called.exists(), called.read_text()
    assert _snapshot() == before
    assert not Path("/etc/modprobe.d/livehost-v4l2loopback.conf").exists() or \
        "/etc/modprobe.d/livehost-v4l2loopback.conf is already in place" in out
    assert ('modprobe v4l2loopback devices=1 video_nr=10 exclusive_caps=1 '
            'card_label="LiveHost Camera"') in out
    assert 'options v4l2loopback devices=1 video_nr=10 exclusive_caps=1 ' \
        'card_label="LiveHost Camera"' in out
    assert "/etc/modules-load.d/livehost-v4l2loopback.conf" in out
    assert "v4l2loopback-dkms" in out or "already available" in out
    assert "nothing was changed" in out


def test_installer_refuses_unknown_options() -> None:
    result = subprocess.run(["bash", str(SCRIPT), "--frobnicate"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2
    assert "unknown option '--frobnicate'" in result.stderr and "--dry-run" in result.stderr
