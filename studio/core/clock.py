"""One media clock: the audio sample count is the master, video frames derive from it.

Every timestamp in the engine is an integer number of samples at ``ENGINE_SAMPLE_RATE_HZ``.
Video frame ``i`` starts at sample ``ceil(i * rate / fps)``, the first sample at or after its
time, so ``frame_at_sample(frame_start_sample(i)) == i``; with integer arithmetic and
``Fraction`` frame rates nothing drifts, however long the show runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction

ENGINE_SAMPLE_RATE_HZ = 48_000


def parse_fps(value: str | int | float | Fraction) -> Fraction:
    """Accept 30, "30", "29.97", "30000/1001"; 29.97 means NTSC's 30000/1001."""
    if isinstance(value, Fraction):
        fps = value
    elif isinstance(value, int):
        fps = Fraction(value)
    else:
        text = str(value).strip()
        if "/" in text:
            num, den = text.split("/", 1)
            fps = Fraction(int(num), int(den))
        else:
            fps = Fraction(text)
        ntsc = {Fraction("23.976"): Fraction(24000, 1001), Fraction("29.97"): Fraction(30000, 1001),
                Fraction("59.94"): Fraction(60000, 1001)}
        fps = ntsc.get(fps, fps)
    if fps <= 0 or fps > 240:
        raise ValueError(f"frame rate must be between 0 and 240 fps, got {value}")
    return fps


@dataclass(frozen=True, slots=True)
class MediaClock:
    """Maps between audio samples and video frames with exact integer arithmetic."""

    fps: Fraction
    sample_rate_hz: int = ENGINE_SAMPLE_RATE_HZ

    def frame_start_sample(self, frame_index: int) -> int:
        return -(-frame_index * self.sample_rate_hz * self.fps.denominator // self.fps.numerator)

    def frame_at_sample(self, sample: int) -> int:
        """Index of the frame on screen while ``sample`` plays."""
        return sample * self.fps.numerator // (self.sample_rate_hz * self.fps.denominator)

    def frames_covering(self, n_samples: int) -> int:
        """The fewest frames whose spans together cover ``n_samples`` samples."""
        if n_samples <= 0:
            return 0
        return self.frame_at_sample(n_samples - 1) + 1

    def samples_to_s(self, samples: int) -> float:
        return samples / self.sample_rate_hz

    def s_to_samples(self, seconds: float) -> int:
        return round(seconds * self.sample_rate_hz)

    def frame_time_s(self, frame_index: int) -> float:
        return float(frame_index / self.fps)


class MonotonicClock:
    """Wall clock for live pacing, in integer nanoseconds; injected so tests can replace it."""

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def sleep_until_ns(self, deadline_ns: int) -> None:
        delay_ns = deadline_ns - time.monotonic_ns()
        if delay_ns > 0:
            time.sleep(delay_ns / 1e9)


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread yield the CPU to the frame loop (Linux: per-thread nice).

    Work with slack (synthesis ahead, a recording's encoder behind a queue) runs at a lower
    priority so that on a busy machine it waits, not the next frame."""
    import contextlib
    import os
    import threading

    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):  # not permitted: run at the normal priority
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
