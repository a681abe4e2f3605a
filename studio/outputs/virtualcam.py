"""The program as a webcam: other apps (a platform's companion app, a browser, a meeting
client) pick "LiveHost Camera" like any camera.

Through pyvirtualcam: v4l2loopback on Linux, OBS's Virtual Camera (or Unity Capture) on
Windows, OBS's camera on macOS. Frames come already paced and delayed to match the sound
device (``realtime``); a camera never holds the show up, so a full queue drops (``DROP``).

Pixel format: RGB. The v4l2loopback backend turns RGB into I420 with libyuv's BT.601
matrix, which is what the device declares (v4l2loopback reports the sRGB colorspace, whose
Y'CbCr encoding is BT.601) and what browsers and WebRTC assume of a webcam. The GPU's
yuv420p is BT.709 (for the H.264 files); sent as I420 it would be read with the wrong
matrix, and reading it costs the engine thread ~6 ms a frame at 720p on a software GPU
when no recording needs it. Dropping alpha here costs ~1.3 ms at 720p, off the engine thread.
"""

from __future__ import annotations

import platform
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from studio.core.errors import DependencyError, StudioError, UserInputError
from studio.core.media import AudioChunk
from studio.outputs.base import (
    FramePolicy,
    OutputSpec,
    OutputState,
    ProgramFormat,
    ProgramFrame,
    ThreadedOutput,
    register_output,
)

LINUX_FIX = ("run: sudo bash installers/v4l2loopback.sh (loads v4l2loopback with "
             "exclusive_caps=1, card label 'LiveHost Camera', and makes it persistent)")
OBS_FIX = "install OBS Studio and start its Virtual Camera once"

# pyvirtualcam's backend for each system; None tries every backend it has (Windows: OBS's
# camera first, then Unity Capture).
PLATFORM_BACKENDS: dict[str, str | None] = {"Linux": "v4l2loopback", "Darwin": "obs",
                                            "Windows": None}


def install_fix(system: str | None = None) -> str:
    """What the operator runs so that a virtual camera exists on this system."""
    return LINUX_FIX if (system or platform.system()) == "Linux" else OBS_FIX


def rgb_of(rgba: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """The picture without alpha, C-contiguous: one channel at a time, which numpy copies
    ~10× faster than ``rgba[..., :3]`` (a 3-byte inner stride takes its slow path)."""
    h, w, _ = rgba.shape
    flat = rgba.reshape(h * w, 4)
    rgb = np.empty((h * w, 3), dtype=np.uint8)
    for channel in range(3):
        rgb[:, channel] = flat[:, channel]
    return rgb.reshape(h, w, 3)


def camera_error(exc: BaseException, device: str | None, system: str | None = None
                 ) -> StudioError:
    """pyvirtualcam's error as the problem and its fix."""
    text = str(exc).strip()
    lowered = text.lower()
    fix = install_fix(system)
    where = device or "a virtual camera"
    if "permission" in lowered:
        return DependencyError(f"the virtual camera {where} cannot be opened: no permission; "
                               "run: sudo usermod -a -G video $USER, then log out and in")
    if "already in use" in lowered or "busy" in lowered:
        return UserInputError(f"the virtual camera {where} is in use by another output or "
                              "program; stop that one, or name another device "
                              "(--out virtualcam:/dev/videoN)")
    if any(words in lowered for words in ("not a video output", "not a v4l2 device",
                                          "could not be queried")):
        return UserInputError(f"{device} is not a virtual camera (it is a real camera or "
                              "another device); name the loopback device, usually "
                              f"/dev/video10, or {fix}")
    if device and ("does not exist" in lowered or "not found" in lowered):
        return DependencyError(f"the virtual camera {device} does not exist; {fix}, or name "
                               "the device that exists (--out virtualcam:/dev/videoN)")
    if "unsupported" in lowered or "could not be configured" in lowered:
        return StudioError(f"the virtual camera {where} refused the picture format ({text}); "
                           "reload it: sudo modprobe -r v4l2loopback, then " + fix)
    if "no v4l2 loopback device" in lowered:
        return DependencyError(f"no virtual camera found (no v4l2loopback device at "
                               f"/dev/video0-99); {fix}")
    detail = f" ({text})" if text else ""
    return DependencyError(f"no virtual camera is available{detail}; {fix}")


class VirtualCameraOutput(ThreadedOutput):
    """The program pictures on a virtual camera, in real time, never blocking the show."""

    kind: ClassVar[str] = "virtualcam"
    policy: ClassVar[FramePolicy] = FramePolicy.DROP
    realtime: ClassVar[bool] = True
    # Up to four frames wait while the worker is briefly starved of a CPU (two were too few
    # on a busy 2-core machine); v4l2loopback hands a reader that fell behind the newest.
    max_pending_frames: ClassVar[int] = 4

    def __init__(self, spec: OutputSpec) -> None:
        super().__init__(spec)
        self.name = f"virtual camera {spec.target}" if spec.target else "virtual camera"
        self._camera: Any = None
        self.device = ""  # the device in use, once open
        self.backend = ""

    def start_worker(self, fmt: ProgramFormat, start_samples: int) -> None:
        try:
            import pyvirtualcam
        except ImportError as exc:
            raise DependencyError(f"pyvirtualcam is not installed ({exc}); run: bash "
                                  "installers/studio.sh test (or pip install pyvirtualcam)"
                                  ) from None
        system = platform.system()
        backend = self.spec.option("backend") or PLATFORM_BACKENDS.get(system)
        available = list(pyvirtualcam.camera.BACKENDS)
        if backend is not None and backend not in available:
            if available:
                raise UserInputError(f"virtual camera backend {backend!r} is not available "
                                     f"here; use one of: {', '.join(available)}")
            raise DependencyError(f"pyvirtualcam has no virtual camera for {system}; use "
                                  "Linux (v4l2loopback), Windows or macOS (OBS Studio)")
        device = self.spec.target or None
        try:
            self._camera = pyvirtualcam.Camera(
                width=fmt.width_px, height=fmt.height_px, fps=float(fmt.fps),
                fmt=pyvirtualcam.PixelFormat.RGB, device=device, backend=backend)
        except Exception as exc:  # pyvirtualcam raises RuntimeError for every backend
            raise camera_error(exc, device, system) from None
        self.device = str(self._camera.device)
        self.backend = str(self._camera.backend)
        self.name = f"virtual camera {self.device}"

    def send_audio(self, chunk: AudioChunk) -> None:
        """A camera has no sound: nothing to queue."""

    def write_video(self, frame: ProgramFrame) -> None:
        self._camera.send(rgb_of(frame.rgba))

    def write_audio(self, chunk: AudioChunk) -> None:
        pass

    def finish(self) -> None:
        self._release_camera()

    def fail(self, exc: BaseException) -> None:
        super().fail(exc)
        self._release_camera()

    def close(self, timeout_s: float = 5.0) -> None:
        super().close(timeout_s)
        if self.state != OutputState.DOWN:
            self._release_camera()

    def _release_camera(self) -> None:
        camera, self._camera = self._camera, None
        if camera is not None:
            camera.close()


register_output("virtualcam", VirtualCameraOutput,
                "the program as a webcam (v4l2loopback, OBS Virtual Camera)")
