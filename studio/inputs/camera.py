"""A camera through PyAV: V4L2 on Linux, DirectShow on Windows, AVFoundation on macOS, and
FFmpeg's ``lavfi`` virtual device (the tests' camera) through the same code.

One capture thread per camera reads, decodes and converts to RGB; only the newest picture
is kept (a picture nobody took is dropped and counted), so the engine never waits and never
falls behind. Size and rate are requests: a camera that delivers something else is used as
it is (the engine scales) and health says what arrives and at what measured rate. A camera
that stops (unplugged, a read error, the end of a lavfi graph) is LOST: its last picture
stays for half a second, then ``frame_at`` gives None (the engine shows its standby picture)
while the thread reconnects with backoff. A ``lavfi:`` graph is paced in real time (a
``realtime`` filter is appended), as a camera is.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from studio.core.backoff import Backoff
from studio.core.errors import DependencyError, StudioError, UserInputError
from studio.inputs.base import (
    LAVFI_PREFIX,
    CapturedFrame,
    InputHealth,
    InputSpec,
    InputState,
    VideoInput,
    option_number,
    register_video_input,
)

_LOG = logging.getLogger("studio.inputs")

HOLD_AFTER_LOSS_S = 0.5  # the last picture stays this long after the camera is lost
STALL_S = 1.0  # no picture for this long: lost, even without an error from the device
READ_TIMEOUT_S = 2.0  # FFmpeg gives up on a read that blocks this long (a hung device)
OPEN_TIMEOUT_S = 5.0
CHOOSE = "choose another in Settings ▸ Inputs or with --camera"


@dataclass(frozen=True, slots=True)
class CameraInfo:
    """A camera the system lists. ``device`` is what ``--camera`` accepts."""

    device: str  # /dev/video0 (Linux), the name (Windows), the number (macOS)
    name: str
    index: int

    @property
    def label(self) -> str:
        return f"{self.index} {self.name!r} ({self.device})"

    def __str__(self) -> str:
        return self.label


def _platform_format() -> str:
    if sys.platform.startswith("linux"):
        return "v4l2"
    if sys.platform == "win32":
        return "dshow"
    if sys.platform == "darwin":
        return "avfoundation"
    return ""


def _ffmpeg_device_list(fmt: str) -> list[str]:
    """Names FFmpeg's dshow/avfoundation list (they only print them to the log)."""
    import av
    import av.logging

    url = "video=dummy" if fmt == "dshow" else ""
    # listing always "fails" to open: the list is in the log
    with av.logging.Capture() as logs, contextlib.suppress(Exception):
        av.open(url, format=fmt, options={"list_devices": "true"}).close()
    names: list[str] = []
    video = True
    for _level, _name, message in logs:
        text = str(message)
        if "audio devices" in text.lower():
            video = False
        if not video or "Alternative name" in text:
            continue
        if fmt == "dshow" and '"' in text and "(audio)" not in text:
            names.append(text.split('"')[1])
        elif fmt == "avfoundation" and text.strip().startswith("[") and "]" in text:
            names.append(text.split("]", 1)[1].strip())
    return names


def list_cameras() -> list[CameraInfo]:
    """Cameras on this machine. Linux: the V4L2 capture nodes (a webcam's metadata node is
    left out) named from sysfs; Windows and macOS: what FFmpeg's dshow/avfoundation list
    (best effort: untested here); elsewhere none."""
    fmt = _platform_format()
    if fmt == "v4l2":
        cameras = []
        for node in sorted(Path("/sys/class/video4linux").glob("video*"),
                           key=lambda p: int(p.name[5:]) if p.name[5:].isdigit() else 1 << 30):
            try:
                if (node / "index").exists() and (node / "index").read_text().strip() != "0":
                    continue  # a second node of the same camera (metadata)
                name = (node / "name").read_text().strip()
            except OSError:
                continue
            number = int(node.name[5:]) if node.name[5:].isdigit() else -1
            cameras.append(CameraInfo(f"/dev/{node.name}", name, number))
        return cameras
    if fmt in {"dshow", "avfoundation"}:
        try:
            names = _ffmpeg_device_list(fmt)
        except Exception:
            return []
        return [CameraInfo(name if fmt == "dshow" else str(i), name, i)
                for i, name in enumerate(names)]
    return []


def _camera_list_text() -> str:
    cameras = list_cameras()
    return ", ".join(c.label for c in cameras) if cameras else "none found"


