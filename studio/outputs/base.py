"""One small interface for every place the program goes: files, streams, cameras, speakers.

Outputs are peers. Each receives the same program frames and audio chunks, stamped on the
engine clock (integer samples at 48 kHz), and reports its health. Each declares a policy:
a network or camera output drops frames rather than ever blocking the frame loop; a
recording never loses a frame unless the disk fails. An output is built from a target
string (``udp://…``, ``show.mp4``, ``virtualcam``) through a registry, so the window, the
headless ``studio run`` and the tests all build outputs the same way.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from studio.core.clock import lower_thread_priority
from studio.core.errors import StudioError, UserInputError
from studio.core.media import AudioChunk

_LOG = logging.getLogger("studio.outputs")


class OutputState(StrEnum):
    STARTING = "starting"
    UP = "up"
    DEGRADED = "degraded"  # running, but losing frames or reconnecting
    DOWN = "down"  # failed; ``reason`` says why and what to do
    STOPPED = "stopped"  # closed on purpose


class FramePolicy(StrEnum):
    DROP = "drop"  # never blocks the frame loop: under pressure, frames are dropped
    LOSSLESS = "lossless"  # never loses a frame: the engine waits (a recording)


@dataclass(frozen=True, slots=True)
class ProgramFormat:
    width_px: int
    height_px: int
    fps: Fraction
    sample_rate_hz: int = 48_000


@dataclass(frozen=True, slots=True)
class ProgramFrame:
    """One program picture. ``rgba`` is top row first; ``yuv420p`` (BT.709, limited range,
    shaped (h*3/2, w)) is there when an output asked for it (``wants_yuv``)."""

    index: int
    pts_samples: int
    rgba: npt.NDArray[np.uint8]
    yuv420p: npt.NDArray[np.uint8] | None
    synthetic: bool  # the AI label is in the picture (the avatar shows, or an AI voice speaks)
    mode: str = "ai"  # who is on air: "ai", "human" or "puppet"


@dataclass(frozen=True, slots=True)
class OutputHealth:
    name: str  # what the operator sees: the target with any secret hidden
    kind: str
    state: OutputState
    reason: str = ""
    frames_sent: int = 0
    frames_dropped: int = 0
    bitrate_bps: float = 0.0
    reconnects: int = 0
    # What happened, stable for a front end or a log to key on ("file.disk_full",
    # "stream.reconnecting", "audio.device_lost"); "" when there is nothing to say.
    code: str = ""


SECRET_PATTERNS = (
    # rtmp://host/app/KEY: everything after the application name is the stream key (also
    # inside a message: FFmpeg's errors quote the URL they failed on)
    (re.compile(r"(rtmps?://[^/\s'\"]+/[^/\s?'\"]+/)[^\s?'\"]+", re.I), r"\1••••"),
    # srt://host:port?passphrase=…&streamid=…
    (re.compile(r"((?:passphrase|streamid|key|password|pwd)=)[^&\s]+", re.I), r"\1••••"),
    # user:password@host
    (re.compile(r"(://[^/\s:@]+:)[^/\s@]+@"), r"\1••••@"),
)


def redact(target: str) -> str:
    """A target as it may be shown or logged: stream keys and passwords replaced by dots."""
    for pattern, replacement in SECRET_PATTERNS:
        target = pattern.sub(replacement, target)
    return target


@dataclass(frozen=True, slots=True)
class OutputSpec:
    """A parsed target: which kind of output, and its argument (a URL, a path, a device).

    ``repr`` and ``display`` never show a secret; the raw target goes only to the output."""

    kind: str
    target: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def display(self) -> str:
        if self.kind in {"stream", "file"}:
            return redact(self.target)
        return f"{self.kind}:{self.target}" if self.target else self.kind

    def option(self, key: str, default: str = "") -> str:
        return dict(self.options).get(key, default)

    def __repr__(self) -> str:
        return f"OutputSpec({self.kind!r}, {self.display!r})"


class Output(ABC):
    """An output: opened once with the program format, fed in order, closed at the end.

    ``send_video`` and ``send_audio`` are called on the engine thread and must return fast;
    an output that does blocking work hands it to its own thread (see ``ThreadedOutput``)."""

    kind: ClassVar[str]
    policy: ClassVar[FramePolicy]
    wants_yuv: ClassVar[bool] = False  # the engine reads YUV from the GPU only when asked
    realtime: ClassVar[bool] = False  # shows frames as they happen (delayed to match audio)
    paces: ClassVar[bool] = False  # a sound device: its clock paces the show while it plays

    def __init__(self, spec: OutputSpec) -> None:
        self.spec = spec
        self.name = spec.display
        self._state = OutputState.STARTING
        self._reason = ""
        self._code = ""
        self.frames_sent = 0
        self.frames_dropped = 0
        self.reconnects = 0

    def check(self, fmt: ProgramFormat) -> None:
        """Raise ``UserInputError`` for settings this output would refuse (a bitrate out of
        range), without starting anything: ``studio run`` checks every output first."""
        return None  # nothing to check beyond what the target string said

    @abstractmethod
    def open(self, fmt: ProgramFormat, start_samples: int) -> None:
        """Start; raise ``StudioError`` (naming the fix) when the output cannot start."""

    @abstractmethod
    def send_video(self, frame: ProgramFrame) -> None: ...

    @abstractmethod
    def send_audio(self, chunk: AudioChunk) -> None: ...

    @abstractmethod
    def close(self) -> None:
        """Finish cleanly: a file is playable to its last frame, a stream is closed."""

    # --- health -------------------------------------------------------------------------
    def set_state(self, state: OutputState, reason: str = "", code: str = "") -> None:
        if state != self._state or reason != self._reason:
            level = logging.WARNING if state in {OutputState.DOWN, OutputState.DEGRADED} \
                else logging.INFO
            _LOG.log(level, "output %s: %s%s", self.name, state.value,
                     f" ({reason})" if reason else "")
        self._state = state
        self._reason = reason
        self._code = code

    @property
    def state(self) -> OutputState:
        return self._state

    def bitrate_bps(self) -> float:
        return 0.0

    @property
    def frames_lost(self) -> int:
        """Frames dropped inside the output (the engine side counts ``frames_dropped``)."""
        return 0

    def health(self) -> OutputHealth:
        return OutputHealth(self.name, self.kind, self._state, self._reason, self.frames_sent,
                            self.frames_dropped + self.frames_lost, self.bitrate_bps(),
                            self.reconnects, self._code)

    def latency_samples(self) -> int:
        """How long a sound device takes from taking samples to the speaker (else 0); the
        engine adds the buffer it keeps ahead of the device."""
        return 0

    @property
    def underruns(self) -> int:
        """Times a sound device ran out of samples (sound devices; else 0)."""
        return 0

    def heard_at_monotonic_s(self, sample_index: int) -> float | None:
        """When (``time.monotonic``) this engine sample is heard; None if it cannot tell."""
        return None

    # --- pacing (outputs with ``paces``) -------------------------------------------------
    def buffered_samples(self) -> int:
        """Samples sent but not yet played."""
        return 0

    @property
    def alive(self) -> bool:
        return self._state in {OutputState.STARTING, OutputState.UP, OutputState.DEGRADED}

    def lost(self, reason: str) -> None:
        """The engine found this output stalled: it is down from now on."""
        self.set_state(OutputState.DOWN, reason)


class ThreadedOutput(Output):
    """An output whose blocking work (encoding, muxing, device writes) runs on its own thread.

    The engine thread only queues. With ``FramePolicy.DROP`` a full queue drops the video
    frame (counted) and never waits; with ``LOSSLESS`` the engine waits for room. Audio is
    never dropped: chunks are small, and a muxed stream needs every sample for its clock.
    An exception in the worker takes this output DOWN with its message; the show goes on."""

    max_pending_frames: ClassVar[int] = 4
    up_on_open: ClassVar[bool] = True  # False: stays STARTING until the worker connects
    niceness: ClassVar[int] = 0  # > 0: work with slack yields the CPU to the frame loop

    def __init__(self, spec: OutputSpec) -> None:
        super().__init__(spec)
        self._frames_lost = 0  # dropped on the worker (``write_video`` returned False)
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._video_pending = 0
        self._pending_lock = threading.Lock()
        self._room = threading.Condition(self._pending_lock)
        self._thread: threading.Thread | None = None
        self._failed = False

    def open(self, fmt: ProgramFormat, start_samples: int) -> None:
        self.format = fmt
        self.start_samples = start_samples
        self.start_worker(fmt, start_samples)  # may raise: nothing is running yet
        self._thread = threading.Thread(target=self._run, name=f"output-{self.kind}",
                                        daemon=True)
        self._thread.start()
        if self.up_on_open and self.state == OutputState.STARTING:
            self.set_state(OutputState.UP)

    def start_worker(self, fmt: ProgramFormat, start_samples: int) -> None:
        """Open the device or file on the caller's thread (errors reach the operator)."""

    @abstractmethod
    def write_video(self, frame: ProgramFrame) -> bool | None:
        """Worker thread: encode or show one frame; False if it had to drop it (counted)."""

    @abstractmethod
    def write_audio(self, chunk: AudioChunk) -> None:
        """Worker thread: encode or play one chunk."""

    def finish(self) -> None:
        """Worker thread, at the end: flush and close."""

    def fail(self, exc: BaseException) -> None:
        """Worker thread: an exception stopped this output. Subclasses may add a fix."""
        message = str(exc) if isinstance(exc, StudioError) else f"{type(exc).__name__}: {exc}"
        self.set_state(OutputState.DOWN, redact(message))

    def send_video(self, frame: ProgramFrame) -> None:
        if self._failed:
            self.frames_dropped += 1
            return
        with self._room:
            if self._video_pending >= self.max_pending_frames:
                if self.policy == FramePolicy.DROP:
                    self.frames_dropped += 1
                    return
                while self._video_pending >= self.max_pending_frames and not self._failed:
                    self._room.wait(timeout=1.0)
            self._video_pending += 1
        self._queue.put(("v", frame))

    def send_audio(self, chunk: AudioChunk) -> None:
        if not self._failed:
            self._queue.put(("a", chunk))

    def _run(self) -> None:
        if self.niceness:
            lower_thread_priority(self.niceness)  # its encoder threads inherit it
        while True:
            kind, item = self._queue.get()
            if kind == "stop":
                break
            if self._failed:
                self._release(kind)
                continue
            try:
                if kind == "v":
                    if self.write_video(item) is False:
                        self._frames_lost += 1
                    else:
                        self.frames_sent += 1
                else:
                    self.write_audio(item)
            except Exception as exc:
                _LOG.warning("output %s failed", self.name, exc_info=True)
                self._failed = True
                self.fail(exc)
            self._release(kind)
        if not self._failed:
            try:
                self.finish()
            except Exception as exc:
                self._failed = True
                self.fail(exc)

    def _release(self, kind: str) -> None:
        if kind == "v":
            with self._room:
                self._video_pending -= 1
                self._room.notify_all()

    @property
    def frames_lost(self) -> int:
        return self._frames_lost

    def close(self, timeout_s: float = 30.0) -> None:
        if self._thread is None:
            return
        self._queue.put(("stop", None))
        self._thread.join(timeout=timeout_s)
        if self._thread.is_alive():
            self.set_state(OutputState.DOWN, f"did not finish within {timeout_s:.0f} s")
        elif not self._failed:
            self.set_state(OutputState.STOPPED)
        self._thread = None


