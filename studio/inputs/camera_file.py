"""A video file standing in for the camera (rehearsals, tests): decoded with PyAV, in step
with the engine clock and deterministic.

``frame_at(pts)`` gives the frame whose own timestamp is the latest at or before
``pts - (pts of the first call)`` in file time, counted from the file's first frame. The file
loops by default: at its end (last frame + one frame duration) it starts again, the only
time it re-opens; decoding otherwise only moves forward, one frame ahead. With
``loop=false`` the last frame stays on screen (a camera that keeps showing the last thing
it saw, rather than a black picture). The file is what it is: requested sizes and rates are
not applied (the engine scales), health reports the file's own.
"""

from __future__ import annotations

import logging
import time
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from studio.core.errors import UserInputError
from studio.inputs.base import (
    CapturedFrame,
    InputHealth,
    InputSpec,
    InputState,
    VideoInput,
    option_bool,
    option_number,
    register_video_input,
)
from studio.inputs.media import open_media

_LOG = logging.getLogger("studio.inputs")


class FileCamera(VideoInput):
    realtime: ClassVar[bool] = False

    def __init__(self, spec: InputSpec) -> None:
        super().__init__(spec)
        self.loop = option_bool(spec, "loop", True)
        self._asked = (option_number(spec, "width", 16, 8192),
                       option_number(spec, "height", 16, 8192), option_number(spec, "fps", 1, 240))
        self._container: Any = None
        self._stream: Any = None
        self._frames: Any = None  # the decoding iterator
        self._first_ts: Fraction | None = None  # the file's first timestamp
        self._frame_s = Fraction(1, 30)  # one frame's duration (from the stream's rate)
        self._current: Any = None
        self._current_t = Fraction(0)
        self._current_rgb: npt.NDArray[np.uint8] | None = None
        self._current_ns = 0
        self._index = -1  # of the current frame within the file
        self._next: tuple[Any, Fraction] | None = None
        self._file_index = -1  # frames decoded since the file was opened
        self._loop_count = 0
        self._duration: Fraction | None = None  # known once decoding reached the end
        self._n_frames: int | None = None
        self._pts0: int | None = None
        self._decoded = 0
        self.width_px = 0
        self.height_px = 0
        self.fps = 0.0

    # --- opening ----------------------------------------------------------------------
    def open(self) -> None:
        self.set_state(InputState.STARTING)
        try:
            self._reopen()
        except Exception as exc:
            self.set_state(InputState.DOWN, str(exc))
            raise
        if self._current is None:
            self.close()
            message = f"camera file {self.spec.target!r} has no picture that decodes; give a " \
                      "video file FFmpeg can decode (try: ffprobe FILE)"
            self.set_state(InputState.DOWN, message)
            raise UserInputError(message)
        self.width_px = int(self._current.width)
        self.height_px = int(self._current.height)
        self.set_state(InputState.LIVE, self._mismatch())

    def _reopen(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._stream = open_media(self.spec, "video")
        self._stream.thread_type = "AUTO"  # frames still come out in order
        rate = self._stream.average_rate or self._stream.guessed_rate
        if rate:
            self._frame_s = 1 / Fraction(rate)
            self.fps = float(rate)
        self._frames = self._container.decode(self._stream)
        self._index = -1
        self._current = None
        self._next = None
        self._current_t = Fraction(0)
        self._first_ts = None
        self._file_index = -1
        first = self._decode_one()
        if first is not None:
            self._take(first)
            self._next = self._decode_one()

    def _mismatch(self) -> str:
        """A note when the file is not what was asked for (the engine scales it anyway)."""
        width, height, fps = self._asked
        if width is None and height is None and fps is None:
            return ""
        size_ok = (width is None or int(width) == self.width_px) and \
                  (height is None or int(height) == self.height_px)
        fps_ok = fps is None or abs(fps - self.fps) < 0.01
        if size_ok and fps_ok:
            return ""
        asked = f"{int(width or self.width_px)}x{int(height or self.height_px)} at " \
                f"{fps or self.fps:g} fps"
        return (f"the file is {self.width_px}x{self.height_px} at {self.fps:g} fps (asked for "
                f"{asked}); the picture is scaled to the program")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self._frames = None
        self.set_state(InputState.OFF)

    # --- decoding -----------------------------------------------------------------------
    def _decode_one(self) -> tuple[Any, Fraction] | None:
        """The next frame and its file time, or None at the end (a decoding error ends the
        file early)."""
        try:
            frame = next(self._frames)
        except StopIteration:
            return None
        except Exception as exc:  # a damaged file: treat the rest as missing
            _LOG.warning("camera file %s: decoding stopped early (%s)", self.spec.target, exc)
            return None
        self._decoded += 1
        self._file_index += 1
        if frame.pts is None or frame.time_base is None:
            return frame, self._file_index * self._frame_s
        ts = Fraction(frame.pts) * Fraction(frame.time_base)
        if self._first_ts is None:
            self._first_ts = ts
        return frame, ts - self._first_ts

    def _take(self, decoded: tuple[Any, Fraction]) -> None:
        self._current, self._current_t = decoded
        self._current_rgb = None
        self._current_ns = time.monotonic_ns()
        self._index += 1

    def _advance(self, t: Fraction) -> None:
        """Move to the latest frame at or before file time ``t`` (forward only)."""
        while self._next is not None and self._next[1] <= t:
            self._take(self._next)
            self._next = self._decode_one()
        if self._next is None and self._duration is None:  # the end: now the length is known
            self._duration = self._current_t + self._frame_s
            self._n_frames = self._index + 1

    def _rewind(self, loop_count: int) -> None:
        self._reopen()
        self._loop_count = loop_count

    def frame_at(self, pts_samples: int, sample_rate_hz: int) -> CapturedFrame | None:
        if self._container is None or self._current is None:
            return None
        if self._pts0 is None:
            self._pts0 = pts_samples
        t = max(Fraction(0), Fraction(pts_samples - self._pts0, sample_rate_hz))
        try:
            for _ in range(3):  # at most: rewind, learn the length at the end, rewind
                if self._duration is not None and self.loop and self._duration > 0:
                    loops, t_in = divmod(t, self._duration)
                    loop_count = int(loops)
                else:
                    loop_count, t_in = 0, t
                if loop_count != self._loop_count or t_in < self._current_t:
                    self._rewind(loop_count)
                self._advance(t_in)
                if not (self.loop and self._duration is not None and t_in >= self._duration):
                    break
        except Exception as exc:  # never take the picture away: keep the last frame
            _LOG.warning("camera file %s: %s", self.spec.target, exc)
            self.set_state(InputState.LIVE, f"decoding failed ({exc}); holding the last frame")
        if self._current is None:
            return None
        if self._current_rgb is None:
            self._current_rgb = self._current.to_ndarray(format="rgb24")
        sequence = self._index + self._loop_count * (self._n_frames or 0)
        return CapturedFrame(self._current_rgb, sequence, self._current_ns,
                             float(self._current_t))

    def health(self) -> InputHealth:
        return InputHealth(self.name, self.kind, self.state, self.reason, self.width_px,
                           self.height_px, self.fps, self._decoded)


register_video_input("file", FileCamera)