def _resolve(spec: InputSpec) -> tuple[str, str]:
    """(url, FFmpeg input format) for a device spec; ``UserInputError`` when no such camera."""
    target = spec.target.strip()
    if target.lower().startswith(LAVFI_PREFIX):
        graph = target[len(LAVFI_PREFIX):].strip()
        if "realtime" not in graph and "[out" not in graph:
            graph += ",realtime"  # a camera delivers at its own pace, not as fast as read
        return graph, "lavfi"
    fmt = _platform_format()
    if not fmt:
        raise DependencyError(f"camera capture is not supported on {sys.platform}; use a video "
                              "file with --camera FILE")
    wanted = target.lower()
    if fmt == "v4l2":
        if target.startswith("/dev/"):
            return target, fmt
        if target.isdigit():
            return f"/dev/video{int(target)}", fmt
        cameras = list_cameras()
        if wanted in {"", "default"}:
            return (cameras[0].device if cameras else "/dev/video0"), fmt
    else:
        cameras = list_cameras()
        if wanted in {"", "default"}:
            if fmt == "avfoundation":
                return "0", fmt
            if not cameras:
                raise UserInputError("no camera found; plug one in, or use a video file with "
                                     "--camera FILE")
            return f"video={cameras[0].name}", fmt
        if target.isdigit():
            if fmt == "avfoundation":
                return target, fmt
            found = [c for c in cameras if c.index == int(target)]
            if not found:
                raise UserInputError(f"camera {target} not found; cameras: "
                                     f"{_camera_list_text()}; {CHOOSE}")
            return f"video={found[0].name}", fmt
    exact = [c for c in cameras if c.name.lower() == wanted]
    partial = [c for c in cameras if wanted in c.name.lower()]
    matches = exact or partial
    if not matches:
        if fmt != "v4l2":  # the list may be incomplete there: let FFmpeg try the name
            return (f"video={target}" if fmt == "dshow" else target), fmt
        raise UserInputError(f"camera {target!r} not found; cameras: {_camera_list_text()}; "
                             f"{CHOOSE}")
    if len(matches) > 1:
        raise UserInputError(f"camera {target!r} matches several: "
                             + ", ".join(c.label for c in matches)
                             + "; name one exactly or by its number")
    found_camera = matches[0]
    return (f"video={found_camera.name}" if fmt == "dshow" else found_camera.device), fmt