# --- the registry ----------------------------------------------------------------------------
OutputFactory = Callable[[OutputSpec], Output]


@dataclass(frozen=True, slots=True)
class OutputKind:
    kind: str
    factory: OutputFactory
    help: str


_KINDS: dict[str, OutputKind] = {}
_LOADERS: dict[str, str] = {}  # kind -> module that registers it (imported on first use)


def register_output(kind: str, factory: OutputFactory, help: str = "") -> None:
    _KINDS[kind] = OutputKind(kind, factory, help)


def declare_output(kind: str, module: str) -> None:
    """Name the module that registers ``kind``; it is imported only when the kind is used."""
    _LOADERS[kind] = module


FILE_SUFFIXES = {".mp4": "mp4", ".mkv": "matroska", ".ts": "mpegts", ".flv": "flv"}
STREAM_SCHEMES = ("udp", "srt", "rtmp", "rtmps", "tcp")

TARGETS_HELP = ("virtualcam (or virtualcam:DEVICE), audio (or audio:DEVICE), udp://HOST:PORT, "
                "srt://HOST:PORT, rtmp://HOST/APP/KEY, rtmps://…, or a file ending in "
                + ", ".join(FILE_SUFFIXES))


def parse_target(text: str) -> OutputSpec:
    """``--out`` text to a spec; raises ``UserInputError`` naming what is accepted."""
    raw = text.strip()
    if not raw:
        raise UserInputError(f"an empty output target; use one of: {TARGETS_HELP}")
    lowered = raw.lower()
    for kind in ("virtualcam", "audio", "window"):
        if lowered == kind or lowered.startswith(kind + ":"):
            return OutputSpec(kind, raw[len(kind) + 1:] if ":" in raw else "")
    scheme = lowered.split("://", 1)[0] if "://" in lowered else ""
    if scheme:
        if scheme not in STREAM_SCHEMES:
            raise UserInputError(f"output {redact(raw)!r}: {scheme}:// is not a stream this "
                                 f"studio sends; use one of: {TARGETS_HELP}")
        return OutputSpec("stream", raw)
    for suffix in FILE_SUFFIXES:
        if lowered.endswith(suffix):
            return OutputSpec("file", raw)
    raise UserInputError(f"output {raw!r} is not a target this studio knows; use one of: "
                         f"{TARGETS_HELP}")


def build_output(spec: OutputSpec) -> Output:
    """The output for ``spec``, from the registry (its module imported on first use)."""
    if spec.kind not in _KINDS and spec.kind in _LOADERS:
        import importlib

        importlib.import_module(_LOADERS[spec.kind])
    entry = _KINDS.get(spec.kind)
    if entry is None:
        raise UserInputError(f"no output of kind {spec.kind!r}; known: "
                             + ", ".join(sorted({*_KINDS, *_LOADERS})))
    return entry.factory(spec)





for _kind, _module in (("file", "studio.outputs.file"), ("stream", "studio.outputs.stream"),
                       ("virtualcam", "studio.outputs.virtualcam"),
                       ("audio", "studio.outputs.audio_device")):
    declare_output(_kind, _module)
