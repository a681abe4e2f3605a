"""An audio file (or a ``lavfi:`` audio graph) standing in for the microphone: decoded with
PyAV, mixed to mono, resampled to the engine's rate, deterministic.

``read(pts, n)`` returns the file's samples from ``pts - (pts of the first read)`` on,
exactly n of them; the file loops by default (``loop=false``: silence after its end).
Decoding streams forward and keeps only what a read may still need; reading earlier than
before, or the next loop, decodes again from the start (never a seek, so every loop gives
the same samples). Levels are measured on media time, so health is deterministic too.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from studio.core.errors import StudioError, UserInputError
from studio.inputs.base import (
    AudioInput,
    InputHealth,
    InputSpec,
    InputState,
    LevelMeter,
    option_bool,
    register_audio_input,
)
from studio.inputs.media import open_media


class FileMicrophone(AudioInput):
    realtime: ClassVar[bool] = False

    def __init__(self, spec: InputSpec) -> None:
        super().__init__(spec)
        self.loop = option_bool(spec, "loop", True)
        self.sample_rate_hz = 0
        self.file_rate_hz = 0
        self._container: Any = None
        self._packets: Any = None
        self._resampler: Any = None
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0  # file sample (engine rate) of _buf[0]
        self._eof = False
        self._length: int | None = None  # samples in the file, once decoded to its end
        self._pts0: int | None = None
        self._meter = LevelMeter()
        self._read_total = 0
        self._last_end_s = 0.0  # media time at the end of the last read

    def open(self, sample_rate_hz: int) -> None:
        self.sample_rate_hz = sample_rate_hz
        self.set_state(InputState.STARTING)
        try:
            self._restart()
            self._fill(1)
            if self._buf.shape[0] == 0:
                raise UserInputError(f"microphone file {self.spec.target!r} has no sound that "
                                     "decodes; give an audio file FFmpeg can decode (try: "
                                     "ffprobe FILE)")
        except StudioError as exc:
            self.close()
            self.set_state(InputState.DOWN, str(exc))
            raise
        self.set_state(InputState.LIVE)

    def _restart(self) -> None:
        import av

        if self._container is not None:
            self._container.close()
        self._container, stream = open_media(self.spec, "audio")
        self.file_rate_hz = int(stream.rate or 0)
        self._packets = self._container.decode(stream)
        self._resampler = av.AudioResampler(format="flt", layout="mono",
                                            rate=self.sample_rate_hz)
        self._buf = np.zeros(0, dtype=np.float32)
        self._buf_start = 0
        self._eof = False

    def _fill(self, end: int) -> None:
        """Decode until the buffer reaches file sample ``end`` or the file ends."""
        pieces = [self._buf]
        have = self._buf_start + self._buf.shape[0]
        while have < end and not self._eof:
            try:
                frame = next(self._packets)
                frames = self._resampler.resample(frame)
            except StopIteration:
                frames = self._resampler.resample(None)  # what the resampler still holds
                self._eof = True
            except Exception:  # a damaged file: the rest is missing
                frames = self._resampler.resample(None)
                self._eof = True
            for out in frames:
                samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                pieces.append(samples)
                have += samples.shape[0]
        if len(pieces) > 1:
            self._buf = np.concatenate(pieces)
        if self._eof:
            self._length = self._buf_start + self._buf.shape[0]

    def _samples(self, start: int, n: int) -> npt.NDArray[np.float32]:
        """File samples ``start``… (fewer than ``n`` only at the end of the file)."""
        if start < self._buf_start:
            self._restart()
        self._fill(start + n)
        # drop what no later read needs (reads move forward)
        cut = max(0, start - self._buf_start)
        if cut:
            self._buf = self._buf[cut:]
            self._buf_start += cut
        offset = start - self._buf_start
        return self._buf[offset:offset + n]

    def read(self, pts_samples: int, n_samples: int) -> npt.NDArray[np.float32]:
        out = np.zeros(n_samples, dtype=np.float32)
        if self._container is None or n_samples <= 0:
            return out
        if self._pts0 is None:
            self._pts0 = pts_samples
        position = pts_samples - self._pts0
        filled = 0
        if position < 0:  # before the first read: silence
            filled = min(n_samples, -position)
            position = 0
        try:
            while filled < n_samples:
                length = self._length
                if length is not None and position >= length:
                    if not self.loop or length == 0:
                        break  # after the end: silence
                    position %= length
                got = self._samples(position, n_samples - filled)
                if got.shape[0] == 0:
                    if self._length is None:
                        break  # nothing more decodes
                    continue
                out[filled:filled + got.shape[0]] = got
                filled += got.shape[0]
                position += got.shape[0]
        except StudioError as exc:  # the file went away mid-show: silence, and say so
            self.set_state(InputState.LOST, str(exc))
        self._read_total += n_samples
        self._last_end_s = (pts_samples + n_samples) / self.sample_rate_hz
        self._meter.push(out, self._last_end_s)
        return out

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None
        self.set_state(InputState.OFF)

    def health(self) -> InputHealth:
        peak, rms, silent, clipping = self._meter.report(self._last_end_s)
        return InputHealth(self.name, self.kind, self.state, self.reason,
                           frames=self._read_total, peak_dbfs=peak, rms_dbfs=rms, silent=silent,
                           clipping=clipping)


register_audio_input("file", FileMicrophone)
register_audio_input("lavfi", FileMicrophone)
