"""One small interface for what comes into the studio: a camera and a microphone.

A human host's picture and voice come from a device (a webcam, a USB microphone) or, for
rehearsals and tests, from a media file standing in for it; the engine asks both the same
two questions: ``frame_at(pts)`` and ``read(pts, n)``, stamped on its own clock (integer
samples at 48 kHz). A device delivers what is newest and never makes the engine wait; a
file is deterministic (the same pts gives the same frame or samples) so a rehearsal and a
test replay exactly.

Capture goes through PyAV, not Qt Multimedia: the engine never imports Qt (a headless
``studio run`` on a server has no Qt Multimedia), and one FFmpeg then does capture (V4L2 on
Linux, DirectShow on Windows, AVFoundation on macOS), decoding of stand-in files, and the
outputs' encoding. FFmpeg's ``lavfi`` virtual device is a camera no machine lacks: the tests
open it through exactly the device code path.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from studio.core.errors import UserInputError

_LOG = logging.getLogger("studio.inputs")

DBFS_FLOOR = -120.0  # what silence reads as (a number, never -inf: health goes to JSON)


class InputKind(StrEnum):
    CAMERA = "camera"
    MIC = "mic"


class InputState(StrEnum):
    OFF = "off"  # not opened, or closed on purpose
    STARTING = "starting"  # opened, nothing arrived yet
    LIVE = "live"
    LOST = "lost"  # was live, disconnected or stalled: retrying with backoff
    DOWN = "down"  # cannot open; ``reason`` says why and what to do


VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".ts", ".flv",
                            ".mpg", ".mpeg", ".y4m", ".gif", ".nut", ".ogv", ".wmv"})
AUDIO_SUFFIXES = frozenset({".wav", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac",
                            ".aif", ".aiff", ".wma", ".mka", ".caf"})
LAVFI_PREFIX = "lavfi:"


@dataclass(frozen=True, slots=True)
class InputSpec:
    """A parsed ``--camera``/``--mic``: which kind, and the device or file it names.

    ``options`` are requests (``width``, ``height``, ``fps``, ``loop``, ``input_format``,
    ``retry_s``): a device may deliver something else, and health says what arrived."""

    kind: InputKind
    target: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def source(self) -> str:
        """``"file"``, ``"lavfi"`` (FFmpeg's virtual device) or ``"device"``."""
        if self.target.lower().startswith(LAVFI_PREFIX):
            return "lavfi"
        return "file" if looks_like_file(self.target) else "device"

    @property
    def is_file(self) -> bool:
        return self.source == "file"

    @property
    def display(self) -> str:
        """How the operator sees it: ``camera: /dev/video0``, ``mic: default``."""
        return f"{self.kind.value}: {self.target or 'default'}"

    def option(self, key: str, default: str = "") -> str:
        return dict(self.options).get(key, default)

    def with_options(self, **options: object) -> InputSpec:
        """This spec with options added or replaced (None removes one)."""
        merged = dict(self.options)
        for key, value in options.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = str(value)
        return InputSpec(self.kind, self.target, tuple(sorted(merged.items())))


def looks_like_file(target: str) -> bool:
    """A media file rather than a device: a file that exists (not under /dev), or a name
    with a media suffix (so a mistyped path says "not found" instead of "no such camera")."""
    text = target.strip()
    if not text or text.lower().startswith(LAVFI_PREFIX) or text.startswith("/dev/"):
        return False
    path = Path(text).expanduser()
    if path.suffix.lower() in VIDEO_SUFFIXES | AUDIO_SUFFIXES:
        return True
    try:
        return path.is_file()
    except OSError:  # a name too long to be a path
        return False


CAMERA_HELP = ("a video file (e.g. rehearsal.mp4), a camera number (0), a device (/dev/video0), "
               "a camera's name (as Settings ▸ Inputs lists it), \"default\", or "
               "lavfi:GRAPH (FFmpeg's virtual camera, e.g. lavfi:testsrc2=size=1280x720:rate=30)")
MIC_HELP = ("an audio file (e.g. voice.wav), a microphone number (1), a microphone's name (as "
            "Settings ▸ Inputs lists it), \"default\", or lavfi:GRAPH (e.g. lavfi:sine=f=440)")


def _parse(kind: InputKind, text: str, help_text: str, flag: str,
           options: dict[str, object]) -> InputSpec:
    raw = text.strip()
    if not raw:
        raise UserInputError(f"{flag} is empty; give {help_text}")
    if raw.lower().startswith(LAVFI_PREFIX) and not raw[len(LAVFI_PREFIX):].strip():
        raise UserInputError(f"{flag} {raw!r} names no filter graph; write e.g. "
                             + ("lavfi:testsrc2=size=1280x720:rate=30" if kind == InputKind.CAMERA
                                else "lavfi:sine=f=440"))
    spec = InputSpec(kind, raw)
    return spec.with_options(**options) if options else spec


def parse_camera(text: str, **options: object) -> InputSpec:
    """``--camera`` text to a spec; ``options`` (width=1280, fps=30, loop=False…) are added."""
    return _parse(InputKind.CAMERA, text, CAMERA_HELP, "--camera", options)


def parse_mic(text: str, **options: object) -> InputSpec:
    """``--mic`` text to a spec; raises ``UserInputError`` naming what is accepted."""
    return _parse(InputKind.MIC, text, MIC_HELP, "--mic", options)


def option_bool(spec: InputSpec, key: str, default: bool) -> bool:
    value = spec.option(key, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise UserInputError(f"{spec.display}: option {key}={value!r} is not true or false")


def option_number(spec: InputSpec, key: str, low: float, high: float) -> float | None:
    value = spec.option(key, "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not low <= number <= high:
        raise UserInputError(f"{spec.display}: option {key}={value!r} must be a number from "
                             f"{low:g} to {high:g}")
    return number


@dataclass(frozen=True, slots=True)
class InputHealth:
    """What the settings page and the engine show: state, what arrives, and how loud."""

    name: str
    kind: InputKind
    state: InputState
    reason: str = ""
    width_px: int = 0  # what the camera delivers (the engine scales it)
    height_px: int = 0
    fps: float = 0.0  # measured on a device, the file's own rate for a file
    frames: int = 0  # frames (camera) or samples (mic) received
    peak_dbfs: float = DBFS_FLOOR  # over the last ~0.5 s
    rms_dbfs: float = DBFS_FLOOR
    silent: bool = False  # RMS under -60 dBFS for more than 3 s
    clipping: bool = False  # a sample at |x| >= 0.99 in the last second
    reconnects: int = 0
    dropped: int = 0  # camera: frames replaced before anyone took them; mic: samples dropped
    underruns: int = 0  # mic: reads answered with silence because nothing had arrived


@dataclass(frozen=True, slots=True)
class CapturedFrame:
    """One camera picture. ``sequence`` grows with every new picture (the same picture twice
    has the same number); ``pts_s`` is the source's own timestamp."""

    rgb: npt.NDArray[np.uint8]  # (h, w, 3), top row first
    sequence: int
    captured_ns: int  # time.monotonic_ns() when it arrived (decoded, for a file)
    pts_s: float


class _Reporting:
    """State and reason with one log line per change (shared by cameras and microphones)."""

    kind: ClassVar[InputKind]
    realtime: ClassVar[bool] = False

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self.name = spec.display
        self._state = InputState.OFF
        self._reason = ""
        self.reconnects = 0

    def set_state(self, state: InputState, reason: str = "") -> None:
        if state != self._state or reason != self._reason:
            level = logging.WARNING if state in {InputState.DOWN, InputState.LOST} \
                else logging.INFO
            _LOG.log(level, "input %s: %s%s", self.name, state.value,
                     f" ({reason})" if reason else "")
        self._state = state
        self._reason = reason

    @property
    def state(self) -> InputState:
        return self._state

    @property
    def reason(self) -> str:
        return self._reason


class VideoInput(_Reporting, ABC):
    """A camera, or a video file standing in for one."""

    kind: ClassVar[InputKind] = InputKind.CAMERA

    @abstractmethod
    def open(self) -> None:
        """Start; raise ``StudioError`` (naming the fix) when it cannot."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def frame_at(self, pts_samples: int, sample_rate_hz: int) -> CapturedFrame | None:
        """The picture for engine time ``pts_samples``: a device's newest (None before the
        first or once lost), a file's frame due at ``pts - the pts of the first call``."""

    @abstractmethod
    def health(self) -> InputHealth: ...


class AudioInput(_Reporting, ABC):
    """A microphone, or an audio file standing in for one: mono float32."""

    kind: ClassVar[InputKind] = InputKind.MIC

    @abstractmethod
    def open(self, sample_rate_hz: int) -> None:
        """Start delivering at ``sample_rate_hz``; raise ``StudioError`` naming the fix."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def read(self, pts_samples: int, n_samples: int) -> npt.NDArray[np.float32]:
        """Exactly ``n_samples`` for engine time ``pts_samples``: a device's next samples
        (zeros on underrun), a file's at ``pts - the pts of the first read``."""

    @abstractmethod
    def health(self) -> InputHealth: ...


# --- levels -------------------------------------------------------------------------------
SILENT_DBFS = -60.0
SILENT_AFTER_S = 3.0
CLIP_LEVEL = 0.99
CLIP_HOLD_S = 1.0
LEVEL_WINDOW_S = 0.5


def to_dbfs(amplitude: float) -> float:
    return max(DBFS_FLOOR, 20.0 * math.log10(amplitude)) if amplitude > 0 else DBFS_FLOOR


class LevelMeter:
    """Peak and RMS over the last half second, silence and clipping, from per-block figures
    (a block's peak and sum of squares: two reductions, nothing allocated per sample).

    Time is whatever the owner says: wall time for a device, media time for a file (so a
    file's health is as deterministic as its samples)."""

    def __init__(self, max_blocks: int = 2048) -> None:
        self._blocks: deque[tuple[float, float, float, int]] = deque(maxlen=max_blocks)
        self._first_s: float | None = None
        self._loud_s: float | None = None  # the last time a block was above SILENT_DBFS
        self._clip_s: float | None = None

    def push(self, samples: npt.NDArray[np.float32], end_s: float) -> None:
        """``samples`` ending at time ``end_s``."""
        n = int(samples.shape[0])
        if n == 0:
            return
        peak = max(float(np.max(samples)), -float(np.min(samples)))
        sum_sq = float(np.dot(samples, samples))
        if self._first_s is None:
            self._first_s = end_s
        if sum_sq / n >= 10 ** (SILENT_DBFS / 10):
            self._loud_s = end_s
        if peak >= CLIP_LEVEL:
            self._clip_s = end_s
        self._blocks.append((end_s, peak, sum_sq, n))

    def report(self, now_s: float) -> tuple[float, float, bool, bool]:
        """(peak dBFS, RMS dBFS, silent, clipping) as of ``now_s``."""
        peak = 0.0
        sum_sq = 0.0
        n = 0
        for end_s, block_peak, block_sq, block_n in reversed(self._blocks):
            if end_s < now_s - LEVEL_WINDOW_S:
                break
            peak = max(peak, block_peak)
            sum_sq += block_sq
            n += block_n
        rms = math.sqrt(sum_sq / n) if n else 0.0
        since = self._loud_s if self._loud_s is not None else self._first_s
        silent = since is not None and now_s - since > SILENT_AFTER_S
        clipping = self._clip_s is not None and now_s - self._clip_s <= CLIP_HOLD_S
        return to_dbfs(peak), to_dbfs(rms), silent, clipping




# --- the registry ----------------------------------------------------------------------------
VideoFactory = Callable[[InputSpec], VideoInput]
AudioFactory = Callable[[InputSpec], AudioInput]

_VIDEO: dict[str, VideoFactory] = {}
_AUDIO: dict[str, AudioFactory] = {}
_LOADERS: dict[tuple[InputKind, str], str] = {}  # (kind, source) -> module registering it


def register_video_input(source: str, factory: VideoFactory) -> None:
    """``source`` is an ``InputSpec.source``: "file", "lavfi" or "device"."""
    _VIDEO[source] = factory


def register_audio_input(source: str, factory: AudioFactory) -> None:
    _AUDIO[source] = factory


def declare_input(kind: InputKind, source: str, module: str) -> None:
    """Name the module that registers a source; it is imported only when one is used (a
    file camera needs no PortAudio)."""
    _LOADERS[(kind, source)] = module


def _load(kind: InputKind, source: str, table: dict[str, VideoFactory] | dict[str, AudioFactory]
          ) -> None:
    if source not in table and (kind, source) in _LOADERS:
        import importlib

        importlib.import_module(_LOADERS[(kind, source)])


def build_video_input(spec: InputSpec) -> VideoInput:
    """The camera or file for ``spec`` (not opened yet)."""
    if spec.kind != InputKind.CAMERA:
        raise UserInputError(f"{spec.display} is not a camera; use parse_camera")
    _load(spec.kind, spec.source, _VIDEO)
    factory = _VIDEO.get(spec.source)
    if factory is None:
        raise UserInputError(f"no camera source {spec.source!r}; give {CAMERA_HELP}")
    return factory(spec)


def build_audio_input(spec: InputSpec) -> AudioInput:
    """The microphone or file for ``spec`` (not opened yet)."""
    if spec.kind != InputKind.MIC:
        raise UserInputError(f"{spec.display} is not a microphone; use parse_mic")
    _load(spec.kind, spec.source, _AUDIO)
    factory = _AUDIO.get(spec.source)
    if factory is None:
        raise UserInputError(f"no microphone source {spec.source!r}; give {MIC_HELP}")
    return factory(spec)


for _kind, _source, _module in (
        (InputKind.CAMERA, "file", "studio.inputs.camera_file"),
        (InputKind.CAMERA, "device", "studio.inputs.camera"),
        (InputKind.CAMERA, "lavfi", "studio.inputs.camera"),
        (InputKind.MIC, "file", "studio.inputs.mic_file"),
        (InputKind.MIC, "lavfi", "studio.inputs.mic_file"),
        (InputKind.MIC, "device", "studio.inputs.microphone")):
    declare_input(_kind, _source, _module)
