"""Who is on air: the AI host, the human on camera, or the human puppeteering the avatar.

The switcher is the one place that knows how a switch sounds and looks: for every frame it
says how much of the camera picture covers the avatar, how much of the avatar's face is the
operator's (puppet) rather than the AI's motion, how loud the microphone is, and whether the
AI label must be drawn. A switch takes effect in the frame that starts at the switch: that
frame is already the new mode (a hard cut) or the first step of the crossfade, whose weights
are taken at the end of each frame so the first frame after a switch has visibly moved.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt


class Mode(StrEnum):
    AI = "ai"
    HUMAN = "human"
    PUPPET = "puppet"

    @property
    def synthetic_picture(self) -> bool:
        """The picture is rendered (the avatar), so the AI label must show."""
        return self is not Mode.HUMAN

    @property
    def camera_weight(self) -> float:
        return 1.0 if self is Mode.HUMAN else 0.0

    @property
    def puppet_weight(self) -> float:
        return 1.0 if self is Mode.PUPPET else 0.0

    @property
    def mic_gain(self) -> float:
        return 0.0 if self is Mode.AI else 1.0

    @property
    def label(self) -> str:
        return {Mode.AI: "AI host", Mode.HUMAN: "Human on camera",
                Mode.PUPPET: "Human puppeteering the avatar"}[self]


def parse_mode(text: str) -> Mode:
    try:
        return Mode(text.strip().lower())
    except ValueError:
        raise ValueError(f"unknown mode {text!r}; use ai, human or puppet") from None


DEFAULT_CROSSFADE_S = 0.2
MAX_CROSSFADE_S = 2.0
AUDIO_FADE_S = 0.02
"""The microphone fades in and out this fast: no click, and the switch is heard at once."""


@dataclass(frozen=True, slots=True)
class Mix:
    """What one frame shows. ``camera`` covers the avatar (0..1), ``puppet`` is the share of
    the operator's face in the avatar's (0..1), ``label``: the AI label is drawn."""

    mode: Mode
    camera: float
    puppet: float
    label: bool
    switching: bool


def _smooth(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


class Switcher:
    def __init__(self, sample_rate_hz: int, mode: Mode = Mode.AI,
                 crossfade_s: float = DEFAULT_CROSSFADE_S) -> None:
        self._rate = sample_rate_hz
        self.mode = mode
        self.previous = mode
        self._switch_at = 0
        self._from = (mode.camera_weight, mode.puppet_weight)
        self._mic_from = mode.mic_gain
        self._fade_samples = 0
        self._audio_fade_samples = max(1, round(AUDIO_FADE_S * sample_rate_hz))
        self.set_crossfade(crossfade_s)

    @property
    def crossfade_s(self) -> float:
        return self._crossfade_samples / self._rate

    def set_crossfade(self, seconds: float) -> None:
        if not 0.0 <= seconds <= MAX_CROSSFADE_S:
            raise ValueError(f"crossfade {seconds} s is out of range 0..{MAX_CROSSFADE_S} s "
                             "(0 is a hard cut)")
        self._crossfade_samples = round(seconds * self._rate)

    def switch(self, mode: Mode, at_samples: int) -> bool:
        """Start a switch at ``at_samples`` (a frame start); False if already in ``mode``.
        A switch during a crossfade starts from wherever the picture is."""
        if mode == self.mode:
            return False
        self._from = self._weights(at_samples)
        self._mic_from = self._mic_gain_at(at_samples)
        self.previous, self.mode = self.mode, mode
        self._switch_at = at_samples
        self._fade_samples = self._crossfade_samples
        return True

    def _progress(self, at_samples: int, length: int) -> float:
        if length <= 0:
            return 1.0 if at_samples >= self._switch_at else 0.0
        return _smooth((at_samples - self._switch_at) / length)

    def _weights(self, at_samples: int) -> tuple[float, float]:
        k = self._progress(at_samples, self._fade_samples)
        (c0, p0), mode = self._from, self.mode
        return (c0 + (mode.camera_weight - c0) * k, p0 + (mode.puppet_weight - p0) * k)

    def _mic_gain_at(self, at_samples: int) -> float:
        k = min(max((at_samples - self._switch_at) / self._audio_fade_samples, 0.0), 1.0)
        return self._mic_from + (self.mode.mic_gain - self._mic_from) * k

    def mix(self, s0: int, s1: int, *, synthetic_voice: bool = False) -> Mix:
        """The frame [s0, s1): weights at its end; the label whenever any of the avatar shows
        or a synthetic voice is heard in it."""
        camera, puppet = self._weights(s1)
        switching = s1 < self._switch_at + max(self._fade_samples, self._audio_fade_samples)
        label = camera < 1.0 or synthetic_voice
        return Mix(self.mode, camera, puppet, label, switching)

    def mic_gains(self, s0: int, n_samples: int) -> npt.NDArray[np.float32]:
        """Per-sample microphone gain for [s0, s0 + n): a 20 ms linear ramp at a switch."""
        t = np.arange(s0, s0 + n_samples, dtype=np.float64)
        k = np.clip((t - self._switch_at) / self._audio_fade_samples, 0.0, 1.0)
        gains = self._mic_from + (self.mode.mic_gain - self._mic_from) * k
        return gains.astype(np.float32)

    def mic_audible(self, s0: int, n_samples: int) -> bool:
        return max(self._mic_gain_at(s0), self._mic_gain_at(s0 + n_samples)) > 0.0