class DeviceCamera(VideoInput):
    """A live camera (or ``lavfi:`` graph) on its own capture thread, newest picture only."""

    realtime: ClassVar[bool] = True

    def __init__(self, spec: InputSpec) -> None:
        super().__init__(spec)
        self._width = option_number(spec, "width", 16, 8192)
        self._height = option_number(spec, "height", 16, 8192)
        self._fps = option_number(spec, "fps", 1, 240)
        self._input_format = spec.option("input_format")
        self._backoff = Backoff(first_s=option_number(spec, "retry_s", 0.05, 60) or 0.5)
        self._url = ""
        self._format = ""
        self._lock = threading.Lock()
        self._latest: CapturedFrame | None = None
        self._taken = -1  # sequence of the last picture frame_at handed out
        self._sequence = -1
        self._arrivals_ns: deque[int] = deque(maxlen=31)
        self._lost_ns = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._container: Any = None
        self.frames = 0
        self.dropped = 0
        self.width_px = 0
        self.height_px = 0

    # --- opening --------------------------------------------------------------------------
    def _attempts(self) -> list[dict[str, str]]:
        """Options to try in turn: what was asked (MJPEG first on V4L2, where raw video
        rarely reaches 720p30 over USB 2), then whatever the camera offers."""
        if self._format == "lavfi":
            return [{}]
        asked: dict[str, str] = {}
        if self._width and self._height:
            asked["video_size"] = f"{int(self._width)}x{int(self._height)}"
        if self._fps:
            asked["framerate"] = f"{self._fps:g}"
        elif self._format == "avfoundation":
            asked["framerate"] = "30"  # avfoundation refuses its own default (29.97) often
        attempts = []
        if self._input_format:
            attempts.append({**asked, "input_format": self._input_format})
        elif self._format == "v4l2" and asked:
            attempts.append({**asked, "input_format": "mjpeg"})
        attempts.append(asked)
        if asked:
            attempts.append({"framerate": "30"} if self._format == "avfoundation" else {})
        return attempts

    def _connect(self) -> tuple[Any, Any]:
        import av

        available = {n for name in av.formats_available for n in name.split(",")}
        if self._format not in available:  # FFmpeg names some "video4linux2,v4l2"
            raise DependencyError(f"this PyAV build cannot capture from {self._format}; "
                                  "install the PyAV wheel from PyPI (pip install av)")
        error: Exception | None = None
        for options in self._attempts():
            try:
                container = av.open(self._url, format=self._format, options=options,
                                    timeout=(OPEN_TIMEOUT_S, READ_TIMEOUT_S))
            except (av.FFmpegError, OSError) as exc:
                error = exc
                continue
            if not container.streams.video:
                container.close()
                error = RuntimeError("it has no video stream")
                continue
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            return container, stream
        raise UserInputError(f"camera {self._url!r} cannot be opened ({error}); plug it in, "
                             "close any other program using it (a camera serves one program "
                             f"at a time), or {CHOOSE}; cameras: {_camera_list_text()}")

    def open(self) -> None:
        self.set_state(InputState.STARTING)
        try:
            self._url, self._format = _resolve(self.spec)
            self._container = self._connect()
        except StudioError as exc:
            self.set_state(InputState.DOWN, str(exc))
            raise
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="camera-capture", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=READ_TIMEOUT_S + 1.0)
            self._thread = None
        self.set_state(InputState.OFF)

    # --- the capture thread -------------------------------------------------------------
    def _run(self) -> None:
        opened: tuple[Any, Any] | None = self._container
        self._container = None
        while not self._stop.is_set():
            if opened is None:
                delay_s = self._backoff.next_delay_s()
                if self._stop.wait(delay_s):
                    break
                try:
                    opened = self._connect()
                except StudioError as exc:
                    self._lose(str(exc))
                    continue
                self.reconnects += 1
            container, stream = opened
            reason = self._capture(container, stream)
            opened = None
            with contextlib.suppress(Exception):
                container.close()
            if not self._stop.is_set():
                self._lose(reason)

    def _capture(self, container: Any, stream: Any) -> str:
        """Read until the camera stops; the reason it stopped."""
        try:
            for packet in container.demux(stream):
                if self._stop.is_set():
                    return "closed"
                for frame in packet.decode():
                    self._publish(frame)
        except Exception as exc:  # unplugged, a read timeout, a driver error
            return f"the camera stopped sending ({type(exc).__name__}: {exc}); reconnecting"
        return "the camera stopped sending (end of stream); reconnecting"

    def _publish(self, frame: Any) -> None:
        rgb = frame.to_ndarray(format="rgb24")
        now_ns = time.monotonic_ns()
        pts_s = float(frame.time) if frame.time is not None else now_ns / 1e9
        with self._lock:
            if self._latest is not None and self._taken != self._sequence:
                self.dropped += 1
            self._sequence += 1
            self._latest = CapturedFrame(rgb, self._sequence, now_ns, pts_s)
            self._arrivals_ns.append(now_ns)
            self.frames += 1
            first = self.state != InputState.LIVE
        if first:
            self.height_px, self.width_px = int(rgb.shape[0]), int(rgb.shape[1])
            self._backoff.reset()
            self.set_state(InputState.LIVE, "")
        elif self.frames == 10 or self.frames % 30 == 0:
            self._check_format()

    def _check_format(self) -> None:
        """A note while the camera delivers other than asked (it is used anyway)."""
        fps = self.measured_fps()
        size_ok = not (self._width and self._height) or \
            (int(self._width), int(self._height)) == (self.width_px, self.height_px)
        fps_ok = not self._fps or fps >= self._fps * 0.9
        note = "" if size_ok and fps_ok else (
            f"the camera delivers {self.width_px}x{self.height_px} at {fps:.0f} fps (asked for "
            f"{int(self._width or self.width_px)}x{int(self._height or self.height_px)} at "
            f"{self._fps or fps:g} fps); the picture is scaled to the program")
        if self.state == InputState.LIVE and note != self.reason:
            self.set_state(InputState.LIVE, note)

    def _lose(self, reason: str) -> None:
        with self._lock:
            if self.state == InputState.LIVE or not self._lost_ns:
                self._lost_ns = time.monotonic_ns()
            self._arrivals_ns.clear()
        self.set_state(InputState.LOST, reason)

    # --- the engine's side -----------------------------------------------------------------
    def measured_fps(self) -> float:
        with self._lock:
            arrivals = list(self._arrivals_ns)
        if len(arrivals) < 2 or time.monotonic_ns() - arrivals[-1] > STALL_S * 1e9:
            return 0.0
        return (len(arrivals) - 1) / ((arrivals[-1] - arrivals[0]) / 1e9)

    def frame_at(self, pts_samples: int, sample_rate_hz: int) -> CapturedFrame | None:
        now_ns = time.monotonic_ns()
        with self._lock:
            latest = self._latest
            if latest is None or self.state == InputState.OFF:
                return None
            if self.state == InputState.LOST:
                if now_ns - self._lost_ns > HOLD_AFTER_LOSS_S * 1e9:
                    return None
            elif now_ns - latest.captured_ns > STALL_S * 1e9:
                return None  # stalled: health says so
            self._taken = latest.sequence
            return latest

    def health(self) -> InputHealth:
        state, reason = self.state, self.reason
        with self._lock:
            latest = self._latest
        if state == InputState.LIVE and latest is not None:
            age_s = (time.monotonic_ns() - latest.captured_ns) / 1e9
            if age_s > STALL_S:
                state, reason = InputState.LOST, f"no picture from the camera for {age_s:.1f} s"
        return InputHealth(self.name, self.kind, state, reason, self.width_px, self.height_px,
                           self.measured_fps(), self.frames, reconnects=self.reconnects,
                           dropped=self.dropped)


register_video_input("device", DeviceCamera)
register_video_input("lavfi", DeviceCamera)
