"""Speech placed on the engine clock, mixed into whatever span of samples is asked for.

Shared by the offline render and the live engine: both place sentences at sample positions
and pull the program audio frame by frame. A placed clip stays mutable so that an interrupt
can fade it out and shorten it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from studio.core.media import AudioChunk, FloatAudio, copy_overlap


@dataclass(slots=True)
class PlacedAudio:
    start_samples: int
    audio: FloatAudio

    @property
    def end_samples(self) -> int:
        return self.start_samples + int(self.audio.shape[0])

    def fade_out_at(self, at_samples: int, fade_samples: int) -> None:
        """Fade to silence over ``fade_samples`` from ``at_samples``, and end there."""
        if at_samples <= self.start_samples:  # not started yet: nothing of it is heard
            self.audio = self.audio[:0]
            return
        keep = at_samples - self.start_samples
        audio = self.audio[:keep + fade_samples].copy()
        audio[keep:] *= np.linspace(1.0, 0.0, len(audio) - keep, dtype=np.float32)
        self.audio = audio


class SpeechMixer:
    def __init__(self, sample_rate_hz: int) -> None:
        self.sample_rate_hz = sample_rate_hz
        self._clips: deque[PlacedAudio] = deque()

    def place(self, start_samples: int, audio: FloatAudio) -> PlacedAudio:
        placed = PlacedAudio(start_samples, audio)
        self._clips.append(placed)
        return placed

    def remove(self, placed: PlacedAudio) -> None:
        """Take back a clip that has not started (the plan changed before it was said)."""
        self._clips = deque(c for c in self._clips if c is not placed)

    def peek(self, start: int, end: int) -> FloatAudio:
        """Mixed speech for [start, end), dropping nothing: what is placed to be heard (an
        avatar that hears the voice reads ahead with it). Safe beside ``between`` on another
        thread: it reads a snapshot of the clips."""
        return _mix(tuple(self._clips), start, end)

    def between(self, start: int, end: int) -> AudioChunk:
        """Mixed speech for [start, end), silence where none plays; drops finished clips."""
        out = _mix(self._clips, start, end)
        while self._clips and self._clips[0].end_samples <= start:
            self._clips.popleft()
        return AudioChunk(start, out, self.sample_rate_hz)


def _mix(clips: Iterable[PlacedAudio], start: int, end: int) -> FloatAudio:
    """The clips summed over [start, end), silence where none plays."""
    out = np.zeros(max(0, end - start), dtype=np.float32)
    for clip in clips:
        copy_overlap(out, start, clip.audio, clip.start_samples, add=True)
    return out
